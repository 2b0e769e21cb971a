// Causal flash attention on the CPU (see attention.hpp for the shape contract).
//
// Tiles are kTile queries × kTile keys. Scores are kept TRANSPOSED, S[c][r] (key c, query r), so that every
// step runs along the query index r with contiguous, unit-stride loads:
//   S  = scale · K_tile · Qᵀ          (Qᵀ copied once per query tile)
//   softmax statistics per query r    elementwise max / sum over the rows c of S: no horizontal reductions
//   O += Pᵀ · V_tile                  forward
//   dP = V_tile · dOᵀ, dS = P ⊙ (dP − D), dV += P · dO, dK += scale · dS · Q, dQ += scale · dSᵀ · K
// All products are one register-blocked micro-kernel, C[m, :] (+)= α Σ_k A(m, k) B[k, :], with A read through
// arbitrary strides (so a transposed A costs nothing) and B rows contiguous. Each element is an fma chain in
// ascending k whatever the blocking, so results do not depend on tile edges or thread count. On diagonal
// tiles the products whose A is causally masked skip the zero half.
// Why not seek::gemm on tiles: one 64×64×48 product through it takes ~2.5 µs single-threaded, no faster than
// this kernel, but it takes a global mutex and shares one oneDNN stream, so the per-(b, h) OpenMP workers
// could not call it concurrently, and it cannot skip the masked half of a diagonal tile.
// Backward parallelism is B·H tasks (each owns its dk/dv/dq slices, so no atomics); with fewer (b, h) pairs
// than cores some cores idle.
#include "kernels/attention.hpp"
#include "kernels/vecmath.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "core/aligned.hpp"
#include "core/error.hpp"

namespace seek {
namespace {

constexpr int64_t kTile = 64;  // queries and keys per tile: S is 16 KB in fp32, all scratch fits L2

// The widest vector register the build targets (AVX-512 with -march=native here; SEEK_NATIVE=OFF builds for
// baseline x86-64, where a wider GCC vector would not fit a register).
#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
#elif defined(__AVX__)
constexpr int kVecBytes = 32;
#else
constexpr int kVecBytes = 16;
#endif

// Elements per vector register.
template <typename T>
constexpr int kLanes = int(kVecBytes / sizeof(T));

// One vector register of T, as a GCC vector so the register blocking below is explicit rather than left to
// the SLP vectoriser (which, given fully unrolled scalar loops, re-reads B for every fma and spills).
template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(kVecBytes)));
};

