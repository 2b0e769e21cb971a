#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "core/dtype.hpp"
#include "core/rng.hpp"
#include "infer/expert_batch.hpp"
#include "infer/linear.hpp"
#include "infer_test_util.hpp"
#include "kernels/gemm.hpp"
#include "kernels/packed_weight.hpp"

namespace seek {
namespace {

struct Expert {
  test::WeightPair gate, up, down;
  std::vector<float> x;
  int64_t rows;
  Expert(int64_t d, int64_t inter, int64_t n, Rng& rng)
      : gate(inter, d, rng, 0.2),
        up(inter, d, rng, 0.2),
        down(d, inter, rng, 0.2),
        x(size_t(n * d)),
        rows(n) {
    for (auto& v : x) v = float(rng.normal());
  }
  // (silu(x·gateᵀ) ⊙ (x·upᵀ)) · downᵀ in double; round: with x and the activations rounded to bf16 first
  // (what products over bf16 weights take where they run natively, infer/linear.hpp). slack: per output, what
  // one activation landing on the other side of a bf16 rounding boundary (fp32 vs double sums) can move it.
  std::vector<double> reference(int64_t d, bool round, std::vector<double>* slack) const {
    const int64_t I = gate.rows;
    auto in = [round](double v) { return round ? double(bf16_to_f32(f32_to_bf16(float(v)))) : v; };
    std::vector<double> y(static_cast<size_t>(rows * d), 0.0), h(static_cast<size_t>(I));
    slack->assign(y.size(), 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < I; ++i) {
        double g = 0, u = 0;
        for (int64_t k = 0; k < d; ++k) {
          g += in(x[size_t(r * d + k)]) * gate.f[size_t(i * d + k)];
          u += in(x[size_t(r * d + k)]) * up.f[size_t(i * d + k)];
        }
        h[size_t(i)] = in(g / (1.0 + std::exp(-g)) * u);
      }
      for (int64_t c = 0; c < d; ++c)
        for (int64_t i = 0; i < I; ++i) {
          const double term = h[size_t(i)] * down.f[size_t(c * I + i)];
          y[size_t(r * d + c)] += term;
          if (round)
            (*slack)[size_t(r * d + c)] =
                std::max((*slack)[size_t(r * d + c)], std::ldexp(std::fabs(term), -7));
        }
    }
    return y;
  }
};

// Routed experts with 0 to 9 rows (0: skipped) and a shared expert of a different width; d and the widths are
// not multiples of the 64-column pieces or of the 4-row blocks.
// Over bf16 weights multiplied natively, inputs and activations are rounded to bf16 as every other product
// over those weights does; otherwise (fp32 weights, or bf16 widened) the same matrices give the same bits in
// either storage type.
TEST(ExpertBatch, MatchesADoubleReferenceForFp32AndBf16WeightsAndAnyThreadCount) {
  const int64_t d = 70;
  Rng rng(3);
  std::vector<Expert> experts;
  for (int64_t n : {3, 0, 9, 1, 4}) experts.emplace_back(d, 36, n, rng);
  experts.emplace_back(d, 130, 12, rng);  // the shared expert: every token, wider
  const int saved = omp_get_max_threads();
  std::vector<std::vector<float>> first;
  for (bool bf16 : {false, true}) {
    const bool round = infer_linear_rounds_inputs(experts[0].gate.view(bf16));
    EXPECT_EQ(round, bf16 && have_bf16_gemm());
    if (round) first.clear();
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      std::vector<std::vector<float>> ys;
      std::vector<ExpertTask> tasks;
      for (const Expert& e : experts) ys.emplace_back(size_t(e.rows * d), -7.0f);
      for (size_t j = 0; j < experts.size(); ++j) {
        const Expert& e = experts[j];
        tasks.push_back(
            {e.gate.view(bf16), e.up.view(bf16), e.down.view(bf16), e.x.data(), ys[j].data(), e.rows});
      }
      ExpertScratch scratch;
      run_expert_tasks(tasks, d, scratch);
      for (size_t j = 0; j < experts.size(); ++j) {
        std::vector<double> slack;
        const std::vector<double> ref = experts[j].reference(d, round, &slack);
        for (size_t i = 0; i < ref.size(); ++i)
          ASSERT_NEAR(ys[j][i], ref[i], 1e-4 * (1.0 + std::fabs(ref[i])) + slack[i])
              << "expert " << j << " value " << i;
      }
      // Any thread count gives the same bits (and either storage type, unless the inputs are rounded).
      if (first.empty())
        first = ys;
      else
        for (size_t j = 0; j < ys.size(); ++j) EXPECT_EQ(ys[j], first[j]) << "expert " << j;
    }
  }
  omp_set_num_threads(saved);
}

