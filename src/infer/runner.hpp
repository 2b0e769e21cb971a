// One forward pass of the inference engine over a packed batch of new tokens from any number of sequences:
// prefill chunks and decode tokens mix freely (continuous batching). Every projection is one GEMM over all N
// tokens of the batch; MoE groups the batch's tokens by expert and runs one GEMM per active expert; attention
// reads each sequence's rows of the paged KV cache (infer/kv_cache.hpp).
//
// MLA comes in two forms (spec §3.2, §3.6):
//   Absorbed (default): the cache row per token and layer is [c (kv_lora_rank) | k_pe (qk_rope_head_dim)],
//     c after kv_a_layernorm and k_pe after RoPE. W_UK (the k_nope rows of kv_b_proj) is folded into the
//     query, q̃_h = W_UK_hᵀ q_nope_h, so scores are scale·(q̃_h·c_j + q_pe_h·k_pe_j); attention returns
//     ō_h = Σ_j P_hj c_j and W_UV (the v rows of kv_b_proj) is applied afterwards. Same scale as naive.
//   Naive (for checking): the cache row holds the decompressed keys [k_nope_h | k_pe] and values v_h of every
//     head, H·(dq + dv) floats.
// Shapes: tokens, pos, seq: [N]; logits: [R, vocab] for the R rows listed in logit_rows (in that order).
#pragma once
#include <cstdint>
#include <vector>

#include "infer/expert_batch.hpp"
#include "infer/kv_cache.hpp"
#include "infer/model.hpp"
#include "kernels/rope.hpp"
#include "model/router.hpp"

namespace seek {

enum class AttnForm { Absorbed, Naive };

struct RunnerBatch {
  std::vector<int32_t> tokens, pos, seq;
  std::vector<int64_t> logit_rows;
  int64_t size() const { return int64_t(tokens.size()); }
  void add(int32_t token, int32_t position, int32_t sequence, bool want_logits) {
    if (want_logits) logit_rows.push_back(size());
    tokens.push_back(token);
    pos.push_back(position);
    seq.push_back(sequence);
  }
  void clear() {
    tokens.clear();
    pos.clear();
    seq.clear();
    logit_rows.clear();
  }
};

class Runner {
 public:
  // Positions [0, max_positions) can be run (0: the config's max_position_embeddings).
  Runner(const InferModel& model, AttnForm form, CacheType cache_type = CacheType::F32,
         int64_t max_positions = 0);

  const InferModel& model() const { return m_; }
  AttnForm form() const { return form_; }
  CacheType cache_type() const { return cache_type_; }
  // Floats per token and layer in the cache for this form.
  int64_t cache_width() const;
  // A cache of this runner's form and element type.
  KvCache make_cache(int64_t block_tokens = 64) const;

  // Throws seek::Error on a token id outside the vocabulary or a position outside the rope table. Before
  // the call, cache.prepare(seq, first, last + 1) must have been done for each sequence's positions.
  void forward(const RunnerBatch& batch, KvCache& cache, float* logits);

 private:
  void attention(int64_t l, const RunnerBatch& b, KvCache& cache, const float* x, float* out);
  void ffn(int64_t l, const float* x, int64_t N, float* out);
  void moe(int64_t l, const float* x, int64_t N, float* out);

  const InferModel& m_;
  const ModelConfig& c_;
  int64_t fp8_group() const;

  AttnForm form_;
  CacheType cache_type_;
  int64_t max_positions_;  // positions [0, max_positions_) may be run
  RopeTable<float> rope_;  // grown with the positions run, up to max_positions_
  // scratch, reused between calls
  std::vector<float> row_, h_, xn_, tmp_, rstd_, q_, qa_, qa_n_, kva_, lat_, kv_, qcat_, obar_, o_;
  std::vector<float> logits_r_, xe_, ye_, fin_;
  ExpertScratch expert_scratch_;
  std::vector<ExpertTask> tasks_;
  RouterCache<float> router_;
  std::vector<int32_t> order_, row_of_;
  std::vector<int64_t> offsets_;
};

}  // namespace seek
