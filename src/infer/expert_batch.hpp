// The expert MLPs of one MoE layer over a decode-sized batch, run side by side. Per expert j:
//   x_j: [rows_j, d] (leading dim d);  gate_j, up_j: [inter_j, d];  down_j: [d, inter_j]
//   y_j: [rows_j, d] (leading dim d) = (silu(x_j · gate_jᵀ) ⊙ (x_j · up_jᵀ)) · down_jᵀ, overwritten.
// Why: with one multi-threaded GEMM per expert, a batch-64 decode step opens ~4 parallel regions per expert,
// each a few microseconds of work and a barrier, and every thread reads a slice of the same weight.
// Row-major weights: all experts' (expert, 64-column block) pieces are shared out in one parallel region
// with two phases (gate/up + SwiGLU, then down), each piece on one thread (gemm_nt_serial).
// Packed weights (all of a layer's experts or none, infer/model.cpp): oneDNN's blocked layout is not split
// here, so each expert runs whole on one thread (oneDNN runs a product on the calling thread alone inside a
// parallel region), largest first, each thread streaming its own experts' weights.
// Every output element is computed by exactly one thread in an order fixed by the shapes, so results do not
// depend on the thread count or on which thread ran a piece.
#pragma once
#include <cstdint>
#include <vector>

#include "infer/model.hpp"

namespace seek {

struct ExpertTask {
  WeightView gate, up, down;
  const float* x = nullptr;
  float* y = nullptr;
  int64_t rows = 0;
};

// Buffers the runs below grow as needed and keep for the next call.
struct ExpertScratch {
  std::vector<float> act;      // SwiGLU activations
  std::vector<float> rounded;  // inputs rounded to bf16 where the weights take bf16 inputs (infer/linear.hpp)
  std::vector<float> gate, up;
};

// Up to this many tokens (decode batches) the experts run side by side; beyond it (prefill) each expert has
// enough rows for oneDNN's blocked GEMMs on all threads, and they run in turn.
inline constexpr int64_t kExpertsSideBySide = 64;
// Packed experts run side by side only above this many tokens: bench_infer's experts/v2lite-bf16 at batch
// 64 took 31.5 ms against 36.9 ms in turn (fp32: 61.1 against 67.2; medians of 5 interleaved rounds of
// bench/infer/ab.sh), while at batch 1 the two were level (2.14 against 2.09 ms, 3 rounds).
inline constexpr int64_t kPackedExpertsInTurn = 16;

// The tasks of one MoE layer over `tokens` tokens, side by side or in turn as the constants above say.
void run_experts(const std::vector<ExpertTask>& tasks, int64_t d, int64_t tokens, ExpertScratch& scratch);

// Side by side, as the header comment says.
void run_expert_tasks(const std::vector<ExpertTask>& tasks, int64_t d, ExpertScratch& scratch);

// One task after another, each product on all threads (also the dense layers' MLP, as one task).
void run_expert_tasks_in_turn(const std::vector<ExpertTask>& tasks, int64_t d, ExpertScratch& scratch);

}  // namespace seek
