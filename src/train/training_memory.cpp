#include "train/training_memory.hpp"

#include <fmt/format.h>

#include "core/resources.hpp"
#include "model/weights.hpp"

namespace seek {

void check_training_memory(const ModelConfig& cfg, int64_t extra_bytes_per_param, const char* extra_what) {
  const int64_t params = parameter_count(cfg);
  check_memory_for(params * (16 + extra_bytes_per_param),
                   fmt::format("the f32 weights, gradients and AdamW moments of {} parameters{}",
                               format_count(params), extra_what));
}

}  // namespace seek
