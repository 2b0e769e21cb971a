// Pre-tokenization of byte-level BPE tokenizers: the Split / Digits / ByteLevel steps of a tokenizer.json
// pre_tokenizer (possibly in a Sequence), run as a chain of regex splits over UTF-8 text. Each final piece is
// handed to a callback as raw bytes; the byte-to-unicode mapping of ByteLevel is left to the BPE model,
// which works on bytes directly.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.hpp"

namespace seek::tok {

enum class SplitBehavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous };

// The GPT-2 pattern ByteLevel uses when use_regex is true.
extern const char* const kGpt2Pattern;
// DeepSeek-V3's pre_tokenizer, as its tokenizer.json spells it (the default for training).
nlohmann::json deepseek_v3_pre_tokenizer_json();
nlohmann::json gpt2_pre_tokenizer_json();
// `pre` with every key Hugging Face's tokenizers require spelled out, each with the value seek reads when it
// is left out (ByteLevel's add_prefix_space, trim_offsets and use_regex; Split's invert; Digits'
// individual_digits), inside Sequences too. seek reads a value without them, Hugging Face refuses the file
// ("missing field `add_prefix_space`"): a trained tokenizer.json is written with them.
nlohmann::json with_required_pre_tokenizer_keys(const nlohmann::json& pre);

class PreTokenizer {
 public:
  // Parses a tokenizer.json "pre_tokenizer" value. `where` names it in errors. The chain must end with a
  // ByteLevel step (only byte-level models are supported).
  static PreTokenizer from_json(const nlohmann::json& j, const std::string& where);

  // Calls fn(piece) for every piece, in order.
  void run(std::string_view text, const std::function<void(std::string_view)>& fn) const;
  // A ByteLevel step with add_prefix_space puts a space before every text run through it: a text cut in two
  // (pre_token_cut_after) would get two, so such texts are run whole.
  bool adds_prefix_space() const;
  // Whether texts cut by pre_token_cut_after pre-tokenize to the pieces of the whole: false with a prefix
  // space, and for a chain that treats a newline between visible characters otherwise than DeepSeek-V3's and
  // GPT-2's patterns do (a Split on "\n" with MergedWithNext joins it to the next line), judged on probe
  // texts when parsed.
  bool cuts_at_line_starts() const { return cuts_at_line_starts_; }

 private:
  struct Stage {
    std::shared_ptr<Regex> re;  // null: the ByteLevel add_prefix_space step
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
  };
  void add(const nlohmann::json& j, const std::string& where, bool* saw_byte_level);
  bool keeps_pieces_at_probed_cuts() const;
  void run_stage(size_t k, std::string_view text, bool newer,
                 const std::function<void(std::string_view)>& fn) const;

  std::vector<Stage> stages_;
  bool cuts_at_line_starts_ = true;
};

// The first position after `from` where text can be cut into two texts that pre-tokenize to the same pieces
// as the whole (text.size() if none): right after a newline with a character that is not whitespace on either
// side. Such a newline is a piece of its own or ends one (".\n"), and the next character starts a piece, in
// DeepSeek-V3's and GPT-2's patterns alike (tested for both); next to other whitespace it can be
// inside a piece ("\n\n\n", " \n", "\r\n": GPT-2's \s+(?!\S) takes "\n\n" whole at the end of a text but
// splits it before a letter). Not for a ByteLevel step that adds a prefix space, which the second text
// would get (PreTokenizer::adds_prefix_space). Used to tokenize long texts in parallel chunks.
size_t pre_token_cut_after(std::string_view text, size_t from);

}  // namespace seek::tok
