// The engine's linear layer on both sides of its streaming threshold (16 rows), for fp32 and bf16 weights:
// where oneDNN has a bf16 matmul, products over bf16 weights take inputs rounded to bf16 on both sides (fp32
// accumulation); without one, bf16 weights are widened exactly and the inputs stay fp32.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dtype.hpp"
#include "core/rng.hpp"
#include "infer/linear.hpp"
#include "infer_test_util.hpp"
#include "kernels/gemm.hpp"

namespace seek {
namespace {

struct Case {
  int64_t M, N, K;
  Rng rng;
  std::vector<float> x;
  test::WeightPair w;
  Case(int64_t m, int64_t n, int64_t k)
      : M(m), N(n), K(k), rng(uint64_t(m * 1000 + n * 10 + k)), x(size_t(m * k)), w(n, k, rng) {
    for (auto& v : x) v = float(rng.normal());
  }
  WeightView view(bool bf16) const { return w.view(bf16); }
  // Y[m, n] in double, from the inputs as given or rounded to bf16; mag: Σ|products| for the error bound.
  void reference(bool round_x, std::vector<double>& y, std::vector<double>& mag) const {
    y.assign(size_t(M * N), 0.0);
    mag.assign(y.size(), 0.0);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
          const float xv = round_x ? bf16_to_f32(f32_to_bf16(x[size_t(m * K + k)])) : x[size_t(m * K + k)];
          const double p = double(xv) * w.f[size_t(n * K + k)];
          y[size_t(m * N + n)] += p;
          mag[size_t(m * N + n)] += std::abs(p);
        }
  }
};

TEST(InferLinear, MatchesDoubleReferenceOnBothSidesOfTheThreshold) {
  for (bool widen : {false, true})
    for (int64_t M : {1, 3, 16, 17, 64, 300})
      for (bool bf16 : {false, true}) {
        Case c(M, 261, 300);  // 261 weight rows: more than one block of the widening path
        std::vector<float> y(size_t(M * c.N));
        infer_linear_use_widening_for_tests(widen);  // the path of CPUs without a bf16 matmul
        infer_linear(c.x.data(), c.K, c.view(bf16), y.data(), M);
        infer_linear_use_widening_for_tests(false);
        const bool rounded = bf16 && have_bf16_gemm() && !widen;
        std::vector<double> want, mag;
        c.reference(rounded, want, mag);
        for (size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(y[i], want[i], 1.2e-7 * double(c.K) * mag[i])
              << "M " << M << " bf16 " << bf16 << " widen " << widen << " @" << i;
      }
}

// The rounding is real on both sides (bf16 weights give another result than fp32 weights holding the same
// values), and a row's result does not depend on the rows beside it: alone (streamed) and in a batch of 17
// (oneDNN) it differs only by the order of the fp32 sums, far less than rounding the inputs moves it.
TEST(InferLinear, Bf16WeightsRoundTheInputsOnBothSidesOfTheThreshold) {
  if (!have_bf16_gemm()) GTEST_SKIP() << "oneDNN has no bf16 matmul on this CPU";
  Case c(17, 32, 256);
  std::vector<float> alone(size_t(c.N)), alone_f32(alone.size()), batch(size_t(c.M * c.N));
  infer_linear(c.x.data(), c.K, c.view(true), alone.data(), 1);
  infer_linear(c.x.data(), c.K, c.view(false), alone_f32.data(), 1);
  infer_linear(c.x.data(), c.K, c.view(true), batch.data(), c.M);
  double order = 0, rounding = 0;
  for (int64_t n = 0; n < c.N; ++n) {
    order = std::max(order, double(std::fabs(alone[size_t(n)] - batch[size_t(n)])));
    rounding = std::max(rounding, double(std::fabs(alone[size_t(n)] - alone_f32[size_t(n)])));
  }
  EXPECT_GT(rounding, 0.0);
  EXPECT_LT(order, rounding / 20) << "sum order " << order << " against input rounding " << rounding;
}

}  // namespace
}  // namespace seek
