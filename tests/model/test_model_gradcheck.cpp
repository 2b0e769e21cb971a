// Finite-difference check of the whole training loss in double precision: every trainable tensor of the
// model (MLA both query paths, all three routers incl. bias and groups, balance losses, MTP, tied heads) has
// entries, and a random direction over all its entries, along which the analytic gradient must match central
// differences; likewise the RL policy objective (log-probs and entropies) that GRPO back-propagates.
#include <gtest/gtest.h>

#include <cmath>
#include <utility>

#include "kernels/gemm.hpp"
#include "model_test_util.hpp"
#include "support/gradcheck.hpp"

namespace seek {
namespace {

// The derivative of the loss along a random unit direction v over all of tensor `id`, by central differences
// with step h, and what the analytic gradient says it is, ⟨∇L, v⟩. It involves every entry, so a dropped or
// misplaced term anywhere in the tensor shows, where single entries can all be ones with no gradient (e.g.
// embedding rows of tokens not in the batch).
template <typename Loss>
std::pair<double, double> along_random_direction(ParamStore<double>& ps, int id,
                                                 const std::vector<double>& grad, Loss&& loss, double h,
                                                 Rng& rng) {
  const ParamInfo& info = ps.layout[id];
  std::vector<double> v(size_t(info.numel));
  for (auto& x : v) x = rng.normal();
  const double norm = std::sqrt(test::dot(v.data(), v.data(), info.numel));
  for (auto& x : v) x /= norm;
  double* p = ps.p(id);
  const std::vector<double> saved(p, p + info.numel);
  for (int64_t i = 0; i < info.numel; ++i) p[i] = saved[size_t(i)] + h * v[size_t(i)];
  const double plus = loss();
  for (int64_t i = 0; i < info.numel; ++i) p[i] = saved[size_t(i)] - h * v[size_t(i)];
  const double minus = loss();
  std::copy(saved.begin(), saved.end(), p);
  return {(plus - minus) / (2 * h), test::dot(v.data(), grad.data() + info.offset, info.numel)};
}

struct Case {
  const char* name;
  const char* config;
  bool tie = false;
  bool seq_aux = true;
  int64_t B = 2, T = 7;  // 4 × 64 tokens give experts over 32 rows, whose GEMMs run on zero-padded rows
  // The mean over 256 tokens has smaller gradients, whose central differences carry ~2e-6 of roundoff (the
  // same with the padding switched off); a wrong padding row is off by orders of magnitude more.
  double tolerance = 1e-6;
  void (*edit)(ModelConfig&) = nullptr;  // a variant of the shipped config
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class WholeLossGradient : public ::testing::TestWithParam<Case> {};

TEST_P(WholeLossGradient, MatchesCentralDifferencesInDouble) {
  Case cs = GetParam();
  ModelConfig cfg = test::shipped_config(cs.config);
  cfg.tie_word_embeddings = cs.tie;
  if (cs.edit) cs.edit(cfg);
  Transformer<double> model(cfg);
  model.init_weights(42);
  test::randomise_router_bias(model, 7);
  // Larger weights than the default init make every term (attention, routing, balance) contribute.
  auto& ps = model.params();
  for (int id = 0; id < ps.layout.size(); ++id)
    if (ps.layout[id].trainable && ps.layout[id].shape.size() == 2)
      for (int64_t i = 0; i < ps.layout[id].numel; ++i) ps.p(id)[i] *= 10.0;
  auto batch = test::random_batch(cfg, cs.B, cs.T, 3);
  LossOptions opts;
  opts.mtp_lambda = 0.3;
  opts.balance.alpha = 0.05;
  opts.balance.seq_aux = cs.seq_aux;

  // A step on other tokens first leaves its values in every reused buffer, as training does.
  const auto previous = test::random_batch(cfg, cs.B, cs.T, 4);
  model.forward_backward(previous.tokens.data(), previous.targets.data(), cs.B, cs.T, opts, true);
  ps.zero_grad();
  LossResult res =
      model.forward_backward(batch.tokens.data(), batch.targets.data(), batch.B, batch.T, opts, true);
  ASSERT_TRUE(std::isfinite(res.loss));
  if (cfg.n_routed_experts > 0) {
    EXPECT_GT(res.balance, 0.0);
  }
  ASSERT_EQ(res.mtp_ce.size(), size_t(cfg.num_nextn_predict_layers));
  for (const double ce : res.mtp_ce) EXPECT_GT(ce, 0.0);
  std::vector<double> grad(ps.grad.begin(), ps.grad.end());
  bool padded = false;
  for (const auto& layer : model.expert_loads())
    for (const int64_t n : layer.load) padded |= gemm_rows_bucket(n) != n;
  EXPECT_EQ(padded, cs.B * cs.T > 100) << "expert rows padded for " << cs.B << " × " << cs.T << " tokens";

  auto loss = [&] {
    return model.forward_backward(batch.tokens.data(), batch.targets.data(), batch.B, batch.T, opts, false)
        .loss;
  };
  // h = 1e-5: SwiGLU and the router use the vectorised exp (libmvec, a few ulp), which makes smaller steps
  // noisy.
  const double h = 1e-5;
  double worst = 0;
  std::string worst_name;
  auto record = [&](double fd, double an, const std::string& where) {
    const double rel = std::fabs(fd - an) / std::max({std::fabs(fd), std::fabs(an),
                                                      1e-4});  // floor: FD roundoff on tiny gradients
    if (rel > worst) {
      worst = rel;
      worst_name = where + " fd=" + std::to_string(fd) + " analytic=" + std::to_string(an);
    }
  };
  int checked = 0;
  Rng rng(99);
  for (int id = 0; id < ps.layout.size(); ++id) {
    const ParamInfo& info = ps.layout[id];
    if (!info.trainable) continue;
    // Single entries (first, middle, last) ...
    for (int j = 0; j < 3; ++j) {
      int64_t i = info.offset + (info.numel - 1) * j / 2;
      double saved = ps.value[size_t(i)];
      ps.value[size_t(i)] = saved + h;
      double lp = loss();
      ps.value[size_t(i)] = saved - h;
      double lm = loss();
      ps.value[size_t(i)] = saved;
      record((lp - lm) / (2 * h), grad[size_t(i)], info.name + "[" + std::to_string(i - info.offset) + "]");
      ++checked;
    }
    // ... and the whole tensor along a random direction.
    const auto [fd, an] = along_random_direction(ps, id, grad, loss, h, rng);
    record(fd, an, info.name + " along a random direction");
    ++checked;
  }
  EXPECT_LT(worst, cs.tolerance) << "worst: " << worst_name;
  EXPECT_GT(checked, 80);
}

INSTANTIATE_TEST_SUITE_P(
    Configs, WholeLossGradient,
    ::testing::Values(
        Case{.name = "tiny_v3_seqaux", .config = "tiny-v3"},
        Case{.name = "tiny_v3_tied_batchaux", .config = "tiny-v3", .tie = true, .seq_aux = false},
        Case{.name = "tiny_v2lite_seqaux", .config = "tiny-v2lite"},
        Case{.name = "tiny_v2_batchaux", .config = "tiny-v2", .seq_aux = false},
        Case{.name = "tiny_v3_batchaux_padded_experts",
             .config = "tiny-v3",
             .seq_aux = false,
             .B = 4,
             .T = 64,
             .tolerance = 5e-6},
        // Paths no shipped config takes: no shared expert, unnormalised top-k weights, a plain
        // q_proj with V3 routing, and two MTP depths (depth 2's gradient flows into depth 1).
        Case{.name = "tiny_v3_noshared_unnormed_plainq_mtp2",
             .config = "tiny-v3",
             .edit =
                 [](ModelConfig& c) {
                   c.n_shared_experts = 0;
                   c.norm_topk_prob = false;
                   c.q_lora_rank = 0;
                   c.num_nextn_predict_layers = 2;
                 }},
        // Head widths that all differ (dq 10, dv 9, dn 6; H·dq 30, H·dv 27, d 40): the shipped configs have
        // qk_nope_head_dim == v_head_dim and H·v_head_dim == hidden_size, under which a swapped dimension in
        // the MLA backward (o_proj's shape, the [k_nope | v] split of dKV) computes the same numbers.
        Case{.name = "tiny_v3_distinct_head_widths",
             .config = "tiny-v3",
             .edit =
                 [](ModelConfig& c) {
                   c.hidden_size = 40;
                   c.num_attention_heads = 3;
                   c.qk_nope_head_dim = 6;
                   c.v_head_dim = 9;
                   c.kv_lora_rank = 12;
                   c.q_lora_rank = 20;
                   c.moe_intermediate_size = 14;
                   c.intermediate_size = 36;
                 }},
        // V2's group-max routing with normalised top-k weights and a tied head.
        Case{.name = "tiny_v2_tied_normed",
             .config = "tiny-v2",
             .tie = true,
             .edit = [](ModelConfig& c) { c.norm_topk_prob = true; }}),
    [](const auto& info) { return std::string(info.param.name); });

// The router bias must change which experts are chosen but never receive a gradient.
TEST(Router, BiasChangesSelectionButGetsNoGradient) {
  ModelConfig cfg = test::shipped_config("tiny-v3");
  Transformer<double> model(cfg);
  model.init_weights(1);
  auto batch = test::random_batch(cfg, 2, 8, 5);
  LossOptions opts;
  model.forward_backward(batch.tokens.data(), batch.targets.data(), 2, 8, opts, false);
  auto before = model.expert_loads();
  test::randomise_router_bias(model, 9, 1.0);
  model.params().zero_grad();
  model.forward_backward(batch.tokens.data(), batch.targets.data(), 2, 8, opts, true);
  auto after = model.expert_loads();
  ASSERT_EQ(before.size(), after.size());
  bool changed = false;
  for (size_t l = 0; l < before.size(); ++l) changed |= before[l].load != after[l].load;
  EXPECT_TRUE(changed);
  auto& ps = model.params();
  for (int id = 0; id < ps.layout.size(); ++id)
    if (!ps.layout[id].trainable) {
      for (int64_t i = 0; i < ps.layout[id].numel; ++i) EXPECT_EQ(ps.g(id)[i], 0.0) << ps.layout[id].name;
    }
}

}  // namespace
}  // namespace seek

namespace seek {
namespace {

// The RL objective Σ a·logp + b·entropy through the whole model (what GRPO back-propagates).
struct PolicyCase {
  const char* name;
  const char* config;
  int64_t support;  // 0: the whole vocabulary; else the softmax over ids below it, as GRPO with a smaller
                    // tokenizer
};

void PrintTo(const PolicyCase& c, std::ostream* os) {
  *os << c.name;
}

class PolicyGradient : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(PolicyGradient, MatchesCentralDifferencesInDouble) {
  const PolicyCase pc = GetParam();
  ModelConfig cfg = test::shipped_config(pc.config);
  Transformer<double> model(cfg);
  model.init_weights(8);
  test::randomise_router_bias(model, 2);
  auto& ps = model.params();
  for (int id = 0; id < ps.layout.size(); ++id)
    if (ps.layout[id].trainable && ps.layout[id].shape.size() == 2)
      for (int64_t i = 0; i < ps.layout[id].numel; ++i) ps.p(id)[i] *= 10.0;
  auto batch = test::random_batch(cfg, 2, 6, 4);
  if (pc.support > 0)
    for (auto& t : batch.targets)
      if (t >= 0) t %= int32_t(pc.support);
  const int64_t N = 12;
  auto a = test::random_vector(N, 11), b = test::random_vector(N, 12);
  std::vector<double> lp(N), H(N);
  const double tau = 0.8;
  auto loss = [&] {
    model.policy_forward(batch.tokens.data(), batch.targets.data(), 2, 6, tau, lp.data(), H.data(),
                         pc.support);
    return test::dot(a.data(), lp.data(), N) + test::dot(b.data(), H.data(), N);
  };
  loss();
  ps.zero_grad();
  model.policy_backward(a.data(), b.data());
  std::vector<double> grad(ps.grad.begin(), ps.grad.end());
  double worst = 0;
  std::string where;
  auto record = [&](double fd, double an, const std::string& name) {
    double rel = std::fabs(fd - an) / std::max({std::fabs(fd), std::fabs(an), 1e-4});
    if (rel > worst) {
      worst = rel;
      where = name;
    }
  };
  const double h = 1e-5;
  Rng rng(5);
  const std::string mtp_prefix = "model.layers." + std::to_string(cfg.num_hidden_layers) + ".";
  for (int id = 0; id < ps.layout.size(); ++id) {
    const ParamInfo& info = ps.layout[id];
    if (!info.trainable) continue;
    if (info.name.find(mtp_prefix) == 0) {  // MTP is not part of the policy: nothing may reach it
      for (int64_t i = 0; i < info.numel; ++i)
        ASSERT_EQ(grad[size_t(info.offset + i)], 0.0) << info.name << "[" << i << "]";
      continue;
    }
    for (int j = 0; j < 2; ++j) {
      int64_t i = info.offset + (info.numel - 1) * j;
      double saved = ps.value[size_t(i)];
      ps.value[size_t(i)] = saved + h;
      double lplus = loss();
      ps.value[size_t(i)] = saved - h;
      double lminus = loss();
      ps.value[size_t(i)] = saved;
      record((lplus - lminus) / (2 * h), grad[size_t(i)], info.name);
    }
    const auto [fd, an] = along_random_direction(ps, id, grad, loss, h, rng);
    record(fd, an, info.name + " along a random direction");
  }
  // Central differences at h = 1e-5 are at their roundoff floor here: the worst entries are expert weights
  // with gradients near 1e-4, whose differences carry 1-2e-6 (measured: 4.6e-5 at h = 1e-6, scaling as 1/h).
  // A wrong gradient term is off by orders of magnitude more.
  EXPECT_LT(worst, 4e-6) << where;
}

INSTANTIATE_TEST_SUITE_P(Configs, PolicyGradient,
                         ::testing::Values(PolicyCase{"tiny_v3", "tiny-v3", 0},
                                           PolicyCase{"tiny_v3_support_below_vocab", "tiny-v3", 50},
                                           PolicyCase{"tiny_v2", "tiny-v2", 0}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace seek
