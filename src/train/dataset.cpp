// Dataset::open and the packed dataset: documents of the token cache are split into train and validation by
// a seeded hash of their index, each side is one packed stream (kept as runs of contiguous documents in the
// mapped token file, never copied), and sequence i of a stream reads tokens [i*L, i*L + L + 1). For SFT a
// conversation that would cross into the next sequence starts that sequence instead, after padding that
// carries no loss: packed across the cut, half of an answer was trained without its prompt in view; and the
// last sequence is padded to its end rather than dropped with its conversations.
#include "train/dataset.hpp"

#include <algorithm>
#include <mutex>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "train/data_cache.hpp"
#include "train/data_hash.hpp"

namespace seek {
namespace {

using data::mix64;
using data::TokenCache;

constexpr uint64_t kSplitSalt = 0x73706c6974ull;      // "split"
constexpr uint64_t kShuffleSalt = 0x73687566666cull;  // "shuffl"

// A packed stream: run r starts at stream position begin[r] and at token at[r] of the cache, or is padding
// (at[r] = kPadding).
constexpr int64_t kPadding = -1;

struct Stream {
  std::vector<int64_t> begin, at;
  int64_t tokens = 0, documents = 0, sequences = 0, padding = 0;

  // `window` > 0: a document of n tokens whose last would fall past the window of L + 1 tokens it starts in
  // (sequence k reads [k*L, k*L + L + 1)) starts the next window instead, after padding; one longer than a
  // window starts a window and spans several.
  void append(int64_t file_begin, int64_t n, int64_t window = 0) {
    ++documents;
    if (n == 0) return;
    if (window > 0 && tokens % window != 0 && tokens % window + n - 1 > window) {
      const int64_t pad = window - tokens % window;
      begin.push_back(tokens);
      at.push_back(kPadding);
      tokens += pad;
      padding += pad;
    }
    if (at.empty() || at.back() == kPadding || at.back() + (tokens - begin.back()) != file_begin) {
      begin.push_back(tokens);
      at.push_back(file_begin);
    }
    tokens += n;
  }

  // Pads the stream to the end of its last sequence (SFT), whose conversations were otherwise dropped with
  // it, as a pretraining stream's partial last sequence is: 40% of a five-conversation file was never
  // trained.
  void pad_last_window(int64_t window) {
    if (tokens <= 1 || (tokens - 1) % window == 0) return;
    const int64_t pad = window - (tokens - 1) % window;
    begin.push_back(tokens);
    at.push_back(kPadding);
    tokens += pad;
    padding += pad;
  }

  // Calls f(cache_position, count) for the pieces of stream range [from, to), in order; cache_position is
  // kPadding for padding.
  template <typename F>
  void for_each_piece(int64_t from, int64_t to, F&& f) const {
    size_t r = size_t(std::upper_bound(begin.begin(), begin.end(), from) - begin.begin()) - 1;
    while (from < to) {
      const int64_t run_end = r + 1 < begin.size() ? begin[r + 1] : tokens;
      const int64_t n = std::min(to, run_end) - from;
      f(at[r] == kPadding ? kPadding : at[r] + (from - begin[r]), n);
      from += n;
      ++r;
    }
  }
};

// The document's coin: a uniform number in [0, 1) from (seed, index), the same on every machine.
double split_coin(uint64_t seed, int64_t doc) {
  return double(mix64(mix64(seed ^ kSplitSalt) + uint64_t(doc)) >> 11) * 0x1.0p-53;
}

class PackedDataset final : public Dataset {
 public:
  PackedDataset(TokenCache cache, const DataOptions& opts) : cache_(std::move(cache)), opts_(opts) {
    split();
    const int64_t L = opts_.seq_len;
    for (Stream* s : {&train_, &val_}) s->sequences = s->tokens > L ? (s->tokens - 1) / L : 0;
    if (train_.sequences == 0)
      fail(
          "too little training data: the training split has {} tokens ({} of {} documents), but one sequence "
          "of seq_len {} needs {} tokens{}",
          train_.tokens, train_.documents, cache_.documents, L, L + 1,
          val_.documents > 0 ? fmt::format(" ({} tokens are held out for validation)", val_.tokens) : "");
    SEEK_CHECK(train_.sequences <= int64_t(UINT32_MAX),
               "{} training sequences are more than this loader serves", train_.sequences);
    stats_.documents = cache_.documents;
    stats_.train_documents = train_.documents;
    stats_.val_documents = val_.documents;
    stats_.train_tokens = train_.tokens;
    stats_.val_tokens = val_.tokens;
    stats_.train_sequences = train_.sequences;
    stats_.val_sequences = val_.sequences;
    const TargetCount train_count = count_targets(train_), val_count = count_targets(val_);
    stats_.counted_targets = train_count.targets;
    stats_.train_sequences_without_targets = train_count.empty_sequences;
    stats_.val_targets = val_count.targets;
    if (const uint8_t* mask = cache_.mask())
      for (int64_t d = 0; d < cache_.documents; ++d) {
        stats_.documents_without_targets += std::all_of(mask + cache_.offset(d), mask + cache_.offset(d + 1),
                                                        [](uint8_t m) { return m == 0; });
        stats_.documents_longer_than_a_sequence += cache_.offset(d + 1) - cache_.offset(d) > uint64_t(L + 1);
      }
    // Every file has answers (the cache build checks that), but they can all fall in validation documents.
    if (stats_.counted_targets == 0) {
      std::string names;
      for (const auto& p : opts_.inputs) names += (names.empty() ? "" : ", ") + p.string();
      fail(
          "no training target carries loss: the {} answer tokens of {} all fall in the {} validation "
          "document(s); add answers, or lower val_fraction",
          cache_.loss_tokens, names, val_.documents);
    }
    stats_.reused_cache = cache_.reused;
    stats_.cache_path = cache_.dir;
    stats_.content = cache_.content;
    stats_.padding_tokens = train_.padding + val_.padding;
  }

