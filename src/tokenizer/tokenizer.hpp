// The tokenizer interface the rest of seek uses for training and inference, and the ways to get one:
// load_tokenizer(dir) reads a Hugging Face tokenizer.json (byte-level BPE, e.g. DeepSeek-V3's) or, in a
// folder without another tokenizer's files, falls back to the byte tokenizer; make_byte_tokenizer() gives 256
// byte tokens plus the chat special tokens. The DeepSeek-V3/R1 chat format lives here too (render_chat /
// encode_chat).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace seek {

using TokenId = int32_t;

// The special-token strings of DeepSeek-V3/R1 that the chat format uses.
namespace tokens {
inline constexpr std::string_view kBos = "<｜begin▁of▁sentence｜>";
inline constexpr std::string_view kEos = "<｜end▁of▁sentence｜>";
inline constexpr std::string_view kPad = "<｜▁pad▁｜>";
inline constexpr std::string_view kUser = "<｜User｜>";
inline constexpr std::string_view kAssistant = "<｜Assistant｜>";
inline constexpr std::string_view kThink = "<think>";
inline constexpr std::string_view kEndThink = "</think>";
inline constexpr std::string_view kAnswer = "<answer>";
inline constexpr std::string_view kEndAnswer = "</answer>";
}  // namespace tokens

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Text -> ids. Invalid UTF-8 is replaced by U+FFFD first (as Hugging Face and JavaScript tokenizers see
  // it). add_special: add what the tokenizer adds around a sequence (BOS for DeepSeek). parse_special:
  // special-token strings in the text become their ids; when false they are tokenized as plain text.
  virtual std::vector<TokenId> encode(std::string_view text, bool add_special = false,
                                      bool parse_special = true) const = 0;

  // Many documents at once, split across `threads` OpenMP threads (0: OpenMP's default).
  std::vector<std::vector<TokenId>> encode_batch(const std::vector<std::string>& texts,
                                                 bool add_special = false, bool parse_special = true,
                                                 int threads = 0) const;

  // Ids -> text. Byte runs that are not valid UTF-8 decode to U+FFFD. Throws seek::Error on an id outside
  // the vocabulary.
  virtual std::string decode(std::span<const TokenId> ids, bool skip_special = false) const = 0;

  // The raw bytes a token stands for (a special token: its text), for streaming output byte by byte.
  virtual std::string token_bytes(TokenId id) const = 0;

  virtual size_t vocab_size() const = 0;
  // The first id below vocab_size() that names no token (a tokenizer.json whose ids leave a gap), or -1.
  virtual TokenId first_missing_id() const { return -1; }
  // Whether encode() puts a space before every text (a ByteLevel add_prefix_space pre-tokenizer): then a
  // text encoded in parts gets one per part.
  virtual bool adds_prefix_space() const { return false; }
  // Whether a text cut at a line start (tok::pre_token_cut_after) encodes to the tokens of the whole.
  virtual bool cuts_at_line_starts() const { return true; }
  virtual std::optional<TokenId> token_to_id(std::string_view token) const = 0;
  // The token's string as the vocabulary spells it (byte-level BPE: the GPT-2 byte-to-unicode form).
  virtual std::string id_to_token(TokenId id) const = 0;
  virtual bool is_special(TokenId id) const = 0;

  // -1 when the tokenizer has no such token.
  virtual TokenId bos_id() const = 0;
  virtual TokenId eos_id() const = 0;
  virtual TokenId pad_id() const = 0;

  // "bpe" or "byte".
  virtual std::string kind() const = 0;
};

// 256 byte tokens (id = byte value) followed by BOS, EOS, <｜User｜>, <｜Assistant｜>, <think>, </think>,
// <answer>, </answer> and the pad token, in that order (ids 256..264).
std::unique_ptr<Tokenizer> make_byte_tokenizer();

// Byte-level BPE from a Hugging Face tokenizer.json (+ tokenizer_config.json when present). Throws
// seek::Error naming the file, key and reason for anything malformed or unsupported.
std::unique_ptr<Tokenizer> load_bpe_tokenizer(const std::filesystem::path& dir);

