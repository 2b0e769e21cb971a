#include "kernels/rope.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.hpp"
#include "core/thread_count.hpp"

namespace seek {

double yarn_get_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

std::vector<double> rope_inv_freq(const RopeParams& p) {
  SEEK_CHECK(p.dim > 0 && p.dim % 2 == 0, "rope dimension must be positive and even, got {}", p.dim);
  int64_t half = p.dim / 2;
  std::vector<double> inv(half);
  for (int64_t i = 0; i < half; ++i) inv[i] = 1.0 / std::pow(p.theta, double(2 * i) / double(p.dim));
  if (!p.yarn) return inv;
  // Dimensions whose wavelength fits the original context many times keep their frequency (extrapolate);
  // long-wavelength ones are divided by the factor (interpolate); a linear ramp blends in between.
  auto corr_dim = [&](double n_rot) {
    return double(p.dim) * std::log(double(p.original_max_pos) / (n_rot * 2.0 * std::numbers::pi)) /
           (2.0 * std::log(p.theta));
  };
  double low = std::max(std::floor(corr_dim(p.beta_fast)), 0.0);
  double high = std::min(std::ceil(corr_dim(p.beta_slow)), double(p.dim - 1));
  if (low == high) high += 0.001;
  for (int64_t i = 0; i < half; ++i) {
    double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
    double keep = 1.0 - ramp;
    inv[i] = inv[i] / p.factor * (1.0 - keep) + inv[i] * keep;
  }
  return inv;
}

double rope_magnitude(const RopeParams& p) {
  if (!p.yarn) return 1.0;
  return yarn_get_mscale(p.factor, p.mscale) / yarn_get_mscale(p.factor, p.mscale_all_dim);
}

template <typename T>
RopeTable<T>::RopeTable(const RopeParams& p, int64_t max_positions) : half(p.dim / 2), params(p) {
  extend(max_positions);
}

template <typename T>
void RopeTable<T>::extend(int64_t max_positions) {
  if (max_positions <= max_pos) return;
  const auto inv = rope_inv_freq(params);
  const double mag = rope_magnitude(params);
  cos.resize(size_t(max_positions * half));
  sin.resize(size_t(max_positions * half));
  const int64_t first = max_pos;
  max_pos = max_positions;
  for (int64_t t = first; t < max_pos; ++t)
    for (int64_t i = 0; i < half; ++i) {
      // Angles in fp32 as the reference does, so long positions round the same way.
      double phi = (sizeof(T) == 4) ? double(float(t) * float(inv[i])) : double(t) * inv[i];
      cos[size_t(t * half + i)] = T(std::cos(phi) * mag);
      sin[size_t(t * half + i)] = T(std::sin(phi) * mag);
    }
}

namespace {
template <typename T>
void rotate(const RopeTable<T>& table, T* x, int64_t N, int64_t ldx, int64_t offset, int64_t heads,
            int64_t head_stride, int64_t seq_len, const int32_t* pos, T sign) {
  int64_t half = table.half;
  // Checked before the parallel loop: an exception must not escape an OpenMP region.
  for (int64_t n = 0; n < N; ++n) {
    int64_t p = pos ? pos[n] : n % seq_len;
    SEEK_CHECK(p >= 0 && p < table.max_pos, "position {} is outside the rope table ({} positions)", p,
               table.max_pos);
  }
#pragma omp parallel for schedule(static) if (N * heads * half > kParallelMinWork)
  for (int64_t n = 0; n < N; ++n) {
    int64_t p = pos ? pos[n] : n % seq_len;
    const T* c = table.cos.data() + p * half;
    const T* s = table.sin.data() + p * half;
    for (int64_t h = 0; h < heads; ++h) {
      T* v = x + n * ldx + offset + h * head_stride;
      for (int64_t i = 0; i < half; ++i) {
        T a = v[2 * i], b = v[2 * i + 1], si = sign * s[i];
        v[2 * i] = a * c[i] - b * si;
        v[2 * i + 1] = a * si + b * c[i];
      }
    }
  }
}
}  // namespace

template <typename T>
void rope_forward(const RopeTable<T>& table, T* x, int64_t N, int64_t ldx, int64_t offset, int64_t heads,
                  int64_t head_stride, int64_t seq_len, const int32_t* pos) {
  rotate(table, x, N, ldx, offset, heads, head_stride, seq_len, pos, T(1));
}

template <typename T>
void rope_backward(const RopeTable<T>& table, T* dx, int64_t N, int64_t ldx, int64_t offset, int64_t heads,
                   int64_t head_stride, int64_t seq_len, const int32_t* pos) {
  // With magnitude m the forward map is m·R(φ); its transpose is m·R(−φ).
  rotate(table, dx, N, ldx, offset, heads, head_stride, seq_len, pos, T(-1));
}

template struct RopeTable<float>;
template struct RopeTable<double>;
template void rope_forward<float>(const RopeTable<float>&, float*, int64_t, int64_t, int64_t, int64_t,
                                  int64_t, int64_t, const int32_t*);
template void rope_forward<double>(const RopeTable<double>&, double*, int64_t, int64_t, int64_t, int64_t,
                                   int64_t, int64_t, const int32_t*);
template void rope_backward<float>(const RopeTable<float>&, float*, int64_t, int64_t, int64_t, int64_t,
                                   int64_t, int64_t, const int32_t*);
template void rope_backward<double>(const RopeTable<double>&, double*, int64_t, int64_t, int64_t, int64_t,
                                    int64_t, int64_t, const int32_t*);

}  // namespace seek
