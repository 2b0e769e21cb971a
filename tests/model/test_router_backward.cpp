// router_forward / router_backward (model/router.hpp) on their own, against central differences in double:
// the loss L = Σ_a r_a · weight_a (a random r per assignment, so dweight = r) + β · balance loss, with β the
// balance_grad_scale, differentiated w.r.t. the router logits and compared with router_backward's dlogits.
// Every scoring and selection path is covered: softmax scores with greedy and group_limited_greedy selection,
// with and without norm_topk_prob (including K = 1, where V2 does not renormalise), routed_scaling_factor
// != 1; sigmoid scores with noaux_tc group selection and an e_score_correction_bias; the balance loss off,
// per sequence and over the batch. The whole-model gradient check reaches the router only through the gate
// linear and the experts, with the shipped configs' settings; here each option is checked directly.
// Selection is piecewise constant, so the differences are only valid where the top-k choice does not change
// within the step: the loss records the selected experts at every ±h evaluation and the test asserts they
// equal the unperturbed ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "model/router.hpp"
#include "model_test_util.hpp"
#include "support/gradcheck.hpp"

namespace seek {
namespace {

using test::random_vector;

struct RouterCase {
  const char* name;
  const char* config;
  void (*edit)(ModelConfig&) = nullptr;  // a variant of the shipped config
  bool bias = false;                     // a random e_score_correction_bias (noaux_tc only)
};

void PrintTo(const RouterCase& c, std::ostream* os) {
  *os << c.name;
}

enum class Balance { kOff, kPerSequence, kBatch };

BalanceOptions balance_options(Balance b) {
  BalanceOptions o;
  // α = 1 rather than the configs' 0.001 so that the balance term's share of the gradient is far above the
  // tolerance (the loss is linear in α).
  o.alpha = b == Balance::kOff ? 0.0 : 1.0;
  o.seq_aux = b == Balance::kPerSequence;
  return o;
}

const char* balance_name(Balance b) {
  switch (b) {
    case Balance::kOff:
      return "no_balance";
    case Balance::kPerSequence:
      return "seq_balance";
    case Balance::kBatch:
      return "batch_balance";
  }
  return "";
}

void PrintTo(Balance b, std::ostream* os) {
  *os << balance_name(b);
}

constexpr int64_t kB = 3, kTn = 5;     // 15 tokens in 3 sequences
constexpr double kBalanceScale = 0.7;  // β: the balance loss's weight in L, passed as balance_grad_scale

class RouterGradient : public ::testing::TestWithParam<std::tuple<RouterCase, Balance>> {};

TEST_P(RouterGradient, DlogitsMatchCentralDifferencesInDouble) {
  const auto& [cs, balance] = GetParam();
  ModelConfig cfg = test::shipped_config(cs.config);
  if (cs.edit) cs.edit(cfg);
  const int64_t E = cfg.n_routed_experts, K = cfg.num_experts_per_tok, N = kB * kTn;
  const BalanceOptions bal = balance_options(balance);
  std::vector<double> logits = random_vector(size_t(N * E), 17, 1.5);
  const std::vector<double> bias = cs.bias ? random_vector(size_t(E), 18, 0.3) : std::vector<double>();
  const double* bias_ptr = cs.bias ? bias.data() : nullptr;
  const std::vector<double> r = random_vector(size_t(N * K), 19);  // dL/dweight

  RouterCache<double> cache;
  const double balance_loss = router_forward<double>(cfg, logits.data(), bias_ptr, kB, kTn, bal, cache);
  if (bal.alpha > 0) {
    EXPECT_GT(balance_loss, 0.0);
  } else {
    EXPECT_EQ(balance_loss, 0.0);
  }
  const std::vector<int32_t> idx0 = cache.idx;
  std::vector<double> dlogits(logits.size(), 1e30);  // written, not accumulated
  router_backward<double>(cfg, cache, r.data(), kB, kTn, bal, kBalanceScale, dlogits.data());
  for (double g : dlogits) ASSERT_TRUE(std::isfinite(g));

  // L − L₀ rather than L: the weights of tokens a perturbation does not reach cancel exactly (as in
  // test_attention.cpp), so the difference carries only the perturbed token's rounding.
  const std::vector<double> weight0 = cache.weight;
  int unstable = 0;  // evaluations whose selection differs from the unperturbed one
  auto loss = [&] {
    const double b = router_forward<double>(cfg, logits.data(), bias_ptr, kB, kTn, bal, cache);
    if (cache.idx != idx0) ++unstable;
    double l = kBalanceScale * (b - balance_loss);
    for (size_t a = 0; a < r.size(); ++a) l += r[a] * (cache.weight[a] - weight0[a]);
    return l;
  };
  const double h = 1e-5;
  const auto res = test::check_gradient(logits, dlogits, loss, h, logits.size());
  ASSERT_EQ(unstable, 0) << "the top-k selection changed within ±" << h << "; choose other logits";
  EXPECT_EQ(res.checked, logits.size());
  EXPECT_LT(res.max_rel_err, 1e-6) << "worst logit " << res.worst_index << " (token "
                                   << res.worst_index / size_t(E) << ", expert "
                                   << res.worst_index % size_t(E) << "), max abs error " << res.max_abs_err;
}

INSTANTIATE_TEST_SUITE_P(
    Routers, RouterGradient,
    ::testing::Combine(
        ::testing::Values(
            // V2-Lite: softmax, greedy top-3 of 8, unnormalised weights scaled by routed_scaling_factor.
            RouterCase{.name = "softmax_greedy_scaled",
                       .config = "tiny-v2lite",
                       .edit = [](ModelConfig& c) { c.routed_scaling_factor = 2.5; }},
            // Renormalised top-k weights (V2 then ignores routed_scaling_factor).
            RouterCase{.name = "softmax_greedy_normed",
                       .config = "tiny-v2lite",
                       .edit =
                           [](ModelConfig& c) {
                             c.norm_topk_prob = true;
                             c.routed_scaling_factor = 2.5;
                           }},
            // K = 1 with norm_topk_prob: V2 does not renormalise a single weight, it scales it.
            RouterCase{.name = "softmax_greedy_top1_normflag",
                       .config = "tiny-v2lite",
                       .edit =
                           [](ModelConfig& c) {
                             c.num_experts_per_tok = 1;
                             c.norm_topk_prob = true;
                             c.routed_scaling_factor = 3.0;
                           }},
            // V2: 4 groups of 2, the best 2 groups by their best expert, top-3 in them, scaled by 16.
            RouterCase{.name = "softmax_group_limited_scaled", .config = "tiny-v2"},
            RouterCase{.name = "softmax_group_limited_normed",
                       .config = "tiny-v2",
                       .edit = [](ModelConfig& c) { c.norm_topk_prob = true; }},
            // V3: sigmoid scores, 4 groups ranked by their two best biased scores, top-2, renormalised then
            // scaled by 2.5; the bias moves the selection only.
            RouterCase{.name = "sigmoid_noaux_tc_normed_bias", .config = "tiny-v3", .bias = true},
            RouterCase{.name = "sigmoid_noaux_tc_unnormed_bias",
                       .config = "tiny-v3",
                       .edit = [](ModelConfig& c) { c.norm_topk_prob = false; },
                       .bias = true},
            // noaux_tc without groups, top-3, and without a bias.
            RouterCase{.name = "sigmoid_noaux_tc_one_group_top3",
                       .config = "tiny-v3",
                       .edit =
                           [](ModelConfig& c) {
                             c.n_group = 1;
                             c.topk_group = 1;
                             c.num_experts_per_tok = 3;
                           }}),
        ::testing::Values(Balance::kOff, Balance::kPerSequence, Balance::kBatch)),
    [](const auto& info) {
      return std::string(std::get<0>(info.param).name) + "_" + balance_name(std::get<1>(info.param));
    });

// The bias changes which experts are chosen, but the gate values are the unbiased scores of the chosen
// experts: the same weights as the formula on cache.scores, and a loss that does not move at all when the
// bias moves within a step that keeps the selection (so no gradient is owed to it).
TEST(RouterBias, ChangesSelectionButNotWeights) {
  ModelConfig cfg = test::shipped_config("tiny-v3");
  const int64_t E = cfg.n_routed_experts, K = cfg.num_experts_per_tok, N = kB * kTn;
  const BalanceOptions bal = balance_options(Balance::kPerSequence);
  const std::vector<double> logits = random_vector(size_t(N * E), 17, 1.5);
  std::vector<double> bias = random_vector(size_t(E), 18, 0.3);
  const std::vector<double> r = random_vector(size_t(N * K), 19);

  RouterCache<double> plain, biased;
  router_forward<double>(cfg, logits.data(), nullptr, kB, kTn, bal, plain);
  router_forward<double>(cfg, logits.data(), bias.data(), kB, kTn, bal, biased);
  EXPECT_NE(plain.idx, biased.idx) << "the bias should move some token's selection";
  EXPECT_EQ(plain.scores, biased.scores);
  for (int64_t t = 0; t < N; ++t) {
    const double* s = biased.scores.data() + t * E;
    const int32_t* idx = biased.idx.data() + t * K;
    double denom = 0;
    for (int64_t k = 0; k < K; ++k) denom += s[idx[k]];
    for (int64_t k = 0; k < K; ++k) {
      const double want = cfg.routed_scaling_factor * s[idx[k]] / (denom + 1e-20);
      EXPECT_NEAR(biased.weight[size_t(t * K + k)], want, 1e-15 * std::fabs(want)) << "token " << t;
    }
  }

  const std::vector<int32_t> idx0 = biased.idx;
  auto loss = [&] {
    const double b = router_forward<double>(cfg, logits.data(), bias.data(), kB, kTn, bal, biased);
    EXPECT_EQ(biased.idx, idx0) << "selection changed within the step";
    return test::dot(r.data(), biased.weight.data(), r.size()) + kBalanceScale * b;
  };
  const double l0 = loss();
  for (size_t e = 0; e < bias.size(); ++e) {
    const double saved = bias[e];
    for (const double step : {1e-5, -1e-5}) {
      bias[e] = saved + step;
      EXPECT_EQ(loss(), l0) << "bias " << e << " moved the loss";
    }
    bias[e] = saved;
  }
}

}  // namespace
}  // namespace seek
