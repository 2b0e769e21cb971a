// The DeepSeek-V3/R1 chat format, written out natively from the chat_template in DeepSeek's
// tokenizer_config.json (tested against strings that template renders).
#include "core/error.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek {

std::string render_chat(const std::vector<ChatMessage>& messages, const ChatOptions& opt) {
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