  const DatasetStats& stats() const override { return stats_; }

  void train_batch(int64_t position, int64_t B, int32_t* tokens, int32_t* targets,
                   int64_t* lengths) const override {
    SEEK_CHECK(position >= 0 && B >= 0, "train_batch: position {} and batch size {} must be >= 0", position,
               B);
    const int64_t n = train_.sequences, L = opts_.seq_len;
    std::shared_ptr<const std::vector<uint32_t>> perm;
    int64_t epoch = -1;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t p = position + b;
      if (p / n != epoch) {
        epoch = p / n;
        perm = permutation(epoch);
      }
      const int64_t length = read_sequence(train_, (*perm)[size_t(p % n)], tokens + b * L, targets + b * L);
      if (lengths) lengths[b] = length;
    }
  }

  int64_t train_index(int64_t position) const override {
    SEEK_CHECK(position >= 0, "train_index: position {} must be >= 0", position);
    const int64_t n = train_.sequences;
    return (*permutation(position / n))[size_t(position % n)];
  }

  void val_batch(int64_t first, int64_t B, int32_t* tokens, int32_t* targets) const override {
    SEEK_CHECK(first >= 0 && B >= 0, "val_batch: first {} and batch size {} must be >= 0", first, B);
    SEEK_CHECK(val_.sequences > 0,
               "there are no validation sequences: the validation split has {} tokens ({} documents), one "
               "sequence needs {}",
               val_.tokens, val_.documents, opts_.seq_len + 1);
    const int64_t L = opts_.seq_len;
    for (int64_t b = 0; b < B; ++b)
      read_sequence(val_, (first + b) % val_.sequences, tokens + b * L, targets + b * L);
  }

 private:
  void split() {
    const int64_t D = cache_.documents;
    std::vector<char> val(size_t(D), 0);
    if (D >= 2 && opts_.val_fraction > 0) {
      std::vector<double> coin(static_cast<size_t>(D));
      int64_t n_val = 0;
      for (int64_t d = 0; d < D; ++d) {
        coin[d] = split_coin(opts_.seed, d);
        n_val += val[d] = coin[d] < opts_.val_fraction;
      }
      // At least one document on each side: the lowest coin goes to validation, the highest to training.
      if (n_val == 0) val[size_t(std::min_element(coin.begin(), coin.end()) - coin.begin())] = 1;
      if (n_val == D) val[size_t(std::max_element(coin.begin(), coin.end()) - coin.begin())] = 0;
    }
    const int64_t window = opts_.objective == Objective::Sft ? opts_.seq_len : 0;
    for (int64_t d = 0; d < D; ++d) {
      const int64_t b = int64_t(cache_.offset(d)), e = int64_t(cache_.offset(d + 1));
      (val[d] ? val_ : train_).append(b, e - b, window);
    }
    if (window > 0)
      for (Stream* s : {&train_, &val_}) s->pad_last_window(window);
  }

