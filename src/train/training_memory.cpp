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

void check_training_batch_memory(const ModelConfig& cfg, int64_t batch_size, int64_t seq_len,
                                 int64_t grad_accum) {
  const auto bytes = [](double b) { return (long long)std::min(b, 9.2e18); };
  const double params = double(parameter_count(cfg)) * 16;
  const double ids = double(grad_accum) * double(batch_size) * double(seq_len) * 8;
  // The output head's logits exist a chunk of rows at a time (kernels/cross_entropy.hpp).
  const double rows =
      std::min(double(batch_size) * double(seq_len), double(logits_chunk_rows(cfg.vocab_size, 4)));
  const double logits = rows * double(cfg.vocab_size) * 4;
  check_memory_for(
      bytes(params + ids + logits),
      fmt::format("the model's weights, gradients and AdamW moments ({}), a step's token ids and "
                  "targets ({}: grad_accum {} × batch_size {} × seq_len {}) and a chunk of the "
                  "output head's float32 logits ({}), before the other activations",
                  format_bytes(bytes(params)), format_bytes(bytes(ids)), grad_accum, batch_size, seq_len,
                  format_bytes(bytes(logits))),
      "; lower --batch-size (and raise --grad-accum to keep the sequences per step)");
}

}  // namespace seek
