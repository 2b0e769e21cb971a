// Policy log-probabilities and entropies at a temperature: values against a naive softmax, gradients of
// Σ a·logp + b·entropy against finite differences (double), ignored positions contribute nothing.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "kernels/policy_logprob.hpp"
#include "support/gradcheck.hpp"

namespace seek {
namespace {

TEST(PolicyLogprob, ValuesMatchNaiveSoftmax) {
  const int64_t N = 5, d = 4, V = 7;
  const double tau = 0.7;
  auto x = test::random_vector(N * d, 1), W = test::random_vector(V * d, 2);
  std::vector<int32_t> tgt = {3, -1, 0, 6, 2};
  std::vector<double> lp(N), H(N);
  policy_logprob_forward<double>(x.data(), W.data(), tgt.data(), N, d, V, tau, lp.data(), H.data());
  for (int64_t i = 0; i < N; ++i) {
    std::vector<double> z(V);
    double mx = -1e300, s = 0;
    for (int64_t j = 0; j < V; ++j) {
      z[j] = test::dot(x.data() + i * d, W.data() + j * d, d) / tau;
      mx = std::max(mx, z[j]);
    }
    for (double v : z) s += std::exp(v - mx);
    double lse = mx + std::log(s), ent = 0;
    for (double v : z) ent -= std::exp(v - lse) * (v - lse);
    if (tgt[i] < 0) {
      EXPECT_EQ(lp[i], 0.0);
      EXPECT_EQ(H[i], 0.0);
    } else {
      EXPECT_NEAR(lp[i], z[tgt[i]] - lse, 1e-12);
      EXPECT_NEAR(H[i], ent, 1e-12);
    }
  }
}

TEST(PolicyLogprob, GradientMatchesFiniteDifferences) {
  const int64_t N = 6, d = 5, V = 9;
  const double tau = 1.3;
  auto x = test::random_vector(N * d, 3), W = test::random_vector(V * d, 4);
  auto a = test::random_vector(N, 5), b = test::random_vector(N, 6);
  std::vector<int32_t> tgt = {1, 8, -1, 0, 4, 4};
  std::vector<double> lp(N), H(N);
  auto loss = [&] {
    policy_logprob_forward<double>(x.data(), W.data(), tgt.data(), N, d, V, tau, lp.data(), H.data());
    return test::dot(a.data(), lp.data(), N) + test::dot(b.data(), H.data(), N);
  };
  std::vector<double> dx(N * d), dW(V * d, 0.0);
  policy_logprob_backward<double>(x.data(), W.data(), tgt.data(), N, d, V, tau, a.data(), b.data(), dx.data(),
                                  dW.data());
  EXPECT_LT(test::check_gradient(x, dx, loss, 1e-6).max_rel_err, 1e-6);
  EXPECT_LT(test::check_gradient(W, dW, loss, 1e-6).max_rel_err, 1e-6);
  for (int64_t c = 0; c < d; ++c) EXPECT_EQ(dx[2 * d + c], 0.0);  // ignored position
}

TEST(PolicyLogprob, BadTemperatureOrTargetIsAnError) {
  std::vector<float> x(4), W(8), lp(1);
  std::vector<int32_t> t = {5};
  EXPECT_THROW(policy_logprob_forward<float>(x.data(), W.data(), t.data(), 1, 4, 2, 1.0, lp.data(), nullptr),
               Error);
  t[0] = 1;
  EXPECT_THROW(policy_logprob_forward<float>(x.data(), W.data(), t.data(), 1, 4, 2, 0.0, lp.data(), nullptr),
               Error);
}

}  // namespace
}  // namespace seek
