// The sampler: returned log-probs equal log-softmax of the tempered, truncated, renormalised logits; the
// truncation rules (top-k, top-p, min-p) keep the right sets; penalties; greedy; a fixed seed repeats.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "infer/sampler.hpp"
#include "infer_test_util.hpp"
#include "support/error_of.hpp"

namespace seek {
namespace {

std::vector<float> test_logits(int64_t V, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> l(static_cast<size_t>(V));
  for (auto& v : l) v = float(rng.normal() * 2.0);
  return l;
}

// Reference: log-softmax over `keep` of logits / T.
std::vector<double> ref_logprobs(const std::vector<float>& l, double T, const std::vector<char>& keep) {
  double mx = -1e300;
  for (size_t i = 0; i < l.size(); ++i)
    if (keep[i]) mx = std::max(mx, l[i] / T);
  double z = 0;
  for (size_t i = 0; i < l.size(); ++i)
    if (keep[i]) z += std::exp(l[i] / T - mx);
  std::vector<double> out(l.size(), -std::numeric_limits<double>::infinity());
  for (size_t i = 0; i < l.size(); ++i)
    if (keep[i]) out[i] = l[i] / T - mx - std::log(z);
  return out;
}

TEST(Sampler, LogprobIsLogSoftmaxOfTemperedTruncatedLogits) {
  const int64_t V = 50;
  auto l = test_logits(V, 3);
  for (float T : {0.5f, 1.0f, 1.7f})
    for (int k : {0, 5, 17}) {
      SamplingParams p;
      p.temperature = T;
      p.top_k = k;
      Sampler s;
      Rng rng(11);
      for (int rep = 0; rep < 20; ++rep) {
        SampledToken t = s.sample(l.data(), V, p, {}, {}, rng);
        // Kept set: the k largest logits (or all).
        std::vector<char> keep(size_t(V), 1);
        if (k > 0) {
          std::vector<float> sorted = l;
          std::sort(sorted.begin(), sorted.end(), std::greater<>());
          for (int64_t i = 0; i < V; ++i) keep[size_t(i)] = l[size_t(i)] >= sorted[size_t(k - 1)];
        }
        auto want = ref_logprobs(l, T, keep);
        ASSERT_TRUE(keep[size_t(t.token)]);
        EXPECT_NEAR(t.logprob, want[size_t(t.token)], 1e-5);
        auto all = s.last_logprobs();
        for (int64_t i = 0; i < V; ++i) {
          if (keep[size_t(i)])
            EXPECT_NEAR(all[size_t(i)], want[size_t(i)], 1e-5);
          else
            EXPECT_TRUE(std::isinf(all[size_t(i)]));
        }
      }
    }
}

// The draws follow the distribution whose log-probs are returned (a walk to a neighbouring kept token, or
// an off-by-one in the cumulative sums, would pass the log-prob tests): Pearson's χ² over 200,000 draws
// from a tempered top-k distribution of 6 tokens. The limit is χ²(5) at p = 1e-6 (~35.9): a correct
// sampler fails it once in a million seeds, a biased one by a mile.
TEST(Sampler, DrawsFollowTheReturnedDistribution) {
  const std::vector<float> l = {0.3f, 2.0f, -1.0f, 1.1f, 0.9f, 2.4f, -3.0f, 1.7f};
  SamplingParams p;
  p.temperature = 0.9f;
  p.top_k = 6;
  Sampler s;
  Rng rng(2024);
  const int64_t V = int64_t(l.size()), N = 200000;
  std::vector<int64_t> counts(size_t(V), 0);
  for (int64_t i = 0; i < N; ++i) ++counts[size_t(s.sample(l.data(), V, p, {}, {}, rng).token)];
  const std::vector<float> lp = s.last_logprobs();
  double chi2 = 0;
  int kept = 0;
  for (int64_t v = 0; v < V; ++v) {
    if (std::isinf(lp[size_t(v)])) {
      EXPECT_EQ(counts[size_t(v)], 0) << "token " << v << " is outside the kept set";
      continue;
    }
    ++kept;
    const double expected = double(N) * std::exp(double(lp[size_t(v)]));
    chi2 += (double(counts[size_t(v)]) - expected) * (double(counts[size_t(v)]) - expected) / expected;
  }
  EXPECT_EQ(kept, 6);
  EXPECT_LT(chi2, 35.9) << "counts do not follow the returned probabilities";
}

// Ties: greedy takes the lowest id; top-k keeps the lowest ids among equal logits at its boundary; equally
// likely alternatives are listed by id.
TEST(Sampler, TiesGoToTheLowerId) {
  const std::vector<float> l = {1.0f, 3.0f, 3.0f, 3.0f, 0.0f};
  Sampler s;
  Rng rng(5);
  SamplingParams greedy;
  greedy.temperature = 0;
  EXPECT_EQ(s.sample(l.data(), 5, greedy, {}, {}, rng).token, 1);
  SamplingParams p;
  p.top_k = 2;
  p.top_logprobs = 5;
  const SampledToken t = s.sample(l.data(), 5, p, {}, {}, rng);
  ASSERT_EQ(t.top.size(), 2u);
  EXPECT_EQ(t.top[0].token, 1);
  EXPECT_EQ(t.top[1].token, 2);
  EXPECT_NEAR(t.top[0].logprob, std::log(0.5), 1e-6);
  EXPECT_NEAR(t.top[1].logprob, std::log(0.5), 1e-6);
  EXPECT_TRUE(t.token == 1 || t.token == 2);
  p.top_k = 0;
  const SampledToken all = s.sample(l.data(), 5, p, {}, {}, rng);
  ASSERT_EQ(all.top.size(), 5u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(all.top[size_t(i)].token, i + 1);
  EXPECT_EQ(all.top[3].token, 0);
  EXPECT_EQ(all.top[4].token, 4);
}

TEST(Sampler, TopPKeepsSmallestPrefixReachingP) {
  // probabilities 0.5, 0.25, 0.125, 0.125 (logits are their logs)
  std::vector<float> l = {std::log(0.125f), std::log(0.5f), std::log(0.125f), std::log(0.25f)};
  SamplingParams p;
  p.top_p = 0.7f;  // 0.5 < 0.7 <= 0.75: keeps ids 1 and 3
  p.top_logprobs = 4;
  Sampler s;
  Rng rng(1);
  for (int rep = 0; rep < 50; ++rep) {
    auto t = s.sample(l.data(), 4, p, {}, {}, rng);
    EXPECT_TRUE(t.token == 1 || t.token == 3);
    EXPECT_NEAR(t.logprob, t.token == 1 ? std::log(2.0 / 3) : std::log(1.0 / 3), 1e-6);
    ASSERT_EQ(t.top.size(), 2u);
    EXPECT_EQ(t.top[0].token, 1);
    EXPECT_EQ(t.top[1].token, 3);
    // One value for the drawn token, not a float rounding of the alternative's double.
    EXPECT_EQ(t.logprob, t.top[t.token == 1 ? 0 : 1].logprob);
  }
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  std::vector<float> l = {std::log(0.6f), std::log(0.3f), std::log(0.06f), std::log(0.04f)};
  SamplingParams p;
  p.min_p = 0.09f;  // threshold 0.054: keeps 0, 1, 2
  Sampler s;
  Rng rng(5);
  s.sample(l.data(), 4, p, {}, {}, rng);
  auto lp = s.last_logprobs();
  EXPECT_TRUE(std::isinf(lp[3]));
  EXPECT_NEAR(lp[2], std::log(0.06 / 0.96), 1e-6);
}

// The rules at their edges, each set worked out by hand (and checked against the reference from the rules'
// definitions): a min-p threshold that falls between two floats, min-p 1 over tied maxima (exactly at the
// threshold), top-p reached
// exactly (kept: the prefix that reaches it, with or without top-k), top-p inside a min-p set.
TEST(Sampler, TruncationRulesAtTheirEdges) {
  struct Case {
    const char* what;
    std::vector<float> logits;
    int top_k;
    float top_p, min_p;
    std::vector<char> kept;
  };
  // float(log 0.5) is just below log 0.5, so that token's probability is just below min_p · p_max.
  const float just_below_half = float(std::log(0.5));
  ASSERT_LT(double(just_below_half), std::log(0.5));
  const std::vector<Case> cases = {
      {"min-p threshold between floats", {0, just_below_half, -5}, 0, 1.0f, 0.5f, {1, 0, 0}},
      {"min-p 1 keeps tied maxima", {1, 1, 0}, 0, 1.0f, 1.0f, {1, 1, 0}},
      {"min-p 1 keeps tied maxima, top-k", {1, 1, 0}, 2, 1.0f, 1.0f, {1, 1, 0}},
      // p = e / (2e + 1) = 0.42 for token 0 already reaches 0.3: top-p's set is shorter than min-p's.
      {"top-p inside the min-p set", {1, 1, 0}, 0, 0.3f, 1.0f, {1, 0, 0}},
      {"top-p reached exactly", {0, 0, 0, 0}, 0, 0.5f, 0.0f, {1, 1, 0, 0}},
      {"top-p reached exactly within top-k", {0, 0, 0, 0, -5}, 4, 0.5f, 0.0f, {1, 1, 0, 0, 0}},
  };
  for (const Case& c : cases) {
    SamplingParams p;
    p.top_k = c.top_k;
    p.top_p = c.top_p;
    p.min_p = c.min_p;
    ASSERT_EQ(test::reference_kept_set(c.logits, p), c.kept) << c.what;
    Sampler s;
    Rng rng(1);
    s.sample(c.logits.data(), int64_t(c.logits.size()), p, {}, {}, rng);
    std::vector<char> kept;
    for (float lp : s.last_logprobs()) kept.push_back(lp > -std::numeric_limits<float>::infinity());
    EXPECT_EQ(kept, c.kept) << c.what;
  }
}

TEST(Sampler, GreedyAndPenalties) {
  std::vector<float> l = {1.0f, 3.0f, 2.9f, -1.0f};
  SamplingParams p;
  p.temperature = 0;
  Sampler s;
  Rng rng(0);
  auto t = s.sample(l.data(), 4, p, {}, {}, rng);
  EXPECT_EQ(t.token, 1);
  EXPECT_EQ(t.logprob, 0.0f);
  // Repetition penalty 2 on token 1: 3.0 -> 1.5, so token 2 wins.
  p.repetition_penalty = 2.0f;
  std::vector<int32_t> ctx = {1};
  EXPECT_EQ(s.sample(l.data(), 4, p, ctx, {}, rng).token, 2);
  // Presence + frequency on generated tokens: 2.9 - 0.5 - 2·0.3 = 1.8 < 1.5? no: token 1 at 1.5 loses to 1.8.
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.3f;
  std::vector<int32_t> gen = {2, 2};
  EXPECT_EQ(s.sample(l.data(), 4, p, ctx, gen, rng).token, 2);
  p.frequency_penalty = 0.5f;  // 2.9 - 0.5 - 1.0 = 1.4 < 1.5
  EXPECT_EQ(s.sample(l.data(), 4, p, ctx, gen, rng).token, 1);
}

TEST(Sampler, FixedSeedRepeats) {
  const int64_t V = 300;
  auto l = test_logits(V, 9);
  SamplingParams p;
  p.temperature = 0.9f;
  p.top_p = 0.9f;
  p.min_p = 0.01f;
  auto draw = [&](uint64_t seed) {
    Sampler s;
    Rng rng(seed);
    std::vector<int32_t> out;
    for (int i = 0; i < 30; ++i) out.push_back(s.sample(l.data(), V, p, {}, {}, rng).token);
    return out;
  };
  EXPECT_EQ(draw(42), draw(42));
  EXPECT_NE(draw(42), draw(43));
}

// Penalties, then temperature, then top-p and min-p together, against a reference computed here from the
// definitions in sampler.hpp: the kept set and every log-prob.
// Also at V = 5000 with nuclei of thousands of tokens (the sampler then sorts its candidates in rounds) and
// with top-k in front.
TEST(Sampler, PenalisedTopPMinPLogprobsMatchAReference) {
  const std::vector<int32_t> context = {3, 7, 7, 50, 120, 3}, generated = {50, 120, 120, 3};
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const int64_t V = seed < 20 ? 200 : 5000;
    auto l = test_logits(V, 100 + seed);
    SamplingParams p;
    p.temperature = 0.6f + 0.1f * float(seed % 5);
    p.top_p = seed < 20 ? 0.5f + 0.02f * float(seed) : seed % 4 == 0 ? 1.0f : 0.999f;
    p.min_p = seed % 2 ? (seed < 20 ? 0.02f : 0.001f) : 0.0f;
    p.top_k = seed % 3 == 0 ? int(V / 3) : 0;
    p.repetition_penalty = 1.3f;
    p.presence_penalty = 0.4f;
    p.frequency_penalty = 0.25f;
    std::vector<float> pen = l;
    for (int32_t t : {3, 7, 50, 120})  // the distinct context tokens, each once
      pen[size_t(t)] = pen[size_t(t)] > 0 ? pen[size_t(t)] / 1.3f : pen[size_t(t)] * 1.3f;
    for (auto [t, n] : {std::pair{50, 1}, {120, 2}, {3, 1}}) pen[size_t(t)] -= 0.4f + 0.25f * float(n);
    const std::vector<char> keep = test::reference_kept_set(pen, p);
    const std::vector<double> want = ref_logprobs(pen, p.temperature, keep);
    Sampler s;
    Rng rng(seed);
    const SampledToken tok = s.sample(l.data(), V, p, context, generated, rng);
    ASSERT_TRUE(keep[size_t(tok.token)]) << "seed " << seed;
    EXPECT_NEAR(tok.logprob, want[size_t(tok.token)], 1e-5);
    const std::vector<float> got = s.last_logprobs();
    for (int64_t i = 0; i < V; ++i) {
      if (!keep[size_t(i)]) {
        ASSERT_EQ(got[size_t(i)], -std::numeric_limits<float>::infinity())
            << "seed " << seed << " token " << i;
        continue;
      }
      ASSERT_NEAR(got[size_t(i)], want[size_t(i)], 1e-5) << "seed " << seed << " token " << i;
    }
  }
}

// Logits a model should never produce are errors, not a token: NaN, +inf, all -inf. Some -inf is a mask.
TEST(Sampler, NonFiniteLogitsAreErrorsAndMaskedTokensAreNeverDrawn) {
  const float inf = std::numeric_limits<float>::infinity();
  for (float temperature : {0.0f, 1.0f}) {
    SamplingParams p;
    p.temperature = temperature;
    Sampler s;
    Rng rng(1);
    std::vector<float> l = {0.5f, std::nanf(""), 1.0f};
    EXPECT_THROW(s.sample(l.data(), 3, p, {}, {}, rng), Error);
    l = {0.5f, inf, 1.0f};
    EXPECT_THROW(s.sample(l.data(), 3, p, {}, {}, rng), Error);
    l = {-inf, -inf, -inf};
    EXPECT_THROW(s.sample(l.data(), 3, p, {}, {}, rng), Error);
  }
  // Two of five tokens possible; top-k 4 keeps two masked ones, which are neither drawn nor listed.
  std::vector<float> l = {-inf, 0.3f, -inf, -inf, 0.1f};
  SamplingParams p;
  p.top_k = 4;
  p.top_logprobs = 4;
  Sampler s;
  Rng rng(2);
  for (int i = 0; i < 50; ++i) {
    const SampledToken t = s.sample(l.data(), 5, p, {}, {}, rng);
    ASSERT_TRUE(t.token == 1 || t.token == 4) << t.token;
    ASSERT_TRUE(std::isfinite(t.logprob));
    ASSERT_EQ(t.top.size(), 2u);
    for (const auto& a : t.top) ASSERT_TRUE(std::isfinite(a.logprob));
  }
}

// A penalty that pushes a finite logit past the float range is the penalty's fault, and the error says so
// rather than blaming the model.
TEST(Sampler, PenaltiesThatOverflowAreNamed) {
  const std::vector<float> l = {0.5f, 4.0f, 1.0f};
  const std::vector<int32_t> generated = {1, 1};
  for (auto set :
       std::vector<void (*)(SamplingParams&)>{[](SamplingParams& p) {
                                                p.presence_penalty = -3e38f;
                                                p.frequency_penalty = -3e38f;
                                              },
                                              [](SamplingParams& p) { p.repetition_penalty = 1e-38f; }}) {
    SamplingParams p;
    set(p);
    Sampler s;
    Rng rng(1);
    const std::string e = test::error_of([&] { s.sample(l.data(), 3, p, generated, generated, rng); });
    EXPECT_NE(e.find("the penalties (repetition "), std::string::npos) << e;
    EXPECT_NE(e.find("turned the logit 4 of token id 1 into inf"), std::string::npos) << e;
    // A repetition penalty of 1e-38 is small already: "smaller" was the wrong way.
    EXPECT_NE(e.find("use milder penalties (a repetition penalty nearer 1, presence and frequency penalties "
                     "nearer 0)"),
              std::string::npos)
        << e;
  }
  std::vector<float> nan = l;
  nan[2] = std::nanf("");
  SamplingParams p;
  Sampler s;
  Rng rng(1);
  const std::string e = test::error_of([&] { s.sample(nan.data(), 3, p, {}, {}, rng); });
  EXPECT_NE(e.find("the model produced a non-finite logit (NaN) for token id 2"), std::string::npos) << e;
  EXPECT_NE(e.find("check the checkpoint"), std::string::npos) << e;  // what to do, as logits says
}

// A tiny temperature is (almost) greedy: the most likely token with log-prob 0, not NaN from underflow.
TEST(Sampler, TinyTemperaturePicksTheMaximum) {
  const std::vector<float> l = {2.0f, 5.0f, -3.0f, 4.99f};
  for (float T : {1e-10f, 1e-20f, 1e-30f, 1e-38f}) {
    SamplingParams p;
    p.temperature = T;
    Sampler s;
    Rng rng(3);
    const SampledToken t = s.sample(l.data(), 4, p, {}, {}, rng);
    EXPECT_EQ(t.token, 1) << T;
    EXPECT_EQ(t.logprob, 0.0f) << T;
  }
  // The alternatives keep their log-probabilities, (l - max) / T, also past float's range (they printed as
  // -inf, and null in JSON).
  for (float T : {1e-30f, 1e-45f}) {
    SamplingParams p;
    p.temperature = T;
    p.top_logprobs = 4;
    Sampler s;
    Rng rng(3);
    const SampledToken t = s.sample(l.data(), 4, p, {}, {}, rng);
    ASSERT_EQ(t.top.size(), 4u) << T;
    const int order[] = {1, 3, 0, 2};
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(t.top[size_t(i)].token, order[i]) << T;
      const double want = (double(l[size_t(order[i])]) - 5.0) / double(T);
      EXPECT_NEAR(t.top[size_t(i)].logprob, want, 1e-6 * std::fabs(want)) << T;
    }
  }
}

TEST(Sampler, BadParametersAreErrors) {
  const float nan = std::nanf(""), inf = std::numeric_limits<float>::infinity();
  const std::vector<void (*)(SamplingParams&)> bad = {
      [](SamplingParams& p) { p.top_p = 0; },
      [](SamplingParams& p) { p.temperature = -1; },
      [](SamplingParams& p) { p.top_k = -1; },
      [](SamplingParams& p) { p.min_p = 1.5f; },
      [](SamplingParams& p) { p.repetition_penalty = 0; },
      [](SamplingParams& p) { p.stop = {""}; },
      [](SamplingParams& p) { p.stop = {"\x84"}; },  // part of a character: would cut one in two
      [](SamplingParams& p) {
        p.stop = {"ok", "\xe2\x82"};
      },
  };
  for (auto set : bad) {
    SamplingParams p;
    set(p);
    EXPECT_THROW(p.validate(), Error);
  }
  for (float SamplingParams::*field :
       {&SamplingParams::temperature, &SamplingParams::repetition_penalty, &SamplingParams::presence_penalty,
        &SamplingParams::frequency_penalty, &SamplingParams::top_p, &SamplingParams::min_p})
    for (float v : {nan, inf, -inf}) {
      SamplingParams p;
      p.*field = v;
      EXPECT_THROW(p.validate(), Error) << v;
    }
  SamplingParams ok;
  EXPECT_NO_THROW(ok.validate());
  for (auto set : std::vector<void (*)(SamplingParams&)>{[](SamplingParams& p) { p.min_p = 1; },
                                                         [](SamplingParams& p) { p.temperature = 0; },
                                                         [](SamplingParams& p) { p.top_p = 1; }}) {
    SamplingParams edge;  // the ends of the ranges that are allowed
    set(edge);
    EXPECT_NO_THROW(edge.validate());
  }
  ok.stop = {"</answer>", "€", "\n\n"};
  EXPECT_NO_THROW(ok.validate());
}

}  // namespace
}  // namespace seek
