// The byte-level BPE merge engine: turns one pre-tokenized piece (raw bytes) into token ids by applying
// merges in rank order, lowest rank first and leftmost first among equal ranks (the order Hugging Face's
// tokenizers and its JavaScript port use). A heap over candidate pairs keeps a word O(n log n); results are
// memoised per thread in a word -> ids cache, so repeated words cost one hash lookup.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace seek::tok {

class BpeModel {
 public:
  // byte_id[b]: id of the one-byte token b (-1 if absent). merges[r] = (left, right, merged) with rank r.
  // A byte without a token becomes unk_id (when >= 0; dropped otherwise); with fuse_unk, a run of such bytes
  // becomes one unk_id, as Hugging Face's model.fuse_unk does.
  BpeModel(std::array<int32_t, 256> byte_id, const std::vector<std::array<int32_t, 3>>& merges,
           int32_t unk_id, bool fuse_unk = false);

  // Appends the ids of `word` (raw bytes) to out.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  size_t num_merges() const { return n_merges_; }

 private:
  struct Slot {
    uint64_t key;
    int32_t rank;
    int32_t merged;
  };
  const Slot* lookup(int32_t a, int32_t b) const {
    uint64_t key = (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
    size_t i = (key * 0x9E3779B97F4A7C15ull) >> shift_;
    while (true) {
      const Slot& s = table_[i];
      if (s.key == key) return &s;
      if (s.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;

  static constexpr uint64_t kEmpty = ~0ull;
  std::array<int32_t, 256> byte_id_;
  std::vector<Slot> table_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t n_merges_ = 0;
  int32_t unk_id_;
  bool fuse_unk_;
  uint64_t serial_;  // identifies this model to the per-thread cache
};

}  // namespace seek::tok
