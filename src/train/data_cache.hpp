// The token cache. <cache_dir>/<key>/ holds
//   tokens.bin   uint32 little-endian token ids, all documents back to back (in input order)
//   mask.bin     uint8 per token, 1 where the token carries loss (SFT only)
//   offsets.bin  uint64 little-endian, documents + 1 entries: document d is tokens [offsets[d], offsets[d+1])
//   meta.json    {"descriptor": what the key hashes, "key", "documents", "tokens", "loss_tokens"}
// The key is the XXH64 of the descriptor: format version, objective, tokenizer fingerprint, and every input's
// absolute path, size, mtime and content hash, so any change to an input or the tokenizer names a new folder.
// A folder is built under a temporary name, fsynced and renamed into place, so one that exists is complete.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "io/mapped_file.hpp"
#include "train/data_inputs.hpp"
#include "train/dataset.hpp"

namespace seek::data {

// 2: long documents are cut only where GPT-2's pre-tokenizer keeps the tokens too (format 1 caches of such
// documents may hold other tokens at the cuts).
// 3: pretraining documents begin with BOS (kDataLayout 2).
inline constexpr int kCacheFormat = 3;

// How training sequences are laid out, recorded in TokenCache::content and so in each checkpoint: 2 since
// pretraining documents begin with BOS and SFT conversations start the sequence they would cross into; 3 for
// SFT since its last sequence is padded rather than dropped (one more sequence shuffles every epoch
// otherwise). A checkpoint of another layout would continue on other sequences (check_same_data refuses it).
inline constexpr int kDataLayout = 2;
inline constexpr int kSftDataLayout = 3;

struct TokenCache {
  std::filesystem::path dir;
  MappedFile tokens_file, mask_file, offsets_file;  // mask_file is empty for pretraining
  int64_t documents = 0, tokens = 0, loss_tokens = 0;
  int64_t vocab_size = 0;  // the tokenizer's: every id in tokens.bin is below it unless the file is damaged
  bool reused = false;
  // What the tokens were made from, without paths or times (a moved file is the same data): the tokenizer's
  // fingerprint and each input's size and content hash, in order, and the sequence layout (kDataLayout). A
  // resumed run compares it with its checkpoint's.
  nlohmann::json content;

  const uint32_t* token_ids() const { return reinterpret_cast<const uint32_t*>(tokens_file.data()); }
  const uint8_t* mask() const { return reinterpret_cast<const uint8_t*>(mask_file.data()); }  // null: all 1
  uint64_t offset(int64_t doc) const { return reinterpret_cast<const uint64_t*>(offsets_file.data())[doc]; }
};

// Identifies the tokenizer's behaviour: kind, vocabulary size, special ids, a hash over every token's
// spelling and special flag, a hash of the ids a fixed probe text encodes to (which also depends on the
// merges, normalizer and pre-tokenizer), and a hash of the ids each plain token's own bytes encode to (which
// depends on every merge).
nlohmann::json tokenizer_fingerprint(const Tokenizer& tok);

nlohmann::json cache_descriptor(const std::vector<InputFile>& inputs, Objective objective,
                                const Tokenizer& tok);

// Maps <cache_dir>/<key>/ when it is present and intact, else tokenizes the inputs into it first. The
// caches of other keys in <cache_dir> are then removed (their files stay readable where already mapped).
TokenCache open_token_cache(const DataOptions& opts, const Tokenizer& tok);

// TokenCache::content of the data `opts` names, without opening or building a cache (it reads and hashes
// the inputs): a resumed run compares it with its checkpoint's before tokenizing anything.
nlohmann::json data_content(const DataOptions& opts, const Tokenizer& tok);

// Removes the "<key>.tmp-<pid>-*" build folders in `cache_dir` whose process no longer exists: a build killed
// by a signal (whose handler can only unlink files) or a crash leaves one. Best effort; open_token_cache
// calls it first.
void remove_stale_cache_builds(const std::filesystem::path& cache_dir);

// Tokenizes `inputs` into `dir` (which must not exist yet) through a temporary sibling folder. Used by
// open_token_cache; losing a race to another process building the same key is not an error.
void build_token_cache(const std::filesystem::path& dir, const nlohmann::json& descriptor,
                       const std::vector<InputFile>& inputs, Objective objective, const Tokenizer& tok,
                       int threads);

}  // namespace seek::data
