// linear_backward (kernels/gemm.hpp) on its own, against central differences in double: dX and dW of the
// scalar loss L = <R, linear_forward(X, W)> for a random R (so dY = R), at shapes that are and are not
// multiples of 16. Its output contract is checked too, since every layer relies on it: accumulate_dx = false
// overwrites whatever dX held, accumulate_dx = true adds to it, dW always adds (+=) to its existing value,
// and a null dX or dW is skipped. The float path runs oneDNN primitives while double runs a plain loop, so
// the float results are compared with the double ones on the same (float-representable) data. The model
// gradient check covers linear_backward only through whole layers, where the accumulate flags are fixed by
// the caller; here each flag and each null output is exercised directly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "kernels/gemm.hpp"
#include "support/gradcheck.hpp"

namespace seek {
namespace {

using test::random_vector;

struct Shape {
  int64_t M, N, K;
};

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  return os << "M" << s.M << "_N" << s.N << "_K" << s.K;
}

// Values exactly representable in float, so the float and double paths see the same data.
std::vector<double> float_exact(size_t n, uint64_t seed, double scale = 1.0) {
  std::vector<double> v = random_vector(n, seed, scale);
  for (auto& x : v) x = double(float(x));
  return v;
}

struct Problem {
  std::vector<double> X, W, R;  // [M, K], [N, K], [M, N]
};

Problem make_problem(const Shape& s, uint64_t seed) {
  return {float_exact(size_t(s.M * s.K), seed), float_exact(size_t(s.N * s.K), seed + 1),
          float_exact(size_t(s.M * s.N), seed + 2)};
}

// L = <R, Y − Y₀> for Y = linear_forward(X, W) and Y₀ its value at the unperturbed inputs: outputs a
// perturbation does not reach cancel exactly (as in test_attention.cpp), leaving only the rounding of the
// perturbed row or column in the difference.
double loss(const Problem& p, const Shape& s, const std::vector<double>& Y0) {
  std::vector<double> Y(size_t(s.M * s.N));
  linear_forward<double>(p.X.data(), p.W.data(), Y.data(), s.M, s.N, s.K);
  for (size_t i = 0; i < Y.size(); ++i) Y[i] -= Y0[i];
  return test::dot(p.R.data(), Y.data(), Y.size());
}

bool all_finite(const std::vector<double>& v) {
  for (double x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

class LinearBackward : public ::testing::TestWithParam<Shape> {};

// L is linear in X and in W, so central differences are exact up to rounding whatever the step: a step of
// 0.5 keeps that rounding, relative to the gradient, near 1e-13 even for entries whose gradient is below the
// relative error's 1e-4 floor.
constexpr double kStep = 0.5;
constexpr double kTolerance = 1e-9;

TEST_P(LinearBackward, MatchesFiniteDifferencesWithEitherAccumulateFlag) {
  const Shape s = GetParam();
  for (const bool accumulate_dx : {false, true}) {
    SCOPED_TRACE(accumulate_dx ? "accumulate_dx = true" : "accumulate_dx = false");
    Problem p = make_problem(s, uint64_t(s.M * 1000 + s.N * 10 + s.K));
    // What the outputs hold before the call: garbage for an overwritten dX (finite, so that a wrongly kept
    // value shows as a wrong number rather than a NaN the relative error would not register), and earlier
    // gradients for an accumulated dX and for dW.
    const std::vector<double> dx_before = random_vector(p.X.size(), 77, accumulate_dx ? 1.0 : 1e4);
    const std::vector<double> dw_before = random_vector(p.W.size(), 78);
    std::vector<double> dX = dx_before, dW = dw_before;
    linear_backward<double>(p.X.data(), p.W.data(), p.R.data(), dX.data(), dW.data(), s.M, s.N, s.K,
                            accumulate_dx);
    ASSERT_TRUE(all_finite(dX));
    ASSERT_TRUE(all_finite(dW));
    // The gradient this call contributed: what it added (accumulating outputs) or wrote (overwritten dX).
    std::vector<double> gx = dX, gw = dW;
    if (accumulate_dx)
      for (size_t i = 0; i < gx.size(); ++i) gx[i] -= dx_before[i];
    for (size_t i = 0; i < gw.size(); ++i) gw[i] -= dw_before[i];

    std::vector<double> Y0(size_t(s.M * s.N));
    linear_forward<double>(p.X.data(), p.W.data(), Y0.data(), s.M, s.N, s.K);
    auto L = [&] { return loss(p, s, Y0); };
    // Every entry (the shapes are small).
    const auto rx = test::check_gradient(p.X, gx, L, kStep, p.X.size());
    EXPECT_LT(rx.max_rel_err, kTolerance) << "dX worst index " << rx.worst_index;
    EXPECT_EQ(rx.checked, p.X.size());
    const auto rw = test::check_gradient(p.W, gw, L, kStep, p.W.size());
    EXPECT_LT(rw.max_rel_err, kTolerance) << "dW worst index " << rw.worst_index;
    EXPECT_EQ(rw.checked, p.W.size());
  }
}

// accumulate_dx = false must not read dX at all: a NaN there (e.g. a buffer left by a skipped step) gives the
// same result as zeros, bit for bit, on both paths.
TEST_P(LinearBackward, OverwrittenDxIgnoresNanGarbage) {
  const Shape s = GetParam();
  const Problem p = make_problem(s, 5);
  std::vector<double> clean(p.X.size(), 0.0), dirty(p.X.size(), std::numeric_limits<double>::quiet_NaN());
  linear_backward<double>(p.X.data(), p.W.data(), p.R.data(), clean.data(), nullptr, s.M, s.N, s.K, false);
  linear_backward<double>(p.X.data(), p.W.data(), p.R.data(), dirty.data(), nullptr, s.M, s.N, s.K, false);
  EXPECT_EQ(clean, dirty);

  const std::vector<float> X(p.X.begin(), p.X.end()), W(p.W.begin(), p.W.end()), R(p.R.begin(), p.R.end());
  std::vector<float> cleanf(X.size(), 0.0f), dirtyf(X.size(), std::numeric_limits<float>::quiet_NaN());
  linear_backward<float>(X.data(), W.data(), R.data(), cleanf.data(), nullptr, s.M, s.N, s.K, false);
  linear_backward<float>(X.data(), W.data(), R.data(), dirtyf.data(), nullptr, s.M, s.N, s.K, false);
  EXPECT_EQ(cleanf, dirtyf);
}

// A null output is skipped and the other one is computed exactly as when both are requested.
TEST_P(LinearBackward, NullOutputIsSkipped) {
  const Shape s = GetParam();
  const Problem p = make_problem(s, 9);
  const std::vector<double> dw_before = random_vector(p.W.size(), 10);
  std::vector<double> dX_both(p.X.size()), dW_both = dw_before;
  linear_backward<double>(p.X.data(), p.W.data(), p.R.data(), dX_both.data(), dW_both.data(), s.M, s.N, s.K);

  std::vector<double> dX_only(p.X.size(), 3.0);
  linear_backward<double>(p.X.data(), p.W.data(), p.R.data(), dX_only.data(), nullptr, s.M, s.N, s.K);
  EXPECT_EQ(dX_only, dX_both);
  std::vector<double> dW_only = dw_before;
  linear_backward<double>(p.X.data(), p.W.data(), p.R.data(), nullptr, dW_only.data(), s.M, s.N, s.K);
  EXPECT_EQ(dW_only, dW_both);
  linear_backward<double>(p.X.data(), p.W.data(), p.R.data(), nullptr, nullptr, s.M, s.N, s.K);  // no-op

  const std::vector<float> X(p.X.begin(), p.X.end()), W(p.W.begin(), p.W.end()), R(p.R.begin(), p.R.end());
  std::vector<float> fx_both(X.size()), fw_both(dw_before.begin(), dw_before.end());
  linear_backward<float>(X.data(), W.data(), R.data(), fx_both.data(), fw_both.data(), s.M, s.N, s.K);
  std::vector<float> fx_only(X.size(), 3.0f), fw_only(dw_before.begin(), dw_before.end());
  linear_backward<float>(X.data(), W.data(), R.data(), fx_only.data(), nullptr, s.M, s.N, s.K);
  linear_backward<float>(X.data(), W.data(), R.data(), nullptr, fw_only.data(), s.M, s.N, s.K);
  EXPECT_EQ(fx_only, fx_both);
  EXPECT_EQ(fw_only, fw_both);
  linear_backward<float>(X.data(), W.data(), R.data(), nullptr, nullptr, s.M, s.N, s.K);
}

// The float (oneDNN) path against the double loop on the same data, with both flags and a dW to add to.
// Each element is a sum of n = (inner dimension + 1) terms (the products and the earlier value); fp32
// summation in any order is off by at most about n·ε·Σ|terms|, which |R|·|W| etc. in double bound.
TEST_P(LinearBackward, FloatPathAgreesWithDouble) {
  const Shape s = GetParam();
  const Problem p = make_problem(s, 31);
  const std::vector<double> dx_before = float_exact(p.X.size(), 32), dw_before = float_exact(p.W.size(), 33);
  const std::vector<float> X(p.X.begin(), p.X.end()), W(p.W.begin(), p.W.end()), R(p.R.begin(), p.R.end());
  // Bounds on Σ|terms|: the same products on absolute values.
  auto abs_of = [](std::vector<double> v) {
    for (auto& x : v) x = std::fabs(x);
    return v;
  };
  const std::vector<double> aX = abs_of(p.X), aW = abs_of(p.W), aR = abs_of(p.R);
  for (const bool accumulate_dx : {false, true}) {
    SCOPED_TRACE(accumulate_dx ? "accumulate_dx = true" : "accumulate_dx = false");
    std::vector<double> dX = dx_before, dW = dw_before;
    linear_backward<double>(p.X.data(), p.W.data(), p.R.data(), dX.data(), dW.data(), s.M, s.N, s.K,
                            accumulate_dx);
    std::vector<double> mx = abs_of(dx_before), mw = abs_of(dw_before);
    if (!accumulate_dx) std::fill(mx.begin(), mx.end(), 0.0);
    linear_backward<double>(aX.data(), aW.data(), aR.data(), mx.data(), mw.data(), s.M, s.N, s.K, true);

    std::vector<float> fX(dx_before.begin(), dx_before.end()), fW(dw_before.begin(), dw_before.end());
    linear_backward<float>(X.data(), W.data(), R.data(), fX.data(), fW.data(), s.M, s.N, s.K, accumulate_dx);
    for (size_t i = 0; i < dX.size(); ++i)
      ASSERT_NEAR(fX[i], dX[i], double(s.N + 1) * FLT_EPSILON * mx[i] + 1e-30) << "dX " << i;
    for (size_t i = 0; i < dW.size(); ++i)
      ASSERT_NEAR(fW[i], dW[i], double(s.M + 1) * FLT_EPSILON * mw[i] + 1e-30) << "dW " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearBackward,
                         ::testing::Values(Shape{1, 1, 1},     // scalars
                                           Shape{3, 5, 7},     // all below one vector register
                                           Shape{16, 32, 48},  // multiples of 16
                                           Shape{17, 33, 19},  // one past multiples of 16
                                           Shape{37, 1, 130},  // a single output column, long K
                                           Shape{5, 70, 31}),  // N > M, odd K
                         [](const auto& info) {
                           std::ostringstream os;
                           os << info.param;
                           return os.str();
                         });

}  // namespace
}  // namespace seek
