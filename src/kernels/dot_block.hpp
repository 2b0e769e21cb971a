// Register-blocked dot products, the core of small GEMMs written as dots (X · Wᵀ with both operands' rows
// contiguous) and of attention scores:
//   dot_4x4: S[a·ldS + b] = q_a · k_ab for 4 rows q and 4 rows k (SharedRows: k_ab = kp[b], one row serving
//            all 4 q's; otherwise kp[4a + b]), reduced by a transposing reduction of the 16 accumulators
//            (store_4x4_sums: three shuffles per add instead of a horizontal sum each);
//   dot_rx4: S[r·4 + b] = x_r · w_b for R rows x and 4 shared rows w, each entry reduced on its own;
//   partial_dots: the shared-rows accumulation both use;
//   dot_4x4_bf16 (AVX512-BF16 only, SEEK_HAVE_BF16_DOT): dot_4x4 over shared rows with q and k both bf16;
//   round_to_bf16 (likewise): fp32 values to bf16 by the vector.
// Rows are fp32 floats; the shared rows may be bf16 (raw bits, widened exactly in registers: the result
// equals the widened fp32 row's). An entry gets the same bits from either kernel. AVX-512 (F, BW, VL) only;
// callers without it use plain loops.
#pragma once
#include <cstdint>

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define SEEK_HAVE_AVX512 1
#include <immintrin.h>

namespace seek {

// GCC 12 flags the deliberately undefined upper half inside the shuffles (a known false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
}

// 16 values as fp32, lanes outside m zero. bf16 is the upper half of an fp32, so widening is a shift: reading
// bf16 weights this way costs no scratch buffer and no extra pass over memory.
inline __m512 load16(const float* p, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, p);
}
inline __m512 load16(const uint16_t* p, __mmask16 m) {
  const __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}

// acc[r][b] = 16-lane partial sums of x_r · w_b over D values, for R input rows and 4 rows w that all of them
// share: one load of each operand row per 16 values. ahead (optional): 4 rows to pull into cache alongside, a
// line per row every pf_every steps of 16 values from step pf_phase (several passes over the same rows can
// share the prefetching). Every loop over acc is unrolled so that GCC keeps the accumulators in registers: a
// loop with a variable index into acc made it store all of them to the stack on every step (3× slower).
template <int R, typename KT>
inline void partial_dots(const float* const x[], const KT* const w[4], int64_t D, __m512 (&acc)[R][4],
                         const KT* const* ahead = nullptr, int64_t pf_every = 1, int64_t pf_phase = 0) {
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int b = 0; b < 4; ++b) acc[r][b] = _mm512_setzero_ps();
  int64_t until_pf = pf_phase;
  for (int64_t i = 0; i < D; i += 16) {
    if (ahead && until_pf-- == 0) {
      for (int b = 0; b < 4; ++b) __builtin_prefetch(ahead[b] + i);
      until_pf = pf_every - 1;
    }
    const __mmask16 m = tail_mask(D - i);
    __m512 wv[4];
#pragma GCC unroll 4
    for (int b = 0; b < 4; ++b) wv[b] = load16(w[b] + i, m);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x[r] + i);
#pragma GCC unroll 4
      for (int b = 0; b < 4; ++b) acc[r][b] = _mm512_fmadd_ps(xv, wv[b], acc[r][b]);
    }
  }
}

// S[a·ldS + b] = Σ lanes of acc[a][b]. Sums the 16 accumulators' lanes together: halves (16 -> 8 registers),
// then 128-bit quarters (-> 4), then within quarters (-> 1), three shuffles per add instead of a full
// reduction per accumulator. Lane 4q + k of the result is the sum of accumulator 4k + q, i.e. S[k][q].
// Always inlined: left to GCC's heuristics, moving this out of dot_4x4 changed how gemm_serial's callers were
// inlined, and small-model decode ran 6% slower.
[[gnu::always_inline]] inline void store_4x4_sums(const __m512 (&acc)[4][4], float* S, int64_t ldS) {
  __m512 t[8], u[4];
#pragma GCC unroll 8
  for (int p = 0; p < 8; ++p) {
    const __m512 x = acc[p / 2][2 * (p % 2)], y = acc[p / 2][2 * (p % 2) + 1];
    t[p] = _mm512_add_ps(_mm512_shuffle_f32x4(x, y, 0x44), _mm512_shuffle_f32x4(x, y, 0xee));
  }
#pragma GCC unroll 4
  for (int m = 0; m < 4; ++m)
    u[m] = _mm512_add_ps(_mm512_shuffle_f32x4(t[2 * m], t[2 * m + 1], 0x88),
                         _mm512_shuffle_f32x4(t[2 * m], t[2 * m + 1], 0xdd));
  const __m512 v0 = _mm512_add_ps(_mm512_unpacklo_ps(u[0], u[1]), _mm512_unpackhi_ps(u[0], u[1]));
  const __m512 v1 = _mm512_add_ps(_mm512_unpacklo_ps(u[2], u[3]), _mm512_unpackhi_ps(u[2], u[3]));
  const __m512 w =
      _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(v0), _mm512_castps_pd(v1))),
                    _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(v0), _mm512_castps_pd(v1))));
  alignas(64) float sums[16];
  _mm512_store_ps(sums, w);
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b) S[a * ldS + b] = sums[4 * b + a];
}

