// The KV cache's storage formats and the attention kernel that reads them: e4m3 rounding (every code, ties,
// saturation, NaN), bf16 / fp8 rows against their definitions, copy on write in every format, and
// cache_attention against a double-precision softmax attention over the decoded rows, for the absorbed (MQA)
// and naive (per-head) layouts, odd head counts and widths, and contexts split across threads.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "infer/cache_attention.hpp"
#include "infer/kv_cache.hpp"

namespace seek {
namespace {

TEST(Fp8E4m3, EveryFiniteCodeRoundTrips) {
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7f) == 0x7f) continue;  // NaN
    const float v = f8e4m3_to_f32(uint8_t(c));
    EXPECT_EQ(f32_to_f8e4m3(v), uint8_t(c)) << "code " << c << " value " << v;
  }
}

TEST(Fp8E4m3, RoundsToNearestEvenAndSaturates) {
  // 1.0 = 0x38, next 1.125 = 0x39, 1.25 = 0x3a: the midpoint 1.0625 goes to the even code 0x38, 1.1875 to
  // 0x3a.
  EXPECT_EQ(f32_to_f8e4m3(1.0625f), 0x38);
  EXPECT_EQ(f32_to_f8e4m3(1.1875f), 0x3a);
  EXPECT_EQ(f32_to_f8e4m3(1.07f), 0x39);
  EXPECT_EQ(f32_to_f8e4m3(-1.07f), 0xb9);
  // Subnormals are multiples of 2^-9; half of the smallest rounds to zero (even), 1.5 units to 2.
  EXPECT_EQ(f32_to_f8e4m3(std::ldexp(1.0f, -10)), 0x00);
  EXPECT_EQ(f32_to_f8e4m3(std::ldexp(3.0f, -10)), 0x02);
  // 7.5 units of 2^-9 ties between the largest subnormal (7) and the smallest normal (8 units): even = 8.
  EXPECT_EQ(f32_to_f8e4m3(std::ldexp(15.0f, -10)), 0x08);
  EXPECT_EQ(f32_to_f8e4m3(448.0f), 0x7e);
  EXPECT_EQ(f32_to_f8e4m3(1e6f), 0x7e);
  EXPECT_EQ(f32_to_f8e4m3(-std::numeric_limits<float>::infinity()), 0xfe);
  EXPECT_EQ(f32_to_f8e4m3(std::numeric_limits<float>::quiet_NaN()) & 0x7f, 0x7f);
  EXPECT_TRUE(std::isnan(f8e4m3_to_f32(0x7f)));
}

std::vector<float> random_row(int64_t n, uint64_t seed, float spread = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  // Magnitudes over several octaves, both signs.
  for (auto& x : v) x = float((rng.uniform() - 0.5) * std::exp2(spread * 8 * (rng.uniform() - 0.5)));
  return v;
}

TEST(KvCache, BytesPerTokenOfEachType) {
  EXPECT_EQ(KvCache(2, 576, CacheType::F32).bytes_per_token(), 2 * 576 * 4);
  EXPECT_EQ(KvCache(2, 576, CacheType::BF16).bytes_per_token(), 2 * 576 * 2);
  EXPECT_EQ(KvCache(2, 576, CacheType::FP8, 64, 64).bytes_per_token(), 2 * (576 + 9 * 4));
  // V2-Lite's absorbed row: 512 latent values in fp8 with 8 scales, the 64 roped-key values in bf16.
  EXPECT_EQ(KvCache(2, 576, CacheType::FP8, 64, 64, 64).bytes_per_token(), 2 * (512 + 8 * 4 + 64 * 2));
  EXPECT_THROW(KvCache(2, 576, CacheType::FP8, 64, 64, 32), Error);  // 544 fp8 values: not whole groups
  EXPECT_THROW(KvCache(2, 576, CacheType::FP8, 64, 100), Error);     // 100 does not divide 576
  CacheType t;
  EXPECT_TRUE(cache_type_from_name("fp8", &t));
  EXPECT_EQ(t, CacheType::FP8);
  EXPECT_FALSE(cache_type_from_name("fp16", &t));
}

TEST(KvCache, Bf16RowsAreRoundedToNearestEven) {
  const int64_t W = 37;  // not a multiple of the 16-lane decode
  KvCache c(1, W, CacheType::BF16, 4);
  const int s = c.create();
  c.prepare(s, 0, 3);
  auto x = random_row(W, 1);
  c.write_row(s, 0, 2, x.data());
  std::vector<float> scratch(static_cast<size_t>(W));
  const float* got = c.read_row(s, 0, 2, scratch.data());
  for (int64_t i = 0; i < W; ++i) EXPECT_EQ(got[i], bf16_to_f32(f32_to_bf16(x[size_t(i)]))) << i;
}

