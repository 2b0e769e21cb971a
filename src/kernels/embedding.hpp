// Token embedding lookup.
//   table: [V, C], ids: [N] (each in [0, V); checked), out: [N, C]
// Backward: dtable [V, C] += scatter of dout rows. Deterministic: each thread owns a slice of the C columns
// and walks the tokens in order, so no two threads touch one element and the summation order is fixed.
#pragma once
#include <cstdint>

namespace seek {

template <typename T>
void embedding_forward(const T* table, const int32_t* ids, T* out, int64_t N, int64_t V, int64_t C);

template <typename T>
void embedding_backward(const int32_t* ids, const T* dout, T* dtable, int64_t N, int64_t V, int64_t C);

}  // namespace seek
