// The DeepSeek-V3/R1, V3.1 and V2 chat formats, written out natively from the chat_template in DeepSeek's
// tokenizer_config.json files (tested against strings those templates render).
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/untrusted_json.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/tokenizer_files.hpp"
#include "tokenizer/utf8.hpp"

namespace seek {

namespace {

// DeepSeek-V2's template: each message in order, nothing grouped.
std::string render_v2(const std::vector<ChatMessage>& messages, const ChatOptions& opt,
                      std::vector<size_t>* ends) {
  std::string out;
  if (opt.add_bos) out += tokens::kBos;
  for (const auto& m : messages) {
    if (m.role == "user") {
      out += "User: " + m.content + "\n\n";
    } else if (m.role == "assistant") {
      out += "Assistant: " + m.content + std::string(tokens::kEos);
    } else if (m.role == "system") {
      out += m.content + "\n\n";
    } else {
      SEEK_CHECK(m.role != "tool",
                 "the DeepSeek-V2 chat format has no tool turns (V2's template drops them)");
      fail("chat message has unknown role \"{}\" (expected system, user or assistant)", m.role);
    }
    if (ends) ends->push_back(out.size());
  }
  if (opt.add_generation_prompt) out += "Assistant:";
  return out;
}

// System prompts, wherever they appear, are joined with a blank line (V3, R1 and V3.1 put them after BOS).
std::string joined_system_prompts(const std::vector<ChatMessage>& messages) {
  std::string system;
  bool first = true;
  for (const auto& m : messages) {
    if (m.role != "system") continue;
    system += first ? m.content : "\n\n" + m.content;
    first = false;
  }
  return system;
}

// DeepSeek-V3.1's hybrid template. Only a reply that follows a user message opens an assistant turn, always
// with "</think>" (the template's "prefix" messages, which could open "<think>", are not ChatMessages); a
// reply right after tool outputs is kept whole, any other loses what precedes its first "</think>".
std::string render_v31(const std::vector<ChatMessage>& messages, const ChatOptions& opt,
                       std::vector<size_t>* ends) {
  std::string out;
  if (opt.add_bos) out += tokens::kBos;
  out += joined_system_prompts(messages);
  bool last_user = false, in_tool = false;
  for (const auto& m : messages) {
    if (m.role == "system") {
      if (ends) ends->push_back(out.size());
      continue;
    }
    if (m.role == "user") {
      in_tool = false;
      last_user = true;
      out += std::string(tokens::kUser) + m.content;
    } else if (m.role == "assistant") {
      if (last_user) out += std::string(tokens::kAssistant) + std::string(tokens::kEndThink);
      last_user = false;
      std::string_view content = m.content;
      if (!in_tool) {
        const size_t p = content.find(tokens::kEndThink);
        if (p != std::string_view::npos) content.remove_prefix(p + tokens::kEndThink.size());
      }
      in_tool = false;
      out += std::string(content) + std::string(tokens::kEos);
    } else if (m.role == "tool") {
      last_user = false;
      in_tool = true;
      out += "<｜tool▁output▁begin｜>" + m.content + "<｜tool▁output▁end｜>";
    } else {
      fail("chat message has unknown role \"{}\" (expected system, user, assistant or tool)", m.role);
    }
    if (ends) ends->push_back(out.size());
  }
  if (opt.add_generation_prompt && last_user) {
    out += tokens::kAssistant;
    out += opt.style == ChatStyle::V31Thinking ? tokens::kThink : tokens::kEndThink;
  }
  return out;
}

// transformers accepts chat_template as a string or as a list of {"name", "template"} entries, of which
// "default" is the one used; another value is reported rather than read as "no template".
std::string chat_template_text(const nlohmann::json& t, const std::string& file) {
  if (t.is_string()) return t.get<std::string>();
  if (t.is_null()) return "";
  if (!t.is_array())
    fail("{}: chat_template must be a string or a list of {{\"name\", \"template\"}} objects, got {}", file,
         describe_json(t));
  // Each entry as transformers reads it: an object with a string "name" and "template" (a stray 5 in the list
  // was passed over, and the list read as one without a default).
  for (size_t i = 0; i < t.size(); ++i) {
    const nlohmann::json& e = t[i];
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("template") ||
        !e["template"].is_string())
      fail("{}: chat_template[{}] must be an object with a string \"name\" and \"template\", got {}", file, i,
           describe_json(e));
  }
  for (const auto& e : t)
    if (e["name"] == "default") return e["template"].get<std::string>();
  return "";
}

}  // namespace

ChatStyle chat_style_of(const std::filesystem::path& dir, bool* recognised) {
  if (recognised) *recognised = true;
  const std::filesystem::path file = dir / "tokenizer_config.json";
  // A file that is there but unreadable or not JSON is an error: read as "no template" it would silently
  // pick the V3 format for a V2 or R1 model.
  const auto j = tok::read_tokenizer_json(file);
  if (!j) return ChatStyle::V3;
  if (!j->is_object()) fail("{}: expected a JSON object at the top level", file.string());
  if (!j->contains("chat_template")) return ChatStyle::V3;
  const std::string t = chat_template_text(j->at("chat_template"), file.string());
  if (t.find("'User: '") != std::string::npos) return ChatStyle::V2;
  if (t.empty()) {
    // "" is no template; a list of templates without a "default" one names templates seek does not use.
    if (recognised) *recognised = !j->at("chat_template").is_array();
    return ChatStyle::V3;
  }
  const bool deepseek = t.find(tokens::kUser) != std::string::npos;
  if (recognised) *recognised = deepseek;
  if (!deepseek) return ChatStyle::V3;
  // V3.1's hybrid template switches on a `thinking` variable between opening and closing the thinking after
  // the assistant marker (the word alone could be in a system prompt); R1's opens <think> unconditionally.
  if (t.find("thinking") != std::string::npos &&
      t.find(std::string(tokens::kAssistant) + std::string(tokens::kEndThink)) != std::string::npos)
    return ChatStyle::V31;
  if (t.find(tokens::kThink) != std::string::npos) return ChatStyle::R1;
  return ChatStyle::V3;
}

