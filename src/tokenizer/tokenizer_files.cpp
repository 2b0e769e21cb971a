// See tokenizer_files.hpp.
#include "tokenizer/tokenizer_files.hpp"

#include <algorithm>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/untrusted_json.hpp"

namespace seek::tok {

namespace fs = std::filesystem;

bool tokenizer_file_present(const fs::path& file) {
  std::error_code ec;
  // The error_code forms: the throwing ones raise std::filesystem_error, which reaches the user as an
  // internal error.
  const fs::file_status link = fs::symlink_status(file, ec);
  if (link.type() == fs::file_type::not_found) return false;
  if (link.type() == fs::file_type::none) fail("cannot read {}: {}", file.string(), ec.message());
  const fs::file_status target = fs::status(file, ec);
  if (target.type() == fs::file_type::not_found)
    fail("{} is a symbolic link to {}, which does not exist", file.string(),
         fs::read_symlink(file, ec).string());
  if (target.type() == fs::file_type::none) fail("cannot read {}: {}", file.string(), ec.message());
  refuse_special_file(file);
  return true;
}

std::string read_tokenizer_file(const fs::path& file) {
  constexpr long long kMaxTokenizerFileBytes = 128LL << 20;
  return read_file(file, kMaxTokenizerFileBytes, "the largest tokenizer files in use are tens of megabytes");
}

std::string read_generation_config_file(const fs::path& file) {
  constexpr long long kMaxGenerationConfigBytes = 1 << 20;
  return read_file(file, kMaxGenerationConfigBytes, "a generation_config.json is a few hundred bytes");
}

std::optional<nlohmann::json> read_tokenizer_json(const fs::path& file) {
  if (!tokenizer_file_present(file)) return std::nullopt;
  const std::string text = read_tokenizer_file(file);
  try {
    // Keys once each (a vocabulary with a token twice was written by something broken) and a bounded depth.
    return parse_json_unique_keys(text, file.string());
  } catch (const nlohmann::json::exception& e) {
    fail("{} is not valid JSON: {}", file.string(), json_error_text(e));
  }
}

namespace {

constexpr const char* kTokenizerFiles[] = {"tokenizer.json", "tokenizer_config.json"};
constexpr const char* kGenerationConfig = "generation_config.json";

}  // namespace

TokenizerFileSet read_tokenizer_files(const fs::path& from, const fs::path& model_from) {
  TokenizerFileSet set;
  if (!from.empty())
    for (const char* f : kTokenizerFiles)
      if (tokenizer_file_present(from / f)) set.files.emplace_back(f, read_tokenizer_file(from / f));
  if (!model_from.empty() && tokenizer_file_present(model_from / kGenerationConfig))
    set.files.emplace_back(kGenerationConfig, read_generation_config_file(model_from / kGenerationConfig));
  return set;
}

void write_tokenizer_files(const TokenizerFileSet& set, const fs::path& to) {
  for (const char* f : {kTokenizerFiles[0], kTokenizerFiles[1], kGenerationConfig}) {
    const auto it =
        std::find_if(set.files.begin(), set.files.end(), [&](const auto& e) { return e.first == f; });
    if (it != set.files.end()) {
      write_file_atomically(to / f, it->second);
    } else {
      std::error_code ec;
      fs::remove(to / f, ec);
      SEEK_CHECK(!ec, "cannot remove {} (an earlier tokenizer's): {}", (to / f).string(), ec.message());
    }
  }
}

}  // namespace seek::tok
