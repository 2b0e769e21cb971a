#include "infer/kv_cache.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"

namespace seek {

KvCache::KvCache(int64_t layers, int64_t width, int64_t block_tokens)
    : layers_(layers), width_(width), bt_(block_tokens) {
  SEEK_CHECK(layers > 0 && width > 0 && block_tokens > 0, "KV cache needs positive sizes, got {} {} {}",
             layers, width, block_tokens);
}

int KvCache::alloc_block() {
  int b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else {
    b = int(blocks_.size());
    blocks_.emplace_back(size_t(layers_ * bt_ * width_));
    refs_.push_back(0);
  }
  refs_[size_t(b)] = 1;
  peak_blocks_ = std::max(peak_blocks_, blocks_in_use());
  return b;
}

void KvCache::unref(int b) {
  if (--refs_[size_t(b)] == 0) free_.push_back(b);
}

int KvCache::create() {
  int s;
  if (!free_seqs_.empty()) {
    s = free_seqs_.back();
    free_seqs_.pop_back();
  } else {
    s = int(seqs_.size());
    seqs_.emplace_back();
  }
  seqs_[size_t(s)] = Seq{true, 0, {}};
  return s;
}

int KvCache::fork(int parent, int64_t n) {
  SEEK_CHECK(seqs_[size_t(parent)].live && n <= seqs_[size_t(parent)].len,
             "internal: fork of {} rows from a sequence of {}", n, seqs_[size_t(parent)].len);
  int s = create();
  const int64_t nb = (n + bt_ - 1) / bt_;
  // Copy before touching seqs_ again: create() may have reallocated it.
  std::vector<int> shared(seqs_[size_t(parent)].blocks.begin(), seqs_[size_t(parent)].blocks.begin() + nb);
  for (int b : shared) ++refs_[size_t(b)];
  seqs_[size_t(s)].blocks = std::move(shared);
  seqs_[size_t(s)].len = n;
  return s;
}

void KvCache::release(int seq) {
  Seq& s = seqs_[size_t(seq)];
  if (!s.live) return;
  for (int b : s.blocks) unref(b);
  s = Seq{};
  free_seqs_.push_back(seq);
}

void KvCache::prepare(int seq, int64_t from, int64_t len) {
  Seq& s = seqs_[size_t(seq)];
  SEEK_CHECK(s.live, "internal: prepare on a released sequence");
  const int64_t need = (len + bt_ - 1) / bt_;
  // Copy on write for shared blocks that will receive rows [from, len).
  for (int64_t bi = from / bt_; bi < std::min<int64_t>(need, int64_t(s.blocks.size())); ++bi) {
    int b = s.blocks[size_t(bi)];
    if (refs_[size_t(b)] == 1) continue;
    int nb = alloc_block();
    std::memcpy(blocks_[size_t(nb)].data(), blocks_[size_t(b)].data(),
                sizeof(float) * size_t(layers_ * bt_ * width_));
    unref(b);
    s.blocks[size_t(bi)] = nb;
  }
  while (int64_t(s.blocks.size()) < need) s.blocks.push_back(alloc_block());
  s.len = std::max(s.len, len);
}

}  // namespace seek
