#include "infer/cache_attention.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/dtype.hpp"
#include "core/thread_count.hpp"
#include "kernels/dot_block.hpp"
#include "kernels/vecmath.hpp"

namespace seek {

namespace {

constexpr int64_t kMaxTile = 64;    // keys scored at once
constexpr int64_t kMinSplit = 256;  // fewest keys worth a separate work item

struct Item {
  int64_t n, j0, j1;  // token, key range [j0, j1)
  int64_t acc = -1;   // slot in the partial-accumulator scratch; -1: the token's only item, writes `out`
};

// Keys per tile for rows decoded into `value_bytes`-byte values: the tile's copy stays within 64 KB (L2), at
// least 4 keys. Rows read in place (f32, and bf16 with AVX-512) use kMaxTile.
int64_t tile_keys(const KvCache& cache, int64_t value_bytes) {
  return std::clamp<int64_t>(65536 / value_bytes / cache.width() / 4 * 4, 4, kMaxTile);
}

// Per-thread state of one work item's online softmax, heads padded to a multiple of 4 (Hp) so the AVX-512
// kernels work on 4 heads at a time; padded heads get zero probabilities and write into `spare`.
// Rows of the next tile to pull into cache during the score pass, one row per 4×4 score block.
struct Prefetch {
  const char* rows[kMaxTile];
  int64_t n = 0, bytes = 0, next = 0;
  void step() {
    if (next >= n) return;
    const char* p = rows[next++];
    for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o);
  }
};

struct Scratch {
  std::vector<float> scores;        // [Hp, tile]
  std::vector<float> rows;          // decoded rows [tile, width] (fp8; bf16 without AVX-512)
  std::vector<uint16_t> rows_bf16;  // fp8 rows decoded to bf16 [tile, width] (bf16 products)
  std::vector<float> row;           // [width] one fp8 row decoded to fp32 on its way to rows_bf16
  std::vector<float> spare;         // [4, Dv] accumulator of padded heads
  std::vector<uint16_t> q_bf16;     // [H, Dk] the queries rounded to bf16 (bf16 products)
  std::vector<uint16_t> p_bf16;     // [Hp, tile] probabilities in bf16 (bf16 products)
};

#if defined(SEEK_HAVE_AVX512)
// GCC 12 flags deliberately undefined operands inside the AVX-512 intrinsics (a known false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// acc_a[c] += Σ_j P[a·ldP + j] · v_aj[c] for 4 heads and all Dv columns, 64 columns (4 registers per head) at
// a time. Shared: v_aj = vp[j]; otherwise v_aj = vp[4j + a].
template <bool Shared, typename KT>
void pv_4(const float* P, int64_t ldP, int64_t nt, const KT* const* vp, int64_t Dv, float* const acc[4]) {
  for (int64_t c0 = 0; c0 < Dv; c0 += 64) {
    __mmask16 m[4];
    for (int v = 0; v < 4; ++v) m[v] = c0 + 16 * v < Dv ? tail_mask(Dv - c0 - 16 * v) : __mmask16(0);
    __m512 o[4][4];
    for (int a = 0; a < 4; ++a)
      for (int v = 0; v < 4; ++v) o[a][v] = _mm512_maskz_loadu_ps(m[v], acc[a] + c0 + 16 * v);
    for (int64_t j = 0; j < nt; ++j) {
      __m512 p[4];
      for (int a = 0; a < 4; ++a) p[a] = _mm512_set1_ps(P[a * ldP + j]);
      for (int v = 0; v < 4; ++v) {
        if constexpr (Shared) {
          const __m512 vv = load16(vp[j] + c0 + 16 * v, m[v]);
          for (int a = 0; a < 4; ++a) o[a][v] = _mm512_fmadd_ps(p[a], vv, o[a][v]);
        } else {
          for (int a = 0; a < 4; ++a)
            o[a][v] = _mm512_fmadd_ps(p[a], load16(vp[4 * j + a] + c0 + 16 * v, m[v]), o[a][v]);
        }
      }
    }
    for (int a = 0; a < 4; ++a)
      for (int v = 0; v < 4; ++v) _mm512_mask_storeu_ps(acc[a] + c0 + 16 * v, m[v], o[a][v]);
  }
}

// Scores [Hp, ldS] of one tile (columns j >= nt hold junk) and the P·V update, 4 heads at a time. Rows are
// fp32, or bf16 read in place (widened in registers).
template <typename KT>
void tile_scores(const float* q, const KT* const* rows, int64_t nt, int64_t Hp, const CacheAttnShape& s,
                 float* S, int64_t ldS, Prefetch& pf) {
  const bool shared = s.k_hstride == 0;
  for (int64_t h0 = 0; h0 < Hp; h0 += 4) {
    const float* qa[4];
    for (int a = 0; a < 4; ++a) qa[a] = q + std::min(h0 + a, s.H - 1) * s.Dk;
    for (int64_t j0 = 0; j0 < nt; j0 += 4) {
      pf.step();
      if (shared) {
        const KT* kp[4];
        for (int b = 0; b < 4; ++b) kp[b] = rows[std::min(j0 + b, nt - 1)] + s.k_off;
        dot_4x4<true>(qa, kp, s.Dk, S + h0 * ldS + j0, ldS);
      } else {
        const KT* kp[16];
        for (int a = 0; a < 4; ++a)
          for (int b = 0; b < 4; ++b)
            kp[4 * a + b] =
                rows[std::min(j0 + b, nt - 1)] + s.k_off + std::min(h0 + a, s.H - 1) * s.k_hstride;
        dot_4x4<false>(qa, kp, s.Dk, S + h0 * ldS + j0, ldS);
      }
    }
  }
}
#if defined(SEEK_HAVE_BF16_DOT)
// Rounds one head's probabilities p[0, nt) to bf16 into out[0, nt), with out[nt] = 0 when nt is odd so that
// keys pair up, and returns the sum of the rounded values: the softmax denominator sums what the products
// multiply, so the weights stay a convex combination.
float round_probabilities(const float* p, int64_t nt, uint16_t* out) {
  round_to_bf16(p, nt, out);
  if (nt % 2) out[nt] = 0;
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < nt; j += 16) sum = _mm512_add_ps(sum, load16(out + j, tail_mask(nt - j)));
  return _mm512_reduce_add_ps(sum);
}

