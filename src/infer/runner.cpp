#include "infer/runner.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/error.hpp"
#include "core/thread_count.hpp"
#include "infer/cache_attention.hpp"
#include "infer/expert_batch.hpp"
#include "infer/linear.hpp"
#include "kernels/gemm.hpp"
#include "kernels/rmsnorm.hpp"

namespace seek {

namespace {

// Up to this many tokens the per-head absorption products (W_UK into the query, W_UV after attention) run as
// one pass over W_kvb per head; beyond it, per-head oneDNN GEMMs. The pass reads each weight once but does
// one multiply-add per load, so it only wins while the weight read dominates. Measured (bf16 weights): at 64
// tokens the GEMMs took V2-Lite-shaped decode from 88.0 to 85.2 ms a step (medians of 4 interleaved runs of
// bench/infer/ab.sh); at 1 and 16 tokens the two are level. With 128 heads (V3's count; one layer, 1K
// context) both are level at 17-20 tokens and the GEMMs ahead from 24 (5%), 28 (7%), 32 (10%) and 64 (17%).
constexpr int64_t kSmallBatch = 16;

template <typename V>
void grow(std::vector<V>& v, int64_t n) {
  if (int64_t(v.size()) < n) v.resize(size_t(n));
}

}  // namespace

Runner::Runner(const InferModel& model, AttnForm form, CacheType cache_type, int64_t max_positions)
    : m_(model),
      c_(model.config()),
      form_(form),
      cache_type_(cache_type),
      max_positions_(max_positions > 0 ? std::min(max_positions, c_.max_position_embeddings)
                                       : c_.max_position_embeddings),
      // Rows for the first positions only: a config may claim a context of 2^31 (gigabytes of table).
      rope_(c_.rope, std::min<int64_t>(max_positions_, 4096)) {}

int64_t Runner::cache_width() const {
  const int64_t H = c_.num_attention_heads;
  if (form_ == AttnForm::Absorbed) return c_.kv_lora_rank + c_.qk_rope_head_dim;
  return H * (c_.qk_head_dim() + c_.v_head_dim);
}

int64_t Runner::fp8_group() const {
  // The largest power of two up to 64 that divides every part of a row, so no scaling run straddles two
  // heads' keys and values (naive); the absorbed form's fp8 part is the latent alone (k_pe is the bf16 tail).
  // Never below 4 (the cache's packing unit): with parts of an odd width (nope 6, rope 4, v 6: gcd 2) runs
  // of 4 do straddle them, so a key and a value part may share one scale (still valid). DeepSeek's shapes
  // all give 64.
  const int64_t parts = form_ == AttnForm::Absorbed
                            ? c_.kv_lora_rank
                            : std::gcd(std::gcd(c_.qk_nope_head_dim, c_.qk_rope_head_dim), c_.v_head_dim);
  int64_t g = 64;
  while (g > 4 && parts % g != 0) g /= 2;
  return g;
}

KvCache Runner::make_cache(int64_t block_tokens) const {
  // fp8 keeps the absorbed row's roped key k_pe in bf16, as FlashMLA does: it carries the position, and it is
  // only qk_rope_head_dim values. The naive row interleaves it with k_nope per head, so there all is fp8.
  const int64_t tail = form_ == AttnForm::Absorbed ? c_.qk_rope_head_dim : 0;
  // Scaling runs are at least 4 values long; each form names the dimensions its fp8 part is made of.
  if (cache_type_ == CacheType::FP8 && form_ == AttnForm::Absorbed)
    SEEK_CHECK(c_.kv_lora_rank % 4 == 0,
               "an fp8 KV cache holds the latent in runs of at least 4 values, so kv_lora_rank must be a "
               "multiple of 4 (it is {}); use --kv-cache bf16",
               c_.kv_lora_rank);
  if (cache_type_ == CacheType::FP8 && form_ == AttnForm::Naive)
    SEEK_CHECK(cache_width() % fp8_group() == 0,
               "an fp8 KV cache holds the naive form's keys and values in runs of at least 4 values, so a "
               "row of {} values (num_attention_heads {} × (qk_nope_head_dim {} + qk_rope_head_dim {} + "
               "v_head_dim {})) must be a multiple of 4; use --kv-cache bf16",
               cache_width(), c_.num_attention_heads, c_.qk_nope_head_dim, c_.qk_rope_head_dim,
               c_.v_head_dim);
  return KvCache(c_.num_hidden_layers, cache_width(), cache_type_, block_tokens, fp8_group(), tail);
}

void Runner::forward(const RunnerBatch& b, KvCache& cache, float* logits) {
  const int64_t N = b.size(), d = c_.hidden_size, V = c_.vocab_size;
  if (N == 0) return;
  int64_t last_pos = 0;
  for (int64_t n = 0; n < N; ++n) {
    SEEK_CHECK(b.tokens[size_t(n)] >= 0 && b.tokens[size_t(n)] < V,
               "token id {} is outside the vocabulary of {} tokens", b.tokens[size_t(n)], V);
    SEEK_CHECK(b.pos[size_t(n)] >= 0 && b.pos[size_t(n)] < max_positions_,
               "position {} is beyond the context of {} tokens{}", b.pos[size_t(n)], max_positions_,
               max_positions_ == c_.max_position_embeddings ? " (max_position_embeddings)"
                                                            : " this runner was made for");
    SEEK_CHECK(b.pos[size_t(n)] < cache.length(b.seq[size_t(n)]),
               "internal: cache row {} of sequence {} was not prepared", b.pos[size_t(n)], b.seq[size_t(n)]);
    last_pos = std::max<int64_t>(last_pos, b.pos[size_t(n)]);
  }
  // Doubling, so a long generation extends the table a logarithmic number of times.
  if (last_pos >= rope_.max_pos)
    rope_.extend(std::min(max_positions_, std::max(2 * rope_.max_pos, last_pos + 1)));
  grow(h_, N * d);
  grow(xn_, N * d);
  grow(tmp_, N * d);
  grow(rstd_, N);
  const float* emb = m_.f32(m_.ids().embed);
#pragma omp parallel for schedule(static) if (N * d > kParallelMinWork)
  for (int64_t n = 0; n < N; ++n)
    std::memcpy(h_.data() + n * d, emb + int64_t(b.tokens[size_t(n)]) * d, sizeof(float) * size_t(d));
  const float eps = float(c_.rms_norm_eps);
  for (int64_t l = 0; l < c_.num_hidden_layers; ++l) {
    const LayerIds& li = m_.ids().layers[size_t(l)];
    rmsnorm_forward<float>(h_.data(), d, m_.f32(li.in_norm), xn_.data(), d, rstd_.data(), N, d, eps);
    attention(l, b, cache, xn_.data(), tmp_.data());
#pragma omp parallel for simd schedule(static) if (N * d > kParallelMinWork)
    for (int64_t i = 0; i < N * d; ++i) h_[size_t(i)] += tmp_[size_t(i)];
    rmsnorm_forward<float>(h_.data(), d, m_.f32(li.post_norm), xn_.data(), d, rstd_.data(), N, d, eps);
    ffn(l, xn_.data(), N, tmp_.data());
#pragma omp parallel for simd schedule(static) if (N * d > kParallelMinWork)
    for (int64_t i = 0; i < N * d; ++i) h_[size_t(i)] += tmp_[size_t(i)];
  }
  const int64_t R = int64_t(b.logit_rows.size());
  if (R == 0) return;
  grow(fin_, 2 * R * d);
  for (int64_t r = 0; r < R; ++r) {
    const int64_t n = b.logit_rows[size_t(r)];
    SEEK_CHECK(n >= 0 && n < N, "internal: logit row {} outside the batch", n);
    std::memcpy(fin_.data() + r * d, h_.data() + n * d, sizeof(float) * size_t(d));
  }
  rmsnorm_forward<float>(fin_.data(), d, m_.f32(m_.ids().final_norm), fin_.data() + R * d, d, rstd_.data(), R,
                         d, eps);
  infer_linear(fin_.data() + R * d, d, m_.weight(m_.ids().head()), logits, R);
}

void Runner::attention(int64_t l, const RunnerBatch& b, KvCache& cache, const float* x, float* out) {
  const AttnIds& a = m_.ids().layers[size_t(l)].attn;
  const int64_t N = b.size(), H = c_.num_attention_heads;
  const int64_t dn = c_.qk_nope_head_dim, dr = c_.qk_rope_head_dim, dq = dn + dr, dv = c_.v_head_dim;
  const int64_t r = c_.kv_lora_rank, ra = r + dr;
  const float eps = float(ModelConfig::kLatentNormEps);  // the latent norms'
  grow(q_, N * H * dq);
  if (c_.has_q_lora()) {
    const int64_t rq = c_.q_lora_rank;
    grow(qa_, N * rq);
    grow(qa_n_, N * rq);
    infer_linear(x, c_.hidden_size, m_.weight(a.q_a), qa_.data(), N);
    rmsnorm_forward<float>(qa_.data(), rq, m_.f32(a.q_a_norm), qa_n_.data(), rq, rstd_.data(), N, rq, eps);
    infer_linear(qa_n_.data(), rq, m_.weight(a.q_b), q_.data(), N);
  } else {
    infer_linear(x, c_.hidden_size, m_.weight(a.q_proj), q_.data(), N);
  }
  grow(kva_, N * ra);
  infer_linear(x, c_.hidden_size, m_.weight(a.kv_a), kva_.data(), N);
  rope_forward<float>(rope_, q_.data(), N, H * dq, dn, H, dq, N, b.pos.data());
  rope_forward<float>(rope_, kva_.data(), N, ra, r, 1, dr, N, b.pos.data());
  grow(lat_, N * r);
  rmsnorm_forward<float>(kva_.data(), ra, m_.f32(a.kv_a_norm), lat_.data(), r, rstd_.data(), N, r, eps);
  const float* wkvb = m_.f32(a.kv_b);  // [H, dn + dv, r]
  const float scale = float(c_.softmax_scale());
  grow(o_, N * H * dv);

  if (form_ == AttnForm::Naive) {
    grow(kv_, N * H * (dn + dv));
    gemm<float>(false, true, N, H * (dn + dv), r, 1.0f, lat_.data(), r, wkvb, r, 0.0f, kv_.data(),
                H * (dn + dv));
    // Row = [k_nope_h | k_pe] for every head, then v_h for every head; assembled in fp32, then stored.
    const int64_t width = H * (dq + dv);
    grow(row_, N * width);
#pragma omp parallel for schedule(static) if (N * width > kParallelMinWork)
    for (int64_t n = 0; n < N; ++n) {
      float* row = row_.data() + n * width;
      for (int64_t h = 0; h < H; ++h) {
        const float* kvh = kv_.data() + (n * H + h) * (dn + dv);
        std::memcpy(row + h * dq, kvh, sizeof(float) * size_t(dn));
        std::memcpy(row + h * dq + dn, kva_.data() + n * ra + r, sizeof(float) * size_t(dr));
        std::memcpy(row + H * dq + h * dv, kvh + dn, sizeof(float) * size_t(dv));
      }
      cache.write_row(b.seq[size_t(n)], l, b.pos[size_t(n)], row);
    }
    CacheAttnShape s{H, dq, dv, 0, dq, H * dq, dv, scale};
    cache_attention(cache, l, q_.data(), b.seq.data(), b.pos.data(), N, s, o_.data());
    infer_linear(o_.data(), H * dv, m_.weight(a.o_proj), out, N);
    return;
  }

  // Absorbed: cache [c | k_pe], query [q̃ | q_pe].
  grow(row_, N * ra);
#pragma omp parallel for schedule(static) if (N * ra > kParallelMinWork)
  for (int64_t n = 0; n < N; ++n) {
    float* row = row_.data() + n * ra;
    std::memcpy(row, lat_.data() + n * r, sizeof(float) * size_t(r));
    std::memcpy(row + r, kva_.data() + n * ra + r, sizeof(float) * size_t(dr));
    cache.write_row(b.seq[size_t(n)], l, b.pos[size_t(n)], row);
  }
  grow(qcat_, N * H * ra);
  grow(obar_, N * H * r);
  if (N <= kSmallBatch) {
    // q̃[n, h, :] = Σ_c q_nope[n, h, c] · W_UK_h[c, :]; each thread owns heads, so W_UK_h is read once.
#pragma omp parallel for schedule(static) if (N * H * dn * r > kParallelMinWork)
    for (int64_t h = 0; h < H; ++h) {
      const float* wuk = wkvb + h * (dn + dv) * r;
      for (int64_t n = 0; n < N; ++n) {
        const float* qn = q_.data() + (n * H + h) * dq;
        float* dst = qcat_.data() + (n * H + h) * ra;
        std::fill(dst, dst + r, 0.0f);
        for (int64_t c = 0; c < dn; ++c) {
          const float qc = qn[c];
          const float* w = wuk + c * r;
#pragma omp simd
          for (int64_t i = 0; i < r; ++i) dst[i] += qc * w[i];
        }
        std::memcpy(dst + r, qn + dn, sizeof(float) * size_t(dr));
      }
    }
  } else {
    for (int64_t h = 0; h < H; ++h)
      gemm<float>(false, false, N, r, dn, 1.0f, q_.data() + h * dq, H * dq, wkvb + h * (dn + dv) * r, r, 0.0f,
                  qcat_.data() + h * ra, H * ra);
#pragma omp parallel for schedule(static) if (N * H * dr > kParallelMinWork)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        std::memcpy(qcat_.data() + (n * H + h) * ra + r, q_.data() + (n * H + h) * dq + dn,
                    sizeof(float) * size_t(dr));
  }
  CacheAttnShape s{H, ra, r, 0, 0, 0, 0, scale};
  cache_attention(cache, l, qcat_.data(), b.seq.data(), b.pos.data(), N, s, obar_.data());
  if (N <= kSmallBatch) {
    // o[n, h, :] = W_UV_h · ō[n, h, :]
#pragma omp parallel for schedule(static) if (N * H * dv * r > kParallelMinWork)
    for (int64_t h = 0; h < H; ++h) {
      const float* wuv = wkvb + (h * (dn + dv) + dn) * r;
      for (int64_t n = 0; n < N; ++n) {
        const float* ob = obar_.data() + (n * H + h) * r;
        float* dst = o_.data() + (n * H + h) * dv;
        for (int64_t k = 0; k < dv; ++k) {
          const float* w = wuv + k * r;
          float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
          for (int64_t i = 0; i < r; ++i) acc += w[i] * ob[i];
          dst[k] = acc;
        }
      }
    }
  } else {
    for (int64_t h = 0; h < H; ++h)
      gemm<float>(false, true, N, dv, r, 1.0f, obar_.data() + h * r, H * r, wkvb + (h * (dn + dv) + dn) * r,
                  r, 0.0f, o_.data() + h * dv, H * dv);
  }
  infer_linear(o_.data(), H * dv, m_.weight(a.o_proj), out, N);
}

