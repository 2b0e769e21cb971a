// The memory a training run needs, checked before it allocates or reads its model: a model too big for the
// machine is an error naming the sizes at once, not a std::bad_alloc or the OOM killer after minutes of
// loading (or, for GRPO, a failure hours in when the per-step copies no longer fit).
#pragma once
#include <cstdint>

#include "model/config.hpp"

namespace seek {

// The f32 weights, gradients and AdamW moments of `cfg` (16 bytes per parameter), plus
// `extra_bytes_per_param` for what `extra_what` names (", the frozen reference model"), against the memory
// available (core/resources.hpp). Activations come on top.
void check_training_memory(const ModelConfig& cfg, int64_t extra_bytes_per_param, const char* extra_what);

// The MTP depths a training step runs: none at mtp_lambda 0, and depth k only where seq_len > k
// (Transformer::forward_backward). The others are neither run nor trained.
int64_t mtp_depths_run(const ModelConfig& cfg, double mtp_lambda, int64_t seq_len);

// The bytes forward_backward keeps per token of a micro-batch (model/transformer.hpp): each layer's
// activations for backward and its backward buffers, those of the `mtp_depths` MTP depths it runs, and the
// layers' inputs; counted from the shapes (tests/train/test_training_memory.cpp holds it to what the
// allocator measures).
int64_t training_activation_bytes_per_token(const ModelConfig& cfg, int64_t mtp_depths);

// A pretraining or SFT step's batch on top of the model: its token ids and targets (grad_accum × batch_size
// × seq_len of each, int32), one micro-batch's activations (batch_size × seq_len tokens) and a chunk of the
// output head's float32 logits (kernels/cross_entropy.hpp). A --batch-size of 10^8 used to grow to gigabytes
// before failing with a bare "out of memory", and one of 10^5 met the OOM killer.
void check_training_batch_memory(const ModelConfig& cfg, int64_t batch_size, int64_t seq_len,
                                 int64_t grad_accum, int64_t mtp_depths);

}  // namespace seek