const char* chat_style_name(ChatStyle style) {
  switch (style) {
    case ChatStyle::V2:
      return "v2";
    case ChatStyle::V3:
      return "v3";
    case ChatStyle::R1:
      return "r1";
    case ChatStyle::V31:
      return "v3.1";
    case ChatStyle::V31Thinking:
      return "v3.1-think";
  }
  return "?";
}

bool generation_prompt_opens_think(ChatStyle style) {
  return style == ChatStyle::R1 || style == ChatStyle::V31Thinking;
}

ChatStyle with_thinking(ChatStyle style, bool think, std::string_view what) {
  if (!think) return style;
  SEEK_CHECK(style != ChatStyle::V2 && style != ChatStyle::V3,
             "{}: the DeepSeek-{} chat format has no thinking to turn on (DeepSeek-V3.1's template has the "
             "switch; R1's always thinks)",
             what, style == ChatStyle::V2 ? "V2" : "V3");
  return style == ChatStyle::V31 ? ChatStyle::V31Thinking : style;
}

std::string render_chat(const std::vector<ChatMessage>& messages, const ChatOptions& opt,
                        std::vector<size_t>* message_ends) {
  if (message_ends) message_ends->clear();
  if (opt.style == ChatStyle::V2) return render_v2(messages, opt, message_ends);
  if (opt.style == ChatStyle::V31 || opt.style == ChatStyle::V31Thinking)
    return render_v31(messages, opt, message_ends);
  std::string out;
  if (opt.add_bos) out += tokens::kBos;
  out += joined_system_prompts(messages);
  bool in_tool = false, first_output = true;
  for (const auto& m : messages) {
    if (m.role == "system") {
      if (message_ends) message_ends->push_back(out.size());
      continue;
    }
    if (m.role == "user") {
      in_tool = false;
      out += std::string(tokens::kUser) + m.content;
    } else if (m.role == "assistant") {
      if (in_tool) {
        // An answer after tool outputs closes the outputs block instead of opening a new turn.
        out += "<｜tool▁outputs▁end｜>" + m.content + std::string(tokens::kEos);
        in_tool = false;
        if (message_ends) message_ends->push_back(out.size());
        continue;
      }
      std::string content = m.content;
      if (opt.style == ChatStyle::R1) {
        // R1 drops the reasoning of earlier turns: only what follows the last </think> is kept.
        size_t p = content.rfind(tokens::kEndThink);
        if (p != std::string::npos) content = content.substr(p + tokens::kEndThink.size());
      }
      out += std::string(tokens::kAssistant) + content + std::string(tokens::kEos);
    } else if (m.role == "tool") {
      in_tool = true;
      out += first_output ? "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>" : "\n<｜tool▁output▁begin｜>";
      out += m.content + "<｜tool▁output▁end｜>";
      first_output = false;
    } else {
      fail("chat message has unknown role \"{}\" (expected system, user, assistant or tool)", m.role);
    }
    if (message_ends) message_ends->push_back(out.size());
  }
  if (in_tool) out += "<｜tool▁outputs▁end｜>";
  if (opt.add_generation_prompt && !in_tool) {
    out += tokens::kAssistant;
    if (opt.style == ChatStyle::R1) out += std::string(tokens::kThink) + "\n";
  }
  return out;
}

ChatMessage chat_reply_message(ChatStyle style, std::string_view reply) {
  // A reply stopped inside a character (Ctrl-C, --max-new-tokens) keeps the characters it finished: the
  // bytes of the last one alone would be encoded as U+FFFD, which the model never wrote (and, for R1, would
  // stand before the </think> closed below).
  reply = reply.substr(0, tok::utf8_cut_before(reply, reply.size()));
  // V2's generation prompt ends "Assistant:" and the model goes on with " text", while its template writes
  // "Assistant: " + content: keeping the space would render "Assistant:  text", which the model never wrote.
  if (style == ChatStyle::V2 && reply.starts_with(' ')) reply.remove_prefix(1);
  if (style == ChatStyle::R1) {
    // R1's generation prompt opened <think>, so the reply is reasoning up to its </think>. One stopped before
    // that (Ctrl-C, --max-new-tokens) is all reasoning: closed here, the template drops it as it drops the
    // reasoning of every earlier turn, instead of rendering it as the answer.
    std::string m = std::string(tokens::kThink) + "\n" + std::string(reply);
    if (reply.find(tokens::kEndThink) == std::string_view::npos) m += tokens::kEndThink;
    return {"assistant", m};
  }
  if (style == ChatStyle::V31Thinking) {
    // The same for V3.1's thinking prompt, which opens "<think>" without a newline.
    std::string m = std::string(tokens::kThink) + std::string(reply);
    if (reply.find(tokens::kEndThink) == std::string_view::npos) m += tokens::kEndThink;
    return {"assistant", m};
  }
  return {"assistant", std::string(reply)};
}

std::vector<TokenId> encode_chat(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                                 const ChatOptions& opt) {
  return tok.encode(render_chat(messages, opt), /*add_special=*/false, /*parse_special=*/true);
}

}  // namespace seek
