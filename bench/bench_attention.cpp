// Causal attention forward+backward in fp32: seek's flash kernel against a materialised-softmax peer that
// stores the [Tn, Tn] probabilities per (b, h) and does its products with seek::gemm (oneDNN).
// Shapes: H = 4, Dqk = 48, Dv = 32 (our small model), B·Tn = 2048 tokens at Tn = 256, 512, 1024, 2048.
//
// FLOP convention (the usual one for causal flash attention): forward = 2·B·H·(Tn²/2)·(Dqk + Dv), i.e. the
// causal half of Q·Kᵀ and P·V; backward = 2.5 × forward; a forward+backward iteration = 3.5 × forward. The
// naive peer is credited the same FLOPs although it multiplies full Tn × Tn matrices, so its GFLOP/s is
// "useful work per second" and the ratio of the two counters is the speed-up.
// scratch_bytes: per-thread scratch of the flash kernel, O(tile · (Dqk + Dv + tile)) and the same at every
// Tn; for the peer, its materialised P and dP (Tn² floats each), which grow 4× per doubling of Tn.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.hpp"
#include "kernels/attention.hpp"
#include "kernels/gemm.hpp"

namespace seek {
namespace {

constexpr int64_t kH = 4, kDqk = 48, kDv = 32, kTokens = 2048;

struct Problem {
  int64_t B, Tn;
  float scale = 1.0f / std::sqrt(float(kDqk));
  std::vector<float> q, k, v, out, lse, dout, dq, dk, dv;
  explicit Problem(int64_t tn) : B(kTokens / tn), Tn(tn) {
    Rng rng(42);
    auto fill = [&](std::vector<float>& x, size_t n) {
      x.resize(n);
      for (auto& e : x) e = float(rng.normal());
    };
    const size_t nqk = size_t(B * Tn * kH * kDqk), nv = size_t(B * Tn * kH * kDv);
    fill(q, nqk);
    fill(k, nqk);
    fill(v, nv);
    fill(dout, nv);
    out.resize(nv);
    dv.resize(nv);
    dq.resize(nqk);
    dk.resize(nqk);
    lse.resize(size_t(B * kH * Tn));
  }
  double forward_flops() const { return 2.0 * double(B * kH) * (double(Tn) * double(Tn) / 2) * (kDqk + kDv); }
};

void set_counters(benchmark::State& state, const Problem& p, double flops_per_iter, size_t scratch_bytes) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["scratch_bytes"] = double(scratch_bytes);
  state.counters["B"] = double(p.B);
}

void BM_flash_fwd_bwd(benchmark::State& state) {
  Problem p(state.range(0));
  for (auto _ : state) {
    attention_forward<float>(p.q.data(), p.k.data(), p.v.data(), p.out.data(), p.lse.data(), p.B, p.Tn, kH,
                             kDqk, kDv, p.scale);
    attention_backward<float>(p.q.data(), p.k.data(), p.v.data(), p.out.data(), p.lse.data(), p.dout.data(),
                              p.dq.data(), p.dk.data(), p.dv.data(), p.B, p.Tn, kH, kDqk, kDv, p.scale);
    benchmark::DoNotOptimize(p.dq.data());
  }
  const size_t scratch = std::max(attention_scratch_bytes_per_thread<float>(kDqk, kDv, false),
                                  attention_scratch_bytes_per_thread<float>(kDqk, kDv, true));
  set_counters(state, p, 3.5 * p.forward_flops(), scratch);
}

void BM_flash_fwd(benchmark::State& state) {
  Problem p(state.range(0));
  for (auto _ : state) {
    attention_forward<float>(p.q.data(), p.k.data(), p.v.data(), p.out.data(), p.lse.data(), p.B, p.Tn, kH,
                             kDqk, kDv, p.scale);
    benchmark::DoNotOptimize(p.out.data());
  }
  set_counters(state, p, p.forward_flops(), attention_scratch_bytes_per_thread<float>(kDqk, kDv, false));
}

// Materialised softmax, one (b, h) at a time: S = scale·Q·Kᵀ (full Tn × Tn), mask, softmax rows into P,
// O = P·V; backward dP = dO·Vᵀ, dV = Pᵀ·dO, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = scale·dS·K,
// dK = scale·dSᵀ·Q. The GEMMs are oneDNN's and use all threads; the softmax rows are split across threads.
void naive_fwd_bwd(Problem& p, std::vector<float>& P, std::vector<float>& dP) {
  const int64_t T = p.Tn, ldq = kH * kDqk, ldv = kH * kDv;
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < kH; ++h) {
      const size_t qo = size_t(b * T * ldq + h * kDqk), vo = size_t(b * T * ldv + h * kDv);
      gemm<float>(false, true, T, T, kDqk, p.scale, p.q.data() + qo, ldq, p.k.data() + qo, ldq, 0.0f,
                  P.data(), T);
#pragma omp parallel for schedule(static)
      for (int64_t t = 0; t < T; ++t) {
        float* row = P.data() + t * T;
        float mx = -INFINITY;
        for (int64_t j = 0; j <= t; ++j) mx = std::max(mx, row[j]);
        float sum = 0;
        for (int64_t j = 0; j <= t; ++j) sum += row[j] = std::exp(row[j] - mx);
        for (int64_t j = 0; j <= t; ++j) row[j] /= sum;
        for (int64_t j = t + 1; j < T; ++j) row[j] = 0;
      }
      gemm<float>(false, false, T, kDv, T, 1.0f, P.data(), T, p.v.data() + vo, ldv, 0.0f, p.out.data() + vo,
                  ldv);
      gemm<float>(false, true, T, T, kDv, 1.0f, p.dout.data() + vo, ldv, p.v.data() + vo, ldv, 0.0f,
                  dP.data(), T);
      gemm<float>(true, false, T, kDv, T, 1.0f, P.data(), T, p.dout.data() + vo, ldv, 0.0f, p.dv.data() + vo,
                  ldv);
#pragma omp parallel for schedule(static)
      for (int64_t t = 0; t < T; ++t) {
        const float* pr = P.data() + t * T;
        float* dr = dP.data() + t * T;
        float D = 0;
        for (int64_t j = 0; j <= t; ++j) D += pr[j] * dr[j];
        for (int64_t j = 0; j < T; ++j) dr[j] = pr[j] * (dr[j] - D);
      }
      gemm<float>(false, false, T, kDqk, T, p.scale, dP.data(), T, p.k.data() + qo, ldq, 0.0f,
                  p.dq.data() + qo, ldq);
      gemm<float>(true, false, T, kDqk, T, p.scale, dP.data(), T, p.q.data() + qo, ldq, 0.0f,
                  p.dk.data() + qo, ldq);
    }
}

void BM_naive_fwd_bwd(benchmark::State& state) {
  Problem p(state.range(0));
  std::vector<float> P(size_t(p.Tn * p.Tn)), dP(P.size());
  for (auto _ : state) {
    naive_fwd_bwd(p, P, dP);
    benchmark::DoNotOptimize(p.dq.data());
  }
  set_counters(state, p, 3.5 * p.forward_flops(), 2 * P.size() * sizeof(float));
}

BENCHMARK(BM_flash_fwd_bwd)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_naive_fwd_bwd)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_flash_fwd)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace seek

BENCHMARK_MAIN();
