// The one oneDNN CPU engine and stream that every primitive of the process runs on (gemm.cpp,
// packed_weight.cpp). Internal to src/kernels.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>

namespace seek {

dnnl::engine& onednn_engine();
dnnl::stream& onednn_stream();

// A matmul Y[M, N] (fp32, leading dim ldy) = X[M, K] (bf16 or fp32, leading dim ldx) · W, with W in the
// blocked layout oneDNN prefers (`weights`), from the one primitive cache of gemm.cpp.
struct OneDnnMatmul {
  dnnl::matmul prim;
  dnnl::memory::desc weights;
};
OneDnnMatmul packed_matmul(bool bf16, int64_t M, int64_t N, int64_t K, int64_t ldx, int64_t ldy);

}  // namespace seek