template <typename T>
inline typename Vec<T>::type load(const T* p) {
  typename Vec<T>::type v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T>
inline void store(T* p, typename Vec<T>::type v) {
  std::memcpy(p, &v, sizeof(v));
}

// C[M, N] (+)= alpha · A · B for one tile, where A(m, k) = a[m·sam + k·sak] (any strides, so a transposed A
// costs nothing) and B[k, n] = b[k·ldb + n] has contiguous rows. On a diagonal tile the causal mask zeroes
// A's entries with k > m (kLower) or k < m (kUpper); those products are skipped per block of rows.
enum class Causal { kNone, kLower, kUpper };

template <typename T>
struct TileProduct {
  int64_t M, N, K;
  const T* a;
  int64_t sam, sak;
  const T* b;
  int64_t ldb;
  T* c;
  int64_t ldc;
  T alpha;
  bool accumulate;
  Causal causal = Causal::kNone;
};

// Rows [m, m + MR) and columns [n, n + NV·lanes): per k, NV loads of B and MR broadcasts of A feed MR·NV fmas
// (GCC contracts a·b + c into one fma, its default at every -std) into accumulators held in registers.
template <typename T, int MR, int NV>
inline void micro_kernel(const TileProduct<T>& p, int64_t m, int64_t n, int64_t k0, int64_t k1) {
  using V = typename Vec<T>::type;
  constexpr int W = kLanes<T>;
  V acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j) acc[i][j] = V{};  // not `= {}`, which GCC lowers to a memset of a stack copy
  const T* a = p.a + m * p.sam;
  for (int64_t k = k0; k < k1; ++k) {
    V b[NV];
    for (int j = 0; j < NV; ++j) {
      b[j] = load(p.b + k * p.ldb + n + j * W);
      // Pin b[j] in a register: otherwise GCC folds the load into each of the MR fmas that use it, and the
      // extra loads make the loop load-port bound (MR·NV + MR loads per MR·NV fmas instead of NV + MR).
      asm("" : "+v"(b[j]));
    }
    for (int i = 0; i < MR; ++i) {
      const V ai = a[i * p.sam + k * p.sak] - V{};  // broadcast
      for (int j = 0; j < NV; ++j) acc[i][j] += ai * b[j];
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j) {
      T* c = p.c + (m + i) * p.ldc + n + j * W;
      store(c, p.accumulate ? load(c) + p.alpha * acc[i][j] : p.alpha * acc[i][j]);
    }
}

// The k range rows [m, m + rows) need: all of it, or the causal part of it.
template <typename T>
inline std::pair<int64_t, int64_t> k_range(const TileProduct<T>& p, int64_t m, int64_t rows) {
  if (p.causal == Causal::kLower) return {0, std::min(p.K, m + rows)};
  if (p.causal == Causal::kUpper) return {std::min(p.K, m), p.K};
  return {0, p.K};
}

// Columns [n, n + NV·lanes) of all rows, MR rows at a time.
template <typename T, int MR, int NV>
void column_panel(const TileProduct<T>& p, int64_t n) {
  int64_t m = 0;
  for (; m + MR <= p.M; m += MR) {
    auto [k0, k1] = k_range(p, m, MR);
    micro_kernel<T, MR, NV>(p, m, n, k0, k1);
  }
  for (; m < p.M; ++m) {
    auto [k0, k1] = k_range(p, m, 1);
    micro_kernel<T, 1, NV>(p, m, n, k0, k1);
  }
}

// Panels of 4, 3, 2, 1 registers wide with 4-8 rows keep 12-16 accumulators live. Columns left over (N not a
// multiple of the register width, only in tests) take the same fma order one element at a time, so every
// element is the same fma chain in ascending k whatever the blocking.
template <typename T>
void tile_gemm(const TileProduct<T>& p) {
  constexpr int W = kLanes<T>;
  int64_t n = 0;
  for (; n + 4 * W <= p.N; n += 4 * W) column_panel<T, 4, 4>(p, n);
  const int64_t rest = (p.N - n) / W;
  if (rest == 3) column_panel<T, 4, 3>(p, n);
  if (rest == 2) column_panel<T, 8, 2>(p, n);
  if (rest == 1) column_panel<T, 8, 1>(p, n);
  for (n += rest * W; n < p.N; ++n)
    for (int64_t m = 0; m < p.M; ++m) {
      auto [k0, k1] = k_range(p, m, 1);
      T acc = 0;
      for (int64_t k = k0; k < k1; ++k) acc = std::fma(p.a[m * p.sam + k * p.sak], p.b[k * p.ldb + n], acc);
      T* c = p.c + m * p.ldc + n;
      *c = p.accumulate ? std::fma(p.alpha, acc, *c) : p.alpha * acc;
    }
}

// Copies rows [r0, r0 + nq) of a [.., D] matrix with row stride ld into dst[D][kTile] (dst[d][r] =
// src[r][d]); lanes r >= nq are zero so partial tiles compute harmless finite values there.
template <typename T>
void load_transposed(const T* src, int64_t ld, int64_t nq, int64_t D, T* dst) {
  for (int64_t d = 0; d < D; ++d) {
    T* row = dst + d * kTile;
    for (int64_t r = 0; r < nq; ++r) row[r] = src[r * ld + d];
    for (int64_t r = nq; r < kTile; ++r) row[r] = T(0);
  }
}

template <typename T>
struct ForwardScratch {
  AlignedBuffer<T> qt, s, o, m, m_new, l, alpha;
  ForwardScratch(int64_t Dqk, int64_t Dv)
      : qt(size_t(Dqk * kTile)),
        s(size_t(kTile * kTile)),
        o(size_t(kTile * Dv)),
        m(kTile),
        m_new(kTile),
        l(kTile),
        alpha(kTile) {}
  static size_t bytes(int64_t Dqk, int64_t Dv) {
    return sizeof(T) * size_t(Dqk * kTile + kTile * kTile + kTile * Dv + 4 * kTile);
  }
};

template <typename T>
struct BackwardScratch {
  AlignedBuffer<T> qt, dot, p, ds, dq, d, lse;
  BackwardScratch(int64_t Dqk, int64_t Dv)
      : qt(size_t(Dqk * kTile)),
        dot(size_t(Dv * kTile)),
        p(size_t(kTile * kTile)),
        ds(size_t(kTile * kTile)),
        dq(size_t(kTile * Dqk)),
        d(kTile),
        lse(kTile) {}
  static size_t bytes(int64_t Dqk, int64_t Dv) {
    return sizeof(T) * size_t(Dqk * kTile + Dv * kTile + 2 * kTile * kTile + kTile * Dqk + 2 * kTile);
  }
};

// Starting a parallel region costs microseconds (much more when cores are oversubscribed); below ~2M
// multiply-adds, about 10 µs of work, one thread is faster. Results do not depend on the choice.
bool worth_threads(int64_t bh, int64_t n_tiles, int64_t Dqk, int64_t Dv) {
  return bh * n_tiles * (n_tiles + 1) / 2 * kTile * kTile * (Dqk + Dv) > (int64_t(1) << 21);
}

void check_shape(int64_t B, int64_t Tn, int64_t H, int64_t Dqk, int64_t Dv) {
  SEEK_CHECK(B >= 0 && Tn >= 0 && H >= 0 && Dqk >= 1 && Dv >= 1,
             "attention: bad shape B={} Tn={} H={} Dqk={} Dv={}", B, Tn, H, Dqk, Dv);
}

// One query tile [r0, r0 + nq) of one (b, h): online softmax over key tiles 0..qb.
template <typename T>
void forward_query_tile(const T* qbh, const T* kbh, const T* vbh, T* obh, T* lse_bh, int64_t r0, int64_t nq,
                        int64_t Tn, int64_t ldq, int64_t ldv, int64_t Dqk, int64_t Dv, T scale,
                        ForwardScratch<T>& s) {
  const T neg_inf = -std::numeric_limits<T>::infinity();
  T* S = s.s.data();
  T* O = s.o.data();
  T *m = s.m.data(), *m_new = s.m_new.data(), *l = s.l.data(), *alpha = s.alpha.data();
  load_transposed(qbh + r0 * ldq, ldq, nq, Dqk, s.qt.data());
  std::fill_n(m, kTile, neg_inf);
  std::fill_n(l, kTile, T(0));
  std::fill_n(O, nq * Dv, T(0));
  for (int64_t c0 = 0; c0 <= r0; c0 += kTile) {
    const int64_t nk = std::min(kTile, Tn - c0);
    tile_gemm<T>({nk, kTile, Dqk, kbh + c0 * ldq, ldq, 1, s.qt.data(), kTile, S, kTile, scale, false});
    const bool diag = c0 == r0;
    if (diag)  // key c is visible to query r only if c <= r
      for (int64_t c = 1; c < nk; ++c) std::fill_n(S + c * kTile, c, neg_inf);
    std::copy_n(m, kTile, m_new);
    for (int64_t c = 0; c < nk; ++c) {
      const T* sc = S + c * kTile;
      for (int64_t r = 0; r < kTile; ++r) m_new[r] = sc[r] > m_new[r] ? sc[r] : m_new[r];
    }
    // m starts at −inf and key 0 is in the first tile, so m_new is finite here and alpha is 0 on the first
    // tile rather than NaN.
    for (int64_t r = 0; r < kTile; ++r) {
      alpha[r] = exp_t(m[r] - m_new[r]);
      l[r] *= alpha[r];
    }
    for (int64_t c = 0; c < nk; ++c) {
      T* sc = S + c * kTile;
      for (int64_t r = 0; r < kTile; ++r) {
        sc[r] = exp_t(sc[r] - m_new[r]);
        l[r] += sc[r];
      }
    }
    for (int64_t r = 0; r < nq; ++r)
      for (int64_t d = 0; d < Dv; ++d) O[r * Dv + d] *= alpha[r];
    tile_gemm<T>({nq, Dv, nk, S, 1, kTile, vbh + c0 * ldv, ldv, O, Dv, T(1), true,
                  diag ? Causal::kLower : Causal::kNone});
    std::copy_n(m_new, kTile, m);
  }
  for (int64_t r = 0; r < nq; ++r) {
    const T inv = T(1) / l[r];
    T* dst = obh + (r0 + r) * ldv;
    for (int64_t d = 0; d < Dv; ++d) dst[d] = O[r * Dv + d] * inv;
    lse_bh[r0 + r] = m[r] + std::log(l[r]);
  }
}

// All key tiles against query tile [r0, r0 + nq) of one (b, h). dq rows are written, dk/dv rows accumulate
// (the caller zeroes them; this (b, h) belongs to one thread, so there is no race).
template <typename T>
void backward_query_tile(const T* qbh, const T* kbh, const T* vbh, const T* obh, const T* lse_bh,
                         const T* dobh, T* dqbh, T* dkbh, T* dvbh, int64_t r0, int64_t nq, int64_t Tn,
                         int64_t ldq, int64_t ldv, int64_t Dqk, int64_t Dv, T scale, BackwardScratch<T>& s) {
  T *P = s.p.data(), *dS = s.ds.data(), *dQ = s.dq.data(), *D = s.d.data(), *L = s.lse.data();
  load_transposed(qbh + r0 * ldq, ldq, nq, Dqk, s.qt.data());
  load_transposed(dobh + r0 * ldv, ldv, nq, Dv, s.dot.data());
  for (int64_t r = 0; r < kTile; ++r) {
    T acc = 0;
    if (r < nq)
      for (int64_t d = 0; d < Dv; ++d) acc = std::fma(dobh[(r0 + r) * ldv + d], obh[(r0 + r) * ldv + d], acc);
    D[r] = acc;
    L[r] = r < nq ? lse_bh[r0 + r] : T(0);
  }
  std::fill_n(dQ, nq * Dqk, T(0));
  for (int64_t c0 = 0; c0 <= r0; c0 += kTile) {
    const int64_t nk = std::min(kTile, Tn - c0);
    const T* kt = kbh + c0 * ldq;
    const T* vt = vbh + c0 * ldv;
    tile_gemm<T>({nk, kTile, Dqk, kt, ldq, 1, s.qt.data(), kTile, P, kTile, scale, false});
    for (int64_t c = 0; c < nk; ++c) {
      T* pc = P + c * kTile;
      for (int64_t r = 0; r < kTile; ++r) pc[r] = exp_t(pc[r] - L[r]);
    }
    const bool diag = c0 == r0;
    if (diag)
      for (int64_t c = 1; c < nk; ++c) std::fill_n(P + c * kTile, c, T(0));
    tile_gemm<T>({nk, kTile, Dv, vt, ldv, 1, s.dot.data(), kTile, dS, kTile, T(1), false});  // dP
    for (int64_t c = 0; c < nk; ++c) {
      const T* pc = P + c * kTile;
      T* dc = dS + c * kTile;
      for (int64_t r = 0; r < kTile; ++r) dc[r] = pc[r] * (dc[r] - D[r]);
    }
    const Causal upper = diag ? Causal::kUpper : Causal::kNone, lower = diag ? Causal::kLower : Causal::kNone;
    tile_gemm<T>({nk, Dv, nq, P, kTile, 1, dobh + r0 * ldv, ldv, dvbh + c0 * ldv, ldv, T(1), true, upper});
    tile_gemm<T>({nk, Dqk, nq, dS, kTile, 1, qbh + r0 * ldq, ldq, dkbh + c0 * ldq, ldq, scale, true, upper});
    tile_gemm<T>({nq, Dqk, nk, dS, 1, kTile, kt, ldq, dQ, Dqk, scale, true, lower});
  }
  for (int64_t r = 0; r < nq; ++r) std::copy_n(dQ + r * Dqk, Dqk, dqbh + (r0 + r) * ldq);
}

}  // namespace

