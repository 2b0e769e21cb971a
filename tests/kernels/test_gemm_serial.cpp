#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/dtype.hpp"
#include "core/rng.hpp"
#include "kernels/gemm_serial.hpp"

namespace seek {
namespace {

struct Problem {
  int64_t M, N, K, ldx, ldw, ldy;
  std::vector<float> X, W;
  Problem(int64_t m, int64_t n, int64_t k, uint64_t seed)
      : M(m), N(n), K(k), ldx(k + 3), ldw(k + 5), ldy(n + 2) {  // padded leading dims on purpose
    Rng rng(seed);
    X.resize(static_cast<size_t>(M * ldx));
    W.resize(static_cast<size_t>(N * ldw));
    for (auto& v : X) v = float(rng.normal());
    for (auto& v : W) v = float(rng.normal());
  }
  std::vector<float> run() const {
    std::vector<float> Y(static_cast<size_t>(M * ldy), -7.0f);
    gemm_nt_serial(X.data(), ldx, W.data(), ldw, Y.data(), ldy, M, N, K);
    return Y;
  }
};

class GemmSerialShapes : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(GemmSerialShapes, MatchesADoubleReferenceAndLeavesPaddingAlone) {
  auto [M, N, K] = GetParam();
  Problem p(M, N, K, uint64_t(M * 1009 + N * 31 + K));
  std::vector<float> Y = p.run();
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double ref = 0.0, mag = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const double t = double(p.X[size_t(m * p.ldx + k)]) * p.W[size_t(n * p.ldw + k)];
        ref += t;
        mag += std::fabs(t);
      }
      EXPECT_NEAR(Y[size_t(m * p.ldy + n)], ref, 1e-6 * mag + 1e-30) << "m " << m << " n " << n;
    }
    for (int64_t n = N; n < p.ldy; ++n) EXPECT_EQ(Y[size_t(m * p.ldy + n)], -7.0f) << "padding written";
  }
}

// M and N around the 4 × 4 blocks, K around the 16-lane vectors.
INSTANTIATE_TEST_SUITE_P(Shapes, GemmSerialShapes,
                         ::testing::Combine(::testing::Values(1, 3, 4, 5, 9, 16),
                                            ::testing::Values(1, 4, 6, 13),
                                            ::testing::Values(1, 15, 16, 17, 100, 256)));

// A decode row must not change with the company it keeps: whether it lands in a 4-row block or in the 1-row
// remainder, and whatever the other rows hold, it gets the same bits. (That is what makes a sequence decoded
// in a batch equal the same sequence decoded alone.)
TEST(GemmSerial, ARowsResultDoesNotDependOnTheOtherRows) {
  for (int64_t K : {7, 64, 200, 1408}) {
    Problem batch(11, 10, K, uint64_t(K));
    const std::vector<float> Yb = batch.run();
    for (int64_t m = 0; m < batch.M; ++m) {
      Problem alone(1, 10, K, 0);
      alone.W = batch.W;
      std::memcpy(alone.X.data(), batch.X.data() + m * batch.ldx, sizeof(float) * size_t(K));
      const std::vector<float> Ya = alone.run();
      for (int64_t n = 0; n < 10; ++n)
        EXPECT_EQ(Ya[size_t(n)], Yb[size_t(m * batch.ldy + n)]) << "K " << K << " row " << m << " col " << n;
    }
  }
}

TEST(GemmSerial, Bf16WeightsEqualTheWidenedFp32WeightsBitForBit) {
  Problem p(6, 9, 100, 5);
  std::vector<uint16_t> Wb(p.W.size());
  for (size_t i = 0; i < Wb.size(); ++i) {
    Wb[i] = f32_to_bf16(p.W[i]);
    p.W[i] = bf16_to_f32(Wb[i]);
  }
  const std::vector<float> Yf = p.run();
  std::vector<float> Yb(Yf.size(), -7.0f);
  gemm_nt_serial_bf16(p.X.data(), p.ldx, Wb.data(), p.ldw, Yb.data(), p.ldy, p.M, p.N, p.K);
  for (size_t i = 0; i < Yf.size(); ++i) EXPECT_EQ(Yb[i], Yf[i]) << i;
}

}  // namespace
}  // namespace seek
