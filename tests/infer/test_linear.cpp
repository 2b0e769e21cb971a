// The engine's linear layer on both sides of its streaming threshold (16 rows), for fp32 and bf16 weights:
// up to 16 rows the inputs stay fp32 (bf16 weights widened exactly); above it, with bf16 weights, the inputs
// are rounded to bf16 too and the products accumulate in fp32 (where oneDNN has a bf16 matmul).
#include <gtest/gtest.h>

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
        const bool rounded = bf16 && M > 16 && have_bf16_gemm() && !widen;
        std::vector<double> want, mag;
        c.reference(rounded, want, mag);
        for (size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(y[i], want[i], 1.2e-7 * double(c.K) * mag[i])
              << "M " << M << " bf16 " << bf16 << " widen " << widen << " @" << i;
      }
}

// The rounding is real: above the threshold, bf16 weights give a different (bf16-input) result than fp32
// weights holding the same values; up to it, the two agree bit for bit.
TEST(InferLinear, Bf16WeightsRoundTheInputsOnlyAboveTheThreshold) {
  if (!have_bf16_gemm()) GTEST_SKIP() << "oneDNN has no bf16 matmul on this CPU";
  for (int64_t M : {16, 17}) {
    Case c(M, 32, 256);
    std::vector<float> yf(size_t(M * c.N)), yb(yf.size());
    infer_linear(c.x.data(), c.K, c.view(false), yf.data(), M);
    infer_linear(c.x.data(), c.K, c.view(true), yb.data(), M);
    if (M <= 16)
      EXPECT_EQ(yf, yb);
    else
      EXPECT_NE(yf, yb);
  }
}

}  // namespace
}  // namespace seek
