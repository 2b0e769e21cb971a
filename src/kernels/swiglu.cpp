#include "kernels/swiglu.hpp"

#include <cmath>

#include "core/thread_count.hpp"
#include "kernels/vecmath.hpp"

namespace seek {

template <typename T>
void swiglu_forward(const T* g, const T* u, T* h, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) h[i] = swiglu(g[i], u[i]);
}

template <typename T>
void swiglu_backward(const T* g, const T* u, const T* dh, T* dg, T* du, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) {
    T s = T(1) / (T(1) + exp_t(-g[i]));  // exp_t: vectorisable for float
    T silu = g[i] * s;
    du[i] = dh[i] * silu;
    dg[i] = dh[i] * u[i] * (s + silu * (T(1) - s));  // d silu/dg = σ + g·σ(1−σ)
  }
}

template void swiglu_forward<float>(const float*, const float*, float*, int64_t);
template void swiglu_forward<double>(const double*, const double*, double*, int64_t);
template void swiglu_backward<float>(const float*, const float*, const float*, float*, float*, int64_t);
template void swiglu_backward<double>(const double*, const double*, const double*, double*, double*, int64_t);

}  // namespace seek
