#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/dtype.hpp"
#include "core/rng.hpp"
#include "kernels/gemm.hpp"

namespace seek {
namespace {

// Naive row-major reference for op(A)·op(B).
std::vector<double> reference(bool ta, bool tb, int M, int N, int K, const std::vector<float>& A, int lda,
                              const std::vector<float>& B, int ldb) {
  std::vector<double> C(size_t(M) * N, 0.0);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0;
      for (int k = 0; k < K; ++k)
        s += double(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
      C[size_t(i) * N + j] = s;
    }
  return C;
}

class GemmShapes : public ::testing::TestWithParam<std::tuple<bool, bool, int, int, int>> {};

TEST_P(GemmShapes, MatchesNaiveForAllTransposesAlphaBeta) {
  auto [ta, tb, M, N, K] = GetParam();
  Rng rng(M * 131 + N * 17 + K);
  int lda = ta ? M + 3 : K + 2, ldb = tb ? K + 1 : N + 5, ldc = N + 4;  // padded leading dims on purpose
  std::vector<float> A(size_t(ta ? K : M) * lda), B(size_t(tb ? N : K) * ldb), C(size_t(M) * ldc);
  for (auto& v : A) v = float(rng.normal());
  for (auto& v : B) v = float(rng.normal());
  for (auto& v : C) v = float(rng.normal());
  std::vector<float> C0 = C;
  auto ref = reference(ta, tb, M, N, K, A, lda, B, ldb);
  const float alpha = 0.5f, beta = 2.0f;
  gemm<float>(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double want = alpha * ref[size_t(i) * N + j] + beta * C0[size_t(i) * ldc + j];
      ASSERT_NEAR(C[size_t(i) * ldc + j], want, 1e-4 * (1 + std::abs(want))) << i << "," << j;
    }
  for (int i = 0; i < M; ++i)  // padding columns untouched
    for (int j = N; j < ldc; ++j) ASSERT_EQ(C[size_t(i) * ldc + j], C0[size_t(i) * ldc + j]);

  // The fp64 path gives the same product.
  std::vector<double> Ad(A.begin(), A.end()), Bd(B.begin(), B.end()), Cd(size_t(M) * ldc, 0.0);
  gemm<double>(ta, tb, M, N, K, 1.0, Ad.data(), lda, Bd.data(), ldb, 0.0, Cd.data(), ldc);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) ASSERT_NEAR(Cd[size_t(i) * ldc + j], ref[size_t(i) * N + j], 1e-9);
}

INSTANTIATE_TEST_SUITE_P(All, GemmShapes,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Values(1, 7, 64),
                                            ::testing::Values(1, 33), ::testing::Values(5, 130)));

// bf16 operands: every product of two bf16 values is exact in fp32, so the result is the double reference up
// to fp32 accumulation error (bounded by K·eps·Σ|products|), whatever order oneDNN sums in.
TEST(Gemm, Bf16OperandsMatchDoubleReferenceOnTheRoundedValues) {
  if (!have_bf16_gemm()) GTEST_SKIP() << "oneDNN has no bf16 matmul on this CPU";
  for (auto [M, N, K] : {std::tuple{1, 1, 1}, {17, 33, 5}, {64, 130, 2048}, {100, 7, 300}, {3, 257, 64}}) {
    Rng rng(uint64_t(M * 7 + N * 3 + K));
    const int ldx = K + 3, ldw = K + 9, ldy = N + 2;  // padded leading dims on purpose
    std::vector<uint16_t> X(size_t(M) * ldx), W(size_t(N) * ldw);
    for (auto& v : X) v = f32_to_bf16(float(rng.normal()));
    for (auto& v : W) v = f32_to_bf16(float(rng.normal()));
    std::vector<float> Y(size_t(M) * ldy, 7.0f);
    gemm_bf16_nt(M, N, K, X.data(), ldx, W.data(), ldw, Y.data(), ldy);
    for (int i = 0; i < M; ++i) {
      for (int j = 0; j < N; ++j) {
        double want = 0, mag = 0;
        for (int k = 0; k < K; ++k) {
          const double p = double(bf16_to_f32(X[size_t(i) * ldx + k])) * bf16_to_f32(W[size_t(j) * ldw + k]);
          want += p;
          mag += std::abs(p);
        }
        ASSERT_NEAR(Y[size_t(i) * ldy + j], want, 1.2e-7 * K * mag) << M << "x" << N << "x" << K;
      }
      for (int j = N; j < ldy; ++j) ASSERT_EQ(Y[size_t(i) * ldy + j], 7.0f);  // padding untouched
    }
  }
}

