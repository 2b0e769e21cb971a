// Finds added tokens (special tokens such as "<｜User｜>") in text before pre-tokenization, longest match
// first and leftmost first, as Hugging Face's tokenizers do. Hugging Face matches in two passes (see
// BpeTokenizer::encode): the tokens with normalized false in the raw text, then those with normalized true,
// spelled as the normalizer writes them, in each remaining piece once it is normalized.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace seek::tok {

// The longest added token a tokenizer.json may hold (what the matcher and the loader support).
inline constexpr size_t kMaxAddedTokenBytes = 256;

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false, lstrip = false, rstrip = false, normalized = false, single_word = false;
};

class AddedTokenMatcher {
 public:
  // Matches every token by its content.
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);
  // Matches tokens[k] spelled spellings[k] (its content, or its content normalized); an empty spelling
  // leaves the token out.
  AddedTokenMatcher(const std::vector<AddedToken>& tokens, const std::vector<std::string>& spellings);

  // Splits text into sections: plain text (token == -1) and added tokens (index into the token list).
  // Without `parse_special`, special tokens are found but left in the text, and the search goes on after
  // them (Hugging Face's encode_special_tokens): other tokens inside one are not matched. A single_word token
  // with a word character (Unicode \w) right before or after it is left in the text the same way.
  // lstrip/rstrip trim whitespace (is_white_space, as Hugging Face's tokenizers do) from the neighbouring
  // text.
  struct Section {
    std::string_view text;
    int32_t token;  // index into the token list, or -1
  };
  void split(std::string_view text, std::vector<Section>& out, bool parse_special = true) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> next;
    int32_t token = -1;
  };
  const std::vector<AddedToken>* tokens_;
  std::vector<Node> nodes_;
  bool first_byte_[256] = {};
};

// Whether an added token spelled `content` can straddle a cut made right after a newline
// (pre_token_cut_after): it holds a newline before its last byte with visible characters around it ("<x\ny>",
// "\n<x>"; not "\n\n" or "<x>\n\n"). Text holding it cut there would find the token in neither part, so such
// tokenizers encode and train on texts whole.
bool added_token_spans_line_start(std::string_view content);

// Trims whitespace (is_white_space: Unicode White_Space, Rust's char::is_whitespace) from either end.
std::string_view trim_white_space_start(std::string_view s);
std::string_view trim_white_space_end(std::string_view s);

}  // namespace seek::tok
