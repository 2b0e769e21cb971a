// Flash attention against a materialised-softmax reference in double, finite-difference gradients in double,
// float/double agreement, and bit-exact determinism across runs and thread counts.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/attention.hpp"
#include "support/gradcheck.hpp"

namespace seek {
namespace {

using test::random_vector;

struct Shape {
  int64_t B, Tn, H, Dqk, Dv;
};

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  return os << "B" << s.B << "_T" << s.Tn << "_H" << s.H << "_Dqk" << s.Dqk << "_Dv" << s.Dv;
}

// Naive causal attention: the full probability row for each query, then Σ P v.
void reference_forward(const std::vector<double>& q, const std::vector<double>& k,
                       const std::vector<double>& v, std::vector<double>& out, std::vector<double>& lse,
                       const Shape& s, double scale) {
  out.assign(size_t(s.B * s.Tn * s.H * s.Dv), 0.0);
  lse.assign(size_t(s.B * s.H * s.Tn), 0.0);
  std::vector<double> p(size_t(s.Tn));
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h)
      for (int64_t t = 0; t < s.Tn; ++t) {
        const double* qt = &q[size_t(((b * s.Tn + t) * s.H + h) * s.Dqk)];
        double mx = -INFINITY;
        for (int64_t j = 0; j <= t; ++j) {
          const double* kj = &k[size_t(((b * s.Tn + j) * s.H + h) * s.Dqk)];
          double dot = 0;
          for (int64_t d = 0; d < s.Dqk; ++d) dot += qt[d] * kj[d];
          p[size_t(j)] = scale * dot;
          mx = std::max(mx, p[size_t(j)]);
        }
        double sum = 0;
        for (int64_t j = 0; j <= t; ++j) sum += std::exp(p[size_t(j)] - mx);
        double* o = &out[size_t(((b * s.Tn + t) * s.H + h) * s.Dv)];
        for (int64_t j = 0; j <= t; ++j) {
          const double pj = std::exp(p[size_t(j)] - mx) / sum;
          const double* vj = &v[size_t(((b * s.Tn + j) * s.H + h) * s.Dv)];
          for (int64_t d = 0; d < s.Dv; ++d) o[d] += pj * vj[d];
        }
        lse[size_t((b * s.H + h) * s.Tn + t)] = mx + std::log(sum);
      }
}

struct Inputs {
  std::vector<double> q, k, v;
  double scale;
};

Inputs make_inputs(const Shape& s, uint64_t seed, double amplitude = 1.0) {
  return {random_vector(size_t(s.B * s.Tn * s.H * s.Dqk), seed, amplitude),
          random_vector(size_t(s.B * s.Tn * s.H * s.Dqk), seed + 1, amplitude),
          random_vector(size_t(s.B * s.Tn * s.H * s.Dv), seed + 2), 1.0 / std::sqrt(double(s.Dqk))};
}

std::vector<float> to_float(const std::vector<double>& x) {
  return {x.begin(), x.end()};
}

class AttentionShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(AttentionShapes, ForwardMatchesMaterialisedSoftmax) {
  const Shape s = GetParam();
  // Amplitude 2 makes scores of several units, so the softmax is far from uniform and max subtraction
  // matters.
  Inputs in = make_inputs(s, 7, 2.0);
  std::vector<double> ref_out, ref_lse;
  reference_forward(in.q, in.k, in.v, ref_out, ref_lse, s, in.scale);

  std::vector<double> out(ref_out.size()), lse(ref_lse.size());
  attention_forward<double>(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(), s.B, s.Tn, s.H,
                            s.Dqk, s.Dv, in.scale);
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref_out[i], 1e-12) << "out " << i;
  for (size_t i = 0; i < lse.size(); ++i) ASSERT_NEAR(lse[i], ref_lse[i], 1e-12) << "lse " << i;

  auto qf = to_float(in.q), kf = to_float(in.k), vf = to_float(in.v);
  std::vector<float> outf(ref_out.size()), lsef(ref_lse.size());
  attention_forward<float>(qf.data(), kf.data(), vf.data(), outf.data(), lsef.data(), s.B, s.Tn, s.H, s.Dqk,
                           s.Dv, float(in.scale));
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(outf[i], ref_out[i], 2e-5) << "float out " << i;
  for (size_t i = 0; i < lse.size(); ++i)
    ASSERT_NEAR(lsef[i], ref_lse[i], 2e-5 * (1 + std::abs(ref_lse[i]))) << "float lse " << i;
}