// pv_4 for a shared bf16 value row with bf16 probabilities: vdpbf16ps takes keys in pairs, so the rows of
// keys 2t and 2t + 1 are interleaved element by element (unpacklo / unpackhi of 16-bit lanes) and multiplied
// by the pair (P_2t, P_2t+1) broadcast as one 32-bit word. P[a·ldP + j]: head a's probabilities in bf16, a
// zero after an odd count; vp[j] for j < 2·npairs (an odd tile repeats its last row, with P = 0). The
// interleaving leaves columns in the order of to_lo / to_hi within each 32; accumulators are permuted into
// that order on load and back on store, so acc stays in column order.
void pv_4_bf16(const uint16_t* P, int64_t ldP, int64_t npairs, const uint16_t* const* vp, int64_t Dv,
               float* const acc[4]) {
  // Lane 4i + k of unpacklo holds column 8i + k of the 32, unpackhi column 8i + 4 + k.
  const __m512i to_lo = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  const __m512i to_hi = _mm512_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  const __m512i back_0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i back_1 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  for (int64_t c0 = 0; c0 < Dv; c0 += 64) {
    __mmask32 mb[2];
    __mmask16 mf[4];
    for (int u = 0; u < 2; ++u) mb[u] = c0 + 32 * u < Dv ? tail_mask32(Dv - c0 - 32 * u) : __mmask32(0);
    for (int v = 0; v < 4; ++v) mf[v] = c0 + 16 * v < Dv ? tail_mask(Dv - c0 - 16 * v) : __mmask16(0);
    __m512 o[4][4];  // [head][lo, hi of columns c0..c0+31, lo, hi of c0+32..c0+63]
    for (int a = 0; a < 4; ++a)
      for (int u = 0; u < 2; ++u) {
        const __m512 n0 = _mm512_maskz_loadu_ps(mf[2 * u], acc[a] + c0 + 32 * u);
        const __m512 n1 = _mm512_maskz_loadu_ps(mf[2 * u + 1], acc[a] + c0 + 32 * u + 16);
        o[a][2 * u] = _mm512_permutex2var_ps(n0, to_lo, n1);
        o[a][2 * u + 1] = _mm512_permutex2var_ps(n0, to_hi, n1);
      }
    for (int64_t t = 0; t < npairs; ++t) {
      __m512bh w[4];
      for (int u = 0; u < 2; ++u) {
        const __m512i x = _mm512_maskz_loadu_epi16(mb[u], vp[2 * t] + c0 + 32 * u);
        const __m512i y = _mm512_maskz_loadu_epi16(mb[u], vp[2 * t + 1] + c0 + 32 * u);
        w[2 * u] = (__m512bh)_mm512_unpacklo_epi16(x, y);
        w[2 * u + 1] = (__m512bh)_mm512_unpackhi_epi16(x, y);
      }
      for (int a = 0; a < 4; ++a) {
        const __m512bh p = (__m512bh)_mm512_broadcastd_epi32(_mm_loadu_si32(P + a * ldP + 2 * t));
        for (int v = 0; v < 4; ++v) o[a][v] = _mm512_dpbf16_ps(o[a][v], p, w[v]);
      }
    }
    for (int a = 0; a < 4; ++a)
      for (int u = 0; u < 2; ++u) {
        _mm512_mask_storeu_ps(acc[a] + c0 + 32 * u, mf[2 * u],
                              _mm512_permutex2var_ps(o[a][2 * u], back_0, o[a][2 * u + 1]));
        _mm512_mask_storeu_ps(acc[a] + c0 + 32 * u + 16, mf[2 * u + 1],
                              _mm512_permutex2var_ps(o[a][2 * u], back_1, o[a][2 * u + 1]));
      }
  }
}

