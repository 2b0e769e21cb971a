// The expert MLPs of one MoE layer over a decode-sized batch, run side by side. Per expert j:
//   x_j: [rows_j, d] (leading dim d);  gate_j, up_j: [inter_j, d];  down_j: [d, inter_j]
//   y_j: [rows_j, d] (leading dim d) = (silu(x_j · gate_jᵀ) ⊙ (x_j · up_jᵀ)) · down_jᵀ, overwritten.
// Why: with one oneDNN GEMM per expert, a batch-64 decode step opens ~4 parallel regions per expert, each a
// few microseconds of work and a barrier. Here all experts' (expert, 64-column block) pieces are shared out
// in one parallel region with two phases (gate/up + SwiGLU, then down), each piece on one thread
// (gemm_nt_serial). Every output element is computed by exactly one piece in a fixed order, so results do not
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

// act: scratch for the SwiGLU activations of all tasks; rounded: for the tasks' inputs rounded to bf16 where
// their weights take bf16 inputs (infer/linear.hpp). Both grown as needed.
void run_expert_tasks(const std::vector<ExpertTask>& tasks, int64_t d, std::vector<float>& act,
                      std::vector<float>& rounded);

}  // namespace seek