// BPE when dir/tokenizer.json exists, otherwise the byte tokenizer (dir may then not exist at all); a folder
// without tokenizer.json that holds another tokenizer's files (tokenizer.model, vocab.json, merges.txt, a
// tokenizer_config.json naming a tokenizer_class) throws seek::Error naming them.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& dir);

// ---- DeepSeek chat format -------------------------------------------------------------------------------

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" or "tool"
  std::string content;
};

enum class ChatStyle {
  V3,  // DeepSeek-V3: assistant turns kept verbatim, generation prompt "<｜Assistant｜>"
  R1,  // DeepSeek-R1: reasoning before "</think>" dropped from earlier assistant turns, prompt "…<think>\n"
  V2,  // DeepSeek-V2 / V2-Lite chat: "User: …\n\nAssistant: …<｜end▁of▁sentence｜>", prompt "Assistant:"
  // DeepSeek-V3.1's hybrid template, whose `thinking` switch picks the mode: earlier replies are rendered
  // after "<｜Assistant｜></think>" with their reasoning (up to the first "</think>") dropped; tool outputs
  // are not grouped. V31 is the template's default (thinking off, prompt "…<｜Assistant｜></think>"),
  // V31Thinking the prompt "…<｜Assistant｜><think>".
  V31,
  V31Thinking,
};

// "v2", "v3", "r1", "v3.1", "v3.1-think": the names `seek chat --style` takes.
const char* chat_style_name(ChatStyle style);

// The style a model folder's tokenizer_config.json chat_template renders: V2's "User: " turns, V3.1's
// `thinking` switch (as V31, its default), R1's <think> opening, else V3 (also when there is no template).
// `recognised` (optional) is set false for a template that is none of these (another family's, without
// "User: " turns or the <｜User｜> marker), rendered as V3 all the same.
ChatStyle chat_style_of(const std::filesystem::path& dir, bool* recognised = nullptr);

// Whether the generation prompt of `style` ends inside an opened <think> (R1's, V3.1's thinking mode): the
// reply then starts with reasoning.
bool generation_prompt_opens_think(ChatStyle style);

// `style` with the thinking turned on when `think`: V31 becomes V31Thinking, R1 (which always thinks) and
// V31Thinking stay. Throws seek::Error naming `what` (the flag or setting) for V2 and V3, whose formats have
// no thinking to turn on.
ChatStyle with_thinking(ChatStyle style, bool think, std::string_view what);

struct ChatOptions {
  ChatStyle style = ChatStyle::V3;
  bool add_generation_prompt = false;
  bool add_bos = true;
};

// Renders the conversation exactly as DeepSeek's chat_template does (V3/R1: system prompts joined by a blank
// line and put after BOS, tool outputs grouped; V2: every turn in order, system prompts followed by a blank
// line; V3.1: as its template, see ChatStyle). Throws seek::Error on an unknown role, and on tool turns in
// the V2 format, which has none. `message_ends` (optional) receives, per message, the offset in the result
// where its turn ends (a system prompt's: where the joined system prompts end, for the formats that move them
// to the front): the text up to the end of an assistant turn is what the conversation up to that turn
// renders.
std::string render_chat(const std::vector<ChatMessage>& messages, const ChatOptions& opt = {},
                        std::vector<size_t>* message_ends = nullptr);

// The assistant message a chat keeps in its history for `reply`, the text generated after render_chat's
// generation prompt (EOS and stop strings not included), such that the next turn renders it as DeepSeek's
// template renders that turn. V2: the space the model writes after "Assistant:" is dropped (the template
// writes "Assistant: " itself). R1: the message opens with the prompt's "<think>\n", and reasoning the reply
// never closed is closed, so that R1's template drops it from the history like all earlier reasoning.
// V31Thinking: the same with the prompt's "<think>", V3.1's template dropping what comes before the first
// "</think>".
ChatMessage chat_reply_message(ChatStyle style, std::string_view reply);

// render_chat then encode with special tokens parsed and no extra BOS.
std::vector<TokenId> encode_chat(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                                 const ChatOptions& opt = {});

}  // namespace seek