// Each group of g values is stored as e4m3(x / s), s = max|x| / 448: the decoded value is that code times s,
// which the test recomputes independently.
void check_fp8_row(int64_t W, int64_t g, uint64_t seed, int64_t tail = 0) {
  KvCache c(2, W, CacheType::FP8, 4, g, tail);
  const int s = c.create();
  c.prepare(s, 0, 5);
  auto x = random_row(W, seed, 2.0f);
  c.write_row(s, 1, 4, x.data());
  std::vector<float> scratch(static_cast<size_t>(W));
  const float* got = c.read_row(s, 1, 4, scratch.data());
  for (int64_t i = W - tail; i < W; ++i) EXPECT_EQ(got[i], bf16_to_f32(f32_to_bf16(x[size_t(i)]))) << i;
  for (int64_t g0 = 0; g0 < W - tail; g0 += g) {
    float amax = 0;
    for (int64_t i = g0; i < g0 + g; ++i) amax = std::max(amax, std::fabs(x[size_t(i)]));
    const float scale = amax / 448.0f;
    for (int64_t i = g0; i < g0 + g; ++i) {
      const float want = f8e4m3_to_f32(f32_to_f8e4m3(x[size_t(i)] * (1.0f / scale))) * scale;
      EXPECT_EQ(got[i], want) << "W " << W << " group " << g << " index " << i;
      // 3 mantissa bits: within 2^-4 relative, or half a subnormal step of the group.
      EXPECT_LE(std::fabs(got[i] - x[size_t(i)]),
                std::max(std::fabs(x[size_t(i)]) / 16, scale / 1024) * 1.0001f);
    }
  }
}

TEST(KvCache, Fp8RowsAreScaledE4m3PerGroup) {
  check_fp8_row(576, 64, 2);  // the vector decode
  check_fp8_row(24, 4, 3);    // the scalar tail
  check_fp8_row(80, 16, 4);
  check_fp8_row(576, 64, 5, 64);  // V2-Lite's absorbed row: latent in fp8, k_pe in bf16
  check_fp8_row(20, 16, 6, 4);
}

TEST(KvCache, Fp8GroupWithNanDecodesToNanAndLeavesOthersAlone) {
  KvCache c(1, 32, CacheType::FP8, 4, 16);
  const int s = c.create();
  c.prepare(s, 0, 1);
  std::vector<float> x(32, 0.5f);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  c.write_row(s, 0, 0, x.data());
  std::vector<float> scratch(32);
  const float* got = c.read_row(s, 0, 0, scratch.data());
  for (int i = 0; i < 16; ++i) EXPECT_TRUE(std::isnan(got[i])) << i;
  for (int i = 16; i < 32; ++i) EXPECT_EQ(got[i], 0.5f) << i;
}

TEST(KvCache, CopyOnWriteKeepsSharedRowsInEveryType) {
  for (CacheType t : {CacheType::F32, CacheType::BF16, CacheType::FP8}) {
    const int64_t W = 32;
    KvCache c(2, W, t, 4, 16);
    const int parent = c.create();
    c.prepare(parent, 0, 6);
    std::vector<std::vector<float>> rows;
    for (int64_t p = 0; p < 6; ++p) {
      rows.push_back(random_row(W, 10 + uint64_t(p)));
      for (int64_t l = 0; l < 2; ++l) c.write_row(parent, l, p, rows.back().data());
    }
    std::vector<float> a(static_cast<size_t>(W)), b(static_cast<size_t>(W));
    const int child = c.fork(parent, 6);
    c.prepare(child, 6, 7);  // shares block 0, copies block 1 (rows 4..5) before writing row 6
    EXPECT_EQ(c.block_refcount(child, 0), 2);
    EXPECT_EQ(c.block_refcount(child, 1), 1);
    auto other = random_row(W, 99);
    c.write_row(child, 0, 6, other.data());
    for (int64_t p = 0; p < 6; ++p) {
      const float* pa = c.read_row(parent, 1, p, a.data());
      const float* pb = c.read_row(child, 1, p, b.data());
      for (int64_t i = 0; i < W; ++i) ASSERT_EQ(pa[i], pb[i]) << cache_type_name(t) << " row " << p;
    }
  }
}