template <typename T>
size_t attention_scratch_bytes_per_thread(int64_t Dqk, int64_t Dv, bool backward) {
  return backward ? BackwardScratch<T>::bytes(Dqk, Dv) : ForwardScratch<T>::bytes(Dqk, Dv);
}

template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* lse, int64_t B, int64_t Tn, int64_t H,
                       int64_t Dqk, int64_t Dv, T scale) {
  check_shape(B, Tn, H, Dqk, Dv);
  const int64_t ldq = H * Dqk, ldv = H * Dv;
  const int64_t n_tiles = (Tn + kTile - 1) / kTile;
  const int64_t n_tasks = B * H * n_tiles;
#pragma omp parallel if (worth_threads(B * H, n_tiles, Dqk, Dv))
  {
    ForwardScratch<T> scratch(Dqk, Dv);
    // Later query tiles see more keys: hand them out first so the dynamic schedule ends evenly.
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < n_tasks; ++task) {
      const int64_t qb = n_tiles - 1 - task / (B * H);
      const int64_t bh = task % (B * H), b = bh / H, h = bh % H;
      const int64_t r0 = qb * kTile;
      const size_t qoff = size_t(b * Tn * ldq + h * Dqk), voff = size_t(b * Tn * ldv + h * Dv);
      forward_query_tile(q + qoff, k + qoff, v + voff, out + voff, lse + size_t(bh * Tn), r0,
                         std::min(kTile, Tn - r0), Tn, ldq, ldv, Dqk, Dv, scale, scratch);
    }
  }
}

