// Training behaviour of the model: it can overfit one batch, and a fixed seed and thread count give
// bit-identical losses.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "model/adamw.hpp"
#include "model_test_util.hpp"

namespace seek {
namespace {

std::vector<double> train(const ModelConfig& cfg, int steps, uint64_t seed, double lr) {
  Transformer<float> model(cfg);
  model.init_weights(seed);
  AdamW<float> opt(model.params().layout);
  auto batch = test::random_batch(cfg, 2, 16, seed + 1, false);
  LossOptions opts;
  opts.balance.alpha = cfg.aux_loss_alpha;
  AdamWParams hp;
  hp.lr = lr;
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    model.params().zero_grad();
    auto r = model.forward_backward(batch.tokens.data(), batch.targets.data(), batch.B, batch.T, opts, true);
    losses.push_back(r.ce);
    auto st = opt.step(model.params(), hp, 1.0);
    EXPECT_TRUE(st.finite);
    model.update_router_bias(1e-3);
  }
  return losses;
}

TEST(Training, TinyModelOverfitsOneBatch) {
  for (const char* name : {"tiny-v3", "tiny-v2lite"}) {
    auto cfg = test::shipped_config(name);
    auto losses = train(cfg, 150, 11, 1e-2);
    EXPECT_GT(losses.front(), 3.5) << name;  // ~ln(64) at init
    EXPECT_LT(losses.back(), 0.05) << name << " final loss " << losses.back();
  }
}

TEST(Training, FixedSeedGivesBitIdenticalLosses) {
  auto cfg = test::shipped_config("tiny-v3");
  auto a = train(cfg, 8, 5, 3e-3);
  auto b = train(cfg, 8, 5, 3e-3);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i;
  auto c = train(cfg, 8, 6, 3e-3);
  EXPECT_NE(a[0], c[0]);
}

TEST(Training, FloatModelAgreesWithDouble) {
  auto cfg = test::shipped_config("tiny-v3");
  Transformer<float> mf(cfg);
  Transformer<double> md(cfg);
  mf.init_weights(3);
  md.init_weights(3);
  auto batch = test::random_batch(cfg, 2, 12, 4);
  LossOptions opts;
  opts.balance.alpha = 0.01;
  auto rf = mf.forward_backward(batch.tokens.data(), batch.targets.data(), 2, 12, opts, true);
  auto rd = md.forward_backward(batch.tokens.data(), batch.targets.data(), 2, 12, opts, true);
  EXPECT_NEAR(rf.loss, rd.loss, 1e-5);
  double max_err = 0, max_g = 0;
  for (size_t i = 0; i < md.params().grad.size(); ++i) {
    max_err = std::max(max_err, std::fabs(double(mf.params().grad[i]) - md.params().grad[i]));
    max_g = std::max(max_g, std::fabs(md.params().grad[i]));
  }
  EXPECT_LT(max_err, 1e-4 * max_g);
}

// mtp_lambda 0 turns the MTP layers off: the main model gets the loss, gradients and expert loads of the
// same weights without them (their balance term alone moved the MTP weights and, through them, the
// embedding), and the MTP weights get no gradient.
TEST(Training, MtpLambdaZeroRunsNoMtpLayer) {
  const ModelConfig cfg = test::shipped_config("tiny-v3");
  ASSERT_GT(cfg.num_nextn_predict_layers, 0);
  ModelConfig without = cfg;
  without.num_nextn_predict_layers = 0;
  Transformer<double> with_mtp(cfg), main_only(without);
  with_mtp.init_weights(3);
  const ParamLayout& all = with_mtp.params().layout;
  const ParamLayout& main = main_only.params().layout;
  for (int id = 0; id < main.size(); ++id) {
    const int from = all.find(main[id].name);
    ASSERT_GE(from, 0) << main[id].name;
    std::copy_n(with_mtp.params().p(from), main[id].numel, main_only.params().p(id));
  }
  const auto batch = test::random_batch(cfg, 2, 16, 5, false);
  LossOptions opts;
  opts.mtp_lambda = 0;
  opts.balance.alpha = 0.01;
  with_mtp.params().zero_grad();
  main_only.params().zero_grad();
  const LossResult a =
      with_mtp.forward_backward(batch.tokens.data(), batch.targets.data(), 2, 16, opts, true);
  const LossResult b =
      main_only.forward_backward(batch.tokens.data(), batch.targets.data(), 2, 16, opts, true);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.balance, b.balance);
  EXPECT_EQ(a.mtp, 0.0);
  EXPECT_EQ(a.mtp_tokens, 0);
  EXPECT_EQ(with_mtp.expert_loads().size(), main_only.expert_loads().size());
  EXPECT_EQ(with_mtp.layer_passes(16, true, false), main_only.layer_passes(16, true));
  for (int id = 0; id < all.size(); ++id) {
    const int in_main = main.find(all[id].name);
    for (int64_t i = 0; i < all[id].numel; ++i) {
      const double g = with_mtp.params().g(id)[i];
      if (in_main < 0)
        ASSERT_EQ(g, 0.0) << all[id].name << " of an MTP layer got a gradient";
      else
        ASSERT_EQ(g, main_only.params().g(in_main)[i]) << all[id].name << "[" << i << "]";
    }
  }
  // λ > 0 runs them: their targets are counted and their loads reported.
  opts.mtp_lambda = 0.3;
  const LossResult c =
      with_mtp.forward_backward(batch.tokens.data(), batch.targets.data(), 2, 16, opts, false);
  EXPECT_GT(c.mtp_tokens, 0);
  EXPECT_GT(c.mtp, 0.0);
  EXPECT_EQ(with_mtp.expert_loads().size(),
            main_only.expert_loads().size() + size_t(cfg.num_nextn_predict_layers));
  // A depth without positions (Tn 1) runs nothing, and reports no loads (the previous call's were).
  const auto one = test::random_batch(cfg, 2, 1, 7, false);
  const LossResult d = with_mtp.forward_backward(one.tokens.data(), one.targets.data(), 2, 1, opts, false);
  EXPECT_EQ(d.mtp_tokens, 0);
  EXPECT_EQ(with_mtp.expert_loads().size(), main_only.expert_loads().size());
}

TEST(Training, SequenceLongerThanContextIsAnError) {
  auto cfg = test::shipped_config("tiny-v3");
  Transformer<float> m(cfg);
  auto batch = test::random_batch(cfg, 1, cfg.max_position_embeddings + 1, 1);
  EXPECT_THROW(
      m.forward_backward(batch.tokens.data(), batch.targets.data(), 1, batch.T, LossOptions{}, false), Error);
}

}  // namespace
}  // namespace seek
