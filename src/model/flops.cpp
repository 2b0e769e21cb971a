#include "model/flops.hpp"

namespace seek {

namespace {

void layer_flops(const ModelConfig& c, int64_t i, double N, double B, double T, FlopCount& f) {
  const double d = double(c.hidden_size), H = double(c.num_attention_heads);
  const double dq = double(c.qk_head_dim()), dv = double(c.v_head_dim), dn = double(c.qk_nope_head_dim);
  const double r = double(c.kv_lora_rank), dr = double(c.qk_rope_head_dim);
  double mm = 0;
  if (c.has_q_lora())
    mm += d * double(c.q_lora_rank) + double(c.q_lora_rank) * H * dq;
  else
    mm += d * H * dq;
  mm += d * (r + dr) + r * H * (dn + dv) + H * dv * d;
  if (c.is_moe_layer(i)) {
    const double I = double(c.moe_intermediate_size);
    mm += d * double(c.n_routed_experts);             // router
    mm += double(c.num_experts_per_tok) * 3 * d * I;  // routed experts
    mm += 3 * d * I * double(c.n_shared_experts);     // shared experts
  } else {
    mm += 3 * d * double(c.intermediate_size);
  }
  f.matmul += 2 * N * mm;
  f.attention += 2 * B * H * (T * (T + 1) / 2) * (dq + dv);
}

}  // namespace

FlopCount forward_flops(const ModelConfig& c, int64_t B, int64_t T) {
  FlopCount f;
  const double N = double(B * T), d = double(c.hidden_size), V = double(c.vocab_size);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer_flops(c, i, N, double(B), double(T), f);
  f.matmul += 2 * N * d * V;  // output head
  for (int64_t k = 1; k <= c.num_nextn_predict_layers; ++k) {
    const double Tp = double(T - k);
    if (Tp <= 0) continue;
    const double Np = double(B) * Tp;
    f.matmul += 2 * Np * 2 * d * d + 2 * Np * d * V;  // eh_proj and head
    layer_flops(c, c.num_hidden_layers + k - 1, Np, double(B), Tp, f);
  }
  return f;
}

FlopCount training_step_flops(const ModelConfig& c, int64_t B, int64_t T) {
  FlopCount f = forward_flops(c, B, T);
  f.matmul *= 3;
  f.attention *= 3.5;
  return f;
}

}  // namespace seek
