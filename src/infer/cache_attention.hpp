// Attention of new tokens over the paged KV cache (one layer). One kernel serves both MLA forms:
//   q:   [N, H, Dk]  per-token, per-head queries (already roped / absorbed)
//   out: [N, H, Dv]
// Token n belongs to sequence seq[n] and sits at position pos[n]; it attends to that sequence's cache rows
// [0, pos[n]] (its own row included, so rows of this batch must be written first: that makes a prefill chunk
// causal). In a cache row, head h's key is Dk floats at k_off + h·k_hstride and its value Dv floats at
// v_off + h·v_hstride. The absorbed form (spec §3.6) is MQA: k_hstride = v_hstride = 0, key = [c | k_pe]
// (r + dr), value = c (r). The naive form has per-head keys [k_nope | k_pe] and values v.
// score = scale · q·k, softmax in fp32 with a running max (flash style). Products are fp32, except where
// bf16_products() says they are bf16 (below).
// Work is split into (token, key range) items so that one long sequence still uses every thread; partial
// results merge in a fixed order. The split depends only on N, the context and the thread count, so results
// are deterministic for a fixed thread count. No exceptions are thrown inside the parallel region.
#pragma once
#include <cstdint>

#include "infer/kv_cache.hpp"

namespace seek {

struct CacheAttnShape {
  int64_t H = 0, Dk = 0, Dv = 0;
  int64_t k_off = 0, k_hstride = 0, v_off = 0, v_hstride = 0;
  float scale = 1.0f;
};

// Whether cache_attention multiplies in bf16 for this cache and layout: a BF16 or FP8 cache read by every
// head alike (the absorbed form, k_hstride = v_hstride = 0) on a CPU with AVX512-BF16. Then, as in DeepSeek's
// FlashMLA, the queries and the softmax probabilities are rounded to bf16 (FP8 rows are decoded to bf16), and
// q·k and P·V run as bf16 products with fp32 sums (vdpbf16ps: twice the fp32 rate, for the form that is
// compute-bound); the softmax itself stays fp32. Otherwise every product is fp32 (bf16 rows widened exactly).
bool bf16_products(const KvCache& cache, const CacheAttnShape& s);

void cache_attention(const KvCache& cache, int64_t layer, const float* q, const int32_t* seq,
                     const int32_t* pos, int64_t N, const CacheAttnShape& s, float* out);

}  // namespace seek
