#include "train/training_memory.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/resources.hpp"
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
  const double params = double(parameter_count(cfg)) * 16;
  const double ids = double(grad_accum) * double(batch_size) * double(seq_len) * 8;
  const double logits = double(batch_size) * double(seq_len) * double(cfg.vocab_size) * 4;
  const double total = params + ids + logits;
  check_memory_for(
      total > 9.2e18 ? (long long)9.2e18 : (long long)total,
      fmt::format("the model's weights, gradients and AdamW moments ({}), a step's token ids and "
                  "targets ({}: grad_accum {} × batch_size {} × seq_len {}) and the float32 logits "
                  "of a micro-batch ({}: batch_size × seq_len × vocab_size {}), before the other "
                  "activations",
                  format_bytes((long long)params), format_bytes((long long)std::min(ids, 9.2e18)), grad_accum,
                  batch_size, seq_len, format_bytes((long long)std::min(logits, 9.2e18)), cfg.vocab_size),
      "lower --batch-size (and raise --grad-accum to keep the sequences per step)");
}

}  // namespace seek
