// The one oneDNN CPU engine that every primitive of the process runs on (gemm.cpp, packed_weight.cpp), and
// a stream per thread. Internal to src/kernels.
// Matmuls may run on several threads at once (packed expert products side by side, infer/expert_batch.hpp):
// in oneDNN's default scratchpad mode the scratchpad is shared by all primitives and a primitive must run on
// the thread that created it, so every matmul here is created with a user scratchpad and run_matmul hands
// it one per thread.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>

namespace seek {

dnnl::engine& onednn_engine();
dnnl::stream& onednn_stream();  // the calling thread's

// A matmul from the one primitive cache of gemm.cpp, with the scratchpad its execution needs.
struct OneDnnMatmul {
  dnnl::matmul prim;
  dnnl::memory::desc weights;  // the layout of its weights (packed_matmul: the blocked one oneDNN prefers)
  dnnl::memory::desc scratchpad;
};
// Y[M, N] (fp32, leading dim ldy) = X[M, K] (bf16 or fp32, leading dim ldx) · W, W in `weights`' layout.
OneDnnMatmul packed_matmul(bool bf16, int64_t M, int64_t N, int64_t K, int64_t ldx, int64_t ldy);
// Runs m on the calling thread's stream with the calling thread's scratchpad and waits for it. Inside a
// parallel region oneDNN runs it on the calling thread alone.
void run_matmul(const OneDnnMatmul& m, const dnnl::memory& src, const dnnl::memory& weights,
                const dnnl::memory& dst);

}  // namespace seek