// Row `pos` of sequence `seq` as the cache returns it, rounded to bf16 if `bf16`.
std::vector<float> row_of(const KvCache& c, int32_t seq, int64_t pos, bool bf16) {
  std::vector<float> scratch(size_t(c.width()));
  const float* r = c.read_row(seq, 0, pos, scratch.data());
  std::vector<float> v(r, r + c.width());
  if (bf16)
    for (float& x : v) x = bf16_to_f32(f32_to_bf16(x));
  return v;
}

// Softmax attention in double over the rows as the cache returns them (rounded to bf16 if `bf16_rows`).
std::vector<double> reference_attention(const KvCache& c, const std::vector<float>& q,
                                        const std::vector<int32_t>& seq, const std::vector<int32_t>& pos,
                                        const CacheAttnShape& s, bool bf16_rows) {
  const int64_t N = int64_t(seq.size());
  std::vector<double> out(size_t(N * s.H * s.Dv), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < s.H; ++h) {
      const int64_t ctx = pos[size_t(n)] + 1;
      std::vector<double> sc(static_cast<size_t>(ctx));
      double mx = -1e300;
      for (int64_t j = 0; j < ctx; ++j) {
        const std::vector<float> row = row_of(c, seq[size_t(n)], j, bf16_rows);
        double d = 0;
        for (int64_t i = 0; i < s.Dk; ++i)
          d += double(q[size_t((n * s.H + h) * s.Dk + i)]) * double(row[s.k_off + h * s.k_hstride + i]);
        sc[size_t(j)] = d * s.scale;
        mx = std::max(mx, sc[size_t(j)]);
      }
      double z = 0;
      for (auto& v : sc) z += (v = std::exp(v - mx));
      for (int64_t j = 0; j < ctx; ++j) {
        const std::vector<float> row = row_of(c, seq[size_t(n)], j, bf16_rows);
        for (int64_t i = 0; i < s.Dv; ++i)
          out[size_t((n * s.H + h) * s.Dv + i)] +=
              sc[size_t(j)] / z * double(row[s.v_off + h * s.v_hstride + i]);
      }
    }
  return out;
}

// The largest |value| a token of `seqs` attends to.
double max_value(const KvCache& c, const std::vector<int32_t>& seqs, const CacheAttnShape& s) {
  std::vector<float> scratch(size_t(c.width()));
  double mx = 0;
  for (int32_t sq : seqs)
    for (int64_t j = 0; j < c.length(sq); ++j) {
      const float* row = c.read_row(sq, 0, j, scratch.data());
      for (int64_t h = 0; h < s.H; ++h)
        for (int64_t i = 0; i < s.Dv; ++i)
          mx = std::max(mx, std::fabs(double(row[s.v_off + h * s.v_hstride + i])));
    }
  return mx;
}

struct AttnCase {
  const char* name;
  CacheAttnShape shape;
  int64_t width;
};

TEST(CacheAttention, MatchesDoubleReferenceForEveryLayoutTypeAndSplit) {
  const AttnCase cases[] = {
      // absorbed / MQA: every head reads [c | k_pe] as key and c as value
      {"absorbed-v2lite", {16, 576, 512, 0, 0, 0, 0, 0.06f}, 576},
      {"absorbed-odd", {3, 20, 16, 0, 0, 0, 0, 0.2f}, 20},
      {"absorbed-h5", {5, 80, 64, 0, 0, 0, 0, 0.1f}, 80},
      // naive: per-head keys [H, 12] then per-head values [H, 8]
      {"naive-h5", {5, 12, 8, 0, 12, 60, 8, 0.3f}, 100},
      {"naive-h4-wide", {4, 48, 32, 0, 48, 192, 32, 0.15f}, 320},
  };
  const int saved = omp_get_max_threads();
  for (const AttnCase& tc : cases)
    for (CacheType t : {CacheType::F32, CacheType::BF16, CacheType::FP8})
      for (int threads : {1, 2}) {
        omp_set_num_threads(threads);
        KvCache c(1, tc.width, t, 16, 4);
        // A long sequence (split across work items when decoded alone), a short one, and a 1-token one.
        const std::vector<int64_t> lens = {700, 37, 1};
        std::vector<int32_t> seq, pos;
        uint64_t seed = 100;
        for (int64_t len : lens) {
          const int s = c.create();
          c.prepare(s, 0, len);
          for (int64_t p = 0; p < len; ++p) c.write_row(s, 0, p, random_row(tc.width, seed++).data());
          seq.push_back(s);
          pos.push_back(int32_t(len - 1));
        }
        seq.push_back(seq[0]);  // an earlier position of the long sequence (a prefill chunk's row)
        pos.push_back(300);
        for (int single = 0; single < 2; ++single) {
          // single: only the long sequence's last token (decode alone: its keys are split across items)
          std::vector<int32_t> sq = seq, ps = pos;
          if (single) {
            sq.resize(1);
            ps.resize(1);
          }
          const int64_t N = int64_t(sq.size());
          auto q = random_row(N * tc.shape.H * tc.shape.Dk, 7);
          std::vector<float> out(size_t(N * tc.shape.H * tc.shape.Dv));
          cache_attention(c, 0, q.data(), sq.data(), ps.data(), N, tc.shape, out.data());
          // With bf16 products the kernel rounds the queries, fp8 rows and the probabilities to bf16. The
          // reference rounds the first two alike; rounding the probabilities moves each weight of the convex
          // combination by at most 2·2^-9 of itself, so the output by at most 2^-8 of the largest value.
          const bool products = bf16_products(c, tc.shape);
          if (products)
            for (float& x : q) x = bf16_to_f32(f32_to_bf16(x));
          auto want = reference_attention(c, q, sq, ps, tc.shape, products);
          double err = 0;
          for (size_t i = 0; i < out.size(); ++i) err = std::max(err, std::fabs(double(out[i]) - want[i]));
          const double bound = products ? std::ldexp(max_value(c, sq, tc.shape), -8) : 2e-5;
          EXPECT_LT(err, bound) << tc.name << " " << cache_type_name(t) << " threads " << threads
                                << " single " << single;
        }
      }
  omp_set_num_threads(saved);
}

