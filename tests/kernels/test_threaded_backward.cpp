// attention_backward and embedding_backward with 2 and 3 OpenMP threads, against central differences in
// double and against the same call on 1 thread (bit for bit: both kernels promise results independent of the
// thread count). ctest runs every test with OMP_NUM_THREADS=1, so the other gradient checks only ever see
// one thread; a wrong split of the work between threads (a (b, h) pair or a column slice left out or added
// twice, scratch shared by two threads) would pass them all. The thread counts are set here and restored
// after. Embedding batches repeat token ids (several rows accumulate into one table row, across every
// thread's columns) and leave tokens out (their rows must receive exactly zero); the column counts do not
// divide by the thread counts, and one is smaller than 3, so a thread gets no columns.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/embedding.hpp"
#include "support/gradcheck.hpp"

namespace seek {
namespace {

using test::random_vector;

constexpr int kThreadCounts[] = {1, 2, 3};
constexpr int kRuns = 20;  // calls per thread count above 1

// Sets the OpenMP thread count for a scope and restores the previous one.
class ThreadCount {
 public:
  explicit ThreadCount(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ThreadCount() { omp_set_num_threads(saved_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int saved_;
};

// The team size a parallel region gets now (to make sure the requested threads really run).
int team_size() {
  int n = 0;
#pragma omp parallel
  {
#pragma omp single
    n = omp_get_num_threads();
  }
  return n;
}

// Central differences of loss() w.r.t. x at up to max_checks evenly spread entries (the indices
// check_gradient visits), computed once and then compared with the backward at each thread count.
struct Differences {
  std::vector<size_t> index;
  std::vector<double> value;
};

template <typename Loss>
Differences central_differences(std::vector<double>& x, Loss&& loss, double h, size_t max_checks) {
  Differences d;
  const size_t stride = std::max<size_t>(1, x.size() / max_checks);
  for (size_t i = 0; i < x.size(); i += stride) {
    const double saved = x[i];
    x[i] = saved + h;
    const double lp = loss();
    x[i] = saved - h;
    const double lm = loss();
    x[i] = saved;
    d.index.push_back(i);
    d.value.push_back((lp - lm) / (2 * h));
  }
  return d;
}

// The largest relative error of grad against the differences, with check_gradient's 1e-4 floor; a NaN in
// grad counts as infinitely wrong.
double max_rel_err(const Differences& d, const std::vector<double>& grad, size_t* worst) {
  double r = 0;
  for (size_t j = 0; j < d.index.size(); ++j) {
    const double g = grad[d.index[j]], fd = d.value[j];
    const double rel = std::isfinite(g) ? std::fabs(fd - g) / std::max({std::fabs(fd), std::fabs(g), 1e-4})
                                        : std::numeric_limits<double>::infinity();
    if (rel > r) {
      r = rel;
      *worst = d.index[j];
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------- attention

struct Shape {
  int64_t B, Tn, H, Dqk, Dv;
};

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  return os << "B" << s.B << "_T" << s.Tn << "_H" << s.H << "_Dqk" << s.Dqk << "_Dv" << s.Dv;
}

// attention.cpp runs small calls on one thread whatever the thread count (worth_threads: more than 2^21
// multiply-adds over the causal tiles of 64). The shapes below are chosen above that bound, so that the
// backward really is split over the (b, h) pairs; this mirrors the bound to keep them so.
bool attention_runs_threaded(const Shape& s) {
  const int64_t tiles = (s.Tn + 63) / 64;
  return s.B * s.H * tiles * (tiles + 1) / 2 * 64 * 64 * (s.Dqk + s.Dv) > (int64_t(1) << 21);
}

class ThreadedAttentionBackward : public ::testing::TestWithParam<Shape> {};

// L = <out, w> as in test_attention.cpp: dL/dout = w, and the loss sums w·(out − out₀) against the
// unperturbed output so that outputs a perturbation does not reach cancel exactly.
TEST_P(ThreadedAttentionBackward, MatchesFiniteDifferencesAndOneThread) {
  const Shape s = GetParam();
  ASSERT_TRUE(attention_runs_threaded(s)) << "this shape would run on one thread";
  std::vector<double> q = random_vector(size_t(s.B * s.Tn * s.H * s.Dqk), 11, 1.5);
  std::vector<double> k = random_vector(q.size(), 12, 1.5);
  std::vector<double> v = random_vector(size_t(s.B * s.Tn * s.H * s.Dv), 13);
  const double scale = 1.0 / std::sqrt(double(s.Dqk));
  const std::vector<double> w = random_vector(v.size(), 99);
  std::vector<double> out(v.size()), lse(size_t(s.B * s.H * s.Tn));
  auto forward = [&] {
    attention_forward<double>(q.data(), k.data(), v.data(), out.data(), lse.data(), s.B, s.Tn, s.H, s.Dqk,
                              s.Dv, scale);
  };
  forward();
  const std::vector<double> out0 = out, lse0 = lse;
  auto loss = [&] {
    forward();
    double l = 0;
    for (size_t i = 0; i < out.size(); ++i) l += w[i] * (out[i] - out0[i]);
    return l;
  };
  // A larger step than test_attention.cpp's 1e-5: it leaves less rounding in the differences of entries
  // whose gradient is near 0, where the relative error's 1e-4 floor magnifies it (worst 8e-8 here).
  const double h = 1e-4;
  const Differences fq = central_differences(q, loss, h, 300);
  const Differences fk = central_differences(k, loss, h, 300);
  const Differences fv = central_differences(v, loss, h, 300);

  std::vector<double> dq1, dk1, dv1;
  for (const int threads : kThreadCounts) {
    ThreadCount tc(threads);
    ASSERT_EQ(team_size(), threads);
    // A race shows only when the threads happen to interleave badly: several runs per thread count.
    for (int run = 0; run < (threads == 1 ? 1 : kRuns); ++run) {
      SCOPED_TRACE(::testing::Message() << threads << " threads, run " << run);
      // Garbage in the outputs: they are overwritten, each element by exactly one thread.
      std::vector<double> dq(q.size(), std::numeric_limits<double>::quiet_NaN()), dk(k.size(), 1e30),
          dv(v.size(), -7.0);
      attention_backward<double>(q.data(), k.data(), v.data(), out0.data(), lse0.data(), w.data(), dq.data(),
                                 dk.data(), dv.data(), s.B, s.Tn, s.H, s.Dqk, s.Dv, scale);
      size_t worst = 0;
      EXPECT_LT(max_rel_err(fq, dq, &worst), 1e-6) << "dq worst index " << worst;
      EXPECT_LT(max_rel_err(fk, dk, &worst), 1e-6) << "dk worst index " << worst;
      EXPECT_LT(max_rel_err(fv, dv, &worst), 1e-6) << "dv worst index " << worst;
      if (threads == 1) {
        dq1 = dq, dk1 = dk, dv1 = dv;
      } else {
        EXPECT_TRUE(dq == dq1) << "dq differs from the 1-thread result";
        EXPECT_TRUE(dk == dk1) << "dk differs from the 1-thread result";
        EXPECT_TRUE(dv == dv1) << "dv differs from the 1-thread result";
      }
      if (HasFailure()) return;  // one failing run says enough
    }
  }
}

// B·H = 6 and 9 (b, h) tasks: uneven over 2 or over 3 threads respectively, and the dynamic schedule hands
// them out in whatever order the threads arrive. Tn = 70 is one full query tile and a partial one; head dims
// 13 / 11 run the kernels' vector bodies and scalar tails, 24 / 16 whole registers only.
INSTANTIATE_TEST_SUITE_P(Shapes, ThreadedAttentionBackward,
                         ::testing::Values(Shape{2, 70, 3, 24, 16}, Shape{3, 70, 3, 13, 11}),
                         [](const auto& info) {
                           std::ostringstream os;
                           os << info.param;
                           return os.str();
                         });

// ---------------------------------------------------------------------------------------------- embedding

struct EmbeddingCase {
  int64_t V, C;
};

std::ostream& operator<<(std::ostream& os, const EmbeddingCase& c) {
  return os << "V" << c.V << "_C" << c.C;
}

class ThreadedEmbeddingBackward : public ::testing::TestWithParam<EmbeddingCase> {};

TEST_P(ThreadedEmbeddingBackward, MatchesFiniteDifferencesAndOneThread) {
  const auto [V, C] = GetParam();
  // 3 appears five times, 7 three times (first and last two), 1 twice; 0, 5, 9, 10 (and 11 where V = 12)
  // never.
  const std::vector<int32_t> ids = {7, 3, 1, 3, 2, 3, 4, 6, 3, 8, 1, 3, 7, 7};
  const int64_t N = int64_t(ids.size());
  std::vector<int32_t> absent;
  for (int32_t t = 0; t < V; ++t)
    if (std::find(ids.begin(), ids.end(), t) == ids.end()) absent.push_back(t);
  ASSERT_GE(absent.size(), 4u);
  std::vector<double> table = random_vector(size_t(V * C), 21);
  const std::vector<double> r = random_vector(size_t(N * C), 22);  // L = <r, out>: dL/dout = r
  std::vector<double> out0(size_t(N * C)), out(out0.size());
  embedding_forward<double>(table.data(), ids.data(), out0.data(), N, V, C);
  auto loss = [&] {  // L − L₀, so that the rows a perturbation does not reach cancel exactly
    embedding_forward<double>(table.data(), ids.data(), out.data(), N, V, C);
    double l = 0;
    for (size_t i = 0; i < out.size(); ++i) l += r[i] * (out[i] - out0[i]);
    return l;
  };
  // L is linear in the table, so central differences are exact up to rounding whatever the step (0.5 here);
  // every entry is checked.
  const Differences fd = central_differences(table, loss, 0.5, table.size());
  ASSERT_EQ(fd.index.size(), table.size());

  const std::vector<double> before = random_vector(table.size(), 23);  // earlier gradients to add to
  std::vector<double> zero1, added1;
  for (const int threads : kThreadCounts) {
    SCOPED_TRACE(::testing::Message() << threads << " threads");
    ThreadCount tc(threads);
    ASSERT_EQ(team_size(), threads);
    std::vector<double> zero(table.size(), 0.0);
    embedding_backward<double>(ids.data(), r.data(), zero.data(), N, V, C);
    size_t worst = 0;
    EXPECT_LT(max_rel_err(fd, zero, &worst), 1e-9) << "dtable worst index " << worst;
    for (const int32_t t : absent)
      for (int64_t c = 0; c < C; ++c) EXPECT_EQ(zero[size_t(t * C + c)], 0.0) << "absent token " << t;
    // dtable accumulates: what it adds to an existing gradient is the same gradient (rows of absent tokens
    // keep their values bit for bit).
    std::vector<double> added = before;
    embedding_backward<double>(ids.data(), r.data(), added.data(), N, V, C);
    std::vector<double> increment(added.size());
    for (size_t i = 0; i < added.size(); ++i) increment[i] = added[i] - before[i];
    EXPECT_LT(max_rel_err(fd, increment, &worst), 1e-9) << "accumulated dtable worst index " << worst;
    for (const int32_t t : absent)
      for (int64_t c = 0; c < C; ++c)
        EXPECT_EQ(added[size_t(t * C + c)], before[size_t(t * C + c)]) << "absent token " << t;
    if (threads == 1) {
      zero1 = zero, added1 = added;
    } else {
      EXPECT_TRUE(zero == zero1) << "differs from the 1-thread result";
      EXPECT_TRUE(added == added1) << "accumulated result differs from the 1-thread result";
    }
  }
}

// The float kernel is the same template; its threaded result must equal its 1-thread result bit for bit.
TEST_P(ThreadedEmbeddingBackward, FloatThreadedEqualsOneThread) {
  const auto [V, C] = GetParam();
  const std::vector<int32_t> ids = {7, 3, 1, 3, 2, 3, 4, 6, 3, 8, 1, 3, 7, 7};
  const int64_t N = int64_t(ids.size());
  const std::vector<double> rd = random_vector(size_t(N * C), 31);
  const std::vector<float> r(rd.begin(), rd.end());
  std::vector<float> one;
  for (const int threads : kThreadCounts) {
    SCOPED_TRACE(::testing::Message() << threads << " threads");
    ThreadCount tc(threads);
    std::vector<float> d(size_t(V * C), 0.5f);
    embedding_backward<float>(ids.data(), r.data(), d.data(), N, V, C);
    if (threads == 1)
      one = d;
    else
      EXPECT_TRUE(d == one);
  }
}

// C = 13 divides by neither 2 nor 3; C = 2 leaves the third thread no columns; C = 67 gives each thread
// slices of 22 to 34 columns, long enough for the compiler's vector loop and its tail.
INSTANTIATE_TEST_SUITE_P(Shapes, ThreadedEmbeddingBackward,
                         ::testing::Values(EmbeddingCase{11, 13}, EmbeddingCase{11, 2},
                                           EmbeddingCase{12, 67}),
                         [](const auto& info) {
                           std::ostringstream os;
                           os << info.param;
                           return os.str();
                         });

}  // namespace
}  // namespace seek
