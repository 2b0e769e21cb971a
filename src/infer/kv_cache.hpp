// Paged KV cache shared by all sequences of the engine. Memory is cut into blocks of `block_tokens` token
// slots; a block holds, for each layer, block_tokens rows: [layers, block_tokens, row_bytes]. A sequence is a
// list of blocks (its block table). Blocks are reference counted, so a fork (G samples of one prompt) shares
// the prompt's blocks instead of copying them; a shared block is copied only when a sequence is about to
// write into it (copy on write: in practice the partly filled last block of the prompt).
//
// What a row holds is up to the attention form (infer/runner.hpp): the absorbed form stores the normalised
// latent c and the roped k_pe ([kv_lora_rank + qk_rope_head_dim]); the naive form stores the decompressed
// per-head keys and values ([H·(dn+dr) + H·dv]). A row is `width` values stored as one of:
//   F32   width floats (exact; the default).
//   BF16  width bf16 values, round to nearest even (half the bytes).
//   FP8   the first width - tail values as e4m3fn bytes, then their fp32 scales (one per run of `group`
//         consecutive values, stored as round(x / s) with s = max|x| / 448 over the run), then the last
//         `tail` values as bf16. This is the per-tile scaled FP8 latent cache of DeepSeek's FlashMLA (the
//         roped key part, the tail, stays 16-bit; DeepSeek-V2 itself deploys a quantised cache). A run
//         holding a non-finite value gets a NaN scale, so NaN reaches the attention instead of a saturated
//         value.
// Rows are written from fp32 and read back as fp32. Attention computes in fp32, except over a BF16 or FP8
// cache in the absorbed form on CPUs with AVX512-BF16, where it multiplies in bf16
// (infer/cache_attention.hpp). Block pointers never move once allocated, so rows can be read while other
// sequences grow. Blocks are cut from slabs of about 32 MB backed by transparent huge pages where the kernel
// allows it: decode streams the caches of many sequences, and with 4 KB pages every few rows would cost a TLB
// miss. A row is readable once written; the pages of rows never written are untouched (slabs are not
// cleared).
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace seek {

enum class CacheType { F32, BF16, FP8 };
const char* cache_type_name(CacheType t);  // "f32", "bf16", "fp8"
bool cache_type_from_name(std::string_view s, CacheType* out);

class KvCache {
 public:
  // group: the FP8 scaling run (a divisor of width - bf16_tail); bf16_tail: values at the end of a row that
  // FP8 keeps as bf16. Both are ignored for F32 and BF16.
  KvCache(int64_t layers, int64_t width, CacheType type = CacheType::F32, int64_t block_tokens = 64,
          int64_t group = 64, int64_t bf16_tail = 0);

  int64_t layers() const { return layers_; }
  int64_t width() const { return width_; }
  CacheType type() const { return type_; }
  int64_t group() const { return group_; }
  int64_t bf16_tail() const { return tail_; }
  int64_t block_tokens() const { return bt_; }
  int64_t row_bytes() const { return row_bytes_; }
  int64_t bytes_per_token() const { return layers_ * row_bytes_; }

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

  // Stores `width` floats as row `pos` of layer `layer` (converting to the cache's type).
  void write_row(int seq, int64_t layer, int64_t pos, const float* src);
  // Row `pos` as `width` floats: a pointer into the cache for F32, else decoded into `scratch` (width
  // floats).
  const float* read_row(int seq, int64_t layer, int64_t pos, float* scratch) const {
    const uint8_t* r = row_data(seq, layer, pos);
    if (type_ == CacheType::F32) return reinterpret_cast<const float*>(r);
    decode_row(r, scratch);
    return scratch;
  }
  // Row `pos` of a BF16 cache in place: width bf16 values (raw bits), for kernels that widen as they read.
  const uint16_t* bf16_row(int seq, int64_t layer, int64_t pos) const {
    return reinterpret_cast<const uint16_t*>(row_data(seq, layer, pos));
  }
  // The stored bytes of row `pos` (row_bytes() of them), e.g. to prefetch before decoding.
  const uint8_t* stored_row(int seq, int64_t layer, int64_t pos) const { return row_data(seq, layer, pos); }
  // Decodes a stored row (BF16 or FP8) into width floats.
  void decode_row(const uint8_t* row, float* out) const;

  int64_t blocks_in_use() const { return int64_t(blocks_.size() - free_.size()); }
  int64_t bytes_in_use() const { return blocks_in_use() * block_bytes(); }
  int64_t peak_bytes() const { return peak_blocks_ * block_bytes(); }
  // Starts the peak over from the blocks in use now (to report one chat turn's peak).
  void reset_peak() { peak_blocks_ = blocks_in_use(); }
  int block_refcount(int seq, int64_t block_index) const {
    return refs_[size_t(seqs_[size_t(seq)].blocks[size_t(block_index)])];
  }

 private:
  struct Seq {
    bool live = false;
    int64_t len = 0;
    std::vector<int> blocks;
  };
  int64_t block_bytes() const { return layers_ * bt_ * row_bytes_; }
  const uint8_t* row_data(int seq, int64_t layer, int64_t pos) const {
    const Seq& s = seqs_[size_t(seq)];
    return blocks_[size_t(s.blocks[size_t(pos / bt_)])] + (layer * bt_ + pos % bt_) * row_bytes_;
  }
  uint8_t* row_data(int seq, int64_t layer, int64_t pos) {
    const Seq& s = seqs_[size_t(seq)];
    return blocks_[size_t(s.blocks[size_t(pos / bt_)])] + (layer * bt_ + pos % bt_) * row_bytes_;
  }
  int alloc_block();
  void unref(int b);

  int64_t layers_, width_;
  CacheType type_;
  int64_t bt_, group_, tail_, row_bytes_;
  struct FreeSlab {
    void operator()(uint8_t* p) const;
  };
  std::vector<std::unique_ptr<uint8_t, FreeSlab>> slabs_;  // blocks are carved from large huge-page slabs
  std::vector<uint8_t*> blocks_;
  std::vector<int> refs_, free_;
  std::vector<Seq> seqs_;
  std::vector<int> free_seqs_;
  int64_t peak_blocks_ = 0;
};

}  // namespace seek
