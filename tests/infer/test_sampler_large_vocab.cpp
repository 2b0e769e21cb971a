// The sampler at vocabulary scale, where it works in blocks of tokens and searches for the most likely ones
// in rounds (infer/sampler.cpp): draws that skip whole blocks follow the returned distribution, the maximum
// and its ties are found across blocks, the top-k set is exact whichever round finds it, the nucleus found
// by bisection is the one a full sort gives, and tokens whose weight underflows in float keep their finite
// log-probability.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "infer/sampler.hpp"
#include "infer_test_util.hpp"
#include "support/error_of.hpp"

namespace seek {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// log-softmax of logits / T over all tokens, in double.
std::vector<double> log_softmax(const std::vector<float>& l, double T) {
  double mx = -1e300;
  for (float v : l) mx = std::max(mx, double(v) / T);
  double z = 0;
  for (float v : l) z += std::exp(double(v) / T - mx);
  std::vector<double> out(l.size());
  for (size_t i = 0; i < l.size(); ++i) out[i] = double(l[i]) / T - mx - std::log(z);
  return out;
}

// Mass spread over 5 blocks of 256 tokens with whole blocks masked (-inf) between them, so that the draw
// skips empty blocks and lands inside others: Pearson's χ² over 200,000 draws, 12 possible tokens, against
// χ²(11) at p = 1e-6 (~50.0).
TEST(SamplerLargeVocab, DrawsAcrossBlocksFollowTheReturnedDistribution) {
  const int64_t V = 5 * 256 + 37;
  std::vector<float> l(size_t(V), -kInf);
  const std::vector<int64_t> live = {0, 255, 256, 700, 701, 900, 1023, 1024, 1100, 1279, 1290, V - 1};
  for (size_t i = 0; i < live.size(); ++i) l[size_t(live[i])] = 0.25f * float(i % 5) - 0.4f * float(i % 3);
  SamplingParams p;
  p.temperature = 0.8f;
  Sampler s;
  Rng rng(77);
  const int64_t N = 200000;
  std::vector<int64_t> counts(size_t(V), 0);
  for (int64_t i = 0; i < N; ++i) ++counts[size_t(s.sample(l.data(), V, p, {}, {}, rng).token)];
  const std::vector<float> lp = s.last_logprobs();
  const std::vector<double> want = log_softmax(l, 0.8);
  double chi2 = 0;
  for (int64_t v = 0; v < V; ++v) {
    if (l[size_t(v)] == -kInf) {
      ASSERT_EQ(counts[size_t(v)], 0) << "token " << v << " is masked";
      ASSERT_EQ(lp[size_t(v)], -kInf) << v;
      continue;
    }
    ASSERT_NEAR(lp[size_t(v)], want[size_t(v)], 1e-6) << v;
    const double expected = double(N) * std::exp(want[size_t(v)]);
    chi2 += (double(counts[size_t(v)]) - expected) * (double(counts[size_t(v)]) - expected) / expected;
  }
  EXPECT_LT(chi2, 50.0) << "counts do not follow the returned probabilities";
}

// The maximum in a later block, tied with one in a still later block: greedy takes the lower id; a NaN or
// +inf in a later block is named by its own id.
TEST(SamplerLargeVocab, MaximumAndBadLogitsAreFoundInAnyBlock) {
  const int64_t V = 3000;
  std::vector<float> l(static_cast<size_t>(V));
  Rng rng(5);
  for (float& v : l) v = float(rng.normal());
  l[2100] = 9.0f;
  l[2999] = 9.0f;
  l[700] = 8.999999f;
  SamplingParams greedy;
  greedy.temperature = 0;
  greedy.top_logprobs = 1;
  Sampler s;
  const SampledToken g = s.sample(l.data(), V, greedy, {}, {}, rng);
  EXPECT_EQ(g.token, 2100);
  // At a tiny temperature the two tied maxima share the mass.
  SamplingParams cold;
  cold.temperature = 1e-6f;
  cold.top_logprobs = 3;
  const SampledToken c = s.sample(l.data(), V, cold, {}, {}, rng);
  EXPECT_TRUE(c.token == 2100 || c.token == 2999) << c.token;
  ASSERT_EQ(c.top.size(), 3u);
  EXPECT_EQ(c.top[0].token, 2100);
  EXPECT_EQ(c.top[1].token, 2999);
  EXPECT_EQ(c.top[2].token, 700);
  // Token 700 is (8.999999 − 9) / 1e-6 ≈ −0.95 nats from the two maxima; the rest are millions of nats away.
  const double x = (double(l[700]) - 9.0) / double(cold.temperature), log_z = std::log(2.0 + std::exp(x));
  EXPECT_NEAR(c.top[0].logprob, -log_z, 1e-6);
  EXPECT_NEAR(c.top[1].logprob, -log_z, 1e-6);
  EXPECT_NEAR(c.top[2].logprob, x - log_z, 1e-6);
  for (float bad : {std::nanf(""), kInf}) {
    std::vector<float> b = l;
    b[2500] = bad;
    b[2600] = bad;
    const std::string e = test::error_of([&] { s.sample(b.data(), V, SamplingParams{}, {}, {}, rng); });
    EXPECT_NE(e.find("for token id 2500"), std::string::npos) << e;
  }
}

// top-k against a full sort, with the k-th token within 8 nats of the maximum, between 8 and 32, and beyond
// 32 (each found in another round of the search), at two temperatures; the listed alternatives come in the
// full order, ties by id.
TEST(SamplerLargeVocab, TopKIsExactWhereverTheKthTokenLies) {
  const int64_t V = 4096;
  std::vector<float> l(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; ++i) l[size_t(i)] = -0.25f * float((i * 1237) % V);  // distinct, shuffled
  for (int64_t i = 0; i < 64; ++i) l[size_t((i * 97 + 5) % V)] = -3.0f;           // ties
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return l[size_t(a)] > l[size_t(b)]; });
  for (float T : {1.0f, 0.3f})
    for (int k : {5, 30, 100, 400, 2000}) {
      SamplingParams p;
      p.temperature = T;
      p.top_k = k;
      p.top_logprobs = k;
      Sampler s;
      Rng rng(static_cast<uint64_t>(k));
      const SampledToken t = s.sample(l.data(), V, p, {}, {}, rng);
      ASSERT_EQ(int(t.top.size()), k) << "T " << T << " k " << k;
      for (int i = 0; i < k; ++i)
        ASSERT_EQ(t.top[size_t(i)].token, order[size_t(i)]) << "k " << k << " i " << i;
      const std::vector<float> lp = s.last_logprobs();
      std::vector<char> kept(size_t(V), 0);
      for (int i = 0; i < k; ++i) kept[size_t(order[size_t(i)])] = 1;
      double mx = -1e300, z = 0;
      for (int64_t i = 0; i < V; ++i)
        if (kept[size_t(i)]) mx = std::max(mx, double(l[size_t(i)]) / T);
      for (int64_t i = 0; i < V; ++i)
        if (kept[size_t(i)]) z += std::exp(double(l[size_t(i)]) / T - mx);
      for (int64_t i = 0; i < V; ++i) {
        if (!kept[size_t(i)]) {
          ASSERT_EQ(lp[size_t(i)], -kInf) << i;
          continue;
        }
        // Down to −300 nats here: these log-probs come from the logits, not from (underflowed) weights.
        ASSERT_NEAR(lp[size_t(i)], double(l[size_t(i)]) / T - mx - std::log(z), 1e-4)
            << "k " << k << " i " << i;
      }
      ASSERT_TRUE(kept[size_t(t.token)]);
    }
}

