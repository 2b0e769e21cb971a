// AdamW and global gradient-norm clipping as flat loops over the parameter slab (llm.c's design: params,
// grads and both moments are aligned element for element, so one pass updates a whole range).
//   p, g, m, v: [n]; step t counts from 1 (bias correction uses β^t).
// Update, with g read as grad_scale·g (global-norm clipping folded in, so the gradient is not rewritten):
//   m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= lr·( m̂/(sqrt(v̂)+eps) + wd·p ).
#pragma once
#include <cstdint>

namespace seek {

struct AdamWParams {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.0;
};

template <typename T>
void adamw_update(T* p, const T* g, T* m, T* v, int64_t n, const AdamWParams& hp, double weight_decay,
                  int64_t t, double grad_scale = 1.0);

// L2 norm of g[0..n), accumulated in double over fixed-size blocks in a fixed order (deterministic for any
// thread count).
template <typename T>
double l2_norm_squared(const T* g, int64_t n);

// The factor that clips a gradient of global norm `norm` to max_norm: max_norm / (norm + 1e-6) when
// norm > max_norm > 0, else 1 (torch's clip_grad_norm_).
double clip_scale(double norm, double max_norm);

}  // namespace seek
