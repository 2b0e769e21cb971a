// PackedWeight: the product through oneDNN's blocked weight layout against a double reference (fp32 and bf16
// weights, padded leading dims, shapes that do not fill the layout's blocks, a layout needing a repack), and
// each row's result independent of how many rows the call has (what keeps a sequence in a batch equal to it
// alone).
#include <gtest/gtest.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cmath>
#include <cstring>
#include <tuple>
#include <vector>

#include "core/dtype.hpp"
#include "core/rng.hpp"
#include "kernels/gemm.hpp"
#include "kernels/packed_weight.hpp"

namespace seek {
namespace {

struct Weights {
  int64_t N, K;
  std::vector<float> f;     // the bf16-representable values, as fp32
  std::vector<uint16_t> b;  // the same values as bf16
  Weights(int64_t n, int64_t k, uint64_t seed) : N(n), K(k), f(size_t(n * k)), b(f.size()) {
    Rng rng(seed);
    for (size_t i = 0; i < f.size(); ++i) {
      b[i] = f32_to_bf16(float(rng.normal()));
      f[i] = bf16_to_f32(b[i]);
    }
  }
};

std::vector<float> inputs(int64_t M, int64_t ldx, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(size_t(M * ldx));
  for (auto& v : x) v = float(rng.normal());
  return x;
}

// Y = X · Wᵀ in double from the inputs as given (fp32 weights) or rounded to bf16 (bf16 weights), checked
// to fp32 accumulation error; columns past N in each row of Y untouched.
void check(const Weights& w, bool bf16, int64_t M, int64_t ldx, int64_t ldy) {
  const std::vector<float> x = inputs(M, ldx, uint64_t(M * 31 + w.N));
  PackedWeight p = bf16 ? PackedWeight(w.b.data(), w.N, w.K) : PackedWeight(w.f.data(), w.N, w.K);
  EXPECT_EQ(p.rows(), w.N);
  EXPECT_EQ(p.cols(), w.K);
  EXPECT_GE(p.bytes(), size_t(w.N * w.K) * (bf16 ? 2 : 4));
  std::vector<float> y(size_t(M * ldy), 7.0f);
  p.apply(x.data(), ldx, y.data(), ldy, M);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < w.N; ++n) {
      double want = 0, mag = 0;
      for (int64_t k = 0; k < w.K; ++k) {
        const float xv = bf16 ? bf16_to_f32(f32_to_bf16(x[size_t(m * ldx + k)])) : x[size_t(m * ldx + k)];
        const double prod = double(xv) * w.f[size_t(n * w.K + k)];
        want += prod;
        mag += std::abs(prod);
      }
      ASSERT_NEAR(y[size_t(m * ldy + n)], want, 1.2e-7 * double(w.K) * mag)
          << (bf16 ? "bf16 " : "f32 ") << w.N << "x" << w.K << " M " << M << " @" << m << "," << n;
    }
    for (int64_t n = w.N; n < ldy; ++n) ASSERT_EQ(y[size_t(m * ldy + n)], 7.0f);
  }
}

TEST(PackedWeight, MatchesADoubleReference) {
  for (bool bf16 : {false, true}) {
    if (bf16 && !have_bf16_gemm()) continue;
    for (auto [N, K] : {std::pair<int64_t, int64_t>{1, 1}, {45, 300}, {64, 64}, {130, 33}, {576, 512}}) {
      const Weights w(N, K, uint64_t(N * 7 + K));
      for (int64_t M : {1, 3, 16, 17, 64}) check(w, bf16, M, K + (M % 2 ? 5 : 0), N + (M % 3 ? 3 : 0));
    }
  }
}

// A weight held in a layout the product does not ask for is repacked on each call, with the same results.
TEST(PackedWeight, RepacksPerCallWhereTheLayoutDiffers) {
  struct KeepPlain {  // switched off again however the test ends
    KeepPlain() { packed_weight_keep_plain_for_tests(true); }
    ~KeepPlain() { packed_weight_keep_plain_for_tests(false); }
  } keep_plain;
  for (bool bf16 : {false, true}) {
    if (bf16 && !have_bf16_gemm()) continue;
    for (auto [N, K] : {std::pair<int64_t, int64_t>{45, 300}, {576, 512}}) {
      const Weights w(N, K, uint64_t(N * 3 + K));
      for (int64_t M : {1, 17, 64}) check(w, bf16, M, K + 3, N + 1);
    }
  }
}

// oneDNN's AVX-512 kernels (brgemm) sum each row in the same order whatever M is: bit-identical rows. Below
// AVX-512 (tests/CMakeLists.txt also runs this file with oneDNN capped at AVX2) it picks other kernels for
// some M (one row, 63 rows), whose rows agree to rounding only.
bool rows_bit_identical() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto avx512 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  return (isa & avx512) == avx512;
}

TEST(PackedWeight, RowResultsDoNotDependOnTheOtherRows) {
  for (bool bf16 : {false, true}) {
    if (bf16 && !have_bf16_gemm()) continue;
    for (auto [N, K] : {std::pair<int64_t, int64_t>{300, 2048}, {2048, 1408}, {100, 10944}}) {
      const Weights w(N, K, uint64_t(N + K));
      PackedWeight p = bf16 ? PackedWeight(w.b.data(), N, K) : PackedWeight(w.f.data(), N, K);
      const int64_t M = 64;
      const std::vector<float> x = inputs(M, K, 9);
      std::vector<float> all(size_t(M * N));
      p.apply(x.data(), K, all.data(), N, M);
      for (int64_t rows : {1, 4, 16, 17, 63}) {
        std::vector<float> some(size_t(rows * N));
        const int64_t first = M - rows;  // the last rows, alone
        p.apply(x.data() + first * K, K, some.data(), N, rows);
        if (rows_bit_identical()) {
          EXPECT_EQ(0, std::memcmp(some.data(), all.data() + first * N, some.size() * sizeof(float)))
              << (bf16 ? "bf16 " : "f32 ") << N << "x" << K << ", " << rows << " rows";
          continue;
        }
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t n = 0; n < N; ++n) {
            double mag = 0;  // Σ|products|: the scale of fp32 summation error
            for (int64_t k = 0; k < K; ++k)
              mag += std::abs(double(x[size_t((first + r) * K + k)]) * w.f[size_t(n * K + k)]);
            ASSERT_NEAR(some[size_t(r * N + n)], all[size_t((first + r) * N + n)], 2.4e-7 * double(K) * mag)
                << rows << " rows";
          }
      }
    }
  }
}

}  // namespace
}  // namespace seek
