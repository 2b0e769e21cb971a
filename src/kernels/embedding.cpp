#include "kernels/embedding.hpp"

#include <algorithm>
#include <cstring>

#include <omp.h>

#include "core/error.hpp"

namespace seek {

namespace {
void check_ids(const int32_t* ids, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; ++n)
    SEEK_CHECK(ids[n] >= 0 && ids[n] < V, "token id {} at position {} is outside the vocabulary (size {})",
               ids[n], n, V);
}
}  // namespace

template <typename T>
void embedding_forward(const T* table, const int32_t* ids, T* out, int64_t N, int64_t V, int64_t C) {
  check_ids(ids, N, V);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) std::memcpy(out + n * C, table + int64_t(ids[n]) * C, sizeof(T) * C);
}

template <typename T>
void embedding_backward(const int32_t* ids, const T* dout, T* dtable, int64_t N, int64_t V, int64_t C) {
  check_ids(ids, N, V);
#pragma omp parallel
  {
    int nt = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t c0 = C * t / nt, c1 = C * (t + 1) / nt;
    for (int64_t n = 0; n < N; ++n) {
      T* d = dtable + int64_t(ids[n]) * C;
      const T* g = dout + n * C;
      for (int64_t c = c0; c < c1; ++c) d[c] += g[c];
    }
  }
}

template void embedding_forward<float>(const float*, const int32_t*, float*, int64_t, int64_t, int64_t);
template void embedding_forward<double>(const double*, const int32_t*, double*, int64_t, int64_t, int64_t);
template void embedding_backward<float>(const int32_t*, const float*, float*, int64_t, int64_t, int64_t);
template void embedding_backward<double>(const int32_t*, const double*, double*, int64_t, int64_t, int64_t);

}  // namespace seek
