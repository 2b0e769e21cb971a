// Policy log-probabilities and entropies at a temperature: values against a naive softmax, gradients of
// Σ a·logp + b·entropy against finite differences (double), ignored positions contribute nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.hpp"
#include "kernels/cross_entropy.hpp"
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

// A vocabulary large enough that the logits come in several chunks of rows (cross_entropy.hpp): each row's
// values and input gradient, and the head's gradient summed over all rows, are those of the rows one by one.
template <typename T>
void check_chunks_against_rows(int64_t N, double tolerance) {
  const int64_t d = 4, V = 4100;
  ASSERT_GT(N, 2 * logits_chunk_rows(V, sizeof(T))) << "the batch must span three chunks";
  const double tau = 0.9;
  auto to_t = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
  const auto x = to_t(test::random_vector(N * d, 7)), W = to_t(test::random_vector(V * d, 8));
  const auto a = to_t(test::random_vector(N, 9)), b = to_t(test::random_vector(N, 10));
  auto tgt = std::vector<int32_t>(size_t(N));
  for (int64_t i = 0; i < N; ++i) tgt[size_t(i)] = i % 11 == 5 ? -1 : int32_t((i * 977) % V);
  std::vector<T> lp(N), H(N), dx(N * d), dW(V * d, T(0));
  policy_logprob_forward<T>(x.data(), W.data(), tgt.data(), N, d, V, tau, lp.data(), H.data());
  policy_logprob_backward<T>(x.data(), W.data(), tgt.data(), N, d, V, tau, a.data(), b.data(), dx.data(),
                             dW.data());
  std::vector<double> dW_rows(V * d, 0.0);
  std::vector<T> dW_row(V * d);
  for (int64_t i = 0; i < N; ++i) {
    T lp1, H1, dx1[d];
    policy_logprob_forward<T>(x.data() + i * d, W.data(), &tgt[size_t(i)], 1, d, V, tau, &lp1, &H1);
    EXPECT_EQ(lp[size_t(i)], lp1) << "row " << i;
    EXPECT_EQ(H[size_t(i)], H1) << "row " << i;
    std::fill(dW_row.begin(), dW_row.end(), T(0));
    policy_logprob_backward<T>(x.data() + i * d, W.data(), &tgt[size_t(i)], 1, d, V, tau, &a[size_t(i)],
                               &b[size_t(i)], dx1, dW_row.data());
    for (int64_t c = 0; c < d; ++c)
      EXPECT_NEAR(dx[size_t(i * d + c)], dx1[c], tolerance * (1 + std::fabs(double(dx1[c])))) << "row " << i;
    for (int64_t j = 0; j < V * d; ++j) dW_rows[size_t(j)] += double(dW_row[size_t(j)]);
  }
  double worst = 0;
  for (int64_t j = 0; j < V * d; ++j)
    worst = std::max(
        worst, std::fabs(double(dW[size_t(j)]) - dW_rows[size_t(j)]) / (1 + std::fabs(dW_rows[size_t(j)])));
  EXPECT_LT(worst, tolerance);
}

TEST(PolicyLogprob, ChunkedRowsMatchRowsOneByOneInDouble) {
  check_chunks_against_rows<double>(300, 1e-12);
}

TEST(PolicyLogprob, ChunkedRowsMatchRowsOneByOneInFloat) {
  check_chunks_against_rows<float>(600, 1e-5);
}

// fp32 against double on rows given exactly (d = 1, x = 1: the logits are W). A peaked row's entropy was
// the difference of two numbers the size of its largest logit: 5% off at 30, negative at 1000. A 102400-token
// row's log-prob was one running fp32 sum, 1.3e-5 off where the cross-entropy kernel is within 1e-6.
TEST(PolicyLogprob, FloatRowsStayAccurateForPeakedAndLargeVocabularies) {
  auto reference = [](const std::vector<float>& z, int32_t target, double& logp, double& entropy) {
    double mx = -1e300, sum = 0;
    for (float v : z) mx = std::max(mx, double(v));
    for (float v : z) sum += std::exp(double(v) - mx);
    const double lse = mx + std::log(sum);
    entropy = 0;
    for (float v : z) entropy -= std::exp(double(v) - lse) * (double(v) - lse);
    logp = double(z[size_t(target)]) - lse;
  };
  const float one = 1.0f;
  for (float peak : {30.0f, 1000.0f, 3000.0f}) {
    std::vector<float> z(1000);
    z[0] = peak;
    for (size_t j = 1; j < z.size(); ++j) z[j] = peak - 15.0f - float(j % 7);
    const int32_t target = 0;
    float lp = 0, h = 0;
    policy_logprob_forward<float>(&one, z.data(), &target, 1, 1, int64_t(z.size()), 1.0, &lp, &h);
    double ref_lp = 0, ref_h = 0;
    reference(z, target, ref_lp, ref_h);
    EXPECT_NEAR(h, ref_h, 0.01 * ref_h) << "peak " << peak;
    EXPECT_NEAR(lp, ref_lp, 2e-6) << "peak " << peak;
  }
  std::vector<float> z(102400);
  uint64_t state = 12345;
  for (float& v : z) {  // roughly N(0, 2): a sum of uniforms, from a fixed generator
    double u = 0;
    for (int k = 0; k < 4; ++k) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      u += double(state >> 11) / double(1ULL << 53) - 0.5;
    }
    v = float(u * std::sqrt(3.0) * 2.0);
  }
  for (int32_t target : {17, 50000, 102399}) {
    float lp = 0, h = 0;
    policy_logprob_forward<float>(&one, z.data(), &target, 1, 1, int64_t(z.size()), 1.0, &lp, &h);
    double ref_lp = 0, ref_h = 0;
    reference(z, target, ref_lp, ref_h);
    EXPECT_NEAR(lp, ref_lp, 4e-6) << "target " << target;
    EXPECT_NEAR(h, ref_h, 4e-6) << "target " << target;
  }
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