// tile_scores and tile_pv with bf16 products (shared rows only): q_bf16 [H, Dk], P [Hp, ldP] in bf16.
void tile_scores_bf16(const uint16_t* q_bf16, const uint16_t* const* rows, int64_t nt, int64_t Hp,
                      const CacheAttnShape& s, float* S, int64_t ldS, Prefetch& pf) {
  for (int64_t h0 = 0; h0 < Hp; h0 += 4) {
    const uint16_t* qa[4];
    for (int a = 0; a < 4; ++a) qa[a] = q_bf16 + std::min(h0 + a, s.H - 1) * s.Dk;
    for (int64_t j0 = 0; j0 < nt; j0 += 4) {
      pf.step();
      const uint16_t* kp[4];
      for (int b = 0; b < 4; ++b) kp[b] = rows[std::min(j0 + b, nt - 1)] + s.k_off;
      dot_4x4_bf16(qa, kp, s.Dk, S + h0 * ldS + j0, ldS);
    }
  }
}

void tile_pv_bf16(const uint16_t* P, int64_t ldP, const uint16_t* const* rows, int64_t nt, int64_t Hp,
                  const CacheAttnShape& s, float* acc, float* spare) {
  const uint16_t* vp[kMaxTile + 1];
  for (int64_t j = 0; j < nt; ++j) vp[j] = rows[j] + s.v_off;
  vp[nt] = vp[nt - 1];
  for (int64_t h0 = 0; h0 < Hp; h0 += 4) {
    float* accs[4];
    for (int a = 0; a < 4; ++a) accs[a] = h0 + a < s.H ? acc + (h0 + a) * s.Dv : spare + a * s.Dv;
    pv_4_bf16(P + h0 * ldP, ldP, (nt + 1) / 2, vp, s.Dv, accs);
  }
}
#endif
#pragma GCC diagnostic pop

