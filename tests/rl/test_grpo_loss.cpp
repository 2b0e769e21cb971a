// The GRPO objective (../shared/spec/grpo-and-rewards.md §1) against values worked out by hand in the
// comments next to each expectation, plus a finite-difference check of dloss/dlogp and dloss/dentropy for
// every variant on random inputs. Everything here is arithmetic on a few numbers: the whole file runs in
// milliseconds.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "rl/grpo_loss.hpp"

namespace seek {
namespace {

constexpr double kTol = 1e-12;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

void expect_vec_near(const std::vector<double>& got, const std::vector<double>& want, double tol = kTol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "index " << i;
}

// Runs f, expects a seek::Error whose message contains `needle` (the thing at fault).
template <typename F>
void expect_error(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no seek::Error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Advantages (spec §1.3)

// Dynamic sampling keeps a group whose values differ; NaN (a reward that does not apply) is left out, as the
// advantages leave it out: {1, NaN, 1} was kept with advantages that were all 0.
TEST(DynamicSampling, GroupValuesDifferUnlessAllEqual) {
  const double nan = std::nan("");
  EXPECT_FALSE(group_values_differ({1, 1, 1}));
  EXPECT_TRUE(group_values_differ({1, 1, 0}));
  EXPECT_TRUE(group_values_differ({0, 1, 1}));
  EXPECT_FALSE(group_values_differ({nan, nan}));
  EXPECT_FALSE(group_values_differ({nan, 1}));
  EXPECT_FALSE(group_values_differ({1, nan, 1}));
  EXPECT_TRUE(group_values_differ({nan, 1, 0}));
  EXPECT_FALSE(group_values_differ({0.5}));
  // The filter and the advantages agree: a kept group has an advantage that is not 0.
  for (const std::vector<double>& g :
       std::vector<std::vector<double>>{{1, nan, 1}, {nan, 1, 0}, {nan, 2, nan}}) {
    const AdvantageResult a = group_advantages(g, int64_t(g.size()), AdvantageScale::Group);
    bool nonzero = false;
    for (double v : a.advantages) nonzero |= v != 0;
    EXPECT_EQ(nonzero, group_values_differ(g));
  }
}

TEST(GroupAdvantages, GroupScalingUsesBesselStdAndZeroStdGroupsGetZero) {
  // Group 0 {1,0,0,0}: mean 0.25, deviations 0.75, −0.25×3, Σd² = 0.5625 + 3·0.0625 = 0.75, var = 0.75/3,
  // std = 0.5. Group 1 {1,1,1,1}: all equal → A ≡ 0, one zero-std group.
  auto r = group_advantages({1, 0, 0, 0, 1, 1, 1, 1}, 4, AdvantageScale::Group);
  const double hi = 0.75 / (0.5 + 1e-4), lo = -0.25 / (0.5 + 1e-4);
  expect_vec_near(r.advantages, {hi, lo, lo, lo, 0, 0, 0, 0});
  expect_vec_near(r.group_std, {0.5, 0.0});
  EXPECT_EQ(r.zero_std_groups, 1);
}

TEST(GroupAdvantages, AllEqualUnrepresentableRewardsGiveExactlyZero) {
  // 0.1 is not exact in binary; the mean of three of them need not be 0.1 to the last bit, and dividing that
  // residue by 1e-4 must not leak a gradient: A is exactly 0.
  auto r = group_advantages({0.1, 0.1, 0.1}, 3, AdvantageScale::Group);
  for (double a : r.advantages) EXPECT_EQ(a, 0.0);
  EXPECT_EQ(r.group_std[0], 0.0);
  EXPECT_EQ(r.zero_std_groups, 1);
}

TEST(GroupAdvantages, GroupOfTwo) {
  // {1,0}: mean 0.5, Bessel std = sqrt((0.25 + 0.25)/1) = sqrt(0.5) (the population std would be 0.5: the
  // √2 difference the spec warns about for G = 2).
  auto r = group_advantages({1, 0, 0, 1}, 2, AdvantageScale::Group);
  const double a = 0.5 / (std::sqrt(0.5) + 1e-4);
  expect_vec_near(r.advantages, {a, -a, -a, a});
  expect_vec_near(r.group_std, {std::sqrt(0.5), std::sqrt(0.5)});
  EXPECT_EQ(r.zero_std_groups, 0);
}

TEST(GroupAdvantages, NaNRewardsAreLeftOutAndGetZero) {
  // Group 0 {1, NaN, 0}: stats over {1, 0}: mean 0.5, std sqrt(0.5); the NaN completion gets 0.
  // Group 1 {NaN, 2, NaN}: one valid reward → std undefined → all 0, counted as zero-std, std reported 0.
  // Group 2 all NaN → all 0, zero-std.
  auto r = group_advantages({1, kNaN, 0, kNaN, 2, kNaN, kNaN, kNaN, kNaN}, 3, AdvantageScale::Group);
  const double a = 0.5 / (std::sqrt(0.5) + 1e-4);
  expect_vec_near(r.advantages, {a, 0, -a, 0, 0, 0, 0, 0, 0});
  expect_vec_near(r.group_std, {std::sqrt(0.5), 0, 0});
  EXPECT_EQ(r.zero_std_groups, 2);
}

TEST(GroupAdvantages, GroupOfOneHasNoSignal) {
  auto r = group_advantages({3, 5}, 1, AdvantageScale::Group);
  expect_vec_near(r.advantages, {0, 0});
  expect_vec_near(r.group_std, {0, 0});
  EXPECT_EQ(r.zero_std_groups, 2);
}

TEST(GroupAdvantages, BatchScalingDividesByTheStdOfAllRewards) {
  // {1,0 | 1,1}: group means 0.5 and 1; batch std of {1,0,1,1}: mean 0.75, Σd² = 3·0.0625 + 0.5625 = 0.75,
  // /3 → 0.25, std 0.5.
  auto r = group_advantages({1, 0, 1, 1}, 2, AdvantageScale::Batch);
  expect_vec_near(r.advantages, {0.5 / 0.5001, -0.5 / 0.5001, 0, 0});
  expect_vec_near(r.group_std, {std::sqrt(0.5), 0});
  EXPECT_EQ(r.zero_std_groups, 1);

  // {1, NaN | 0, 2}: group 0 has one valid reward → 0; group 1 mean 1; batch std over {1, 0, 2}: mean 1,
  // Σd² = 2, /2 → std 1.
  auto n = group_advantages({1, kNaN, 0, 2}, 2, AdvantageScale::Batch);
  expect_vec_near(n.advantages, {0, 0, -1 / 1.0001, 1 / 1.0001});
  EXPECT_EQ(n.zero_std_groups, 1);
}

TEST(GroupAdvantages, NoneScalingIsRewardMinusGroupMean) {
  auto r = group_advantages({1, 0, 3, 1}, 2, AdvantageScale::None);
  expect_vec_near(r.advantages, {0.5, -0.5, 1, -1});
  // {2, NaN, 5}: mean over {2, 5} = 3.5.
  auto n = group_advantages({2, kNaN, 5}, 3, AdvantageScale::None);
  expect_vec_near(n.advantages, {-1.5, 0, 1.5});
}

TEST(GroupAdvantages, EmptyBatch) {
  auto r = group_advantages({}, 4, AdvantageScale::Group);
  EXPECT_TRUE(r.advantages.empty());
  EXPECT_TRUE(r.group_std.empty());
  EXPECT_EQ(r.zero_std_groups, 0);
}

TEST(GroupAdvantages, Errors) {
  expect_error([] { group_advantages({1, 2}, 0, AdvantageScale::Group); }, "group size G");
  expect_error([] { group_advantages({1, 2}, -2, AdvantageScale::Group); }, "group size G");
  expect_error([] { group_advantages({1, 2, 3}, 2, AdvantageScale::Group); }, "not a multiple");
  expect_error(
      [] {
        group_advantages({1, std::numeric_limits<double>::infinity()}, 2, AdvantageScale::Group);
      },
      "infinite");
}

TEST(Parse, NamesAndErrors) {
  EXPECT_EQ(parse_advantage_scale("group"), AdvantageScale::Group);
  EXPECT_EQ(parse_advantage_scale("batch"), AdvantageScale::Batch);
  EXPECT_EQ(parse_advantage_scale("none"), AdvantageScale::None);
  EXPECT_EQ(parse_loss_aggregation("grpo"), LossAggregation::Grpo);
  EXPECT_EQ(parse_loss_aggregation("bnpo"), LossAggregation::Bnpo);
  EXPECT_EQ(parse_loss_aggregation("dr_grpo"), LossAggregation::DrGrpo);
  EXPECT_EQ(parse_loss_aggregation("dapo"), LossAggregation::Dapo);
  EXPECT_EQ(parse_kl_estimator("k1"), KlEstimator::K1);
  EXPECT_EQ(parse_kl_estimator("k2"), KlEstimator::K2);
  EXPECT_EQ(parse_kl_estimator("k3"), KlEstimator::K3);
  expect_error([] { parse_advantage_scale("std"); }, "'std'");
  expect_error([] { parse_loss_aggregation("token-mean"); }, "'token-mean'");
  expect_error([] { parse_kl_estimator("low_var_kl"); }, "'low_var_kl'");
  EXPECT_EQ(parse_policy_loss("clip"), PolicyLoss::Clip);
  EXPECT_EQ(parse_policy_loss("cispo"), PolicyLoss::Cispo);
  EXPECT_EQ(parse_policy_loss("sapo"), PolicyLoss::Sapo);
  EXPECT_EQ(parse_importance_level("token"), ImportanceLevel::Token);
  EXPECT_EQ(parse_importance_level("sequence"), ImportanceLevel::Sequence);
  expect_error([] { parse_policy_loss("vespo"); },
               "unknown policy loss 'vespo' (expected clip, cispo or sapo)");
  expect_error([] { parse_importance_level("seq"); }, "'seq' (expected token or sequence)");
}

// ---------------------------------------------------------------------------------------------------------
// Aggregation (spec §1.6) on two completions of 1 and 3 tokens.
//
// A = {1, −0.5}; ρ = {1 | 1.1, 0.9, 1}, all inside [0.8, 1.28], so the per-token surrogate is −ρA:
//   s = {−1 | 0.55, 0.45, 0.5},  Σ s = 0.5 over N = 4 tokens,  completion sums −1 (1 token) and 1.5 (3
//   tokens)
// and ∂s/∂logp = −ρA = s as well.

GrpoBatch two_completions() {
  GrpoBatch b;
  b.offsets = {0, 1, 4};
  b.advantages = {1.0, -0.5};
  b.logp = {-1.0, -2.0, -0.5, -1.5};
  b.logp_old = {-1.0, -2.0 - std::log(1.1), -0.5 - std::log(0.9), -1.5};
  b.mask = {1, 1, 1, 1};
  return b;
}

GrpoLossOptions with(LossAggregation agg, int64_t max_len = 0) {
  GrpoLossOptions o;
  o.aggregation = agg;
  o.max_completion_length = max_len;
  return o;
}

TEST(GrpoLoss, GrpoIsMeanOverCompletionsOfTokenMeans) {
  // (−1/1 + 1.5/3)/2 = −0.25; weights 1/(2·1) and 1/(2·3).
  auto r = grpo_token_loss(two_completions(), with(LossAggregation::Grpo));
  EXPECT_NEAR(r.loss, -0.25, kTol);
  expect_vec_near(r.dlogp, {-0.5, 0.55 / 6, 0.45 / 6, 0.5 / 6});
  EXPECT_EQ(r.tokens, 4);
  EXPECT_NEAR(r.ratio_mean, (1 + 1.1 + 0.9 + 1) / 4, kTol);
  EXPECT_EQ(r.clip_low_fraction, 0);
  EXPECT_EQ(r.clip_high_fraction, 0);
}

TEST(GrpoLoss, BnpoIsTokenMeanOfTheBatch) {
  // 0.5 / 4 = 0.125; every token weight 1/4.
  auto r = grpo_token_loss(two_completions(), with(LossAggregation::Bnpo));
  EXPECT_NEAR(r.loss, 0.125, kTol);
  expect_vec_near(r.dlogp, {-0.25, 0.1375, 0.1125, 0.125});
  // With the step's token count (8) given, bnpo normalises by it like dapo: 0.5/8, weights 1/8.
  auto b = two_completions();
  b.total_tokens_override = 8;
  auto s = grpo_token_loss(b, with(LossAggregation::Bnpo));
  EXPECT_NEAR(s.loss, 0.0625, kTol);
  expect_vec_near(s.dlogp, {-0.125, 0.06875, 0.05625, 0.0625});
  // grpo and dr_grpo do not count tokens across the step: the override changes nothing for them.
  EXPECT_NEAR(grpo_token_loss(b, with(LossAggregation::Grpo)).loss, -0.25, kTol);
  EXPECT_NEAR(grpo_token_loss(b, with(LossAggregation::DrGrpo, 5)).loss, 0.05, kTol);
}

TEST(GrpoLoss, DrGrpoDividesByCompletionsTimesMaxLength) {
  // L = 5: 0.5 / (2·5) = 0.05; every token weight 1/10.
  auto r = grpo_token_loss(two_completions(), with(LossAggregation::DrGrpo, 5));
  EXPECT_NEAR(r.loss, 0.05, kTol);
  expect_vec_near(r.dlogp, {-0.1, 0.055, 0.045, 0.05});
}

TEST(GrpoLoss, DapoDividesByTheStepTokenCount) {
  // Step of 8 tokens of which this micro-batch holds 4: 0.5/8 = 0.0625, weights 1/8.
  auto b = two_completions();
  b.total_tokens_override = 8;
  auto r = grpo_token_loss(b, with(LossAggregation::Dapo));
  EXPECT_NEAR(r.loss, 0.0625, kTol);
  expect_vec_near(r.dlogp, {-0.125, 0.06875, 0.05625, 0.0625});
  // Without an override the batch is the step: 0.5/4.
  auto own = grpo_token_loss(two_completions(), with(LossAggregation::Dapo));
  EXPECT_NEAR(own.loss, 0.125, kTol);
  expect_vec_near(own.dlogp, {-0.25, 0.1375, 0.1125, 0.125});
}

TEST(GrpoLoss, MaskedTokensAreLeftOutOfSumsAndCounts) {
  // Token 2 (s = 0.45) masked: completion 1 keeps 0.55 + 0.5 = 1.05 over 2 tokens; N = 3, Σ s = 0.05.
  auto b = two_completions();
  b.mask = {1, 1, 0, 1};
  auto g = grpo_token_loss(b, with(LossAggregation::Grpo));
  EXPECT_NEAR(g.loss, (-1.0 + 1.05 / 2) / 2, kTol);  // −0.2375
  expect_vec_near(g.dlogp, {-0.5, 0.55 / 4, 0, 0.5 / 4});
  EXPECT_EQ(g.tokens, 3);
  auto bn = grpo_token_loss(b, with(LossAggregation::Bnpo));
  EXPECT_NEAR(bn.loss, 0.05 / 3, kTol);
  expect_vec_near(bn.dlogp, {-1.0 / 3, 0.55 / 3, 0, 0.5 / 3});
  auto dr = grpo_token_loss(b, with(LossAggregation::DrGrpo, 5));
  EXPECT_NEAR(dr.loss, 0.005, kTol);
  expect_vec_near(dr.dlogp, {-0.1, 0.055, 0, 0.05});
  auto da = grpo_token_loss(b, with(LossAggregation::Dapo));
  EXPECT_NEAR(da.loss, 0.05 / 3, kTol);
}

TEST(GrpoLoss, FullyMaskedCompletionContributesNothingAndIsNeverRead) {
  // Completion 0 masked out entirely (a truncated completion, spec §1.12), its log-prob is garbage.
  // grpo: (0 + 1.5/3) / 2 = 0.25 — B still counts it, as TRL's .mean() over the batch does.
  // bnpo: 1.5 / 3 = 0.5.
  auto b = two_completions();
  b.mask = {0, 1, 1, 1};
  b.logp[0] = kNaN;
  auto g = grpo_token_loss(b, with(LossAggregation::Grpo));
  EXPECT_NEAR(g.loss, 0.25, kTol);
  expect_vec_near(g.dlogp, {0, 0.55 / 6, 0.45 / 6, 0.5 / 6});
  auto bn = grpo_token_loss(b, with(LossAggregation::Bnpo));
  EXPECT_NEAR(bn.loss, 0.5, kTol);
  EXPECT_NEAR(bn.ratio_mean, 1.0, kTol);  // (1.1 + 0.9 + 1)/3
}

TEST(GrpoLoss, NothingCountedGivesZeroNotNaN) {
  auto b = two_completions();
  b.mask = {0, 0, 0, 0};
  for (auto agg :
       {LossAggregation::Grpo, LossAggregation::Bnpo, LossAggregation::DrGrpo, LossAggregation::Dapo}) {
    auto r = grpo_token_loss(b, with(agg, 5));
    EXPECT_EQ(r.loss, 0.0);
    expect_vec_near(r.dlogp, {0, 0, 0, 0}, 0);
    EXPECT_EQ(r.ratio_mean, 0.0);
    EXPECT_EQ(r.tokens, 0);
  }
  GrpoBatch empty;
  empty.offsets = {0};
  auto r = grpo_token_loss(empty, with(LossAggregation::Grpo));
  EXPECT_EQ(r.loss, 0.0);
  EXPECT_TRUE(r.dlogp.empty());
}

// ---------------------------------------------------------------------------------------------------------
// Clipping (spec §1.4), one token per completion with bnpo so the weight is 1. ε_low = 0.2, ε_high = 0.28:
// the clip range is [0.8, 1.28].

GrpoLossResult one_token(double A, double rho, GrpoLossOptions o = with(LossAggregation::Bnpo)) {
  GrpoBatch b;
  b.offsets = {0, 1};
  b.advantages = {A};
  b.logp = {std::log(rho)};
  b.logp_old = {0.0};
  b.mask = {1};
  return grpo_token_loss(b, o);
}

TEST(GrpoClip, InsideTheRange) {
  auto r = one_token(2, 1.1);  // −min(2.2, 2.2)
  EXPECT_NEAR(r.loss, -2.2, kTol);
  EXPECT_NEAR(r.dlogp[0], -2.2, kTol);  // −ρA
  EXPECT_EQ(r.clip_low_fraction, 0);
  EXPECT_EQ(r.clip_high_fraction, 0);
}

TEST(GrpoClip, ClippedHighForPositiveAdvantage) {
  auto r = one_token(2, 1.5);  // −min(3, 1.28·2 = 2.56)
  EXPECT_NEAR(r.loss, -2.56, kTol);
  EXPECT_EQ(r.dlogp[0], 0.0);  // clipped branch: no gradient
  EXPECT_EQ(r.clip_high_fraction, 1.0);
  EXPECT_EQ(r.clip_low_fraction, 0.0);
}

TEST(GrpoClip, LowRatioWithPositiveAdvantageIsNotClipped) {
  auto r = one_token(2, 0.5);  // −min(1, 0.8·2 = 1.6) = −1: the unclipped branch is the pessimistic one
  EXPECT_NEAR(r.loss, -1.0, kTol);
  EXPECT_NEAR(r.dlogp[0], -1.0, kTol);
  EXPECT_EQ(r.clip_low_fraction, 0.0);  // "low" needs A < 0
}

TEST(GrpoClip, ClippedLowForNegativeAdvantage) {
  auto r = one_token(-2, 0.5);  // −min(−1, −1.6) = 1.6
  EXPECT_NEAR(r.loss, 1.6, kTol);
  EXPECT_EQ(r.dlogp[0], 0.0);
  EXPECT_EQ(r.clip_low_fraction, 1.0);
  EXPECT_EQ(r.clip_high_fraction, 0.0);
}

TEST(GrpoClip, HighRatioWithNegativeAdvantageIsUnbounded) {
  auto r = one_token(-2, 1.5);  // −min(−3, −2.56) = 3, gradient −ρA = 3
  EXPECT_NEAR(r.loss, 3.0, kTol);
  EXPECT_NEAR(r.dlogp[0], 3.0, kTol);
  auto far = one_token(-2, 3);  // −min(−6, −2.56) = 6
  EXPECT_NEAR(far.loss, 6.0, kTol);
  EXPECT_NEAR(far.dlogp[0], 6.0, kTol);
  EXPECT_EQ(far.clip_low_fraction + far.clip_high_fraction, 0.0);
}

TEST(GrpoClip, TwoSidedDeltaCapsTheRatioForNegativeAdvantage) {
  auto o = with(LossAggregation::Bnpo);
  o.delta = 2;
  auto capped =
      one_token(-2, 3, o);  // ρ₁ = min(3, 2) = 2: −min(−4, −2.56) = 4, and the cap kills the gradient
  EXPECT_NEAR(capped.loss, 4.0, kTol);
  EXPECT_EQ(capped.dlogp[0], 0.0);
  auto below = one_token(-2, 1.5, o);  // ρ = 1.5 < δ: unchanged from the plain case
  EXPECT_NEAR(below.loss, 3.0, kTol);
  EXPECT_NEAR(below.dlogp[0], 3.0, kTol);
  auto positive = one_token(2, 3, o);  // A > 0: −min(2·2, 1.28·2) = −2.56 as without δ (δ ≥ 1 + ε_high)
  EXPECT_NEAR(positive.loss, -2.56, kTol);
  EXPECT_EQ(positive.dlogp[0], 0.0);
  EXPECT_EQ(positive.clip_high_fraction, 1.0);  // ρ₁ = 2 > 1.28
}

// TRL's formula holds for any δ > 0 (TRL only recommends δ > 1 + ε_high; seek's GRPO settings refuse the
// rest, the loss function does not): a δ inside the clip range caps ρ₁ for either sign of A, and the clip
// metrics read the capped ratio, as TRL's coef_1 after the cap.
TEST(GrpoClip, DeltaInsideTheClipRangeCapsEitherSign) {
  auto o = with(LossAggregation::Bnpo);
  o.delta = 1.1;
  auto pos = one_token(2, 1.2, o);  // ρ₁ = 1.1, ρ₂ = 1.2: −min(2.2, 2.4) = −2.2; ρ > δ: no gradient
  EXPECT_NEAR(pos.loss, -2.2, kTol);
  EXPECT_EQ(pos.dlogp[0], 0.0);
  auto high = one_token(2, 1.5, o);  // ρ₁ = 1.1, ρ₂ = 1.28: −2.2, and ρ₁ ≤ 1.28 is no high clip
  EXPECT_NEAR(high.loss, -2.2, kTol);
  EXPECT_EQ(high.clip_high_fraction, 0.0);
  auto neg = one_token(-2, 1.5, o);  // −min(−2.2, −2.56) = 2.56 on the clipped ρ₂: no gradient
  EXPECT_NEAR(neg.loss, 2.56, kTol);
  EXPECT_EQ(neg.dlogp[0], 0.0);
}

// torch.clamp's backward passes the gradient at its bounds: a ratio exactly on the clip range's bound keeps
// it on the ρ₂ branch. (Only a δ below the bound makes that branch the one taken there.)
TEST(GrpoClip, RatioOnTheClipBoundKeepsItsGradient) {
  auto o = with(LossAggregation::Bnpo);
  o.epsilon_low = o.epsilon_high = 0;  // clip range [1, 1]
  o.delta = 0.5;
  auto r = one_token(-1, 1.0, o);  // ρ = 1, ρ₁ = 0.5, ρ₂ = 1: −min(−0.5, −1) = 1, gradient −ρA = 1
  EXPECT_NEAR(r.loss, 1.0, kTol);
  EXPECT_NEAR(r.dlogp[0], 1.0, kTol);
}

// A = 0 moves nothing, so a ratio outside the range is no clip (TRL: low needs A < 0, high A > 0).
TEST(GrpoClip, ZeroAdvantageIsNeverCountedAsClipped) {
  for (double rho : {0.5, 1.5}) {
    auto r = one_token(0, rho);
    EXPECT_EQ(r.loss, 0.0);
    EXPECT_EQ(r.clip_low_fraction, 0.0) << rho;
    EXPECT_EQ(r.clip_high_fraction, 0.0) << rho;
  }
}

TEST(GrpoClip, ClipHigherWidensOnlyTheUpperSide) {
  auto sym = with(LossAggregation::Bnpo);
  sym.epsilon_high = 0.2;
  auto clipped = one_token(2, 1.25, sym);  // 1.25 > 1.2: −1.2·2
  EXPECT_NEAR(clipped.loss, -2.4, kTol);
  EXPECT_EQ(clipped.dlogp[0], 0.0);
  auto higher = one_token(2, 1.25);  // 1.25 ≤ 1.28: inside
  EXPECT_NEAR(higher.loss, -2.5, kTol);
  EXPECT_NEAR(higher.dlogp[0], -2.5, kTol);
}

TEST(GrpoClip, FractionsAndRatioMeanOverABatch) {
  // Five one-token completions: (A, ρ) = (2, 1.1) (2, 1.5) (2, 0.5) (−2, 0.5) (−2, 1.5).
  // Losses −2.2, −2.56, −1, 1.6, 3 → bnpo mean −1.16/5 = −0.232. One low clip, one high clip.
  GrpoBatch b;
  b.offsets = {0, 1, 2, 3, 4, 5};
  b.advantages = {2, 2, 2, -2, -2};
  b.logp = {std::log(1.1), std::log(1.5), std::log(0.5), std::log(0.5), std::log(1.5)};
  b.logp_old = {0, 0, 0, 0, 0};
  b.mask = {1, 1, 1, 1, 1};
  auto r = grpo_token_loss(b, with(LossAggregation::Bnpo));
  EXPECT_NEAR(r.loss, -0.232, kTol);
  expect_vec_near(r.dlogp, {-2.2 / 5, 0, -1.0 / 5, 0, 3.0 / 5});
  EXPECT_NEAR(r.clip_low_fraction, 0.2, kTol);
  EXPECT_NEAR(r.clip_high_fraction, 0.2, kTol);
  EXPECT_NEAR(r.ratio_mean, 5.1 / 5, kTol);
}

// ---------------------------------------------------------------------------------------------------------
// KL estimators (spec §1.5), one token with A = 0 so only β·KL remains; β = 1, bnpo.

GrpoLossResult kl_token(KlEstimator k, double logp, double logp_ref, double beta = 1.0) {
  GrpoBatch b;
  b.offsets = {0, 1};
  b.advantages = {0.0};
  b.logp = {logp};
  b.logp_old = {logp};
  b.logp_ref = {logp_ref};
  b.mask = {1};
  auto o = with(LossAggregation::Bnpo);
  o.beta = beta;
  o.kl = k;
  return grpo_token_loss(b, o);
}

TEST(GrpoKl, EstimatorsAndDerivatives) {
  // logp = −1, logp_ref = −1.5: r = logp_ref − logp = −0.5 (d = logp − logp_ref = 0.5).
  //   k1 = −r = 0.5, ∂ = 1;  k2 = r²/2 = 0.125, ∂ = −r = 0.5;
  //   k3 = e^{−0.5} + 0.5 − 1 = 0.6065306597126334 − 0.5, ∂ = 1 − e^{−0.5} = 0.3934693402873666.
  struct Case {
    KlEstimator k;
    double logp, ref, kl, dkl;
  } cases[] = {
      {KlEstimator::K1, -1, -1.5, 0.5, 1.0},
      {KlEstimator::K2, -1, -1.5, 0.125, 0.5},
      {KlEstimator::K3, -1, -1.5, 0.10653065971263342, 0.3934693402873666},
      // logp = −2, logp_ref = −1: r = 1.  k1 = −1, ∂ = 1;  k2 = 0.5, ∂ = −1;  k3 = e − 2, ∂ = 1 − e.
      {KlEstimator::K1, -2, -1, -1.0, 1.0},
      {KlEstimator::K2, -2, -1, 0.5, -1.0},
      {KlEstimator::K3, -2, -1, 0.7182818284590452, -1.7182818284590452},
      // logp == logp_ref: every estimator is 0; k1's derivative is still 1, k2's and k3's are 0.
      {KlEstimator::K1, -1, -1, 0, 1},
      {KlEstimator::K2, -1, -1, 0, 0},
      {KlEstimator::K3, -1, -1, 0, 0},
  };
  for (const auto& c : cases) {
    auto r = kl_token(c.k, c.logp, c.ref);
    EXPECT_NEAR(r.loss, c.kl, kTol) << static_cast<int>(c.k) << " " << c.logp << " " << c.ref;
    EXPECT_NEAR(r.dlogp[0], c.dkl, kTol) << static_cast<int>(c.k) << " " << c.logp << " " << c.ref;
    EXPECT_NEAR(r.kl, c.kl, kTol);
  }
}

TEST(GrpoKl, BetaScalesTheTermButNotTheLoggedKl) {
  auto r = kl_token(KlEstimator::K3, -2, -1, 0.04);  // 0.04·(e − 2), 0.04·(1 − e)
  EXPECT_NEAR(r.loss, 0.04 * 0.7182818284590452, kTol);
  EXPECT_NEAR(r.dlogp[0], 0.04 * -1.7182818284590452, kTol);
  EXPECT_NEAR(r.kl, 0.7182818284590452, kTol);
}

TEST(GrpoKl, AddedAfterClipping) {
  // A = −2, ρ = 0.5: clipped low, surrogate 1.6 with no gradient; β = 0.1, k2 with r = −0.5: 0.1·0.125 on the
  // loss and 0.1·0.5 on the gradient — the KL gradient survives the clip.
  GrpoBatch b;
  b.offsets = {0, 1};
  b.advantages = {-2};
  b.logp = {std::log(0.5)};
  b.logp_old = {0};
  b.logp_ref = {std::log(0.5) - 0.5};
  b.mask = {1};
  auto o = with(LossAggregation::Bnpo);
  o.beta = 0.1;
  o.kl = KlEstimator::K2;
  auto r = grpo_token_loss(b, o);
  EXPECT_NEAR(r.loss, 1.6125, kTol);
  EXPECT_NEAR(r.dlogp[0], 0.05, kTol);
}

TEST(GrpoKl, ReferenceIsOptionalWithoutBeta) {
  // β = 0: no reference needed; when one is given anyway the loss ignores it and only the log shows it.
  auto b = two_completions();
  auto o = with(LossAggregation::Bnpo);
  EXPECT_EQ(grpo_token_loss(b, o).kl, 0.0);
  b.logp_ref = {-1.0, -2.0, -0.5, -0.5};  // k3 is 0 on the first three tokens; r = 1 on the last: e − 2
  auto r = grpo_token_loss(b, o);
  EXPECT_NEAR(r.loss, 0.125, kTol);
  EXPECT_NEAR(r.kl, (std::exp(1.0) - 2) / 4, kTol);
}

// ---------------------------------------------------------------------------------------------------------
// Entropy bonus (spec §1.10): loss −= coef · mean token entropy, as TRL — a token mean for every aggregation
// (over the step's tokens for dapo), not weighted like the per-token loss.

TEST(GrpoEntropy, BonusIsCoefTimesMeanTokenEntropy) {
  auto b = two_completions();
  b.advantages = {0, 0};         // isolate the bonus
  b.entropy = {2, 1, 0.5, 1.5};  // Σ = 5 over 4 tokens: mean 1.25
  for (auto agg :
       {LossAggregation::Grpo, LossAggregation::Bnpo, LossAggregation::DrGrpo, LossAggregation::Dapo}) {
    auto o = with(agg, 5);
    o.entropy_coef = 0.01;
    auto r = grpo_token_loss(b, o);
    EXPECT_NEAR(r.loss, -0.0125, kTol) << static_cast<int>(agg);
    expect_vec_near(r.dentropy, {-0.0025, -0.0025, -0.0025, -0.0025});
    expect_vec_near(r.dlogp, {0, 0, 0, 0});
    EXPECT_NEAR(r.entropy, 1.25, kTol);
  }
  // dapo / bnpo over a 10-token step: −0.01 · 5/10; grpo and dr_grpo keep this batch's mean.
  b.total_tokens_override = 10;
  for (auto agg : {LossAggregation::Dapo, LossAggregation::Bnpo}) {
    auto o = with(agg);
    o.entropy_coef = 0.01;
    auto r = grpo_token_loss(b, o);
    EXPECT_NEAR(r.loss, -0.005, kTol);
    expect_vec_near(r.dentropy, {-0.001, -0.001, -0.001, -0.001});
    EXPECT_NEAR(r.entropy, 1.25, kTol);  // the logged mean is over this batch's tokens
  }
  for (auto agg : {LossAggregation::Grpo, LossAggregation::DrGrpo}) {
    auto o = with(agg, 5);
    o.entropy_coef = 0.01;
    EXPECT_NEAR(grpo_token_loss(b, o).loss, -0.0125, kTol);
  }
}

TEST(GrpoEntropy, MaskedAndCombinedWithThePolicyTerm) {
  auto b = two_completions();
  b.entropy = {2, 1, 0.5, 1.5};
  auto o = with(LossAggregation::Grpo);
  o.entropy_coef = 0.01;
  // grpo surrogate −0.25 (above) minus 0.01 · 1.25. (Weighting the entropy like ℓ would give
  // 0.01·(2/1 + 3/3)/2 = 0.015 instead: that is the length-dependent version TRL avoids.)
  EXPECT_NEAR(grpo_token_loss(b, o).loss, -0.2625, kTol);
  // Token 2 masked: counted entropies {2, 1, 1.5}, mean 1.5; the grpo surrogate is −0.2375 (above).
  b.mask = {1, 1, 0, 1};
  auto r = grpo_token_loss(b, o);
  EXPECT_NEAR(r.loss, -0.2375 - 0.015, kTol);
  expect_vec_near(r.dentropy, {-0.01 / 3, -0.01 / 3, 0, -0.01 / 3});
  EXPECT_NEAR(r.entropy, 1.5, kTol);
}

// ---------------------------------------------------------------------------------------------------------
// μ = 1 (spec §1.8): logp_old == logp, so ρ ≡ 1, nothing clips, and dlogp = −A · (aggregation weight): the
// REINFORCE-with-group-baseline gradient. With grpo and whole groups the reported loss is −mean(A) ≈ 0.

TEST(GrpoOnPolicy, RatioOneGivesReinforceGradient) {
  const std::vector<int64_t> lengths = {3, 1, 2, 4, 2, 2, 1, 5};  // 20 tokens, longest 5
  auto adv = group_advantages({1, 0, 0, 1, 0, 0, 0, 1}, 4, AdvantageScale::Group).advantages;
  GrpoBatch b;
  b.offsets = {0};
  for (auto len : lengths) b.offsets.push_back(b.offsets.back() + len);
  b.advantages = adv;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-4, -0.01);
  for (int t = 0; t < 20; ++t) b.logp.push_back(u(rng));
  b.logp_old = b.logp;
  b.mask.assign(20, 1);
  b.total_tokens_override = 40;

  struct Case {
    LossAggregation agg;
    double eps;  // ε_low = ε_high; 0 is the degenerate range [1, 1], which ρ = 1 still sits in
  } cases[] = {{LossAggregation::Grpo, 0.2}, {LossAggregation::Bnpo, 0.2}, {LossAggregation::DrGrpo, 0.2},
               {LossAggregation::Dapo, 0.2}, {LossAggregation::Grpo, 0.0}, {LossAggregation::Dapo, 0.0}};
  for (const auto& c : cases) {
    auto o = with(c.agg, 6);
    o.epsilon_low = o.epsilon_high = c.eps;
    auto r = grpo_token_loss(b, o);
    for (size_t i = 0; i < lengths.size(); ++i) {
      double w = 0;  // grpo 1/(8·|o_i|), dr_grpo 1/(8·6), bnpo and dapo 1/40 (the step count)
      switch (c.agg) {
        case LossAggregation::Grpo:
          w = 1.0 / (8.0 * static_cast<double>(lengths[i]));
          break;
        case LossAggregation::Bnpo:
          w = 1.0 / 40;
          break;
        case LossAggregation::DrGrpo:
          w = 1.0 / 48;
          break;
        case LossAggregation::Dapo:
          w = 1.0 / 40;
          break;
      }
      for (int64_t t = b.offsets[i]; t < b.offsets[i + 1]; ++t)
        EXPECT_NEAR(r.dlogp[t], -adv[i] * w, kTol) << "completion " << i;
    }
    EXPECT_EQ(r.ratio_mean, 1.0);
    EXPECT_EQ(r.clip_low_fraction, 0.0);
    EXPECT_EQ(r.clip_high_fraction, 0.0);
    if (c.agg == LossAggregation::Grpo) {
      EXPECT_NEAR(r.loss, 0.0, 1e-15);  // −(1/8) Σ A_i, and Σ A_i = 0
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// GSPO (spec §1.7): one ratio per completion, exp of the mean of its counted tokens' log-ratios.

TEST(GrpoSequenceRatio, EveryTokenUsesItsCompletionsMeanRatio) {
  // two_completions(): ρ = {1 | 1.1, 0.9, 1}; the second completion's ratio is (1.1 · 0.9 · 1)^(1/3).
  GrpoLossOptions o = with(LossAggregation::Dapo);
  o.importance_level = ImportanceLevel::Sequence;
  const auto r = grpo_token_loss(two_completions(), o);
  const double rho = std::cbrt(1.1 * 0.9);
  // s = {−1 | 0.5ρ, 0.5ρ, 0.5ρ} over 4 tokens; ∂/∂logp_t = w·s'(ρ)·ρ = s/4 for every token.
  EXPECT_NEAR(r.loss, (-1 + 1.5 * rho) / 4, kTol);
  expect_vec_near(r.dlogp, {-0.25, 0.5 * rho / 4, 0.5 * rho / 4, 0.5 * rho / 4});
  EXPECT_NEAR(r.ratio_mean, (1 + 3 * rho) / 4, kTol);
}

TEST(GrpoSequenceRatio, ACompletionOutsideTheClipRangeGetsNoGradientWhateverItsTokens) {
  // Token ratios 1.0 and 1.69: each token alone is clipped or not, the completion's ratio 1.3 is clipped
  // (> 1.28) for A > 0, so none of its tokens gets a gradient; at token level the first one would.
  GrpoBatch b;
  b.offsets = {0, 2};
  b.advantages = {1.0};
  b.logp = {-1.0, -2.0};
  b.logp_old = {-1.0, -2.0 - std::log(1.69)};
  b.mask = {1, 1};
  GrpoLossOptions o = with(LossAggregation::Dapo);
  o.importance_level = ImportanceLevel::Sequence;
  const auto seq = grpo_token_loss(b, o);
  expect_vec_near(seq.dlogp, {0, 0});
  EXPECT_NEAR(seq.loss, -1.28, kTol);  // two tokens of −(1 + ε_high)·A, over 2
  EXPECT_EQ(seq.clip_high_fraction, 1.0);
  o.importance_level = ImportanceLevel::Token;
  const auto tok = grpo_token_loss(b, o);
  expect_vec_near(tok.dlogp, {-0.5, 0});
  EXPECT_EQ(tok.clip_high_fraction, 0.5);
}

TEST(GrpoSequenceRatio, MaskedTokensAreLeftOutOfTheMean) {
  // The masked token's huge log-ratio (padding garbage) must not reach the completion's ratio.
  GrpoBatch b;
  b.offsets = {0, 3};
  b.advantages = {-1.0};
  b.logp = {-1.0, 50.0, -2.0};
  b.logp_old = {-1.0 - std::log(1.1), -50.0, -2.0};
  b.mask = {1, 0, 1};
  GrpoLossOptions o = with(LossAggregation::Dapo);
  o.importance_level = ImportanceLevel::Sequence;
  const auto r = grpo_token_loss(b, o);
  const double rho = std::sqrt(1.1);
  EXPECT_NEAR(r.loss, rho, kTol);  // two tokens of −ρ·A, over 2
  expect_vec_near(r.dlogp, {rho / 2, 0, rho / 2});
}

// ---------------------------------------------------------------------------------------------------------
// CISPO (spec §1.7): −sg[min(ρ, cispo_max)]·A·logp.

TEST(GrpoCispo, CappedStopGradientWeightTimesLogProb) {
  // two_completions(): ρ = {1 | 1.1, 0.9, 1}, A = {1 | −0.5}, logp = {−1 | −2, −0.5, −1.5}; cap 1.05.
  GrpoLossOptions o = with(LossAggregation::Dapo);
  o.policy_loss = PolicyLoss::Cispo;
  o.cispo_max = 1.05;
  const auto r = grpo_token_loss(two_completions(), o);
  // weights {1 | 1.05, 0.9, 1}: s = {1 | −1.05, −0.225, −0.75}, over 4 tokens.
  EXPECT_NEAR(r.loss, (1 - 1.05 - 0.225 - 0.75) / 4, kTol);
  expect_vec_near(r.dlogp, {-0.25, 0.525 / 4, 0.45 / 4, 0.5 / 4});
  EXPECT_EQ(r.clip_high_fraction, 0.25);  // the token whose weight was capped
  EXPECT_EQ(r.clip_low_fraction, 0.0);
  // Per completion the weight is (1.1 · 0.9)^(1/3) < 1.05 for all three tokens.
  o.importance_level = ImportanceLevel::Sequence;
  const double rho = std::cbrt(1.1 * 0.9);
  const auto seq = grpo_token_loss(two_completions(), o);
  expect_vec_near(seq.dlogp, {-0.25, 0.5 * rho / 4, 0.5 * rho / 4, 0.5 * rho / 4});
  EXPECT_EQ(seq.clip_high_fraction, 0.0);
  // A ratio exactly at the cap keeps its own weight: not counted as capped.
  auto bnpo = with(LossAggregation::Bnpo);
  bnpo.policy_loss = PolicyLoss::Cispo;
  bnpo.cispo_max = 1.0;
  const auto at_cap = one_token(1, 1.0, bnpo);  // logp = 0: s = −1·1·0, ∂s/∂logp = −1
  EXPECT_EQ(at_cap.loss, 0.0);
  EXPECT_NEAR(at_cap.dlogp[0], -1.0, kTol);
  EXPECT_EQ(at_cap.clip_high_fraction, 0.0);
}

// ---------------------------------------------------------------------------------------------------------
// SAPO (spec §1.7): −(4/τ)·σ(τ(ρ − 1))·A, τ = 1.0 for A > 0 and 1.05 otherwise (TRL's defaults).

TEST(GrpoSapo, SmoothGateWithATemperaturePerSign) {
  // two_completions(): ρ = {1 | 1.1, 0.9, 1}, A = {1 | −0.5}.
  GrpoLossOptions o = with(LossAggregation::Dapo);
  o.policy_loss = PolicyLoss::Sapo;
  const auto r = grpo_token_loss(two_completions(), o);
  const auto sig = [](double tau, double rho) { return 1 / (1 + std::exp(-tau * (rho - 1))); };
  const double tn = 1.05;
  // s = {−4·σ(0)·1 | (4/1.05)·σ(1.05·0.1)·0.5, (4/1.05)·σ(−1.05·0.1)·0.5, (4/1.05)·0.5·0.5}
  const double want = -2 + (4 / tn) * 0.5 * (sig(tn, 1.1) + sig(tn, 0.9) + 0.5);
  EXPECT_NEAR(r.loss, want / 4, kTol);
  // ∂s/∂logp = −4σ(1 − σ)ρA: −1 on policy (σ = 1/2), as every other loss there.
  const auto d = [&](double rho) { return 4 * sig(tn, rho) * (1 - sig(tn, rho)) * rho * 0.5 / 4; };
  expect_vec_near(r.dlogp, {-0.25, d(1.1), d(0.9), d(1.0)});
  EXPECT_EQ(r.clip_low_fraction, 0.0);
  EXPECT_EQ(r.clip_high_fraction, 0.0);
  // Far off policy the gate closes (no gradient) where the clip would have cut it off at once.
  GrpoBatch far = two_completions();
  far.logp_old[1] = far.logp[1] - std::log(20.0);
  EXPECT_LT(std::fabs(grpo_token_loss(far, o).dlogp[1]), 1e-6);
}

// ---------------------------------------------------------------------------------------------------------
// Finite differences: dlogp and dentropy against central differences of the loss, for every aggregation × KL
// estimator × two-sided clip on/off, on random inputs with masked tokens and an empty completion. Ratios are
// kept away from the kinks (1 − ε_low, 1 + ε_high, δ) so the loss is smooth within ±h.

TEST(GrpoLoss, FiniteDifferenceAllVariants) {
  std::mt19937_64 rng(12345);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> unif(0, 1);
  const double h = 1e-6;
  int checked = 0;
  struct Policy {
    PolicyLoss loss;
    ImportanceLevel level;
  };
  for (const Policy policy :
       {Policy{PolicyLoss::Clip, ImportanceLevel::Token}, Policy{PolicyLoss::Clip, ImportanceLevel::Sequence},
        Policy{PolicyLoss::Cispo, ImportanceLevel::Token},
        Policy{PolicyLoss::Cispo, ImportanceLevel::Sequence},
        Policy{PolicyLoss::Sapo, ImportanceLevel::Token},
        Policy{PolicyLoss::Sapo, ImportanceLevel::Sequence}})
    for (auto agg :
         {LossAggregation::Grpo, LossAggregation::Bnpo, LossAggregation::DrGrpo, LossAggregation::Dapo})
      for (auto kl : {KlEstimator::K1, KlEstimator::K2, KlEstimator::K3})
        for (double delta : {0.0, 1.6}) {
          const bool cispo = policy.loss == PolicyLoss::Cispo;
          if (policy.loss != PolicyLoss::Clip && delta > 0) continue;  // δ belongs to the clipped surrogate
          GrpoLossOptions o = with(agg, 6);
          o.policy_loss = policy.loss;
          o.importance_level = policy.level;
          o.cispo_max = 1.3;  // ratios spread on both sides of it
          o.kl = kl;
          o.delta = delta;
          o.beta = 0.3;
          o.entropy_coef = 0.05;
          GrpoBatch b;
          b.offsets = {0};
          const int n = 6;
          for (int i = 0; i < n; ++i) {
            const int64_t len = i == 2 ? 0 : 1 + static_cast<int64_t>(unif(rng) * 6) % 6;
            b.offsets.push_back(b.offsets.back() + len);
            b.advantages.push_back(normal(rng));
          }
          const int64_t T = b.offsets.back();
          for (int64_t t = 0; t < T; ++t) {
            const double logp = -0.1 - 3 * unif(rng);
            double lr = 0.4 * normal(rng);  // log ρ: spreads ρ over both sides of the clip range and past δ
            for (double kink : {1 - o.epsilon_low, 1 + o.epsilon_high, delta, o.cispo_max})
              if (kink > 0 && std::fabs(std::exp(lr) - kink) < 1e-3) lr += 0.01;
            b.logp.push_back(logp);
            b.logp_old.push_back(logp - lr);
            b.logp_ref.push_back(logp + 0.5 * normal(rng));
            b.entropy.push_back(3 * unif(rng));
            b.mask.push_back(unif(rng) < 0.8 ? 1 : 0);
          }
          int64_t counted = 0;
          for (auto m : b.mask) counted += m;
          b.total_tokens_override = counted + 7;
          // A completion's own ratio away from the kinks too (with GSPO it is the one the loss uses).
          for (int i = 0; i < n && policy.level == ImportanceLevel::Sequence; ++i) {
            double sum = 0;
            int64_t c = 0;
            for (int64_t t = b.offsets[i]; t < b.offsets[i + 1]; ++t)
              if (b.mask[t]) sum += b.logp[t] - b.logp_old[t], ++c;
            const double rho = std::exp(sum / double(std::max<int64_t>(c, 1)));
            for (double kink : {1 - o.epsilon_low, 1 + o.epsilon_high, delta, o.cispo_max})
              if (kink > 0 && std::fabs(rho - kink) < 1e-3)
                for (int64_t t = b.offsets[i]; t < b.offsets[i + 1]; ++t) b.logp_old[t] -= 0.01;
          }

          const auto r = grpo_token_loss(b, o);
          for (int64_t t = 0; t < T; ++t) {
            for (auto* field : {&b.logp, &b.entropy}) {
              // CISPO's weight carries no gradient (a stop-gradient, which a difference of the loss cannot
              // see): moving logp_old with logp keeps every ratio, so the difference is the gradient through
              // the loss's explicit log π_θ (and the KL term) alone.
              const bool hold_ratio = cispo && field == &b.logp;
              const double saved = (*field)[t], saved_old = b.logp_old[t];
              (*field)[t] = saved + h;
              if (hold_ratio) b.logp_old[t] = saved_old + h;
              const double lp = grpo_token_loss(b, o).loss;
              (*field)[t] = saved - h;
              if (hold_ratio) b.logp_old[t] = saved_old - h;
              const double lm = grpo_token_loss(b, o).loss;
              (*field)[t] = saved;
              b.logp_old[t] = saved_old;
              const double fd = (lp - lm) / (2 * h);
              const double analytic = field == &b.logp ? r.dlogp[t] : r.dentropy[t];
              EXPECT_NEAR(analytic, fd, 1e-7 + 1e-6 * std::fabs(fd))
                  << (field == &b.logp ? "dlogp" : "dentropy") << " token " << t << " agg "
                  << static_cast<int>(agg) << " kl " << static_cast<int>(kl) << " delta " << delta
                  << " policy " << static_cast<int>(policy.loss) << " level "
                  << static_cast<int>(policy.level);
              ++checked;
            }
          }
        }
  EXPECT_GT(checked, 3000);
}

// ---------------------------------------------------------------------------------------------------------

TEST(GrpoLoss, Errors) {
  auto base = two_completions;
  auto run = [](GrpoBatch b, GrpoLossOptions o = with(LossAggregation::Dapo)) { grpo_token_loss(b, o); };
  {
    auto b = base();
    b.offsets = {0, 4};
    expect_error([&] { run(b); }, "offsets has 2 entries");
  }
  {
    auto b = base();
    b.offsets = {0, 3, 2};
    expect_error([&] { run(b); }, "offsets not monotone");
  }
  {
    auto b = base();
    b.offsets = {1, 2, 4};
    expect_error([&] { run(b); }, "offsets[0]");
  }
  {
    auto b = base();
    b.logp.pop_back();
    expect_error([&] { run(b); }, "logp has 3");
  }
  {
    auto b = base();
    b.logp_old.push_back(0);
    expect_error([&] { run(b); }, "logp_old has 5");
  }
  {
    auto b = base();
    b.mask.pop_back();
    expect_error([&] { run(b); }, "mask has 3");
  }
  {
    auto b = base();
    b.mask[1] = 2;
    expect_error([&] { run(b); }, "mask[1] = 2");
  }
  {
    auto o = with(LossAggregation::Dapo);
    o.beta = 0.04;
    expect_error([&] { run(base(), o); }, "logp_ref has 0");
  }
  {
    auto o = with(LossAggregation::Dapo);
    o.entropy_coef = 0.01;
    expect_error([&] { run(base(), o); }, "entropy has 0");
  }
  {
    auto b = base();
    b.entropy = {1, 2};  // given with entropy_coef = 0: still checked
    expect_error([&] { run(b); }, "entropy has 2");
  }
  {
    auto b = base();
    b.advantages[1] = kNaN;
    expect_error([&] { run(b); }, "advantages[1]");
  }
  expect_error([&] { run(base(), with(LossAggregation::DrGrpo, 0)); }, "max_completion_length > 0");
  {
    auto o = with(LossAggregation::Dapo);
    o.policy_loss = PolicyLoss::Cispo;
    o.delta = 1.5;
    expect_error([&] { run(base(), o); }, "delta = 1.5 is a clip of the clipped surrogate");
    o.delta = 0;
    o.cispo_max = 0;
    expect_error([&] { run(base(), o); }, "cispo_max = 0 must be > 0");
    o.policy_loss = PolicyLoss::Sapo;
    o.delta = 1.5;
    expect_error([&] { run(base(), o); }, "delta = 1.5 is a clip of the clipped surrogate; sapo bounds");
    o.delta = 0;
    o.sapo_temperature_neg = 0;
    expect_error([&] { run(base(), o); }, "sapo_temperature_neg = 0 must be > 0");
  }
  expect_error([&] { run(base(), with(LossAggregation::DrGrpo, 2)); }, "completion 1 has 3 tokens");
  {
    auto b = base();
    b.total_tokens_override = 3;
    expect_error([&] { run(b); }, "total_tokens_override = 3");
    expect_error([&] { run(b, with(LossAggregation::Bnpo)); }, "total_tokens_override = 3");
    EXPECT_NO_THROW(run(b, with(LossAggregation::Grpo)));  // not read by grpo
  }
  {
    auto o = with(LossAggregation::Dapo);
    o.epsilon_low = -0.1;
    expect_error([&] { run(base(), o); }, "epsilon_low");
    o = with(LossAggregation::Dapo);
    o.beta = -1;
    o.kl = KlEstimator::K3;
    auto b = base();
    b.logp_ref = b.logp;
    expect_error([&] { run(b, o); }, "beta = -1");
    o = with(LossAggregation::Dapo);
    o.delta = -2;
    expect_error([&] { run(base(), o); }, "delta = -2");
  }
}

// ---------------------------------------------------------------------------------------------------------
// pass@k (Chen et al. 2021)

// A step makes no update when its loss can have no gradient. The non-zero advantages of a group whose
// completions were all truncated and masked are no signal: such a step ran AdamW on a zero gradient, which
// moved every weight by weight decay and momentum (and logged loss 0, grad_norm 0 as an update).
TEST(GrpoLoss, ReasonForNoUpdate) {
  const std::vector<double> flat = {0, 0, 0, 0}, mixed = {-0.5, 1.5, 0, 0};
  const std::vector<char> all = {1, 1, 1, 1}, first_two_masked = {0, 0, 1, 1};
  EXPECT_STREQ(reason_for_no_update(flat, all, 10, 0, 0), "every advantage 0");
  EXPECT_EQ(reason_for_no_update(mixed, all, 10, 0, 0), nullptr);
  EXPECT_STREQ(reason_for_no_update(mixed, first_two_masked, 10, 0, 0), "every advantage 0");
  EXPECT_EQ(reason_for_no_update(mixed, {1, 0, 1, 1}, 10, 0, 0), nullptr);
  // A KL or entropy term has a gradient whatever the advantages.
  EXPECT_EQ(reason_for_no_update(flat, all, 10, 0.1, 0), nullptr);
  EXPECT_EQ(reason_for_no_update(mixed, first_two_masked, 10, 0, 1e-3), nullptr);
  EXPECT_STREQ(reason_for_no_update(mixed, {0, 0, 0, 0}, 0, 0.1, 0), "every token masked");
  expect_error(
      [&] {
        reason_for_no_update(flat, {1, 1}, 10, 0, 0);
      },
      "reason_for_no_update: 4 advantages for 2 completions");
}

TEST(PassAtK, SmallExactCases) {
  EXPECT_NEAR(pass_at_k(5, 2, 1), 0.4, kTol);  // 1 − C(3,1)/C(5,1) = 1 − 3/5
  EXPECT_NEAR(pass_at_k(5, 2, 2), 0.7, kTol);  // 1 − C(3,2)/C(5,2) = 1 − 3/10
  EXPECT_NEAR(pass_at_k(4, 1, 2), 0.5, kTol);  // 1 − C(3,2)/C(4,2) = 1 − 3/6
  EXPECT_NEAR(pass_at_k(5, 2, 3), 0.9, kTol);  // 1 − C(3,3)/C(5,3) = 1 − 1/10
  EXPECT_EQ(pass_at_k(5, 0, 1), 0.0);
  EXPECT_EQ(pass_at_k(5, 0, 5), 0.0);
  EXPECT_EQ(pass_at_k(5, 4, 2), 1.0);  // n − c = 1 < k: every pair holds a correct sample
  EXPECT_EQ(pass_at_k(5, 5, 1), 1.0);
  EXPECT_EQ(pass_at_k(5, 1, 5), 1.0);  // n − c = 4 < 5
  EXPECT_NEAR(pass_at_k(1000, 1, 1), 0.001, kTol);
  // 1 − C(100,100)/C(200,100) = 1 − 1/C(200,100) with C(200,100) ≈ 9·10⁵⁸ (never formed): 1 in double.
  EXPECT_NEAR(pass_at_k(200, 100, 100), 1.0, 1e-15);
  // n = 10⁶, c = 1, k = 1: 1 − (10⁶ − 1)/10⁶ = 10⁻⁶.
  EXPECT_NEAR(pass_at_k(1000000, 1, 1), 1e-6, 1e-15);
}

TEST(PassAtK, Errors) {
  expect_error([] { pass_at_k(0, 0, 1); }, "n = 0");
  expect_error([] { pass_at_k(5, -1, 1); }, "c = -1");
  expect_error([] { pass_at_k(5, 6, 1); }, "c = 6");
  expect_error([] { pass_at_k(5, 2, 0); }, "k = 0");
  expect_error([] { pass_at_k(5, 2, 6); }, "k = 6");
}

}  // namespace
}  // namespace seek
