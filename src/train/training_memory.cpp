#include "train/training_memory.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/resources.hpp"
#include "kernels/cross_entropy.hpp"
#include "model/weights.hpp"

namespace seek {

void check_training_memory(const ModelConfig& cfg, int64_t extra_bytes_per_param, const char* extra_what) {
  const int64_t params = parameter_count(cfg);
  check_memory_for(params * (16 + extra_bytes_per_param),
                   fmt::format("the f32 weights, gradients and AdamW moments of {} parameters{}",
                               format_count(params), extra_what));
}

int64_t mtp_depths_run(const ModelConfig& cfg, double mtp_lambda, int64_t seq_len) {
  return mtp_lambda > 0 ? std::clamp<int64_t>(seq_len - 1, 0, cfg.num_nextn_predict_layers) : 0;
}

int64_t training_activation_bytes_per_token(const ModelConfig& c, int64_t mtp_depths) {
  const int64_t d = c.hidden_size, H = c.num_attention_heads, dq = c.qk_head_dim(), dr = c.qk_rope_head_dim,
                dv = c.v_head_dim, r = c.kv_lora_rank, rq = c.q_lora_rank, dkv = c.qk_nope_head_dim + dv;
  // Per token and layer, the vectors a layer keeps for backward and its backward scratch (model/layer.hpp,
  // mla.hpp, moe.hpp): every layer owns its own, so they add up over the layers.
  const int64_t norms_and_residuals = 7 * d + 2;
  const int64_t mla_forward = 2 * rq + H * dq + (r + dr) + r + 1 + H * dkv + H * dq + 2 * H * dv + H;
  const int64_t mla_backward = 2 * H * dv + 2 * H * dq + H * dkv + r + (r + dr) + 2 * rq + dr;
  const int64_t attention_layer = norms_and_residuals + mla_forward + mla_backward;
  const int64_t dense_ffn = 5 * c.intermediate_size;  // g, u, h and two backward buffers
  const int64_t K = c.num_experts_per_tok, I = c.moe_intermediate_size, S = c.n_shared_experts * I;
  // Router logits, grouped rows (up to 1/16 more for padding, kernels/gemm.hpp), expert and shared
  // activations, scratch.
  const int64_t grouped = (4 * K * d + 3 * K * I) * 17 / 16 + 1,
                scratch = 2 * std::max(K * I * 17 / 16 + 1, S);
  const int64_t moe_ffn = 2 * c.n_routed_experts + grouped + 3 * S + scratch + 3 * K;
  int64_t floats = (c.num_hidden_layers + 1) * d + 4 * d;  // every layer's input, the final norm
  for (int64_t i = 0; i < c.num_hidden_layers; ++i)
    floats += attention_layer + (c.is_moe_layer(i) ? moe_ffn : dense_ffn);
  // Each MTP depth: a layer of index num_hidden_layers and its embedding / projection buffers.
  const int64_t mtp_layer =
      attention_layer + (c.is_moe_layer(c.num_hidden_layers) ? moe_ffn : dense_ffn) + 17 * d;
  floats += mtp_depths * mtp_layer;
  return floats * int64_t(sizeof(float));
}

void check_training_batch_memory(const ModelConfig& cfg, int64_t batch_size, int64_t seq_len,
                                 int64_t grad_accum, int64_t mtp_depths) {
  const auto bytes = [](double b) { return (long long)std::min(b, 9.2e18); };
  const double params = double(parameter_count(cfg)) * 16;
  const double ids = double(grad_accum) * double(batch_size) * double(seq_len) * 8;
  // The output head's logits exist a chunk of rows at a time (kernels/cross_entropy.hpp).
  const double rows =
      std::min(double(batch_size) * double(seq_len), double(logits_chunk_rows(cfg.vocab_size, 4)));
  const double logits = rows * double(cfg.vocab_size) * 4;
  const int64_t per_token = training_activation_bytes_per_token(cfg, mtp_depths);
  const double activations = double(batch_size) * double(seq_len) * double(per_token);
  check_memory_for(
      bytes(params + ids + logits + activations),
      fmt::format("the model's weights, gradients and AdamW moments ({}), a step's token ids and "
                  "targets ({}: grad_accum {} × batch_size {} × seq_len {}), a micro-batch's activations "
                  "({}: batch_size × seq_len × {} per token) and a chunk of the output head's float32 "
                  "logits ({})",
                  format_bytes(bytes(params)), format_bytes(bytes(ids)), grad_accum, batch_size, seq_len,
                  format_bytes(bytes(activations)), format_bytes(per_token), format_bytes(bytes(logits))),
      // A step's token ids are held whole: where they outweigh a micro-batch's activations, more
      // micro-batches is the wrong advice.
      ids > activations ? "; lower --grad-accum or --batch-size (a step's token ids are held at once)"
                        : "; lower --batch-size (and raise --grad-accum to keep the sequences per step)");
}

}  // namespace seek
