// Training data: input files are tokenized once into memory-mapped binary shards (cached and reused while the
// inputs and the tokenizer are unchanged), documents are packed into fixed-length sequences with EOS
// separators, split into train and validation by document, and served in a deterministic shuffled order
// that depends only on the seed and the position in the stream (so a resumed run sees the same batches).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace seek {

enum class Objective {
  Pretrain,  // .txt (documents separated by a line "<|endoftext|>", else the file is one document) or
             // .jsonl with {"text": ...} per line; each document is BOS + text + EOS; loss on every token.
             // Special-token strings inside the text are tokenized as plain text.
  Sft,       // .jsonl with {"messages": [{"role", "content"}, ...]} (DeepSeek chat format; loss on assistant
             // content and the end-of-sentence token after it) or {"prompt": ..., "completion": ...}
             // (BOS + prompt + completion + EOS; loss on completion and EOS). A conversation that fits a
             // sequence never crosses into the next one: it starts that one, after padding without loss.
};

struct DataOptions {
  std::vector<std::filesystem::path> inputs;
  Objective objective = Objective::Pretrain;
  int64_t seq_len = 256;            // tokens per training sequence (each sequence reads seq_len + 1 tokens)
  double val_fraction = 0.05;       // share of documents held out for validation (0: none)
  uint64_t seed = 0;                // shuffling and the document split
  std::filesystem::path cache_dir;  // where token shards are kept, e.g. <run>/data-cache
  int threads = 0;                  // tokenization threads (0: OpenMP default)
};

struct DatasetStats {
  int64_t documents = 0, train_documents = 0, val_documents = 0;
  int64_t train_tokens = 0, val_tokens = 0;  // including the EOS separators and padding
  // SFT: before conversations moved to the next sequence's start, and after each split's last (no loss).
  int64_t padding_tokens = 0;
  int64_t train_sequences = 0, val_sequences = 0;
  // Train targets that carry loss (all for pretraining; assistant tokens and their EOS for SFT).
  int64_t counted_targets = 0;
  // SFT: training sequences without one (they train only the balance loss: prompts longer than seq_len?),
  // and the validation targets that carry loss (0: no validation loss can be measured).
  int64_t train_sequences_without_targets = 0, val_targets = 0;
  // SFT: records (conversations) with no token that carries loss: no assistant answer to train on.
  int64_t documents_without_targets = 0;
  // SFT: records longer than a sequence (seq_len + 1 tokens), whose tokens past its end are trained without
  // the start of their conversation in view.
  int64_t documents_longer_than_a_sequence = 0;
  bool reused_cache = false;
  std::filesystem::path cache_path;  // <cache_dir>/<key>: the token cache this dataset reads
  nlohmann::json content;            // what its tokens were made from (data_cache.hpp, TokenCache::content)
};

class Dataset {
 public:
  // Tokenizes (or reuses the cache), packs and splits. Throws seek::Error naming the file and line for a
  // missing or unreadable input, malformed JSONL, a record without the expected keys, an unknown chat role,
  // or a corpus too small to fill one sequence.
  static std::unique_ptr<Dataset> open(const DataOptions& opts, const Tokenizer& tok);
  virtual ~Dataset() = default;

  virtual const DatasetStats& stats() const = 0;

  // Writes B training sequences starting at global sequence `position` of the shuffled stream:
  // tokens[b, t] and targets[b, t] = the next token or -1 where it carries no loss. Epoch e = position /
  // train_sequences uses its own permutation (from seed and e), so any position can be served directly.
  // `lengths` (optional, [B]): the tokens of each sequence before its padding (SFT pads a sequence after its
  // last whole conversation); the sequence length where it has none.
  virtual void train_batch(int64_t position, int64_t B, int32_t* tokens, int32_t* targets,
                           int64_t* lengths = nullptr) const = 0;

  // The sequence of the (unshuffled) training stream that global `position` serves: perm_e[position % n]
  // with e = position / n, n = train_sequences. train_batch(position, 1, ...) reads that sequence.
  virtual int64_t train_index(int64_t position) const = 0;

  // Validation sequences in fixed order: sequences [first, first + B) (wrapping around).
  virtual void val_batch(int64_t first, int64_t B, int32_t* tokens, int32_t* targets) const = 0;
};

}  // namespace seek
