#include "kernels/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace seek {

template <typename T>
void adamw_update(T* p, const T* g, T* m, T* v, int64_t n, const AdamWParams& hp, double weight_decay,
                  int64_t t, double grad_scale) {
  const T gs = T(grad_scale);
  const T b1 = T(hp.beta1), b2 = T(hp.beta2), lr = T(hp.lr), eps = T(hp.eps), wd = T(weight_decay);
  const T c1 = T(1.0 / (1.0 - std::pow(hp.beta1, double(t))));
  const T c2 = T(1.0 / (1.0 - std::pow(hp.beta2, double(t))));
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const T gi = gs * g[i];
    T mi = b1 * m[i] + (T(1) - b1) * gi;
    T vi = b2 * v[i] + (T(1) - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= lr * ((mi * c1) / (std::sqrt(vi * c2) + eps) + wd * p[i]);
  }
}

template <typename T>
double l2_norm_squared(const T* g, int64_t n) {
  constexpr int64_t kBlock = 1 << 14;
  int64_t nb = (n + kBlock - 1) / kBlock;
  std::vector<double> part(size_t(nb), 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < nb; ++b) {
    double s = 0;
    int64_t e = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < e; ++i) s += double(g[i]) * double(g[i]);
    part[size_t(b)] = s;
  }
  double total = 0;
  for (double s : part) total += s;
  return total;
}

double clip_scale(double norm, double max_norm) {
  if (!(max_norm > 0) || !(norm > max_norm)) return 1.0;
  return max_norm / (norm + 1e-6);
}

template void adamw_update<float>(float*, const float*, float*, float*, int64_t, const AdamWParams&, double,
                                  int64_t, double);
template void adamw_update<double>(double*, const double*, double*, double*, int64_t, const AdamWParams&,
                                   double, int64_t, double);
template double l2_norm_squared<float>(const float*, int64_t);
template double l2_norm_squared<double>(const double*, int64_t);

}  // namespace seek