INSTANTIATE_TEST_SUITE_P(All, AttentionShapes,
                         ::testing::Values(Shape{1, 1, 1, 4, 4},         // a single token attends to itself
                                           Shape{1, 1, 3, 48, 32},       //
                                           Shape{2, 5, 3, 7, 5},         // odd head dims: scalar tails
                                           Shape{1, 64, 2, 48, 32},      // exactly one tile
                                           Shape{2, 100, 3, 48, 32},     // partial second tile, B, H > 1
                                           Shape{1, 130, 1, 19, 33},     // three tiles, Dqk < Dv
                                           Shape{1, 129, 2, 192, 128}),  // the large MLA head dims
                         [](const auto& info) {
                           std::ostringstream os;
                           os << info.param;
                           return os.str();
                         });

// L = <out, w>: dL/dout = w. The loss sums w·(out − out₀) against the unperturbed output so that outputs a
// perturbation does not reach cancel exactly, leaving only the perturbed entries' rounding in the difference.
class AttentionGradient : public ::testing::TestWithParam<Shape> {};

TEST_P(AttentionGradient, MatchesFiniteDifferences) {
  const Shape s = GetParam();
  Inputs in = make_inputs(s, 11, 1.5);
  const std::vector<double> w = random_vector(size_t(s.B * s.Tn * s.H * s.Dv), 99);
  std::vector<double> out(w.size()), lse(size_t(s.B * s.H * s.Tn));
  auto forward = [&] {
    attention_forward<double>(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(), s.B, s.Tn, s.H,
                              s.Dqk, s.Dv, in.scale);
  };
  forward();
  const std::vector<double> out0 = out, lse0 = lse;
  std::vector<double> dq(in.q.size()), dk(in.k.size()), dv(in.v.size());
  attention_backward<double>(in.q.data(), in.k.data(), in.v.data(), out0.data(), lse0.data(), w.data(),
                             dq.data(), dk.data(), dv.data(), s.B, s.Tn, s.H, s.Dqk, s.Dv, in.scale);
  auto loss = [&] {
    forward();
    double l = 0;
    for (size_t i = 0; i < out.size(); ++i) l += w[i] * (out[i] - out0[i]);
    return l;
  };
  auto rq = test::check_gradient(in.q, dq, loss, 1e-5, 400);
  EXPECT_LT(rq.max_rel_err, 1e-6) << "dq worst index " << rq.worst_index;
  auto rk = test::check_gradient(in.k, dk, loss, 1e-5, 400);
  EXPECT_LT(rk.max_rel_err, 1e-6) << "dk worst index " << rk.worst_index;
  auto rv = test::check_gradient(in.v, dv, loss, 1e-5, 400);
  EXPECT_LT(rv.max_rel_err, 1e-6) << "dv worst index " << rv.worst_index;
}

// Tn = 70: one full tile and a partial one, so cross-tile terms are covered. Head dims 5 / 3 run the kernels'
// scalar tails only; 24 / 16 their vector bodies (8 doubles per AVX-512 register) as well.
INSTANTIATE_TEST_SUITE_P(Shapes, AttentionGradient,
                         ::testing::Values(Shape{2, 70, 2, 5, 3}, Shape{1, 70, 2, 24, 16}),
                         [](const auto& info) {
                           std::ostringstream os;
                           os << info.param;
                           return os.str();
                         });

struct Grads {
  std::vector<float> out, lse, dq, dk, dv;
};

