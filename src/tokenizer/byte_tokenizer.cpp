// The byte tokenizer: ids 0..255 are bytes, 256.. the chat special tokens. Needs no files, so small models
// and tests can train before a BPE vocabulary exists.
#include <array>

#include "core/error.hpp"
#include "tokenizer/added_tokens.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace seek {
namespace {

constexpr std::array<std::string_view, 9> kSpecials = {
    tokens::kBos,      tokens::kEos,    tokens::kUser,      tokens::kAssistant, tokens::kThink,
    tokens::kEndThink, tokens::kAnswer, tokens::kEndAnswer, tokens::kPad};
constexpr TokenId kFirstSpecial = 256;

class ByteTokenizer final : public Tokenizer {
 public:
  ByteTokenizer() {
    for (size_t i = 0; i < kSpecials.size(); ++i)
      added_.push_back(tok::AddedToken{TokenId(kFirstSpecial + i), std::string(kSpecials[i]), true});
    matcher_ = std::make_unique<tok::AddedTokenMatcher>(added_);
  }

  std::vector<TokenId> encode(std::string_view text, bool add_special, bool parse_special) const override {
    std::string repaired;
    if (!tok::utf8_is_valid(text)) {
      repaired = tok::utf8_repair(text);
      text = repaired;
    }
    std::vector<TokenId> out;
    out.reserve(text.size() + 1);
    if (add_special) out.push_back(bos_id());
    auto bytes = [&](std::string_view s) {
      for (unsigned char c : s) out.push_back(c);
    };
    if (!parse_special) {
      bytes(text);
      return out;
    }
    std::vector<tok::AddedTokenMatcher::Section> sections;
    matcher_->split(text, sections);
    for (const auto& s : sections) {
      if (s.token >= 0)
        out.push_back(added_[s.token].id);
      else
        bytes(s.text);
    }
    return out;
  }

  std::string decode(std::span<const TokenId> ids, bool skip_special) const override {
    std::string out, run;
    for (TokenId id : ids) {
      check(id);
      if (id < kFirstSpecial) {
        run += char(id);
        continue;
      }
      if (skip_special) continue;  // gone before decoding: the bytes on its two sides join
      out += tok::utf8_repair(run);
      run.clear();
      out += kSpecials[id - kFirstSpecial];
    }
    return out + tok::utf8_repair(run);
  }

  std::string token_bytes(TokenId id) const override {
    check(id);
    return id < kFirstSpecial ? std::string(1, char(id)) : std::string(kSpecials[id - kFirstSpecial]);
  }
  size_t vocab_size() const override { return kFirstSpecial + kSpecials.size(); }
  std::optional<TokenId> token_to_id(std::string_view token) const override {
    if (token.size() == 1) return TokenId(static_cast<unsigned char>(token[0]));
    for (size_t i = 0; i < kSpecials.size(); ++i)
      if (kSpecials[i] == token) return TokenId(kFirstSpecial + i);
    return std::nullopt;
  }
  std::string id_to_token(TokenId id) const override { return token_bytes(id); }
  bool is_special(TokenId id) const override {
    check(id);
    return id >= kFirstSpecial;
  }
  TokenId bos_id() const override { return kFirstSpecial + 0; }
  TokenId eos_id() const override { return kFirstSpecial + 1; }
  TokenId pad_id() const override { return kFirstSpecial + 8; }
  std::string kind() const override { return "byte"; }

 private:
  void check(TokenId id) const {
    if (id < 0 || size_t(id) >= vocab_size())
      fail("token id {} is out of range for the byte tokenizer (vocabulary size {})", id, vocab_size());
  }
  std::vector<tok::AddedToken> added_;
  std::unique_ptr<tok::AddedTokenMatcher> matcher_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer() {
  return std::make_unique<ByteTokenizer>();
}

}  // namespace seek
