// Causal multi-head self-attention, flash style: the [Tn, Tn] score matrix is never stored.
//   q, k:      [B, Tn, H, Dqk] contiguous
//   v:         [B, Tn, H, Dv]  contiguous (Dv may differ from Dqk: MLA uses Dqk = dn + dr, Dv = dv)
//   out, dout: [B, Tn, H, Dv]
//   lse:       [B, H, Tn]      log Σ_{j<=t} exp(score(t, j)), written by forward, read by backward
//   dq, dk, dv: same shapes as q, k, v, OVERWRITTEN (not accumulated)
// score(t, j) = scale · q_t·k_j for j <= t, P = softmax_j(score), out_t = Σ_j P(t, j) v_j.
// Forward keeps only the per-row log-sum-exp; backward recomputes P tile by tile from it and uses
// D_t = dout_t·out_t (= Σ_j P(t, j) dP(t, j)), so per-thread scratch is O(tile · (Dqk + Dv + tile)),
// independent of Tn. Parallel over (b, h, query tile) in forward and (b, h) in backward; every output element
// is summed in a fixed order by exactly one thread, so results are bit-identical run to run and independent
// of the thread count. Softmax math is in T (fp32 for float).
#pragma once
#include <cstddef>
#include <cstdint>

namespace seek {

template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* lse, int64_t B, int64_t Tn, int64_t H,
                       int64_t Dqk, int64_t Dv, T scale);

template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse, const T* dout, T* dq,
                        T* dk, T* dv, int64_t B, int64_t Tn, int64_t H, int64_t Dqk, int64_t Dv, T scale);

// Bytes of scratch one thread allocates for a forward or backward call with these head dimensions; it does
// not depend on B, H or Tn (reported by the benchmark to show memory stays flat as Tn grows).
template <typename T>
size_t attention_scratch_bytes_per_thread(int64_t Dqk, int64_t Dv, bool backward);

}  // namespace seek
