// GEMM throughput through oneDNN at square sizes (the machine's practical peak) and at the shapes the small
// model's training step runs, with a naive triple loop as the peer for the ratio.
// Counter GFLOPs = 2·M·N·K per call.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/dtype.hpp"
#include "core/rng.hpp"
#include "kernels/gemm.hpp"
#include "kernels/packed_weight.hpp"

namespace {

void fill(std::vector<float>& v, uint64_t seed) {
  seek::Rng r(seed);
  for (auto& x : v) x = float(r.normal());
}

// args: M, N, K, trans_b (1 = W[N, K] as in a linear layer)
void BM_Gemm(benchmark::State& st) {
  const int64_t M = st.range(0), N = st.range(1), K = st.range(2);
  const bool tb = st.range(3) != 0;
  std::vector<float> A(size_t(M * K)), B(size_t(K * N)), C(size_t(M * N));
  fill(A, 1);
  fill(B, 2);
  for (auto _ : st) {
    seek::gemm<float>(false, tb, M, N, K, 1.0f, A.data(), K, B.data(), tb ? K : N, 0.0f, C.data(), N);
    benchmark::DoNotOptimize(C.data());
  }
  st.counters["GFLOPs"] = benchmark::Counter(2.0 * double(M * N * K) * double(st.iterations()),
                                             benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

// bf16 × bf16 with fp32 accumulation (gemm_bf16_nt, what linears over bf16 weights run above 16 rows).
void BM_GemmBf16(benchmark::State& st) {
  const int64_t M = st.range(0), N = st.range(1), K = st.range(2);
  if (!seek::have_bf16_gemm()) {
    st.SkipWithError("oneDNN has no bf16 matmul on this CPU");
    return;
  }
  std::vector<float> a(size_t(M * K)), b(size_t(K * N));
  fill(a, 1);
  fill(b, 2);
  std::vector<uint16_t> A(a.size()), B(b.size());
  for (size_t i = 0; i < a.size(); ++i) A[i] = seek::f32_to_bf16(a[i]);
  for (size_t i = 0; i < b.size(); ++i) B[i] = seek::f32_to_bf16(b[i]);
  std::vector<float> C(size_t(M * N));
  for (auto _ : st) {
    seek::gemm_bf16_nt(M, N, K, A.data(), K, B.data(), K, C.data(), N);
    benchmark::DoNotOptimize(C.data());
  }
  st.counters["GFLOPs"] = benchmark::Counter(2.0 * double(M * N * K) * double(st.iterations()),
                                             benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

// A linear layer's product through PackedWeight (the weight repacked once into oneDNN's blocked layout), at
// decode sizes: args M, N, K, bf16 (bf16 weights, inputs rounded). GB_s counts the weight's bytes, which a
// product over few rows has to stream from memory (the 102400 × 2048 head is 840 MB in fp32).
void BM_PackedLinear(benchmark::State& st) {
  const int64_t M = st.range(0), N = st.range(1), K = st.range(2);
  const bool bf16 = st.range(3) != 0;
  if (bf16 && !seek::have_bf16_gemm()) {
    st.SkipWithError("no native bf16 matmul on this CPU");
    return;
  }
  std::vector<float> w(size_t(N * K)), x(size_t(M * K)), y(size_t(M * N));
  fill(w, 2);
  fill(x, 1);
  std::vector<uint16_t> wb(w.size());
  for (size_t i = 0; i < w.size(); ++i) wb[i] = seek::f32_to_bf16(w[i]);
  const seek::PackedWeight p =
      bf16 ? seek::PackedWeight(wb.data(), N, K) : seek::PackedWeight(w.data(), N, K);
  w = {};
  wb = {};
  for (auto _ : st) {
    p.apply(x.data(), K, y.data(), N, M);
    benchmark::DoNotOptimize(y.data());
  }
  const double it = double(st.iterations());
  st.counters["GFLOPs"] = benchmark::Counter(2.0 * double(M * N * K) * it, benchmark::Counter::kIsRate,
                                             benchmark::Counter::kIs1000);
  st.counters["GB_s"] = benchmark::Counter(double(N * K) * (bf16 ? 2 : 4) * it, benchmark::Counter::kIsRate,
                                           benchmark::Counter::kIs1000);
}

void BM_NaiveGemm(benchmark::State& st) {
  const int64_t M = st.range(0), N = st.range(1), K = st.range(2);
  std::vector<float> A(size_t(M * K)), B(size_t(K * N)), C(size_t(M * N));
  fill(A, 1);
  fill(B, 2);
  for (auto _ : st) {
#pragma omp parallel for
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        float s = 0;
        for (int64_t k = 0; k < K; ++k) s += A[size_t(i * K + k)] * B[size_t(j * K + k)];
        C[size_t(i * N + j)] = s;
      }
    benchmark::DoNotOptimize(C.data());
  }
  st.counters["GFLOPs"] = benchmark::Counter(2.0 * double(M * N * K) * double(st.iterations()),
                                             benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

}  // namespace

BENCHMARK(BM_Gemm)
    ->Args({1024, 1024, 1024, 0})
    ->Args({2048, 2048, 2048, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
// small.json training shapes at B·T = 2048 tokens: attention projections, experts, output head
BENCHMARK(BM_Gemm)
    ->Args({2048, 256, 128, 1})
    ->Args({2048, 96, 256, 1})
    ->Args({2048, 192, 96, 1})
    ->Args({2048, 256, 256, 1})
    ->Args({512, 256, 256, 1})
    ->Args({2048, 512, 256, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
// Batch-64 decode at DeepSeek-V2-Lite's shapes (bench/infer/v2lite-2layer.json): output head, dense MLP up
// and down, q projection, o projection.
BENCHMARK(BM_Gemm)
    ->Args({64, 102400, 2048, 1})
    ->Args({64, 10944, 2048, 1})
    ->Args({64, 2048, 10944, 1})
    ->Args({64, 3072, 2048, 1})
    ->Args({64, 2048, 2048, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemmBf16)
    ->Args({64, 102400, 2048})
    ->Args({64, 10944, 2048})
    ->Args({64, 2048, 10944})
    ->Args({64, 3072, 2048})
    ->Args({64, 2048, 2048})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PackedLinear)
    ->Args({1, 102400, 2048, 0})
    ->Args({64, 102400, 2048, 0})
    ->Args({1, 102400, 2048, 1})
    ->Args({64, 102400, 2048, 1})
    ->Args({64, 10944, 2048, 0})
    ->Args({64, 10944, 2048, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NaiveGemm)->Args({2048, 256, 128, 1})->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