// Zero queries give every key the same score, so the probabilities are exactly 1 (also in bf16) and the
// output is the plain mean of the values (rounded to bf16 first where the products are bf16): this pins the
// bf16 products' pairing of keys, their column order and their tails (odd tiles, widths that are not a
// multiple of 32 or 64) to fp32 rounding, which the bound above cannot. Lengths around the tiles (64 keys, 56
// for decoded fp8 rows), and one long enough to be split across work items.
TEST(CacheAttention, ZeroQueriesAverageTheValuesInEveryLayout) {
  const AttnCase cases[] = {
      {"absorbed-v2lite", {16, 576, 512, 0, 0, 0, 0, 0.06f}, 576},
      {"absorbed-odd", {3, 20, 16, 0, 0, 0, 0, 0.2f}, 20},
      {"absorbed-h5", {5, 80, 72, 0, 0, 0, 0, 0.1f}, 80},
      {"naive-h5", {5, 12, 8, 0, 12, 60, 8, 0.3f}, 100},
  };
  for (const AttnCase& tc : cases)
    for (CacheType t : {CacheType::F32, CacheType::BF16, CacheType::FP8})
      for (int64_t len : {1, 2, 3, 55, 57, 63, 64, 65, 130, 700}) {
        KvCache c(1, tc.width, t, 16, 4);
        const int s = c.create();
        c.prepare(s, 0, len);
        for (int64_t p = 0; p < len; ++p)
          c.write_row(s, 0, p, random_row(tc.width, 500 + uint64_t(p)).data());
        const int32_t seq = s, pos = int32_t(len - 1);
        const std::vector<float> q(size_t(tc.shape.H * tc.shape.Dk), 0.0f);
        std::vector<float> out(size_t(tc.shape.H * tc.shape.Dv));
        cache_attention(c, 0, q.data(), &seq, &pos, 1, tc.shape, out.data());
        std::vector<double> sum(size_t(tc.shape.H * tc.shape.Dv), 0.0);
        for (int64_t j = 0; j < len; ++j) {
          const std::vector<float> row = row_of(c, s, j, bf16_products(c, tc.shape));
          for (int64_t h = 0; h < tc.shape.H; ++h)
            for (int64_t i = 0; i < tc.shape.Dv; ++i)
              sum[size_t(h * tc.shape.Dv + i)] += row[size_t(tc.shape.v_off + h * tc.shape.v_hstride + i)];
        }
        for (int64_t h = 0; h < tc.shape.H; ++h)
          for (int64_t i = 0; i < tc.shape.Dv; ++i) {
            const double mean = sum[size_t(h * tc.shape.Dv + i)] / double(len);
            ASSERT_NEAR(out[size_t(h * tc.shape.Dv + i)], mean, 1e-5)
                << tc.name << " " << cache_type_name(t) << " len " << len << " head " << h << " column " << i;
          }
      }
}

}  // namespace
}  // namespace seek
