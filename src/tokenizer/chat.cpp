// The DeepSeek-V3/R1 and V2 chat formats, written out natively from the chat_template in DeepSeek's
// tokenizer_config.json files (tested against strings those templates render).
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek {

namespace {

// DeepSeek-V2's template: each message in order, nothing grouped.
std::string render_v2(const std::vector<ChatMessage>& messages, const ChatOptions& opt) {
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
  }
  if (opt.add_generation_prompt) out += "Assistant:";
  return out;
}

}  // namespace

ChatStyle chat_style_of(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "tokenizer_config.json";
  if (!std::filesystem::exists(file)) return ChatStyle::V3;
  const auto j = nlohmann::json::parse(read_file(file), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("chat_template") || !j["chat_template"].is_string()) return ChatStyle::V3;
  const std::string t = j["chat_template"].get<std::string>();
  if (t.find("'User: '") != std::string::npos) return ChatStyle::V2;
  if (t.find(tokens::kThink) != std::string::npos) return ChatStyle::R1;
  return ChatStyle::V3;
}

std::string render_chat(const std::vector<ChatMessage>& messages, const ChatOptions& opt) {
  if (opt.style == ChatStyle::V2) return render_v2(messages, opt);
  // System prompts, wherever they appear, are joined with a blank line and come right after BOS.
  std::string system;
  bool first_system = true;
  for (const auto& m : messages) {
    if (m.role != "system") continue;
    system += first_system ? m.content : "\n\n" + m.content;
    first_system = false;
  }
  std::string out;
  if (opt.add_bos) out += tokens::kBos;
  out += system;
  bool in_tool = false, first_output = true;
  for (const auto& m : messages) {
    if (m.role == "system") continue;
    if (m.role == "user") {
      in_tool = false;
      out += std::string(tokens::kUser) + m.content;
    } else if (m.role == "assistant") {
      if (in_tool) {
        // An answer after tool outputs closes the outputs block instead of opening a new turn.
        out += "<｜tool▁outputs▁end｜>" + m.content + std::string(tokens::kEos);
        in_tool = false;
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
  }
  if (in_tool) out += "<｜tool▁outputs▁end｜>";
  if (opt.add_generation_prompt && !in_tool) {
    out += tokens::kAssistant;
    if (opt.style == ChatStyle::R1) out += std::string(tokens::kThink) + "\n";
  }
  return out;
}

std::vector<TokenId> encode_chat(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                                 const ChatOptions& opt) {
  return tok.encode(render_chat(messages, opt), /*add_special=*/false, /*parse_special=*/true);
}

}  // namespace seek