Grads run_float(const Shape& s, const Inputs& in, const std::vector<double>& dout) {
  auto q = to_float(in.q), k = to_float(in.k), v = to_float(in.v), g = to_float(dout);
  Grads r{std::vector<float>(v.size()), std::vector<float>(size_t(s.B * s.H * s.Tn)),
          std::vector<float>(q.size()), std::vector<float>(k.size()), std::vector<float>(v.size())};
  attention_forward<float>(q.data(), k.data(), v.data(), r.out.data(), r.lse.data(), s.B, s.Tn, s.H, s.Dqk,
                           s.Dv, float(in.scale));
  // Garbage in the outputs must not leak in: they are overwritten, not accumulated.
  std::fill(r.dq.begin(), r.dq.end(), 1e30f);
  std::fill(r.dk.begin(), r.dk.end(), -7.0f);
  std::fill(r.dv.begin(), r.dv.end(), NAN);
  attention_backward<float>(q.data(), k.data(), v.data(), r.out.data(), r.lse.data(), g.data(), r.dq.data(),
                            r.dk.data(), r.dv.data(), s.B, s.Tn, s.H, s.Dqk, s.Dv, float(in.scale));
  return r;
}

void expect_close(const std::vector<float>& f, const std::vector<double>& d, const char* what) {
  double scale = 0;
  for (double x : d) scale = std::max(scale, std::abs(x));
  for (size_t i = 0; i < d.size(); ++i) ASSERT_NEAR(f[i], d[i], 1e-4 * scale) << what << " " << i;
}

TEST(Attention, FloatBackwardAgreesWithDouble) {
  for (const Shape& s : {Shape{2, 150, 3, 48, 32}, Shape{1, 77, 2, 192, 128}}) {
    Inputs in = make_inputs(s, 21);
    const std::vector<double> dout = random_vector(size_t(s.B * s.Tn * s.H * s.Dv), 5);
    std::vector<double> out(dout.size()), lse(size_t(s.B * s.H * s.Tn));
    std::vector<double> dq(in.q.size()), dk(in.k.size()), dv(in.v.size());
    attention_forward<double>(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(), s.B, s.Tn, s.H,
                              s.Dqk, s.Dv, in.scale);
    attention_backward<double>(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(), dout.data(),
                               dq.data(), dk.data(), dv.data(), s.B, s.Tn, s.H, s.Dqk, s.Dv, in.scale);
    Grads f = run_float(s, in, dout);
    expect_close(f.dq, dq, "dq");
    expect_close(f.dk, dk, "dk");
    expect_close(f.dv, dv, "dv");
  }
}

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(Attention, DeterministicAcrossRunsAndThreadCounts) {
  const Shape s{3, 200, 4, 48, 32};
  Inputs in = make_inputs(s, 3);
  const std::vector<double> dout = random_vector(size_t(s.B * s.Tn * s.H * s.Dv), 4);
  // Thread counts set here, not inherited: ctest runs every test with OMP_NUM_THREADS=1.
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  Grads a = run_float(s, in, dout);
  Grads b = run_float(s, in, dout);
  omp_set_num_threads(1);
  Grads c = run_float(s, in, dout);
  omp_set_num_threads(3);
  Grads d = run_float(s, in, dout);
  omp_set_num_threads(saved);
  for (const Grads* g : {&b, &c, &d}) {
    EXPECT_TRUE(bit_equal(a.out, g->out));
    EXPECT_TRUE(bit_equal(a.lse, g->lse));
    EXPECT_TRUE(bit_equal(a.dq, g->dq));
    EXPECT_TRUE(bit_equal(a.dk, g->dk));
    EXPECT_TRUE(bit_equal(a.dv, g->dv));
  }
}

TEST(Attention, ScratchDoesNotGrowWithSequenceLength) {
  // The per-thread scratch is a function of the head dims only; 48/32 fp32 stays well inside L2.
  EXPECT_LT(attention_scratch_bytes_per_thread<float>(48, 32, true), size_t(128) << 10);
  EXPECT_LT(attention_scratch_bytes_per_thread<float>(192, 128, true), size_t(256) << 10);
}

}  // namespace
}  // namespace seek
