// SwiGLU activation: h = silu(g) ⊙ u with silu(g) = g·σ(g).
//   g, u, h: [N, C] contiguous (g and u are the gate_proj and up_proj outputs)
// Backward: dg, du [N, C] written from dh.
#pragma once
#include <cstdint>

#include "kernels/vecmath.hpp"

namespace seek {

// One element, for callers that fuse it into their own loops (the same expression swiglu_forward uses).
template <typename T>
inline T swiglu(T g, T u) {
  const T s = T(1) / (T(1) + exp_t(-g));  // exp_t: vectorisable for float
  return g * s * u;
}

template <typename T>
void swiglu_forward(const T* g, const T* u, T* h, int64_t n);

template <typename T>
void swiglu_backward(const T* g, const T* u, const T* dh, T* dg, T* du, int64_t n);

}  // namespace seek
