// Byte-level BPE tokenizer built from a Hugging Face tokenizer.json: added tokens, normalizer,
// pre-tokenizer, BPE model, BOS/EOS handling and the ByteLevel decoder.
#pragma once
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_tokens.hpp"
#include "tokenizer/bpe_model.hpp"
#include "tokenizer/normalizer.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek::tok {

class BpeTokenizer final : public Tokenizer {
 public:
  // `config` is tokenizer_config.json (null if absent); `name` names the source in error messages.
  BpeTokenizer(const nlohmann::json& tokenizer_json, const nlohmann::json& config, const std::string& name);

  std::vector<TokenId> encode(std::string_view text, bool add_special = false,
                              bool parse_special = true) const override;
  std::string decode(std::span<const TokenId> ids, bool skip_special = false) const override;
  std::string token_bytes(TokenId id) const override;
  size_t vocab_size() const override { return tokens_.size(); }
  TokenId first_missing_id() const override;
  bool adds_prefix_space() const override { return pre_.adds_prefix_space(); }
  // An added token that strips the whitespace beside it would keep a newline at a cut it strips in the whole,
  // and one with a newline inside would be cut in two (added_token_spans_line_start). A single_word token
  // ending in a newline would end a part, where nothing follows it, and be matched there though the whole
  // has a word after it.
  bool cuts_at_line_starts() const override {
    return pre_.cuts_at_line_starts() && std::none_of(added_.begin(), added_.end(), [](const AddedToken& t) {
             return t.lstrip || t.rstrip || (t.single_word && t.content.ends_with('\n')) ||
                    added_token_spans_line_start(t.content);
           });
  }
  std::optional<TokenId> token_to_id(std::string_view token) const override;
  std::string id_to_token(TokenId id) const override;
  bool is_special(TokenId id) const override;
  TokenId bos_id() const override { return bos_; }
  TokenId eos_id() const override { return eos_; }
  TokenId pad_id() const override { return pad_; }
  std::string kind() const override { return "bpe"; }

 private:
  struct TokenInfo {
    std::string text;    // vocabulary spelling (byte-level form, or the added token's content)
    std::string bytes;   // raw bytes it decodes to
    int32_t added = -1;  // index into added_, or -1
    bool present = false;
  };
  void check_id(TokenId id) const;
  // Encodes one piece of normalized text (no added tokens) and appends the ids.
  void encode_normalized(std::string_view text, std::vector<TokenId>& out) const;
  void check_added_token(const AddedToken& t, size_t index, const std::string& name) const;

  std::string name_;  // the source, for errors while encoding
  std::vector<TokenInfo> tokens_;
  std::unordered_map<std::string, TokenId> by_text_;
  std::vector<AddedToken> added_;
  // Added tokens with normalized false, spelled as written, and those with normalized true, spelled as the
  // normalizer writes them (see encode).
  std::unique_ptr<AddedTokenMatcher> match_raw_, match_normalized_;
  std::unique_ptr<BpeModel> model_;
  Normalizer normalizer_;
  PreTokenizer pre_;
  bool ignore_merges_ = false;
  std::unordered_map<std::string, TokenId> whole_word_;  // raw bytes -> id, used by ignore_merges
  std::vector<TokenId> prefix_, suffix_;                 // what add_special puts around a sequence
  TokenId bos_ = -1, eos_ = -1, pad_ = -1;
};

}  // namespace seek::tok