void Runner::ffn(int64_t l, const float* x, int64_t N, float* out) {
  const LayerIds& li = m_.ids().layers[size_t(l)];
  if (li.moe) {
    moe(l, x, N, out);
    return;
  }
  run_expert_tasks_in_turn(
      {{m_.weight(li.dense.gate), m_.weight(li.dense.up), m_.weight(li.dense.down), x, out, N}},
      c_.hidden_size, expert_scratch_);
}

void Runner::moe(int64_t l, const float* x, int64_t N, float* out) {
  const MoeIds& ids = m_.ids().layers[size_t(l)].experts;
  const int64_t d = c_.hidden_size, E = c_.n_routed_experts, K = c_.num_experts_per_tok;
  const int64_t A = N * K;
  // Router logits in fp32 (as Hugging Face computes them), then the shared router code picks the experts.
  grow(logits_r_, N * E);
  gemm<float>(false, true, N, E, d, 1.0f, x, d, m_.f32(ids.router), d, 0.0f, logits_r_.data(), E);
  router_forward<float>(c_, logits_r_.data(), ids.bias >= 0 ? m_.f32(ids.bias) : nullptr, 1, N,
                        BalanceOptions{}, router_);
  // Group the batch's (token, slot) assignments by expert with a counting sort (token order within one).
  offsets_.assign(size_t(E + 1), 0);
  for (int64_t e = 0; e < E; ++e) offsets_[size_t(e + 1)] = offsets_[size_t(e)] + router_.load[size_t(e)];
  grow(order_, A);
  grow(row_of_, A);
  std::vector<int64_t> next(offsets_.begin(), offsets_.end() - 1);
  for (int64_t a = 0; a < A; ++a) {
    int64_t row = next[size_t(router_.idx[size_t(a)])]++;
    order_[size_t(row)] = int32_t(a);
    row_of_[size_t(a)] = int32_t(row);
  }
  grow(xe_, A * d);
  grow(ye_, A * d);
#pragma omp parallel for schedule(static) if (A * d > kParallelMinWork)
  for (int64_t row = 0; row < A; ++row)
    std::memcpy(xe_.data() + row * d, x + (order_[size_t(row)] / K) * d, sizeof(float) * size_t(d));
  const int64_t S = ids.shared.gate >= 0 ? ids.shared.inter : 0;
  if (S == 0) std::fill(out, out + N * d, 0.0f);
  tasks_.clear();
  for (int64_t e = 0; e < E; ++e) {
    const int64_t r0 = offsets_[size_t(e)], n = offsets_[size_t(e + 1)] - r0;
    const MlpIds& w = ids.experts[size_t(e)];
    if (n > 0)
      tasks_.push_back({m_.weight(w.gate), m_.weight(w.up), m_.weight(w.down), xe_.data() + r0 * d,
                        ye_.data() + r0 * d, n});
  }
  if (S > 0)
    tasks_.push_back(
        {m_.weight(ids.shared.gate), m_.weight(ids.shared.up), m_.weight(ids.shared.down), x, out, N});
  run_experts(tasks_, d, N, expert_scratch_);
  const float* wt = router_.weight.data();
#pragma omp parallel for schedule(static) if (N * K * d > kParallelMinWork)
  for (int64_t t = 0; t < N; ++t) {
    float* y = out + t * d;
    for (int64_t k = 0; k < K; ++k) {
      const float* ye = ye_.data() + int64_t(row_of_[size_t(t * K + k)]) * d;
      const float wk = wt[t * K + k];
#pragma omp simd
      for (int64_t i = 0; i < d; ++i) y[i] += wk * ye[i];
    }
  }
}

}  // namespace seek
