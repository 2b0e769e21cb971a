// SwiGLU, embedding, AdamW and clipping: the small kernels, checked against definitions and finite
// differences.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "kernels/embedding.hpp"
#include "kernels/optimizer.hpp"
#include "kernels/swiglu.hpp"
#include "support/gradcheck.hpp"

namespace seek {
namespace {

TEST(SwiGlu, BackwardMatchesFiniteDifferences) {
  const int64_t n = 50;
  auto g = test::random_vector(n, 1, 3.0), u = test::random_vector(n, 2), w = test::random_vector(n, 3);
  std::vector<double> h(n);
  auto loss = [&] {
    swiglu_forward<double>(g.data(), u.data(), h.data(), n);
    return test::dot(h.data(), w.data(), n);
  };
  loss();
  EXPECT_NEAR(h[0], g[0] / (1 + std::exp(-g[0])) * u[0], 1e-12);
  std::vector<double> dg(n), du(n);
  swiglu_backward<double>(g.data(), u.data(), w.data(), dg.data(), du.data(), n);
  // h = 1e-5: the vectorised exp (libmvec, a few ulp) makes smaller steps noisy.
  EXPECT_LT(test::check_gradient(g, dg, loss, 1e-5).max_rel_err, 1e-6);
  EXPECT_LT(test::check_gradient(u, du, loss, 1e-5).max_rel_err, 1e-6);
}

TEST(Embedding, GatherAndScatterAdd) {
  const int64_t V = 5, C = 3;
  std::vector<double> table(V * C);
  for (size_t i = 0; i < table.size(); ++i) table[i] = double(i);
  std::vector<int32_t> ids = {4, 0, 4};
  std::vector<double> out(3 * C);
  embedding_forward<double>(table.data(), ids.data(), out.data(), 3, V, C);
  EXPECT_EQ(out[0], 12);
  EXPECT_EQ(out[3], 0);
  EXPECT_EQ(out[8], 14);
  std::vector<double> dout = {1, 1, 1, 2, 2, 2, 3, 3, 3}, dtable(V * C, 0.0);
  embedding_backward<double>(ids.data(), dout.data(), dtable.data(), 3, V, C);
  EXPECT_EQ(dtable[4 * C], 4);  // 1 + 3: repeated id accumulates
  EXPECT_EQ(dtable[0], 2);
  EXPECT_EQ(dtable[C], 0);
}

TEST(Embedding, OutOfRangeIdIsAnErrorNamingIt) {
  std::vector<float> table(4 * 2), out(2);
  std::vector<int32_t> ids = {7};
  try {
    embedding_forward<float>(table.data(), ids.data(), out.data(), 1, 4, 2);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token id 7"), std::string::npos) << e.what();
  }
}

TEST(AdamW, MatchesHandComputedSteps) {
  AdamWParams hp;
  hp.lr = 0.1;
  hp.beta1 = 0.9;
  hp.beta2 = 0.99;
  hp.eps = 1e-8;
  std::vector<double> p = {1.0, -2.0}, m(2, 0.0), v(2, 0.0);
  std::vector<double> g = {0.5, -1.0};
  double pm[2] = {1.0, -2.0}, mm[2] = {0, 0}, vv[2] = {0, 0};
  for (int t = 1; t <= 3; ++t) {
    adamw_update<double>(p.data(), g.data(), m.data(), v.data(), 2, hp, 0.01, t);
    for (int i = 0; i < 2; ++i) {
      mm[i] = 0.9 * mm[i] + 0.1 * g[i];
      vv[i] = 0.99 * vv[i] + 0.01 * g[i] * g[i];
      double mh = mm[i] / (1 - std::pow(0.9, t)), vh = vv[i] / (1 - std::pow(0.99, t));
      pm[i] -= 0.1 * (mh / (std::sqrt(vh) + 1e-8) + 0.01 * pm[i]);
    }
  }
  EXPECT_NEAR(p[0], pm[0], 1e-14);
  EXPECT_NEAR(p[1], pm[1], 1e-14);
  // First step of Adam moves each coordinate by about lr against the sign of its gradient.
  std::vector<double> q = {0.0}, mq(1, 0.0), vq(1, 0.0), gq = {3.0};
  adamw_update<double>(q.data(), gq.data(), mq.data(), vq.data(), 1, hp, 0.0, 1);
  EXPECT_NEAR(q[0], -0.1, 1e-8);
}

TEST(Clip, GlobalNormIsDeterministicAndClips) {
  std::vector<float> g(100000);
  for (size_t i = 0; i < g.size(); ++i) g[i] = float((i % 7) - 3) * 0.01f;
  double n2 = l2_norm_squared(g.data(), int64_t(g.size()));
  double ref = 0;
  for (float x : g) ref += double(x) * x;
  EXPECT_NEAR(n2, ref, 1e-9 * ref);
  EXPECT_EQ(n2, l2_norm_squared(g.data(), int64_t(g.size())));
  double norm = std::sqrt(n2);
  EXPECT_NEAR(clip_scale(norm, 1.0), 1.0 / (norm + 1e-6), 1e-12);
  EXPECT_EQ(clip_scale(0.5, 1.0), 1.0);  // under the limit: untouched
  EXPECT_EQ(clip_scale(5.0, 0.0), 1.0);  // max_norm <= 0: no clipping
  // AdamW reads the gradient through the clip factor: same as clipping the gradient first.
  AdamWParams hp;
  std::vector<double> p1 = {1.0, 2.0}, p2 = p1, m1(2, 0.0), v1(2, 0.0), m2(2, 0.0), v2(2, 0.0);
  std::vector<double> g2 = {4.0, -3.0}, gc = {0.8, -0.6};
  adamw_update<double>(p1.data(), g2.data(), m1.data(), v1.data(), 2, hp, 0.1, 1, 0.2);
  adamw_update<double>(p2.data(), gc.data(), m2.data(), v2.data(), 2, hp, 0.1, 1, 1.0);
  EXPECT_NEAR(p1[0], p2[0], 1e-15);
  EXPECT_NEAR(v1[1], v2[1], 1e-15);
}

}  // namespace
}  // namespace seek
