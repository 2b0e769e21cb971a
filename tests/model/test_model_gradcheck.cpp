// Finite-difference check of the whole training loss in double precision: every trainable tensor of the
// model (MLA both query paths, all three routers incl. bias and groups, balance losses, MTP, tied heads) has
// entries whose analytic gradient must match central differences.
#include <gtest/gtest.h>

#include <cmath>

#include "model_test_util.hpp"
#include "support/gradcheck.hpp"

namespace seek {
namespace {

struct Case {
  const char* config;
  bool tie;
  bool seq_aux;
};

class WholeLossGradient : public ::testing::TestWithParam<Case> {};

TEST_P(WholeLossGradient, MatchesCentralDifferencesInDouble) {
  Case cs = GetParam();
  ModelConfig cfg = test::shipped_config(cs.config);
  cfg.tie_word_embeddings = cs.tie;
  Transformer<double> model(cfg);
  model.init_weights(42);
  test::randomise_router_bias(model, 7);
  // Larger weights than the default init make every term (attention, routing, balance) contribute.
  auto& ps = model.params();
  for (int id = 0; id < ps.layout.size(); ++id)
    if (ps.layout[id].trainable && ps.layout[id].shape.size() == 2)
      for (int64_t i = 0; i < ps.layout[id].numel; ++i) ps.p(id)[i] *= 10.0;
  auto batch = test::random_batch(cfg, 2, 7, 3);
  LossOptions opts;
  opts.mtp_lambda = 0.3;
  opts.balance.alpha = 0.05;
  opts.balance.seq_aux = cs.seq_aux;

  ps.zero_grad();
  LossResult res =
      model.forward_backward(batch.tokens.data(), batch.targets.data(), batch.B, batch.T, opts, true);
  ASSERT_TRUE(std::isfinite(res.loss));
  if (cfg.n_routed_experts > 0) {
    EXPECT_GT(res.balance, 0.0);
  }
  if (cfg.num_nextn_predict_layers > 0) {
    EXPECT_GT(res.mtp, 0.0);
  }
  std::vector<double> grad(ps.grad.begin(), ps.grad.end());

  auto loss = [&] {
    return model.forward_backward(batch.tokens.data(), batch.targets.data(), batch.B, batch.T, opts, false)
        .loss;
  };
  // h = 1e-5: SwiGLU and the router use the vectorised exp (libmvec, a few ulp), which makes smaller steps
  // noisy.
  const double h = 1e-5;
  double worst = 0;
  std::string worst_name;
  int checked = 0;
  for (int id = 0; id < ps.layout.size(); ++id) {
    const ParamInfo& info = ps.layout[id];
    if (!info.trainable) continue;
    for (int j = 0; j < 3; ++j) {
      int64_t i = info.offset + (info.numel - 1) * j / 2;
      double saved = ps.value[size_t(i)];
      ps.value[size_t(i)] = saved + h;
      double lp = loss();
      ps.value[size_t(i)] = saved - h;
      double lm = loss();
      ps.value[size_t(i)] = saved;
      double fd = (lp - lm) / (2 * h), an = grad[size_t(i)];
      double rel = std::fabs(fd - an) /
                   std::max({std::fabs(fd), std::fabs(an), 1e-4});  // floor: FD roundoff on tiny gradients
      if (rel > worst) {
        worst = rel;
        worst_name = info.name + "[" + std::to_string(i - info.offset) + "] fd=" + std::to_string(fd) +
                     " analytic=" + std::to_string(an);
      }
      ++checked;
    }
  }
  EXPECT_LT(worst, 1e-6) << "worst: " << worst_name;
  EXPECT_GT(checked, 60);
}

INSTANTIATE_TEST_SUITE_P(Configs, WholeLossGradient,
                         ::testing::Values(Case{"tiny-v3", false, true}, Case{"tiny-v3", true, false},
                                           Case{"tiny-v2lite", false, true}, Case{"tiny-v2", false, false}),
                         [](const auto& info) {
                           std::string n = info.param.config;
                           for (auto& ch : n)
                             if (ch == '-') ch = '_';
                           return n + (info.param.tie ? "_tied" : "") +
                                  (info.param.seq_aux ? "_seqaux" : "_batchaux");
                         });

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
TEST(PolicyGradient, MatchesCentralDifferencesInDouble) {
  ModelConfig cfg = test::shipped_config("tiny-v3");
  Transformer<double> model(cfg);
  model.init_weights(8);
  test::randomise_router_bias(model, 2);
  auto& ps = model.params();
  for (int id = 0; id < ps.layout.size(); ++id)
    if (ps.layout[id].trainable && ps.layout[id].shape.size() == 2)
      for (int64_t i = 0; i < ps.layout[id].numel; ++i) ps.p(id)[i] *= 10.0;
  auto batch = test::random_batch(cfg, 2, 6, 4);
  const int64_t N = 12;
  auto a = test::random_vector(N, 11), b = test::random_vector(N, 12);
  std::vector<double> lp(N), H(N);
  const double tau = 0.8;
  auto loss = [&] {
    model.policy_forward(batch.tokens.data(), batch.targets.data(), 2, 6, tau, lp.data(), H.data());
    return test::dot(a.data(), lp.data(), N) + test::dot(b.data(), H.data(), N);
  };
  loss();
  ps.zero_grad();
  model.policy_backward(a.data(), b.data());
  std::vector<double> grad(ps.grad.begin(), ps.grad.end());
  double worst = 0;
  std::string where;
  for (int id = 0; id < ps.layout.size(); ++id) {
    const ParamInfo& info = ps.layout[id];
    if (!info.trainable || info.name.find("model.layers.3.") == 0) continue;  // MTP is not part of the policy
    for (int j = 0; j < 2; ++j) {
      int64_t i = info.offset + (info.numel - 1) * j;
      double saved = ps.value[size_t(i)], h = 1e-5;
      ps.value[size_t(i)] = saved + h;
      double lplus = loss();
      ps.value[size_t(i)] = saved - h;
      double lminus = loss();
      ps.value[size_t(i)] = saved;
      double fd = (lplus - lminus) / (2 * h), an = grad[size_t(i)];
      double rel = std::fabs(fd - an) / std::max({std::fabs(fd), std::fabs(an), 1e-4});
      if (rel > worst) {
        worst = rel;
        where = info.name;
      }
    }
  }
  EXPECT_LT(worst, 1e-6) << where;
}

}  // namespace
}  // namespace seek