template <bool SharedRows, typename KT = float>
inline void dot_4x4(const float* const q[4], const KT* const* kp, int64_t D, float* S, int64_t ldS,
                    const KT* const* ahead = nullptr, int64_t pf_every = 1, int64_t pf_phase = 0) {
  __m512 acc[4][4];
  if constexpr (SharedRows) {
    partial_dots<4>(q, kp, D, acc, ahead, pf_every, pf_phase);
  } else {
#pragma GCC unroll 4
    for (int a = 0; a < 4; ++a)
#pragma GCC unroll 4
      for (int b = 0; b < 4; ++b) acc[a][b] = _mm512_setzero_ps();
    for (int64_t i = 0; i < D; i += 16) {
      const __mmask16 m = tail_mask(D - i);
#pragma GCC unroll 4
      for (int a = 0; a < 4; ++a) {
        const __m512 qv = _mm512_maskz_loadu_ps(m, q[a] + i);
#pragma GCC unroll 4
        for (int b = 0; b < 4; ++b) acc[a][b] = _mm512_fmadd_ps(qv, load16(kp[4 * a + b] + i, m), acc[a][b]);
      }
    }
  }
  store_4x4_sums(acc, S, ldS);
}

// S[r·4 + b] = x_r · w_b for R input rows and 4 shared rows, each entry reduced on its own.
// _mm512_reduce_add_ps sums the lanes in the same order as dot_4x4's transposing reduction, so an entry gets
// the same bits whichever of the two computes it.
template <int R, typename KT>
inline void dot_rx4(const float* const x[], const KT* const w[4], int64_t D, float* S,
                    const KT* const* ahead = nullptr, int64_t pf_every = 1, int64_t pf_phase = 0) {
  __m512 acc[R][4];
  partial_dots<R>(x, w, D, acc, ahead, pf_every, pf_phase);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int b = 0; b < 4; ++b) S[r * 4 + b] = _mm512_reduce_add_ps(acc[r][b]);
}

#if defined(__AVX512BF16__)
#define SEEK_HAVE_BF16_DOT 1
inline __mmask32 tail_mask32(int64_t left) {
  return left >= 32 ? __mmask32(0xffffffffu) : __mmask32((1u << left) - 1);
}

// 32 bf16 values (raw bits) as vdpbf16ps operands, lanes outside m zero.
inline __m512bh load32_bf16(const uint16_t* p, __mmask32 m) {
  return (__m512bh)_mm512_maskz_loadu_epi16(m, p);
}

// out[i] = x[i] rounded to bf16 (nearest even, as f32_to_bf16), 32 at a time.
inline void round_to_bf16(const float* x, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; i += 32) {
    const __m512 lo = _mm512_maskz_loadu_ps(tail_mask(n - i), x + i);
    const __m512 hi =
        i + 16 < n ? _mm512_maskz_loadu_ps(tail_mask(n - i - 16), x + i + 16) : _mm512_setzero_ps();
    _mm512_mask_storeu_epi16(out + i, tail_mask32(n - i), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
}

// dot_4x4 with both operands bf16 and shared rows k (S[a·ldS + b] = q_a · k_b): vdpbf16ps multiplies 32 bf16
// pairs per instruction into 16 fp32 sums, twice the values per instruction of the fp32 FMA (the products of
// two bf16 are exact in fp32; the sums are fp32).
inline void dot_4x4_bf16(const uint16_t* const q[4], const uint16_t* const k[4], int64_t D, float* S,
                         int64_t ldS) {
  __m512 acc[4][4];
#pragma GCC unroll 4
  for (int a = 0; a < 4; ++a)
#pragma GCC unroll 4
    for (int b = 0; b < 4; ++b) acc[a][b] = _mm512_setzero_ps();
  for (int64_t i = 0; i < D; i += 32) {
    const __mmask32 m = tail_mask32(D - i);
    __m512bh kv[4];
#pragma GCC unroll 4
    for (int b = 0; b < 4; ++b) kv[b] = load32_bf16(k[b] + i, m);
#pragma GCC unroll 4
    for (int a = 0; a < 4; ++a) {
      const __m512bh qv = load32_bf16(q[a] + i, m);
#pragma GCC unroll 4
      for (int b = 0; b < 4; ++b) acc[a][b] = _mm512_dpbf16_ps(acc[a][b], qv, kv[b]);
    }
  }
  store_4x4_sums(acc, S, ldS);
}
#endif
#pragma GCC diagnostic pop

}  // namespace seek
#endif