template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse, const T* dout, T* dq,
                        T* dk, T* dv, int64_t B, int64_t Tn, int64_t H, int64_t Dqk, int64_t Dv, T scale) {
  check_shape(B, Tn, H, Dqk, Dv);
  const int64_t ldq = H * Dqk, ldv = H * Dv;
#pragma omp parallel if (worth_threads(B * H, (Tn + kTile - 1) / kTile, Dqk, Dv))
  {
    BackwardScratch<T> scratch(Dqk, Dv);
#pragma omp for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < B * H; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const size_t qoff = size_t(b * Tn * ldq + h * Dqk), voff = size_t(b * Tn * ldv + h * Dv);
      for (int64_t t = 0; t < Tn; ++t) {
        std::fill_n(dk + qoff + t * ldq, Dqk, T(0));
        std::fill_n(dv + voff + t * ldv, Dv, T(0));
      }
      for (int64_t r0 = 0; r0 < Tn; r0 += kTile)
        backward_query_tile(q + qoff, k + qoff, v + voff, out + voff, lse + size_t(bh * Tn), dout + voff,
                            dq + qoff, dk + qoff, dv + voff, r0, std::min(kTile, Tn - r0), Tn, ldq, ldv, Dqk,
                            Dv, scale, scratch);
    }
  }
}

#define SEEK_INSTANTIATE(T)                                                                               \
  template void attention_forward<T>(const T*, const T*, const T*, T*, T*, int64_t, int64_t, int64_t,     \
                                     int64_t, int64_t, T);                                                \
  template void attention_backward<T>(const T*, const T*, const T*, const T*, const T*, const T*, T*, T*, \
                                      T*, int64_t, int64_t, int64_t, int64_t, int64_t, T);                \
  template size_t attention_scratch_bytes_per_thread<T>(int64_t, int64_t, bool);
SEEK_INSTANTIATE(float)
SEEK_INSTANTIATE(double)
#undef SEEK_INSTANTIATE

}  // namespace seek
