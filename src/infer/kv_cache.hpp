// Paged KV cache shared by all sequences of the engine. Memory is cut into blocks of `block_tokens` token
// slots; a block holds, for each layer, block_tokens rows of `width` floats: [layers, block_tokens, width].
// A sequence is a list of blocks (its block table). Blocks are reference counted, so a fork (G samples of one
// prompt) shares the prompt's blocks instead of copying them; a shared block is copied only when a sequence
// is about to write into it (copy on write: in practice the partly filled last block of the prompt).
//
// What a row holds is up to the attention form (infer/runner.hpp): the absorbed form stores the normalised
// latent c and the roped k_pe ([kv_lora_rank + qk_rope_head_dim]); the naive form stores the decompressed
// per-head keys and values ([H·(dn+dr) + H·dv]).
// Block pointers never move once allocated, so rows can be read while other sequences grow.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/aligned.hpp"

namespace seek {

class KvCache {
 public:
  KvCache(int64_t layers, int64_t width, int64_t block_tokens = 64);

  int64_t layers() const { return layers_; }
  int64_t width() const { return width_; }
  int64_t block_tokens() const { return bt_; }
  int64_t bytes_per_token() const { return layers_ * width_ * int64_t(sizeof(float)); }

  // A new empty sequence; returns its handle.
  int create();
  // A new sequence that shares the first n token rows of `parent` (n <= parent's length).
  int fork(int parent, int64_t n);
  // Drops the sequence; its blocks go back to the pool when no other sequence uses them.
  void release(int seq);
  // Makes rows [0, len) exist and rows [from, len) writable by `seq` alone (allocating and copying blocks as
  // needed). The sequence's length becomes max(length, len).
  void prepare(int seq, int64_t from, int64_t len);
  int64_t length(int seq) const { return seqs_[size_t(seq)].len; }

  float* row(int seq, int64_t layer, int64_t pos) {
    const Seq& s = seqs_[size_t(seq)];
    return blocks_[size_t(s.blocks[size_t(pos / bt_)])].data() + (layer * bt_ + pos % bt_) * width_;
  }
  const float* row(int seq, int64_t layer, int64_t pos) const {
    const Seq& s = seqs_[size_t(seq)];
    return blocks_[size_t(s.blocks[size_t(pos / bt_)])].data() + (layer * bt_ + pos % bt_) * width_;
  }

  int64_t blocks_in_use() const { return int64_t(blocks_.size() - free_.size()); }
  int64_t bytes_in_use() const { return blocks_in_use() * layers_ * bt_ * width_ * int64_t(sizeof(float)); }
  int64_t peak_bytes() const { return peak_blocks_ * layers_ * bt_ * width_ * int64_t(sizeof(float)); }
  int block_refcount(int seq, int64_t block_index) const {
    return refs_[size_t(seqs_[size_t(seq)].blocks[size_t(block_index)])];
  }

 private:
  struct Seq {
    bool live = false;
    int64_t len = 0;
    std::vector<int> blocks;
  };
  int alloc_block();
  void unref(int b);

  int64_t layers_, width_, bt_;
  std::vector<AlignedBuffer<float>> blocks_;
  std::vector<int> refs_, free_;
  std::vector<Seq> seqs_;
  std::vector<int> free_seqs_;
  int64_t peak_blocks_ = 0;
};

}  // namespace seek