template <typename KT>
void tile_pv(const float* P, int64_t ldP, const KT* const* rows, int64_t nt, int64_t Hp,
             const CacheAttnShape& s, float* acc, float* spare) {
  const bool shared = s.v_hstride == 0;
  for (int64_t h0 = 0; h0 < Hp; h0 += 4) {
    float* accs[4];
    for (int a = 0; a < 4; ++a) accs[a] = h0 + a < s.H ? acc + (h0 + a) * s.Dv : spare + a * s.Dv;
    if (shared) {
      const KT* vp[kMaxTile];
      for (int64_t j = 0; j < nt; ++j) vp[j] = rows[j] + s.v_off;
      pv_4<true>(P + h0 * ldP, ldP, nt, vp, s.Dv, accs);
    } else {
      const KT* vp[4 * kMaxTile];
      for (int64_t j = 0; j < nt; ++j)
        for (int a = 0; a < 4; ++a)
          vp[4 * j + a] = rows[j] + s.v_off + std::min(h0 + a, s.H - 1) * s.v_hstride;
      pv_4<false>(P + h0 * ldP, ldP, nt, vp, s.Dv, accs);
    }
  }
}
#else
template <typename KT>
void tile_scores(const float* q, const KT* const* rows, int64_t nt, int64_t, const CacheAttnShape& s,
                 float* S, int64_t ldS, Prefetch&) {
  for (int64_t h = 0; h < s.H; ++h)
    for (int64_t j = 0; j < nt; ++j) {
      const float* k = rows[j] + s.k_off + h * s.k_hstride;
      const float* qh = q + h * s.Dk;
      float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < s.Dk; ++i) acc += qh[i] * k[i];
      S[h * ldS + j] = acc;
    }
}

template <typename KT>
void tile_pv(const float* P, int64_t ldP, const KT* const* rows, int64_t nt, int64_t, const CacheAttnShape& s,
             float* acc, float*) {
  for (int64_t j = 0; j < nt; ++j)
    for (int64_t h = 0; h < s.H; ++h) {
      const float p = P[h * ldP + j];
      const float* v = rows[j] + s.v_off + h * s.v_hstride;
      float* a = acc + h * s.Dv;
#pragma omp simd
      for (int64_t i = 0; i < s.Dv; ++i) a[i] += p * v[i];
    }
}
#endif

