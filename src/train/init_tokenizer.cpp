#include "train/init_tokenizer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <tuple>

#include "core/error.hpp"
#include "core/stderr.hpp"
#include "tokenizer/tokenizer_files.hpp"
#include "tokenizer/utf8.hpp"

namespace seek {

namespace fs = std::filesystem;

void check_tokenizer_fits_init(const fs::path& init, const std::string& tokenizer_dir, const Tokenizer& given,
                               const ModelConfig& model) {
  // The config's special ids: generation takes its end of sequence from them. An eos_token_id list ends
  // generation at any of its ids, so the tokenizer's EOS may be any one of them.
  const int64_t tok_bos = given.bos_id(), tok_eos = given.eos_id();
  SEEK_CHECK(
      model.bos_token_id < 0 || tok_bos < 0 || model.bos_token_id == tok_bos,
      "the --init model's config.json has BOS id {}, the tokenizer in {} has {}: the model was made for "
      "another tokenizer; give --tokenizer the one it was trained with",
      model.bos_token_id, tokenizer_dir, tok_bos);
  SEEK_CHECK(model.eos_token_id < 0 || tok_eos < 0 || model.is_eos(tok_eos),
             "the --init model's config.json has EOS id{} {}, the tokenizer in {} has {}: the model was made "
             "for another tokenizer; give --tokenizer the one it was trained with",
             model.extra_eos_token_ids.empty() ? "" : "s",
             model.extra_eos_token_ids.empty()
                 ? std::to_string(model.eos_token_id)
                 : fmt::format("{}, {}", model.eos_token_id, fmt::join(model.extra_eos_token_ids, ", ")),
             tokenizer_dir, tok_eos);
  // The whole vocabulary, against the folder's own tokenizer.json: one of the same size and special ids whose
  // other ids mean other tokens (another training, special tokens in another order) passed the check above.
  if (!tok::tokenizer_file_present(init / "tokenizer.json")) return;
  // A --tokenizer may be given because the folder's own files do not load: then there is nothing to compare.
  std::unique_ptr<Tokenizer> own;
  try {
    own = load_tokenizer(init);
  } catch (const Error& e) {
    print_stderr(
        "note: the --init folder's own tokenizer does not load ({}); --tokenizer {} is taken without "
        "comparing their vocabularies\n",
        e.what(), tokenizer_dir);
    return;
  }
  // An id that names no token (a gap in a tokenizer.json's ids) is nullopt: the model's own gap may be
  // filled. Compared as bytes; shown as text where they are whole UTF-8, else byte by byte (a byte-level
  // vocabulary's partial characters would all read as U+FFFD).
  const auto bytes_of = [](const Tokenizer& t, size_t id) -> std::optional<std::string> {
    try {
      return t.token_bytes(TokenId(id));
    } catch (const Error&) {
      return std::nullopt;
    }
  };
  const auto shown = [](const std::optional<std::string>& b) {
    if (!b) return std::string("no token");
    if (tok::utf8_is_valid(*b)) return nlohmann::json(*b).dump();
    std::string hex = "bytes";
    for (unsigned char c : *b) hex += fmt::format(" {:02X}", c);
    return hex;
  };
  const size_t common = std::min(own->vocab_size(), given.vocab_size());
  for (size_t id = 0; id < common; ++id) {
    const auto a = bytes_of(*own, id);
    if (!a) continue;
    const auto b = bytes_of(given, id);
    SEEK_CHECK(
        a == b,
        "the --init model's own tokenizer ({}) and --tokenizer {} give id {} to different tokens ({} and "
        "{}): the model was made for its own; give --tokenizer the one it was trained with, or leave "
        "--tokenizer out",
        (init / "tokenizer.json").string(), tokenizer_dir, id, shown(a), shown(b));
  }
}

}  // namespace seek
