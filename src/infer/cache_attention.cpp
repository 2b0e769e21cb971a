#include "infer/cache_attention.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace seek {

namespace {

constexpr int64_t kTile = 32;       // keys scored at once (scores [H, kTile] stay in L1)
constexpr int64_t kMinSplit = 256;  // fewest keys worth a separate work item

struct Item {
  int64_t n, j0, j1;  // token, key range [j0, j1)
  int64_t acc = -1;   // slot in the partial-accumulator scratch; -1: the token's only item, writes `out`
};

inline float dot(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Online softmax over keys [j0, j1) of token n for all heads: m[H] (max score), l[H] (Σ exp), acc[H, Dv].
void attend_range(const KvCache& cache, int64_t layer, const float* q, int sq, int64_t j0, int64_t j1,
                  const CacheAttnShape& s, float* m, float* l, float* acc, float* scores) {
  const int64_t H = s.H, Dk = s.Dk, Dv = s.Dv;
  for (int64_t h = 0; h < H; ++h) {
    m[h] = -std::numeric_limits<float>::infinity();
    l[h] = 0.0f;
  }
  std::fill(acc, acc + H * Dv, 0.0f);
  const float* rows[kTile];
  for (int64_t t0 = j0; t0 < j1; t0 += kTile) {
    const int64_t nt = std::min(kTile, j1 - t0);
    for (int64_t j = 0; j < nt; ++j) rows[j] = cache.row(sq, layer, t0 + j);
    for (int64_t j = 0; j < nt; ++j)
      for (int64_t h = 0; h < H; ++h)
        scores[h * kTile + j] = s.scale * dot(q + h * Dk, rows[j] + s.k_off + h * s.k_hstride, Dk);
    for (int64_t h = 0; h < H; ++h) {
      float* sc = scores + h * kTile;
      float mx = m[h];
      for (int64_t j = 0; j < nt; ++j) mx = std::max(mx, sc[j]);
      const float corr = std::exp(m[h] - mx);  // exp(-inf) = 0 on the first tile
      float sum = 0.0f;
      for (int64_t j = 0; j < nt; ++j) sum += (sc[j] = std::exp(sc[j] - mx));
      l[h] = l[h] * corr + sum;
      m[h] = mx;
      float* a = acc + h * Dv;
      if (corr != 1.0f)
        for (int64_t i = 0; i < Dv; ++i) a[i] *= corr;
    }
    for (int64_t j = 0; j < nt; ++j)
      for (int64_t h = 0; h < H; ++h) {
        const float p = scores[h * kTile + j];
        const float* v = rows[j] + s.v_off + h * s.v_hstride;
        float* a = acc + h * Dv;
#pragma omp simd
        for (int64_t i = 0; i < Dv; ++i) a[i] += p * v[i];
      }
  }
}

}  // namespace

void cache_attention(const KvCache& cache, int64_t layer, const float* q, const int32_t* seq,
                     const int32_t* pos, int64_t N, const CacheAttnShape& s, float* out) {
  const int64_t H = s.H, Dv = s.Dv;
  const int64_t threads = omp_get_max_threads();
  // Few tokens (decode): split each token's keys so every thread has work; many tokens: one item each.
  const int64_t want_items = 4 * threads;
  std::vector<Item> items;
  int64_t n_acc = 0;
  std::vector<int64_t> first(size_t(N + 1), 0);
  for (int64_t n = 0; n < N; ++n) {
    const int64_t ctx = int64_t(pos[n]) + 1;
    int64_t split = 1;
    if (N < want_items) split = std::clamp<int64_t>(ctx / kMinSplit, 1, (want_items + N - 1) / N);
    first[size_t(n)] = int64_t(items.size());
    for (int64_t k = 0; k < split; ++k)
      items.push_back({n, ctx * k / split, ctx * (k + 1) / split, split == 1 ? -1 : n_acc++});
  }
  first[size_t(N)] = int64_t(items.size());
  const int64_t I = int64_t(items.size());
  std::vector<float> M(size_t(I * H)), L(size_t(I * H)), A(size_t(n_acc * H * Dv));
#pragma omp parallel
  {
    std::vector<float> scores(size_t(H * kTile));
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < I; ++i) {
      const Item& it = items[size_t(i)];
      float* acc = it.acc < 0 ? out + it.n * H * Dv : A.data() + it.acc * H * Dv;
      attend_range(cache, layer, q + it.n * H * s.Dk, seq[it.n], it.j0, it.j1, s, M.data() + i * H,
                   L.data() + i * H, acc, scores.data());
    }
  }
  // Merge the partial softmaxes of each token in item order.
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const int64_t i0 = first[size_t(n)], i1 = first[size_t(n + 1)];
    if (i1 - i0 == 1) {
      for (int64_t h = 0; h < H; ++h) {
        float* o = out + (n * H + h) * Dv;
        const float inv = 1.0f / L[size_t(i0 * H + h)];
        for (int64_t k = 0; k < Dv; ++k) o[k] *= inv;
      }
      continue;
    }
    for (int64_t h = 0; h < H; ++h) {
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t i = i0; i < i1; ++i) mx = std::max(mx, M[size_t(i * H + h)]);
      float denom = 0.0f;
      float* o = out + (n * H + h) * Dv;
      std::fill(o, o + Dv, 0.0f);
      for (int64_t i = i0; i < i1; ++i) {
        const float w = std::exp(M[size_t(i * H + h)] - mx);
        denom += w * L[size_t(i * H + h)];
        const float* a = A.data() + (items[size_t(i)].acc * H + h) * Dv;
        for (int64_t k = 0; k < Dv; ++k) o[k] += w * a[k];
      }
      const float inv = 1.0f / denom;
      for (int64_t k = 0; k < Dv; ++k) o[k] *= inv;
    }
  }
}

}  // namespace seek
