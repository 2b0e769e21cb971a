// Fused output head + cross-entropy against a naive double implementation (full logits), finite-difference
// gradients, ignored targets, chunking invariance, huge logits and error messages for bad targets.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "kernels/cross_entropy.hpp"
#include "support/gradcheck.hpp"

namespace seek {
namespace {

using test::random_vector;

struct Problem {
  int64_t N, d, V;
  std::vector<double> x, W;
  std::vector<int32_t> targets;
};

// Random targets with every fifth-ish position ignored.
Problem make_problem(int64_t N, int64_t d, int64_t V, uint64_t seed, double x_scale = 1.0) {
  Problem p{N, d, V, random_vector(size_t(N * d), seed, x_scale), random_vector(size_t(V * d), seed + 1, 0.5),
            {}};
  Rng rng(seed + 2);
  for (int64_t i = 0; i < N; ++i)
    p.targets.push_back(rng.below(5) == 0 ? -1 : int32_t(rng.below(uint64_t(V))));
  return p;
}

struct Reference {
  double loss_sum = 0;
  int64_t count = 0;
  std::vector<double> logprob, dx, dW;
};

// Materialises all logits; the gradients are those of grad_scale · loss_sum.
Reference naive(const Problem& p, double grad_scale) {
  Reference r;
  r.logprob.assign(size_t(p.N), 0.0);
  r.dx.assign(size_t(p.N * p.d), 0.0);
  r.dW.assign(size_t(p.V * p.d), 0.0);
  std::vector<double> logits(size_t(p.V));
  for (int64_t i = 0; i < p.N; ++i) {
    const int32_t t = p.targets[size_t(i)];
    if (t < 0) continue;
    double mx = -INFINITY;
    for (int64_t v = 0; v < p.V; ++v) {
      double s = 0;
      for (int64_t e = 0; e < p.d; ++e) s += p.x[size_t(i * p.d + e)] * p.W[size_t(v * p.d + e)];
      logits[size_t(v)] = s;
      mx = std::max(mx, s);
    }
    double sum = 0;
    for (double l : logits) sum += std::exp(l - mx);
    const double lse = mx + std::log(sum);
    r.logprob[size_t(i)] = logits[size_t(t)] - lse;
    r.loss_sum -= r.logprob[size_t(i)];
    ++r.count;
    for (int64_t v = 0; v < p.V; ++v) {
      const double g = grad_scale * (std::exp(logits[size_t(v)] - lse) - (v == t ? 1.0 : 0.0));
      for (int64_t e = 0; e < p.d; ++e) {
        r.dx[size_t(i * p.d + e)] += g * p.W[size_t(v * p.d + e)];
        r.dW[size_t(v * p.d + e)] += g * p.x[size_t(i * p.d + e)];
      }
    }
  }
  return r;
}

template <typename T>
struct Outputs {
  CrossEntropyResult result;
  std::vector<T> dx, dW, logprob;
};

template <typename T>
Outputs<T> compute(const Problem& p, double grad_scale, int64_t chunk_tokens = 0) {
  std::vector<T> x(p.x.begin(), p.x.end()), W(p.W.begin(), p.W.end());
  Outputs<T> r;
  r.dx.assign(x.size(), T(123));  // dx is written: stale values must disappear
  r.dW.assign(W.size(), T(0));
  r.logprob.assign(size_t(p.N), T(99));
  r.result =
      cross_entropy_forward_backward<T>(x.data(), W.data(), p.targets.data(), p.N, p.d, p.V, T(grad_scale),
                                        r.dx.data(), r.dW.data(), r.logprob.data(), chunk_tokens);
  return r;
}

template <typename T>
void expect_near_all(const std::vector<T>& got, const std::vector<double>& want, double tol,
                     const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(double(got[i]), want[i], tol) << what << " " << i;
}

TEST(CrossEntropy, MatchesNaiveDouble) {
  const Problem p = make_problem(37, 19, 53, 1);
  const Reference ref = naive(p, 0.25);
  ASSERT_GT(ref.count, 0);

  const Outputs<double> d = compute<double>(p, 0.25);
  EXPECT_EQ(d.result.count, ref.count);
  EXPECT_NEAR(d.result.loss_sum, ref.loss_sum, 1e-12 * ref.loss_sum);
  expect_near_all(d.logprob, ref.logprob, 1e-12, "logprob");
  expect_near_all(d.dx, ref.dx, 1e-12, "dx");
  expect_near_all(d.dW, ref.dW, 1e-12, "dW");

  const Outputs<float> f = compute<float>(p, 0.25);
  EXPECT_EQ(f.result.count, ref.count);
  EXPECT_NEAR(f.result.loss_sum, ref.loss_sum, 1e-5 * ref.loss_sum);
  expect_near_all(f.logprob, ref.logprob, 1e-5, "float logprob");
  expect_near_all(f.dx, ref.dx, 1e-5, "float dx");
  expect_near_all(f.dW, ref.dW, 1e-5, "float dW");
}

TEST(CrossEntropy, OutputLogitsMatchNaive) {
  const Problem p = make_problem(9, 13, 21, 2);
  std::vector<double> logits(size_t(p.N * p.V));
  output_logits<double>(p.x.data(), p.W.data(), logits.data(), p.N, p.d, p.V);
  std::vector<float> xf(p.x.begin(), p.x.end()), Wf(p.W.begin(), p.W.end()), lf(logits.size());
  output_logits<float>(xf.data(), Wf.data(), lf.data(), p.N, p.d, p.V);
  for (int64_t i = 0; i < p.N; ++i)
    for (int64_t v = 0; v < p.V; ++v) {
      double s = 0;
      for (int64_t e = 0; e < p.d; ++e) s += p.x[size_t(i * p.d + e)] * p.W[size_t(v * p.d + e)];
      ASSERT_NEAR(logits[size_t(i * p.V + v)], s, 1e-12);
      ASSERT_NEAR(lf[size_t(i * p.V + v)], s, 1e-5);
    }
}

TEST(CrossEntropy, GradientMatchesFiniteDifferences) {
  Problem p = make_problem(23, 7, 31, 3);
  const double grad_scale = 1.0 / 19;  // ~1/count, as for a mean loss: keeps L and its rounding small
  std::vector<double> dx(p.x.size()), dW(p.W.size(), 0.0);
  cross_entropy_forward_backward<double>(p.x.data(), p.W.data(), p.targets.data(), p.N, p.d, p.V, grad_scale,
                                         dx.data(), dW.data());
  auto loss = [&] {
    return grad_scale * cross_entropy_forward_backward<double>(p.x.data(), p.W.data(), p.targets.data(), p.N,
                                                               p.d, p.V, grad_scale, nullptr, nullptr)
                            .loss_sum;
  };
  // h = 1e-4: the loss is a sum over all tokens, so its rounding (not truncation) limits smaller steps.
  auto rx = test::check_gradient(p.x, dx, loss, 1e-4, 400);
  EXPECT_LT(rx.max_rel_err, 1e-6) << "dx worst index " << rx.worst_index;
  auto rw = test::check_gradient(p.W, dW, loss, 1e-4, 400);
  EXPECT_LT(rw.max_rel_err, 1e-6) << "dW worst index " << rw.worst_index;
}

TEST(CrossEntropy, IgnoredTargetsContributeNothing) {
  const Problem p = make_problem(40, 11, 17, 4);
  // The same problem with the ignored rows removed.
  Problem kept{0, p.d, p.V, {}, p.W, {}};
  for (int64_t i = 0; i < p.N; ++i) {
    if (p.targets[size_t(i)] < 0) continue;
    kept.x.insert(kept.x.end(), p.x.begin() + i * p.d, p.x.begin() + (i + 1) * p.d);
    kept.targets.push_back(p.targets[size_t(i)]);
    ++kept.N;
  }
  ASSERT_LT(kept.N, p.N);
  const Outputs<double> all = compute<double>(p, 0.5), sub = compute<double>(kept, 0.5);
  EXPECT_EQ(all.result.count, kept.N);
  EXPECT_NEAR(all.result.loss_sum, sub.result.loss_sum, 1e-12 * sub.result.loss_sum);
  expect_near_all(all.dW, std::vector<double>(sub.dW.begin(), sub.dW.end()), 1e-12, "dW");
  for (int64_t i = 0, j = 0; i < p.N; ++i) {
    if (p.targets[size_t(i)] < 0) {
      EXPECT_EQ(all.logprob[size_t(i)], 0.0);
      for (int64_t e = 0; e < p.d; ++e) ASSERT_EQ(all.dx[size_t(i * p.d + e)], 0.0) << "ignored row " << i;
    } else {
      EXPECT_NEAR(all.logprob[size_t(i)], sub.logprob[size_t(j)], 1e-12);
      for (int64_t e = 0; e < p.d; ++e)
        ASSERT_NEAR(all.dx[size_t(i * p.d + e)], sub.dx[size_t(j * p.d + e)], 1e-12);
      ++j;
    }
  }
}

TEST(CrossEntropy, ChunkSizeDoesNotChangeTheResult) {
  const Problem p = make_problem(29, 8, 23, 5);
  const Outputs<double> whole = compute<double>(p, 0.3, p.N);
  for (int64_t chunk : {int64_t(1), int64_t(3), int64_t(0), p.N + 5}) {
    const Outputs<double> c = compute<double>(p, 0.3, chunk);
    EXPECT_EQ(c.result.count, whole.result.count);
    EXPECT_NEAR(c.result.loss_sum, whole.result.loss_sum, 1e-12) << "chunk " << chunk;
    expect_near_all(c.dx, std::vector<double>(whole.dx.begin(), whole.dx.end()), 1e-12, "dx");
    expect_near_all(c.dW, std::vector<double>(whole.dW.begin(), whole.dW.end()), 1e-12, "dW");
    expect_near_all(c.logprob, std::vector<double>(whole.logprob.begin(), whole.logprob.end()), 1e-12, "lp");
  }
}

TEST(CrossEntropy, DeterministicAndAccumulatesDW) {
  const Problem p = make_problem(300, 32, 97, 6);
  const Outputs<float> a = compute<float>(p, 0.01f, 7), b = compute<float>(p, 0.01f, 7);
  EXPECT_EQ(a.result.loss_sum, b.result.loss_sum);
  EXPECT_EQ(std::memcmp(a.dx.data(), b.dx.data(), a.dx.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(a.dW.data(), b.dW.data(), a.dW.size() * sizeof(float)), 0);

  // dW is accumulated: starting from 1 adds the same gradient on top.
  std::vector<float> x(p.x.begin(), p.x.end()), W(p.W.begin(), p.W.end()), dx(x.size()), dW(W.size(), 1.0f);
  cross_entropy_forward_backward<float>(x.data(), W.data(), p.targets.data(), p.N, p.d, p.V, 0.01f, dx.data(),
                                        dW.data(), nullptr, 7);
  for (size_t i = 0; i < dW.size(); ++i)
    ASSERT_NEAR(dW[i], 1.0f + a.dW[i], 1e-5f) << i;  // 43 chunks of fp32 rounding near 1
}

TEST(CrossEntropy, HugeLogitsStayFinite) {
  // Logits of order 1e4: exp without max subtraction would overflow in float and double alike.
  const Problem p = make_problem(16, 10, 40, 7, 3000.0);
  const Reference ref = naive(p, 1.0);
  const Outputs<double> d = compute<double>(p, 1.0);
  const Outputs<float> f = compute<float>(p, 1.0);
  ASSERT_TRUE(std::isfinite(d.result.loss_sum));
  ASSERT_TRUE(std::isfinite(f.result.loss_sum));
  EXPECT_NEAR(d.result.loss_sum, ref.loss_sum, 1e-9 * ref.loss_sum);
  // fp32 logits of 1e4 carry absolute rounding ~1e-3, which is what the loss inherits.
  EXPECT_NEAR(f.result.loss_sum, ref.loss_sum, 1e-5 * ref.loss_sum + 1e-2);
  for (float g : f.dx) ASSERT_TRUE(std::isfinite(g));
  for (float g : f.dW) ASSERT_TRUE(std::isfinite(g));
  for (float lp : f.logprob) ASSERT_TRUE(std::isfinite(lp));
}

TEST(CrossEntropy, InvalidTargetIsNamed) {
  Problem p = make_problem(8, 4, 10, 8);
  std::vector<double> dx(p.x.size()), dW(p.W.size(), 2.0);
  for (int32_t bad : {10, -2, 12345}) {
    p.targets[5] = bad;
    try {
      cross_entropy_forward_backward<double>(p.x.data(), p.W.data(), p.targets.data(), p.N, p.d, p.V, 1.0,
                                             dx.data(), dW.data());
      FAIL() << "no error for target " << bad;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("target " + std::to_string(bad)), std::string::npos) << msg;
      EXPECT_NE(msg.find("position 5"), std::string::npos) << msg;
    }
  }
  for (double g : dW) ASSERT_EQ(g, 2.0);  // validation happens before any output is touched
}

}  // namespace
}  // namespace seek