// Online softmax over keys [j0, j1) of token n for all heads: m[H] (max score), l[H] (Σ exp), acc[H, Dv].
// KT = uint16_t: bf16 rows (AVX-512 kernels only), a BF16 cache read in place or, with bf16 products, FP8
// rows decoded to bf16 a tile at a time into w.rows_bf16; KT = float: f32 rows in place, other types decoded
// a tile at a time into w.rows.
template <typename KT>
void attend_range(const KvCache& cache, int64_t layer, const float* q, int sq, int64_t j0, int64_t j1,
                  const CacheAttnShape& s, float* m, float* l, float* acc, Scratch& w) {
  constexpr bool bf16_rows = std::is_same_v<KT, uint16_t>;
  const bool in_place = cache.type() == (bf16_rows ? CacheType::BF16 : CacheType::F32);
  [[maybe_unused]] const bool products = bf16_rows && bf16_products(cache, s);
  const int64_t width = cache.width();
#if defined(SEEK_HAVE_BF16_DOT)
  if (products) {
    w.q_bf16.resize(size_t(s.H * s.Dk));
    round_to_bf16(q, s.H * s.Dk, w.q_bf16.data());
    w.p_bf16.assign(size_t((s.H + 3) / 4 * 4 * kMaxTile), 0);
  }
#endif
  const int64_t H = s.H, Dv = s.Dv, Hp = (H + 3) / 4 * 4,
                T = in_place ? kMaxTile : tile_keys(cache, sizeof(KT));
  for (int64_t h = 0; h < H; ++h) {
    m[h] = -std::numeric_limits<float>::infinity();
    l[h] = 0.0f;
  }
  std::fill(acc, acc + H * Dv, 0.0f);
  w.scores.assign(size_t(Hp * kMaxTile), 0.0f);
  w.spare.assign(size_t(4 * Dv), 0.0f);
  if (!in_place) {
    if constexpr (bf16_rows) {
      w.rows_bf16.resize(size_t(T * width));
      w.row.resize(size_t(width));
    } else {
      w.rows.resize(size_t(T * width));
    }
  }
  // Row `pos`: in place, or decoded into tile slot `slot`.
  auto row = [&](int64_t pos, int64_t slot) -> const KT* {
    if constexpr (bf16_rows) {
      if (in_place) return cache.bf16_row(sq, layer, pos);
#if defined(SEEK_HAVE_BF16_DOT)
      uint16_t* dst = w.rows_bf16.data() + slot * width;
      round_to_bf16(cache.read_row(sq, layer, pos, w.row.data()), width, dst);
      return dst;
#else
      return nullptr;  // not dispatched: FP8 rows become bf16 only for bf16 products
#endif
    } else {
      return cache.read_row(sq, layer, pos, in_place ? nullptr : w.rows.data() + slot * width);
    }
  };
  float* S = w.scores.data();
  const KT* rows[kMaxTile];
  for (int64_t t0 = j0; t0 < j1; t0 += T) {
    const int64_t nt = std::min(T, j1 - t0);
    for (int64_t j = 0; j < nt; ++j) rows[j] = row(t0 + j, j);
    // Streaming many sequences' caches from memory: the score pass asks for the next tile's rows, a few
    // lines at a time, so they arrive while this tile is computed.
    Prefetch pf;
    for (int64_t j = t0 + T; j < std::min(j1, t0 + 2 * T); ++j)
      pf.rows[pf.n++] = reinterpret_cast<const char*>(cache.stored_row(sq, layer, j));
    pf.bytes = cache.row_bytes();
#if defined(SEEK_HAVE_BF16_DOT)
    if constexpr (bf16_rows)
      if (products) tile_scores_bf16(w.q_bf16.data(), rows, nt, Hp, s, S, kMaxTile, pf);
    if (!products) tile_scores(q, rows, nt, Hp, s, S, kMaxTile, pf);
#else
    tile_scores(q, rows, nt, Hp, s, S, kMaxTile, pf);
#endif
    for (int64_t h = 0; h < H; ++h) {
      float* sc = S + h * kMaxTile;
      float mx = m[h];
#pragma omp simd reduction(max : mx)
      for (int64_t j = 0; j < nt; ++j) mx = std::max(mx, sc[j] *= s.scale);
      const float corr = fast_exp(m[h] - mx);  // exp(-inf) = 0 on the first tile
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < nt; ++j) sum += (sc[j] = fast_exp(sc[j] - mx));
#if defined(SEEK_HAVE_BF16_DOT)
      if (products) sum = round_probabilities(sc, nt, w.p_bf16.data() + h * kMaxTile);
#endif
      l[h] = l[h] * corr + sum;
      m[h] = mx;
      float* a = acc + h * Dv;
      if (corr != 1.0f)
        for (int64_t i = 0; i < Dv; ++i) a[i] *= corr;
    }
    for (int64_t h = H; h < Hp; ++h) std::fill(S + h * kMaxTile, S + h * kMaxTile + nt, 0.0f);
#if defined(SEEK_HAVE_BF16_DOT)
    if constexpr (bf16_rows)
      if (products) tile_pv_bf16(w.p_bf16.data(), kMaxTile, rows, nt, Hp, s, acc, w.spare.data());
    if (!products) tile_pv(S, kMaxTile, rows, nt, Hp, s, acc, w.spare.data());
#else
    tile_pv(S, kMaxTile, rows, nt, Hp, s, acc, w.spare.data());
#endif
  }
}

}  // namespace

bool bf16_products(const KvCache& cache, const CacheAttnShape& s) {
#if defined(SEEK_HAVE_BF16_DOT)
  return cache.type() != CacheType::F32 && s.k_hstride == 0 && s.v_hstride == 0;
#else
  (void)cache;
  (void)s;
  return false;
#endif
}

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
  // A BF16 cache is read in place by the AVX-512 kernels (no decoding pass), and FP8 rows are decoded to
  // bf16 where the products are bf16; otherwise rows are decoded to fp32.
  auto attend = [&cache, &s](auto&&... args) {
#if defined(SEEK_HAVE_AVX512)
    if (cache.type() == CacheType::BF16 || bf16_products(cache, s))
      return attend_range<uint16_t>(cache, args...);
#endif
    attend_range<float>(cache, args...);
  };
#pragma omp parallel if (I > 1)
  {
    Scratch w;
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < I; ++i) {
      const Item& it = items[size_t(i)];
      float* acc = it.acc < 0 ? out + it.n * H * Dv : A.data() + it.acc * H * Dv;
      attend(layer, q + it.n * H * s.Dk, seq[it.n], it.j0, it.j1, s, M.data() + i * H, L.data() + i * H, acc,
             w);
    }
  }
  // Merge the partial softmaxes of each token in item order.
#pragma omp parallel for schedule(static) if (N * H * Dv > kParallelMinWork)
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