// Packed experts (large models) run each expert whole on one thread through oneDNN, several at once: the
// same double reference, the same bits at any thread count, and the same bits as each expert's products run
// one after another on all threads (run_expert_tasks_in_turn: prefill's path, and small batches'), since a
// packed product sums each row in an order fixed by its shape whatever the rows and threads
// (kernels/packed_weight.hpp).
TEST(ExpertBatch, PackedExpertsRunSideBySideWithTheBitsOfOneAfterAnother) {
  const int64_t d = 70;
  Rng rng(4);
  std::vector<Expert> experts;
  for (int64_t n : {3, 0, 9, 1, 4, 7, 2}) experts.emplace_back(d, 36, n, rng);
  experts.emplace_back(d, 130, 12, rng);
  const int saved = omp_get_max_threads();
  for (bool bf16 : {false, true}) {
    if (bf16 && !have_bf16_gemm()) continue;  // bf16 weights are packed only where oneDNN multiplies them
    std::vector<std::unique_ptr<PackedWeight>> packs;
    auto pack = [&](const test::WeightPair& w) {
      packs.push_back(bf16 ? std::make_unique<PackedWeight>(w.b.data(), w.rows, w.cols)
                           : std::make_unique<PackedWeight>(w.f.data(), w.rows, w.cols));
      WeightView v;
      v.rows = w.rows;
      v.cols = w.cols;
      v.packed = packs.back().get();
      return v;
    };
    std::vector<ExpertTask> tasks;
    std::vector<std::vector<float>> ys;
    for (const Expert& e : experts) ys.emplace_back(size_t(e.rows * d), -7.0f);
    for (size_t j = 0; j < experts.size(); ++j) {
      const Expert& e = experts[j];
      tasks.push_back({pack(e.gate), pack(e.up), pack(e.down), e.x.data(), ys[j].data(), e.rows});
    }
    // One after another, every product on all threads.
    std::vector<std::vector<float>> serial;
    for (const ExpertTask& t : tasks) serial.emplace_back(size_t(t.rows * d), -7.0f);
    std::vector<ExpertTask> in_turn = tasks;
    for (size_t j = 0; j < tasks.size(); ++j) in_turn[j].y = serial[j].data();
    ExpertScratch scratch;
    run_expert_tasks_in_turn(in_turn, d, scratch);
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      for (auto& y : ys) std::fill(y.begin(), y.end(), -7.0f);
      ExpertScratch side_by_side;
      run_expert_tasks(tasks, d, side_by_side);
      for (size_t j = 0; j < experts.size(); ++j) {
        std::vector<double> slack;
        const std::vector<double> ref = experts[j].reference(d, bf16, &slack);
        for (size_t i = 0; i < ref.size(); ++i)
          ASSERT_NEAR(ys[j][i], ref[i], 1e-4 * (1.0 + std::fabs(ref[i])) + slack[i])
              << "expert " << j << " value " << i << (bf16 ? " (bf16)" : " (fp32)");
        EXPECT_EQ(ys[j], serial[j]) << "expert " << j << ", " << threads << " threads"
                                    << (bf16 ? " (bf16)" : " (fp32)");
      }
    }
  }
  omp_set_num_threads(saved);
}

}  // namespace
}  // namespace seek