// tests/CMakeLists.txt runs this file a second time with oneDNN capped at plain AVX-512, where its bf16
// matmul would be emulated: the engine must not take it there.
TEST(Gemm, Bf16NeedsNativeBf16DotProducts) {
  const char* cap = std::getenv("DNNL_MAX_CPU_ISA");
  if (!cap || std::string(cap) != "AVX512_CORE") GTEST_SKIP() << "runs with DNNL_MAX_CPU_ISA=AVX512_CORE";
  EXPECT_FALSE(have_bf16_gemm());
}

TEST(Gemm, PrimitivesAreCachedPerShape) {
  std::vector<float> A(64 * 64, 1.0f), B(64 * 64, 1.0f), C(64 * 64);
  gemm<float>(false, false, 64, 64, 64, 1.0f, A.data(), 64, B.data(), 64, 0.0f, C.data(), 64);
  size_t n = gemm_cache_size();
  gemm<float>(false, false, 64, 64, 64, 1.0f, A.data(), 64, B.data(), 64, 0.0f, C.data(), 64);
  EXPECT_EQ(gemm_cache_size(), n);
  EXPECT_FLOAT_EQ(C[0], 64.0f);
}

// Under `ulimit -v` the cache keeps only the kernels the generated-code budget holds (each shape's reserve
// ~0.8 MB of address space): more shapes than that leave the address space bounded and the results right.
// With up to 4096 kept, a GRPO run segfaulted inside oneDNN under 350-400 MB (test_cli_grpo_address_space).
TEST(Gemm, CacheStaysWithinItsBudgetUnderAnAddressSpaceLimit) {
  EXPECT_EQ(gemm_cache_capacity(), 4096u);  // no limit (ctest sets none)
  auto vm_bytes = [] {
    std::ifstream statm("/proc/self/statm");
    long long pages = 0;
    statm >> pages;
    return pages * sysconf(_SC_PAGESIZE);
  };
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_AS, &saved), 0);
  ASSERT_EQ(saved.rlim_cur, RLIM_INFINITY) << "run this test without `ulimit -v`";
  const long long start = vm_bytes();
  rlimit limited = saved;
  limited.rlim_cur = rlim_t(start + (512LL << 20));
  ASSERT_EQ(setrlimit(RLIMIT_AS, &limited), 0);
  const size_t capacity = gemm_cache_capacity();
  std::vector<float> A(400 * 64), B(64 * 32), C(400 * 32);
  for (size_t i = 0; i < A.size(); ++i) A[i] = float(i % 7) - 3;
  for (size_t i = 0; i < B.size(); ++i) B[i] = float(i % 5) - 2;
  bool right = true;
  for (int64_t m = 1; m <= int64_t(capacity) + 100; ++m) {
    gemm<float>(false, false, m, 32, 64, 1.0f, A.data(), 64, B.data(), 32, 0.0f, C.data(), 32);
    double want = 0;  // the last row's first column
    for (int64_t k = 0; k < 64; ++k) want += double(A[size_t((m - 1) * 64 + k)]) * double(B[size_t(k * 32)]);
    right = right && C[size_t((m - 1) * 32)] == float(want);
  }
  const size_t cached = gemm_cache_size();
  const long long grown = vm_bytes() - start;
  ASSERT_EQ(setrlimit(RLIMIT_AS, &saved), 0);
  EXPECT_EQ(capacity, size_t((start + (512LL << 20)) / 16 / (1 << 20)));
  EXPECT_LE(cached, capacity);
  EXPECT_TRUE(right);
  // The kernels kept, and some slack for malloc; 100 more shapes than that kept would be ~80 MB more.
  EXPECT_LT(grown, (long long)(capacity + 24) << 20) << "kept " << cached << " of capacity " << capacity;
}

TEST(GemmRowsBucket, ExactUpTo32ThenAtMostOneSixteenthMore) {
  std::set<int64_t> buckets;
  int64_t previous = 0;
  for (int64_t n = 0; n <= 1 << 16; ++n) {
    const int64_t b = gemm_rows_bucket(n);
    if (n <= 32) {
      EXPECT_EQ(b, n);
    }
    ASSERT_GE(b, n);
    ASSERT_LE(16 * b, 17 * n) << n;
    ASSERT_GE(b, previous) << n;  // monotone: a bucket holds a range of counts
    ASSERT_EQ(gemm_rows_bucket(b), b) << n;
    previous = b;
    buckets.insert(b);
  }
  // 0..32, then 16 sizes per octave from 32 to 65536: 11 octaves.
  EXPECT_EQ(buckets.size(), size_t(33 + 16 * 11));
}

}  // namespace
}  // namespace seek