  // Targets that carry loss over all sequences of a stream (its positions 1 .. sequences * L), and the
  // sequences with none.
  struct TargetCount {
    int64_t targets = 0, empty_sequences = 0;
  };
  TargetCount count_targets(const Stream& s) const {
    const int64_t L = opts_.seq_len, last = s.sequences * L;
    const uint8_t* mask = cache_.mask();
    if (!mask) return {last, 0};
    TargetCount c;
    for (int64_t q = 0; q < s.sequences; ++q) {
      int64_t n = 0;
      s.for_each_piece(q * L + 1, (q + 1) * L + 1, [&](int64_t at, int64_t len) {
        if (at != kPadding)
          for (int64_t i = 0; i < len; ++i) n += mask[at + i];
      });
      c.targets += n;
      c.empty_sequences += n == 0;
    }
    return c;
  }

  // Returns the tokens before the sequence's padding (L without any): padding only ends a window, after its
  // last whole conversation.
  int64_t read_sequence(const Stream& s, int64_t index, int32_t* tokens, int32_t* targets) const {
    const int64_t L = opts_.seq_len;
    const uint32_t* ids = cache_.token_ids();
    const uint8_t* mask = cache_.mask();
    int64_t w = 0;  // position in the window of L + 1 tokens
    int64_t length = L;
    int32_t last = 0;  // padding repeats the token before it (a conversation's end), which it never predicts
    s.for_each_piece(index * L, index * L + L + 1, [&](int64_t at, int64_t len) {
      for (int64_t i = 0; i < len; ++i, ++w) {
        const bool pad = at == kPadding;
        // Checked as read, not when the cache is opened: a scan would read a large corpus's whole cache at
        // every start. An id past the vocabulary failed in the embedding, naming neither file.
        if (!pad && int64_t(ids[at + i]) >= cache_.vocab_size)
          fail(
              "the data cache {} is damaged: tokens.bin holds token id {}, outside the tokenizer's {} ids; "
              "delete that folder and the run tokenizes its data again",
              cache_.dir.string(), ids[at + i], cache_.vocab_size);
        const int32_t id = pad ? last : int32_t(ids[at + i]);
        last = id;
        if (w < L) tokens[w] = id;
        if (pad && w < length) length = w;
        if (w > 0) targets[w - 1] = !pad && (!mask || mask[at + i]) ? id : -1;
      }
    });
    return length;
  }

  // Epoch e's order: Fisher-Yates from Rng(seed, e). The latest epoch's is kept, so a run pays for one
  // shuffle per epoch; a batch that crosses into the next epoch switches once.
  std::shared_ptr<const std::vector<uint32_t>> permutation(int64_t epoch) const {
    std::lock_guard<std::mutex> lock(perm_mutex_);
    if (epoch != perm_epoch_) {
      auto p = std::make_shared<std::vector<uint32_t>>(size_t(train_.sequences));
      std::iota(p->begin(), p->end(), 0u);
      Rng rng(mix64(mix64(opts_.seed ^ kShuffleSalt) + uint64_t(epoch)));
      for (size_t i = p->size() - 1; i > 0; --i) std::swap((*p)[i], (*p)[rng.below(i + 1)]);
      perm_ = std::move(p);
      perm_epoch_ = epoch;
    }
    return perm_;
  }

  TokenCache cache_;
  DataOptions opts_;
  Stream train_, val_;
  DatasetStats stats_;
  mutable std::mutex perm_mutex_;
  mutable int64_t perm_epoch_ = -1;
  mutable std::shared_ptr<const std::vector<uint32_t>> perm_;
};

}  // namespace

std::unique_ptr<Dataset> Dataset::open(const DataOptions& opts, const Tokenizer& tok) {
  SEEK_CHECK(opts.seq_len >= 1, "seq_len must be at least 1 (got {})", opts.seq_len);
  SEEK_CHECK(opts.val_fraction >= 0 && opts.val_fraction < 1, "val_fraction must be in [0, 1) (got {})",
             opts.val_fraction);
  data::TokenCache cache = data::open_token_cache(opts, tok);
  if (cache.documents == 0) {
    std::string names;
    for (const auto& p : opts.inputs) names += (names.empty() ? "" : ", ") + p.string();
    fail("empty training data: no documents in {}", names);
  }
  return std::make_unique<PackedDataset>(std::move(cache), opts);
}

}  // namespace seek
