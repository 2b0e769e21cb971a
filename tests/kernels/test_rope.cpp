#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "kernels/rope.hpp"
#include "support/gradcheck.hpp"

namespace seek {
namespace {

RopeParams v3_rope() {
  RopeParams p;
  p.dim = 64;
  p.theta = 10000;
  p.yarn = true;
  p.factor = 40;
  p.original_max_pos = 4096;
  p.beta_fast = 32;
  p.beta_slow = 1;
  p.mscale = 1.0;
  p.mscale_all_dim = 1.0;
  return p;
}

TEST(Rope, YarnFrequenciesFollowTheRamp) {
  // Spec §3.4: for dr = 64, θ = 1e4, s = 40, L0 = 4096: pairs i <= 10 keep θ^(-2i/64), i >= 23 are divided by
  // 40, and pairs in between blend linearly with ramp (i - 10) / 13.
  auto inv = rope_inv_freq(v3_rope());
  ASSERT_EQ(inv.size(), 32u);
  for (int i = 0; i < 32; ++i) {
    double base = std::pow(10000.0, -2.0 * i / 64);
    double ramp = std::clamp((i - 10) / 13.0, 0.0, 1.0);
    EXPECT_NEAR(inv[i], base / 40 * ramp + base * (1 - ramp), 1e-15) << i;
  }
  EXPECT_DOUBLE_EQ(inv[10], std::pow(10000.0, -20.0 / 64));
  EXPECT_DOUBLE_EQ(inv[23], std::pow(10000.0, -46.0 / 64) / 40);
}

TEST(Rope, SoftmaxScaleConstantsFromSpec) {
  // m = 0.1·mscale_all_dim·ln(40) + 1; scale = 192^-0.5 · m² (spec §3.5).
  double m3 = yarn_get_mscale(40, 1.0), m2 = yarn_get_mscale(40, 0.707);
  EXPECT_NEAR(m3, 1.368888, 1e-6);
  EXPECT_NEAR(m2, 1.260804, 1e-6);
  EXPECT_NEAR(m3 * m3 / std::sqrt(192.0), 0.1352338, 1e-7);
  EXPECT_NEAR(m2 * m2 / std::sqrt(192.0), 0.1147214, 1e-7);
  EXPECT_DOUBLE_EQ(rope_magnitude(v3_rope()), 1.0);
}

TEST(Rope, RotatesAdjacentPairsOnTheRawLayout) {
  RopeParams p;
  p.dim = 4;
  RopeTable<double> t(p, 8);
  // one row, 2 heads of [2 nope | 4 rope] channels, position 3
  std::vector<double> x = {9, 9, 1, 2, 3, 4, 9, 9, 5, 6, 7, 8};
  std::vector<int32_t> pos = {3};
  rope_forward(t, x.data(), 1, 12, 2, 2, 6, 1, pos.data());
  auto inv = rope_inv_freq(p);
  auto rot = [&](double a, double b, int i, double* ra, double* rb) {
    double phi = 3 * inv[i];
    *ra = a * std::cos(phi) - b * std::sin(phi);
    *rb = a * std::sin(phi) + b * std::cos(phi);
  };
  double e[8];
  rot(1, 2, 0, &e[0], &e[1]);
  rot(3, 4, 1, &e[2], &e[3]);
  rot(5, 6, 0, &e[4], &e[5]);
  rot(7, 8, 1, &e[6], &e[7]);
  EXPECT_EQ(x[0], 9);
  EXPECT_EQ(x[1], 9);
  EXPECT_EQ(x[6], 9);
  EXPECT_NEAR(x[2], e[0], 1e-12);
  EXPECT_NEAR(x[3], e[1], 1e-12);
  EXPECT_NEAR(x[4], e[2], 1e-12);
  EXPECT_NEAR(x[5], e[3], 1e-12);
  EXPECT_NEAR(x[8], e[4], 1e-12);
  EXPECT_NEAR(x[11], e[7], 1e-12);
}

TEST(Rope, BackwardIsTheTransposeOfForward) {
  RopeParams p = v3_rope();
  p.dim = 8;
  p.factor = 4;
  p.original_max_pos = 16;
  p.mscale = 0.9;  // a magnitude != 1 must also be handled by backward
  p.mscale_all_dim = 0.5;
  RopeTable<double> t(p, 64);
  const int64_t N = 6, ld = 20, seq = 3;
  auto x = test::random_vector(N * ld, 1);
  auto gy = test::random_vector(N * ld, 2);
  auto loss = [&] {
    auto y = x;
    rope_forward(t, y.data(), N, ld, 2, 2, 9, seq);
    return test::dot(y.data(), gy.data(), y.size());
  };
  auto dx = gy;
  rope_backward(t, dx.data(), N, ld, 2, 2, 9, seq);
  auto r = test::check_gradient(x, dx, loss);
  EXPECT_LT(r.max_rel_err, 1e-7);
}

TEST(Rope, PositionOutsideTableIsAnError) {
  RopeParams p;
  p.dim = 4;
  RopeTable<float> t(p, 4);
  std::vector<float> x(4);
  std::vector<int32_t> pos = {4};
  EXPECT_THROW(rope_forward(t, x.data(), 1, 4, 0, 1, 4, 1, pos.data()), Error);
}

// A table that starts small and is extended holds the same bits as one built at full size: the runner and the
// model grow theirs with the positions run (a config may claim a context of 2^31).
TEST(Rope, AnExtendedTableEqualsOneBuiltWhole) {
  const RopeParams p = v3_rope();
  const RopeTable<float> whole(p, 5000);
  RopeTable<float> grown(p, 10);
  grown.extend(7);  // fewer: no change
  EXPECT_EQ(grown.max_pos, 10);
  grown.extend(1000);
  grown.extend(5000);
  ASSERT_EQ(grown.max_pos, 5000);
  EXPECT_EQ(grown.cos, whole.cos);
  EXPECT_EQ(grown.sin, whole.sin);
}

}  // namespace
}  // namespace seek
