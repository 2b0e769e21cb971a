// Turns records into pieces. Chat conversations are rendered with render_chat (the DeepSeek-V3 template),
// once: it marks where each turn ends, and an assistant turn ends with the answer's content and the
// end-of-sentence token, so no template logic is repeated here (rendering each prefix again was quadratic in
// the turns: a record of 40k messages took 30 s).
#include "train/data_records.hpp"

#include <fmt/format.h>

#include <string_view>

#include "core/unrendered_message_keys.hpp"
#include "core/untrusted_json.hpp"
#include "tokenizer/pretokenizer.hpp"

namespace seek::data {
namespace {

using nlohmann::json;

void add_text(Document& out, std::string_view text, bool loss) {
  if (!text.empty()) out.pieces.push_back(Piece{std::string(text), -1, loss});
}
void add_token(Document& out, TokenId id, bool loss) {
  if (id >= 0) out.pieces.push_back(Piece{{}, id, loss});
}

const std::string* string_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

std::string chat_document(const json& messages, const SpecialIds& ids, Document& out) {
  if (!messages.is_array()) return "\"messages\" is not an array";
  if (messages.empty()) return "\"messages\" is empty";
  std::vector<ChatMessage> msgs;
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    if (!m.is_object()) return fmt::format("message {} is not an object", i);
    const std::string* role = string_field(m, "role");
    const std::string* content = string_field(m, "content");
    if (!role) return fmt::format("message {} has no string \"role\"", i);
    if (*role != "system" && *role != "user" && *role != "assistant" && *role != "tool")
      return fmt::format("message {} has unknown role \"{}\" (expected system, user, assistant or tool)", i,
                         *role);
    // Keys that carry part of the turn, which the chat rendering has no place for: dropped, a tool call's
    // turn trained as an empty answer and its reasoning went missing, without a word. Checked before the
    // content, which a tool call's turn often lacks ("content": null).
    if (const char* key = unrendered_message_key(m))
      return fmt::format(
          "message {} ({}) has \"{}\", which SFT does not render (only role and content are): {}", i, *role,
          key, unrendered_message_advice(key));
    if (!content) return fmt::format("message {} ({}) has no string \"content\"", i, *role);
    msgs.push_back(ChatMessage{*role, *content});
  }
  // BOS is added as the tokenizer's own id; the text is rendered without it.
  ChatOptions opt;
  opt.add_bos = false;
  std::vector<size_t> ends;
  const std::string full = render_chat(msgs, opt, &ends);
  if (ends.size() != msgs.size()) return "internal error: the rendered chat does not mark every message";
  add_token(out, ids.bos, false);
  size_t done = 0;
  for (size_t i = 0; i < msgs.size(); ++i) {
    const ChatMessage& m = msgs[i];
    if (m.role != "assistant") continue;
    const size_t end = ends[i];
    const size_t eos_begin = end - tokens::kEos.size(), content_begin = eos_begin - m.content.size();
    bool ok = end <= full.size() && end >= tokens::kEos.size() + m.content.size() && end >= done &&
              full.compare(eos_begin, tokens::kEos.size(), tokens::kEos) == 0 &&
              full.compare(content_begin, m.content.size(), m.content) == 0 && content_begin >= done;
    if (!ok) return "internal error: the rendered chat does not contain an assistant answer where expected";
    add_text(out, std::string_view(full).substr(done, content_begin - done), false);
    add_text(out, m.content, true);
    // The tokenizer's EOS id rather than the rendered "<｜end▁of▁sentence｜>" text: the same token for
    // DeepSeek vocabularies, and still a real EOS for one that spells it differently.
    add_token(out, ids.eos, true);
    done = end;
  }
  add_text(out, std::string_view(full).substr(done), false);
  return "";
}

}  // namespace

void pretrain_document(std::string_view text, const SpecialIds& ids, Document& out, size_t chunk_bytes) {
  if (out.starts && !text.empty()) add_token(out, ids.bos, true);
  for (size_t begin = 0; begin < text.size();) {
    const size_t end =
        text.size() - begin > chunk_bytes ? tok::pre_token_cut_after(text, begin + chunk_bytes) : text.size();
    add_text(out, text.substr(begin, end - begin), true);
    begin = end;
  }
  if (out.ends && !out.empty()) add_token(out, ids.eos, true);
}

std::string record_document(const json& rec, Objective objective, const SpecialIds& ids, Document& out) {
  if (!rec.is_object()) return "the record is not a JSON object";
  if (objective == Objective::Pretrain) {
    const std::string* text = string_field(rec, "text");
    if (!text) {
      const bool sft = rec.contains("messages") || rec.contains("prompt") || rec.contains("completion");
      return fmt::format(
          "the record has no string \"text\" (pretraining reads {{\"text\": ...}} per line{})",
          sft ? "; for \"messages\" or \"prompt\"/\"completion\" records give --objective sft" : "");
    }
    pretrain_document(*text, ids, out);
    return "";
  }
  // Both forms in one record: which one the user meant is a guess (seek grpo refuses the same).
  if (rec.contains("messages") && (rec.contains("prompt") || rec.contains("completion")))
    return "the record has both \"messages\" and \"prompt\"/\"completion\"; give one form";
  if (auto it = rec.find("messages"); it != rec.end()) return chat_document(*it, ids, out);
  const std::string* prompt = string_field(rec, "prompt");
  const std::string* completion = string_field(rec, "completion");
  if (!rec.contains("prompt") && !rec.contains("completion"))
    return "the record has neither \"messages\" nor string \"prompt\" and \"completion\"";
  // One of the pair given: the other is named ("neither" read as if the record's own prompt were unseen).
  for (const char* key : {"prompt", "completion"}) {
    const auto it = rec.find(key);
    if (it == rec.end())
      return fmt::format(
          "the record has \"{}\" but no \"{}\" (SFT reads {{\"prompt\", \"completion\"}} or "
          "{{\"messages\"}} records)",
          key == std::string_view("prompt") ? "completion" : "prompt", key);
    if (!it->is_string()) return fmt::format("\"{}\" is not a string: {}", key, describe_json(*it));
  }
  add_token(out, ids.bos, false);
  add_text(out, *prompt, false);
  add_text(out, *completion, true);
  add_token(out, ids.eos, true);
  return "";
}

}  // namespace seek::data
