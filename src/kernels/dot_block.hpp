// A 4 × 4 block of dot products, the register-blocked core of small GEMMs written as dots (X · Wᵀ with both
// operands' rows contiguous) and of attention scores:
//   q:  4 pointers to rows of D floats;  kp: 4 rows (SharedRows: row b serves all 4 q's) or 16 (row 4a + b),
//       fp32 or bf16 (raw bits, widened exactly in registers: the result equals the widened fp32 row's)
//   S:  S[a·ldS + b] = q_a · k_ab, all 16 entries written
//   ahead (optional): 4 rows to pull into cache alongside, a line per row every pf_every steps of 16 values,
//       starting at step pf_phase (so that several passes over the same rows can share the prefetching)
// AVX-512 (F, BW, VL) only: 16 accumulators, one load of each operand row per 16 values, and a transposing
// reduction of the 16 accumulators instead of 16 horizontal sums. Callers without it use plain loops.
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

template <bool SharedRows, typename KT = float>
inline void dot_4x4(const float* const q[4], const KT* const* kp, int64_t D, float* S, int64_t ldS,
                    const KT* const* ahead = nullptr, int64_t pf_every = 1, int64_t pf_phase = 0) {
  // Every loop over acc is unrolled so that GCC keeps the 16 accumulators in registers: a loop with a
  // variable index into acc (the reduction below) made it store all 16 to the stack on every iteration (3×
  // slower).
  __m512 acc[4][4];
#pragma GCC unroll 4
  for (int a = 0; a < 4; ++a)
#pragma GCC unroll 4
    for (int b = 0; b < 4; ++b) acc[a][b] = _mm512_setzero_ps();
  int64_t until_pf = pf_phase;
  for (int64_t i = 0; i < D; i += 16) {
    if (ahead && until_pf-- == 0) {
      for (int b = 0; b < 4; ++b) __builtin_prefetch(ahead[b] + i);
      until_pf = pf_every - 1;
    }
    const __mmask16 m = tail_mask(D - i);
    __m512 qv[4];
#pragma GCC unroll 4
    for (int a = 0; a < 4; ++a) qv[a] = _mm512_maskz_loadu_ps(m, q[a] + i);
#pragma GCC unroll 4
    for (int b = 0; b < 4; ++b) {
      if constexpr (SharedRows) {
        const __m512 kv = load16(kp[b] + i, m);
#pragma GCC unroll 4
        for (int a = 0; a < 4; ++a) acc[a][b] = _mm512_fmadd_ps(qv[a], kv, acc[a][b]);
      } else {
#pragma GCC unroll 4
        for (int a = 0; a < 4; ++a)
          acc[a][b] = _mm512_fmadd_ps(qv[a], load16(kp[4 * a + b] + i, m), acc[a][b]);
      }
    }
  }
  // Sum the 16 accumulators' lanes together: halves (16 -> 8 registers), then 128-bit quarters (-> 4), then
  // within quarters (-> 1), three shuffles per add instead of a full reduction per accumulator. Lane 4q + k
  // of the result is the sum of accumulator 4k + q, i.e. S[k][q].
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
#pragma GCC diagnostic pop

}  // namespace seek
#endif
