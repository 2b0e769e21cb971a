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

}  // namespace seek
