// Analytic FLOP counts of the model, for benchmarks ("achieved GFLOP/s" and the share of the GEMM peak).
// Counts multiply-adds as 2 FLOPs. Routed experts count K per token (what the GEMMs actually do).
#pragma once
#include <cstdint>

#include "model/config.hpp"

namespace seek {

struct FlopCount {
  double matmul = 0;     // every linear layer, router and output head
  double attention = 0;  // QKᵀ and PV, causal (half of the T×T square)
  double total() const { return matmul + attention; }
};

// Forward pass of B sequences of T tokens, main model plus MTP modules.
FlopCount forward_flops(const ModelConfig& c, int64_t B, int64_t T);

// Forward + backward: matmuls cost 3× forward (dX and dW each equal the forward), attention 3.5× forward
// (backward recomputes the scores: QKᵀ again, plus dP, dQ, dK, dV).
FlopCount training_step_flops(const ModelConfig& c, int64_t B, int64_t T);

}  // namespace seek
