// Text normalizers of byte-level tokenizers: none, NFC, and Sequence of those (what tokenizer.json files of
// byte-level BPE models use). Anything else is rejected by name when the tokenizer is loaded.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace seek::tok {

// Unicode Normalization Form C of valid UTF-8.
std::string nfc(std::string_view s);
// The same through the full algorithm over the whole text, without nfc's copying of stable stretches: the
// reference that the tests and the tokenizer benchmark hold nfc against.
std::string nfc_unsegmented(std::string_view s);

class Normalizer {
 public:
  static Normalizer from_json(const nlohmann::json& j, const std::string& where);
  bool identity() const { return !nfc_; }
  // Returns `s` normalized; `storage` may hold the result.
  std::string_view apply(std::string_view s, std::string& storage) const;

 private:
  void add(const nlohmann::json& j, const std::string& where);
  bool nfc_ = false;
};

}  // namespace seek::tok
