// RMSNorm over the last dimension: y = w ⊙ x / sqrt(mean(x²) + eps).
//   x:    [N, C] rows with leading dim ldx (so a norm can read a slice of a wider row, e.g. kv_a's latent)
//   w:    [C]
//   y:    [N, C] rows with leading dim ldy
//   rstd: [N]     1/sqrt(mean(x²)+eps), kept for backward
// Backward: dx (written, or added when accumulate) [N, C] with leading dim lddx; dw [C] accumulated.
#pragma once
#include <cstdint>

namespace seek {

template <typename T>
void rmsnorm_forward(const T* x, int64_t ldx, const T* w, T* y, int64_t ldy, T* rstd, int64_t N, int64_t C,
                     double eps);

template <typename T>
void rmsnorm_backward(const T* x, int64_t ldx, const T* w, const T* rstd, const T* dy, int64_t lddy, T* dx,
                      int64_t lddx, T* dw, int64_t N, int64_t C, bool accumulate_dx);

}  // namespace seek