// top-p (with and without min-p and top-k) over flat, spread and peaked distributions of 30,000 tokens, whose
// nuclei run from a handful of tokens to most of the vocabulary, one whose maximum is −0.0 (its float code
// is not +0.0's), and one that is 90% −inf: the kept set equals the one a full sort and walk gives.
TEST(SamplerLargeVocab, NucleusMatchesAFullSortAtEveryShape) {
  const int64_t V = 30000;
  Rng gen(8);
  enum Shape { Normal, NegativeZeroMax, MostlyMasked };
  for (Shape shape : {Normal, NegativeZeroMax, MostlyMasked})
    for (double spread : {0.05, 2.0, 8.0})
      for (float top_p : {0.3f, 0.9f, 0.999f})
        for (float min_p : {0.0f, 0.02f})
          for (int top_k : {0, 500}) {
            std::vector<float> l(static_cast<size_t>(V));
            for (float& v : l) v = float(gen.normal() * spread);
            if (shape == NegativeZeroMax) {
              const float mx = *std::max_element(l.begin(), l.end());
              for (float& v : l) v = v == mx ? -0.0f : v - mx;
            } else if (shape == MostlyMasked) {
              for (int64_t i = 0; i < V; ++i)
                if (i % 10 != 3) l[size_t(i)] = -kInf;
            }
            SamplingParams p;
            p.temperature = 0.7f;
            p.top_p = top_p;
            p.min_p = min_p;
            p.top_k = top_k;
            const std::vector<char> keep = test::reference_kept_set(l, p);
            Sampler s;
            Rng rng(1);
            const SampledToken t = s.sample(l.data(), V, p, {}, {}, rng);
            ASSERT_TRUE(keep[size_t(t.token)]);
            const std::vector<float> got = s.last_logprobs();
            for (int64_t i = 0; i < V; ++i)
              ASSERT_EQ(std::isinf(got[size_t(i)]), !keep[size_t(i)])
                  << "shape " << shape << " spread " << spread << " top-p " << top_p << " min-p " << min_p
                  << " top-k " << top_k << " token " << i;
          }
}

// Tokens far below the maximum (their float weight underflows to 0) cannot be drawn but keep their
// log-probability, in the listed alternatives and in last_logprobs.
TEST(SamplerLargeVocab, UnderflowedTokensKeepFiniteLogprobs) {
  std::vector<float> l = {0.0f, -100.0f, -1000.0f, -kInf, -5.0f};
  SamplingParams p;
  p.top_logprobs = 5;
  Sampler s;
  Rng rng(3);
  for (int rep = 0; rep < 100; ++rep) {
    const SampledToken t = s.sample(l.data(), 5, p, {}, {}, rng);
    ASSERT_TRUE(t.token == 0 || t.token == 4) << t.token;
    ASSERT_EQ(t.top.size(), 4u);  // the masked token is not listed
    EXPECT_EQ(t.top[2].token, 1);
    EXPECT_NEAR(t.top[2].logprob, -100.0 - std::log1p(std::exp(-5.0)), 1e-4);
    EXPECT_EQ(t.top[3].token, 2);
    EXPECT_NEAR(t.top[3].logprob, -1000.0 - std::log1p(std::exp(-5.0)), 1e-3);
  }
  const std::vector<float> lp = s.last_logprobs();
  EXPECT_NEAR(lp[2], -1000.0 - std::log1p(std::exp(-5.0)), 1e-3);
  EXPECT_EQ(lp[3], -kInf);
}

}  // namespace
}  // namespace seek
