#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>

#include "core/thread_count.hpp"
#include "kernels/rmsnorm.hpp"
#include "support/gradcheck.hpp"

namespace seek {
namespace {

using test::check_gradient;
using test::random_vector;

TEST(RmsNorm, ForwardMatchesDefinitionOnStridedRows) {
  const int64_t N = 5, C = 7, ld = 10;
  auto x = random_vector(N * ld, 1);
  auto w = random_vector(C, 2);
  std::vector<double> y(N * C), rstd(N);
  rmsnorm_forward<double>(x.data(), ld, w.data(), y.data(), C, rstd.data(), N, C, 1e-6);
  for (int64_t n = 0; n < N; ++n) {
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += x[n * ld + c] * x[n * ld + c];
    double r = 1 / std::sqrt(ss / C + 1e-6);
    for (int64_t c = 0; c < C; ++c) EXPECT_NEAR(y[n * C + c], w[c] * x[n * ld + c] * r, 1e-12);
  }
}

TEST(RmsNorm, BackwardMatchesFiniteDifferences) {
  const int64_t N = 4, C = 9, ld = 11;
  auto x = random_vector(N * ld, 3);
  auto w = random_vector(C, 4);
  auto gy = random_vector(N * C, 5);  // L = <y, gy>
  std::vector<double> y(N * C), rstd(N);
  auto loss = [&] {
    rmsnorm_forward<double>(x.data(), ld, w.data(), y.data(), C, rstd.data(), N, C, 1e-6);
    return test::dot(y.data(), gy.data(), y.size());
  };
  loss();
  std::vector<double> dx(N * ld, 0.0), dw(C, 0.0);
  rmsnorm_backward<double>(x.data(), ld, w.data(), rstd.data(), gy.data(), C, dx.data(), ld, dw.data(), N, C,
                           false);
  auto rx = check_gradient(x, dx, loss);
  EXPECT_LT(rx.max_rel_err, 1e-6);
  auto rw = check_gradient(w, dw, loss);
  EXPECT_LT(rw.max_rel_err, 1e-6);

  // accumulate mode adds to what is there
  std::vector<double> dx2(N * ld, 1.0), dw2(C, 0.0);
  rmsnorm_backward<double>(x.data(), ld, w.data(), rstd.data(), gy.data(), C, dx2.data(), ld, dw2.data(), N,
                           C, true);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) EXPECT_NEAR(dx2[n * ld + c], dx[n * ld + c] + 1.0, 1e-12);
}

// Above the size where rmsnorm_backward goes parallel, its weight gradient is summed per thread, then across
// threads: with 1, 2 and 3 threads it must be the sum over rows (ctest runs everything on one thread).
TEST(RmsNorm, ThreadedWeightGradientIsTheSumOverRows) {
  const int64_t N = 300, C = 96;
  ASSERT_GT(N * C, kParallelMinWork);
  auto x = random_vector(N * C, 13);
  auto w = random_vector(C, 14);
  auto gy = random_vector(N * C, 15);
  std::vector<double> y(N * C), rstd(N);
  rmsnorm_forward<double>(x.data(), C, w.data(), y.data(), C, rstd.data(), N, C, 1e-6);
  std::vector<double> dx_one(N * C), dw_rows(C, 0.0);
  for (int64_t n = 0; n < N; ++n)  // row by row: below the threshold, one thread
    rmsnorm_backward<double>(x.data() + n * C, C, w.data(), rstd.data() + n, gy.data() + n * C, C,
                             dx_one.data() + n * C, C, dw_rows.data(), 1, C, false);
  const int saved = omp_get_max_threads();
  for (const int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    std::vector<double> dx(N * C), dw(C, 0.0);
    rmsnorm_backward<double>(x.data(), C, w.data(), rstd.data(), gy.data(), C, dx.data(), C, dw.data(), N, C,
                             false);
    for (int64_t c = 0; c < C; ++c) EXPECT_NEAR(dw[c], dw_rows[c], 1e-12 * (1 + std::fabs(dw_rows[c])));
    for (int64_t i = 0; i < N * C; ++i) ASSERT_EQ(dx[i], dx_one[i]) << threads << " threads, index " << i;
  }
  omp_set_num_threads(saved);
}

TEST(RmsNorm, FloatAgreesWithDouble) {
  const int64_t N = 33, C = 64;
  auto xd = random_vector(N * C, 6);
  auto wd = random_vector(C, 7);
  std::vector<float> xf(xd.begin(), xd.end()), wf(wd.begin(), wd.end()), yf(N * C), rf(N);
  std::vector<double> yd(N * C), rd(N);
  rmsnorm_forward<float>(xf.data(), C, wf.data(), yf.data(), C, rf.data(), N, C, 1e-6);
  rmsnorm_forward<double>(xd.data(), C, wd.data(), yd.data(), C, rd.data(), N, C, 1e-6);
  for (size_t i = 0; i < yd.size(); ++i) EXPECT_NEAR(yf[i], yd[i], 1e-5 * (1 + std::abs(yd[i])));
}

}  // namespace
}  // namespace seek
