// Parity with the independent PyTorch reference (tests/reference/, run once to write tests/fixtures/): the
// model loaded from each fixture's Hugging Face-format directory must reproduce the reference logits, loss
// parts, every parameter gradient and the losses of 5 AdamW steps (with clipping and the router-bias rule).
// Double precision must agree to ~1e-9; float to float rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/tensor_store.hpp"
#include "model/adamw.hpp"
#include "model/model_dir.hpp"

namespace seek {
namespace {

std::string fixture_dir(const std::string& name) {
  return std::string(SEEK_TEST_DIR) + "/fixtures/" + name;
}

struct Reference {
  nlohmann::json meta;
  int64_t B = 0, T = 0;
  std::vector<int32_t> tokens, targets;
  std::vector<double> logits;
  std::unique_ptr<TensorStore> store;
};

Reference load_reference(const std::string& name) {
  Reference r;
  std::ifstream f(fixture_dir(name) + "/reference.json");
  r.meta = nlohmann::json::parse(f);
  r.store = std::make_unique<TensorStore>(fixture_dir(name) + "/reference.safetensors");
  auto shape = r.store->info("tokens").shape;
  r.B = shape[0];
  r.T = shape[1];
  std::vector<int64_t> tok(size_t(r.B * r.T)), tgt(size_t(r.B * r.T));
  r.store->read_into("tokens", shape, tok.data());
  r.store->read_into("targets", shape, tgt.data());
  r.tokens.assign(tok.begin(), tok.end());
  r.targets.assign(tgt.begin(), tgt.end());
  return r;
}

LossOptions loss_options(const Reference& r) {
  LossOptions o;
  o.mtp_lambda = r.meta["loss_options"]["mtp_lambda"];
  o.balance.alpha = r.meta["loss_options"]["aux_alpha"];
  o.balance.seq_aux = r.meta["loss_options"]["seq_aux"];
  return o;
}

template <typename T>
void check_fixture(const std::string& name, double tol_logit, double tol_loss, double tol_grad) {
  SCOPED_TRACE(name);
  Reference ref = load_reference(name);
  auto model = load_model_dir<T>(fixture_dir(name));
  const auto& cfg = model->config();
  const int64_t N = ref.B * ref.T, V = cfg.vocab_size;

  std::vector<T> logits(size_t(N * V));
  model->forward_logits(ref.tokens.data(), ref.B, ref.T, logits.data());
  std::vector<double> want(size_t(N * V));
  ref.store->read_into("logits", {ref.B, ref.T, V}, want.data());
  double max_err = 0;
  for (size_t i = 0; i < want.size(); ++i)
    max_err = std::max(max_err, std::fabs(double(logits[i]) - want[i]));
  EXPECT_LT(max_err, tol_logit) << "logits";

  LossOptions opts = loss_options(ref);
  model->params().zero_grad();
  LossResult res = model->forward_backward(ref.tokens.data(), ref.targets.data(), ref.B, ref.T, opts, true);
  const auto& L = ref.meta["loss"];
  EXPECT_NEAR(res.loss, double(L["total"]), tol_loss);
  EXPECT_NEAR(res.ce, double(L["ce"]), tol_loss);
  EXPECT_NEAR(opts.mtp_lambda * res.mtp, double(L["mtp"]), tol_loss);
  EXPECT_NEAR(res.balance, double(L["balance"]), tol_loss);

  auto& ps = model->params();
  int compared = 0;
  for (const ParamInfo& info : ps.layout.all()) {
    if (!info.trainable) continue;
    std::string gname = "grad." + info.name;
    ASSERT_TRUE(ref.store->contains(gname)) << gname;
    std::vector<double> g(size_t(info.numel));
    ref.store->read_into(gname, info.shape, g.data());
    double scale = 1e-30, err = 0;
    for (int64_t i = 0; i < info.numel; ++i) {
      scale = std::max(scale, std::fabs(g[size_t(i)]));
      err = std::max(err, std::fabs(double(ps.grad[size_t(info.offset + i)]) - g[size_t(i)]));
    }
    EXPECT_LE(err, tol_grad * std::max(scale, 1e-3)) << info.name << " max |g| " << scale;
    ++compared;
  }
  EXPECT_GT(compared, 20);

  // 5 steps of clip + AdamW + bias update on the same batch.
  const auto& A = ref.meta["adamw"];
  AdamWParams hp;
  hp.lr = A["lr"];
  hp.beta1 = A["beta1"];
  hp.beta2 = A["beta2"];
  hp.eps = A["eps"];
  hp.weight_decay = A["weight_decay"];
  std::vector<double> want_losses(5);
  ref.store->read_into("adamw_losses", {5}, want_losses.data());
  AdamW<T> opt(ps.layout);
  for (int s = 0; s < 5; ++s) {
    ps.zero_grad();
    auto r = model->forward_backward(ref.tokens.data(), ref.targets.data(), ref.B, ref.T, opts, true);
    EXPECT_NEAR(r.loss, want_losses[size_t(s)], tol_loss * 10) << "AdamW step " << s;
    opt.step(ps, hp, double(A["max_norm"]));
    model->update_router_bias(double(A["bias_update_speed"]));
  }
}

class ReferenceParity : public ::testing::TestWithParam<const char*> {};

TEST_P(ReferenceParity, DoubleMatchesPyTorchToRounding) {
  check_fixture<double>(GetParam(), 1e-10, 1e-10, 1e-8);
}

TEST_P(ReferenceParity, FloatMatchesPyTorchToFloatRounding) {
  check_fixture<float>(GetParam(), 2e-5, 2e-5, 2e-3);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ReferenceParity,
                         ::testing::Values("tiny-v3", "tiny-v2lite", "tiny-v2", "tiny-v3-tied",
                                           "tiny-v3-widths"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace seek
