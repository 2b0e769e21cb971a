// BPE merges by rank with a heap, plus a per-thread word cache; see bpe_model.hpp.
#include "tokenizer/bpe_model.hpp"

#include <algorithm>
#include <atomic>
#include <unordered_map>

namespace seek::tok {
namespace {

std::atomic<uint64_t> g_serial{1};

struct StrHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Word -> (offset, length) into a flat id pool. Dropped wholesale when it grows too big: cheaper than LRU
// bookkeeping, and the next few thousand words refill the hot part.
struct WordCache {
  uint64_t owner = 0;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, StrHash, std::equal_to<>> map;
  std::vector<int32_t> pool;
  void reset(uint64_t who) {
    owner = who;
    map.clear();
    pool.clear();
  }
};

constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kMaxCacheEntries = 1 << 18;  // per thread; ~30 MB at most

struct Sym {
  int32_t id, prev, next;
};
struct Cand {
  int32_t rank, pos, left, right;
  bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

BpeModel::BpeModel(std::array<int32_t, 256> byte_id, const std::vector<std::array<int32_t, 3>>& merges,
                   int32_t unk_id, bool fuse_unk)
    : byte_id_(byte_id),
      n_merges_(merges.size()),
      unk_id_(unk_id),
      fuse_unk_(fuse_unk),
      serial_(g_serial.fetch_add(1)) {
  size_t cap = 16;
  shift_ = 60;
  while (cap < merges.size() * 2 + 2) cap <<= 1, --shift_;
  table_.assign(cap, Slot{kEmpty, 0, 0});
  mask_ = cap - 1;
  for (size_t r = 0; r < merges.size(); ++r) {
    auto [a, b, m] = merges[r];
    uint64_t key = (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
    size_t i = (key * 0x9E3779B97F4A7C15ull) >> shift_;
    while (table_[i].key != kEmpty && table_[i].key != key) i = (i + 1) & mask_;
    // A repeated pair takes its last rank, as Hugging Face's tokenizers (a HashMap collected in order of
    // rank, each insert replacing the one before) and its JavaScript port give it.
    table_[i] = Slot{key, int32_t(r), m};
  }
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  thread_local std::vector<Sym> syms;
  thread_local std::vector<Cand> heap;  // min-heap by (rank, position)
  syms.clear();
  bool after_unknown = false;  // the last symbol stands for bytes without a token
  for (unsigned char c : word) {
    int32_t id = byte_id_[c];
    const bool unknown = id < 0;
    if (unknown) id = unk_id_;  // no unk either: the byte is dropped, as Hugging Face does
    if (id < 0) continue;
    const bool fused = unknown && after_unknown && fuse_unk_;
    after_unknown = unknown;
    if (fused) continue;
    int32_t n = int32_t(syms.size());
    syms.push_back(Sym{id, n - 1, n + 1});
  }
  if (syms.empty()) return;
  syms.back().next = -1;
  heap.clear();
  auto consider = [&](int32_t pos) {
    int32_t nx = syms[pos].next;
    if (nx < 0) return;
    if (const Slot* s = lookup(syms[pos].id, syms[nx].id)) {
      heap.push_back(Cand{s->rank, pos, syms[pos].id, syms[nx].id});
      std::push_heap(heap.begin(), heap.end(), std::greater<Cand>{});
    }
  };
  for (int32_t i = 0; i + 1 < int32_t(syms.size()); ++i) consider(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<Cand>{});
    Cand c = heap.back();
    heap.pop_back();
    Sym& s = syms[c.pos];
    if (s.id != c.left || s.next < 0 || syms[s.next].id != c.right) continue;  // stale
    int32_t nx = s.next;
    s.id = lookup(c.left, c.right)->merged;
    s.next = syms[nx].next;
    if (s.next >= 0) syms[s.next].prev = c.pos;
    syms[nx].id = -1;
    if (s.prev >= 0) consider(s.prev);
    consider(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() == 1) {
    int32_t id = byte_id_[static_cast<unsigned char>(word[0])];
    if (id < 0) id = unk_id_;
    if (id >= 0) out.push_back(id);
    return;
  }
  if (word.size() > kMaxCachedWordBytes) return merge_word(word, out);
  thread_local WordCache cache;
  if (cache.owner != serial_) cache.reset(serial_);
  if (auto it = cache.map.find(word); it != cache.map.end()) {
    auto [off, len] = it->second;
    out.insert(out.end(), cache.pool.begin() + off, cache.pool.begin() + off + len);
    return;
  }
  size_t before = out.size();
  merge_word(word, out);
  if (cache.map.size() >= kMaxCacheEntries) cache.reset(serial_);
  uint32_t off = uint32_t(cache.pool.size());
  cache.pool.insert(cache.pool.end(), out.begin() + before, out.end());
  cache.map.emplace(std::string(word), std::make_pair(off, uint32_t(out.size() - before)));
}

}  // namespace seek::tok
