// Review tests of the GRPO trainer's composition of the objective: what the loss of a step is must not depend
// on how its sequences are split into micro-batches (docs/grpo.md: `micro_batch` "bounds memory; the result
// does not depend on it"), for every aggregation and with the entropy bonus and the KL term on, and μ > 1
// must keep π_old from the sampling policy rather than recompute it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "kernels/policy_logprob.hpp"
#include "model/model_dir.hpp"
#include "rl/grpo_loss.hpp"
#include "rl/grpo_trainer.hpp"
#include "support/gradcheck.hpp"
#include "support/read_jsonl.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_policy.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::tiny_policy;

GrpoSettings settings(const fs::path& dir, const std::string& name) {
  GrpoSettings s;
  s.init = (dir / "policy").string();
  s.data = (dir / "problems.jsonl").string();
  s.rewards = {{"tag_count", 1.0}};
  s.out = (dir / name).string();
  s.steps = 1;
  s.prompts_per_step = 4;
  s.group_size = 8;
  s.max_completion_length = 24;
  s.lr = 1e-4;
  s.threads = 1;
  s.checkpoint_every = 0;
  s.log_completions = 0;
  return s;
}

nlohmann::json first_metrics(const GrpoSettings& s) {
  std::ifstream f(fs::path(s.out) / "metrics.jsonl");
  std::string line;
  std::getline(f, line);
  return nlohmann::json::parse(line);
}

void expect_rel_near(double got, double want, double rel, const std::string& what) {
  EXPECT_NEAR(got, want, rel * std::max(1e-12, std::fabs(want))) << what;
}

// 32 completions in micro-batches of 32 (one) and of 3 (eleven, the last of 2). With truncated completions
// masked, the micro-batches hold very different numbers of counted tokens (many none), which is where a
// per-micro-batch normaliser shows. Every loss term is on: entropy bonus, KL (β > 0) and μ = 2.
TEST(GrpoReview, StepDoesNotDependOnMicroBatch) {
  TempDir tmp("grpo-review-mb");
  tiny_policy(tmp.path);
  for (const char* agg : {"grpo", "bnpo", "dr_grpo", "dapo"}) {
    SCOPED_TRACE(agg);
    nlohmann::json m[2];
    int64_t mbs[2] = {32, 3};
    for (int k = 0; k < 2; ++k) {
      auto s = settings(tmp.path, fmt::format("{}-{}", agg, mbs[k]));
      s.loss_aggregation = agg;
      s.micro_batch = mbs[k];
      s.entropy_coef = 0.1;
      s.beta = 0.1;
      s.num_iterations = 2;
      s.mask_truncated_completions = true;
      run_grpo(s, false);
      m[k] = first_metrics(s);
    }
    // The check needs both counted and masked completions.
    ASSERT_GT(m[0]["truncated_fraction"].get<double>(), 0.0) << m[0].dump();
    ASSERT_LT(m[0]["truncated_fraction"].get<double>(), 1.0) << m[0].dump();
    for (const char* key : {"loss", "grad_norm", "kl", "entropy"})
      expect_rel_near(m[1][key].get<double>(), m[0][key].get<double>(), 1e-4, key);
  }
}

// A step whose every token is masked (every completion truncated) counts no token: the per-token means are
// null, not a 0 that reads as measured, and it makes no update (AdamW's moments and weight decay alone moved
// every weight), so the policy it saves is the one it started from.
TEST(GrpoReview, StepWithNoCountedTokenIsNotAnUpdate) {
  TempDir tmp("grpo-review-all-masked");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path, "masked");
  s.max_completion_length = 1;
  s.mask_truncated_completions = true;
  s.beta = 0.1;
  s.entropy_coef = 0.1;
  s.weight_decay = 0.1;  // what moved the weights of a first step with no gradient
  // A seed whose 32 one-token completions are all cut short (a random policy's first token is EOS at times).
  nlohmann::json m;
  GrpoResult r;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    s.seed = seed;
    s.out = (tmp.path / fmt::format("masked-{}", seed)).string();
    r = run_grpo(s, false);
    m = first_metrics(s);
    if (m["truncated_fraction"] == 1.0) break;
  }
  ASSERT_EQ(m["truncated_fraction"], 1.0) << m.dump();
  EXPECT_EQ(r.steps_without_update, 1);  // counted in the closing line
  for (const char* key : {"kl", "entropy", "clip_low_fraction", "clip_high_fraction", "loss", "grad_norm",
                          "lr", "logprob_mismatch_max", "logprob_mismatch_mean"})
    EXPECT_TRUE(m[key].is_null()) << key << " " << m.dump();
  EXPECT_TRUE(m["reward"].is_number()) << m.dump();
  const auto start = load_model_dir<float>(tmp.path / "policy");
  const auto saved = load_model_dir<float>(fs::path(s.out) / "model");
  ASSERT_EQ(saved->params().value.size(), start->params().value.size());
  for (size_t i = 0; i < start->params().value.size(); ++i)
    ASSERT_EQ(saved->params().value[i], start->params().value[i]) << "parameter " << i;
  // With counted tokens they are numbers.
  s.out = (tmp.path / "counted").string();
  s.mask_truncated_completions = false;
  EXPECT_EQ(run_grpo(s, false).steps_without_update, 0);
  const nlohmann::json c = first_metrics(s);
  for (const char* key :
       {"kl", "entropy", "clip_low_fraction", "clip_high_fraction", "loss", "grad_norm", "lr"})
    EXPECT_TRUE(c[key].is_number()) << key << " " << c.dump();
}

// A step whose every group has equal rewards has every advantage 0: with beta 0 and no entropy bonus its
// loss has no gradient, and it makes no update (AdamW's moments and weight decay alone moved every weight,
// a full step's worth after a real update). With a KL term it is an update.
TEST(GrpoReview, StepWithEveryAdvantageZeroIsNotAnUpdate) {
  TempDir tmp("grpo-review-zero-advantage");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path, "flat");
  s.steps = 2;
  s.rewards = {{"format", 1.0}};
  s.max_completion_length = 1;  // one token is never the R1 template: every reward is 0
  s.weight_decay = 0.1;
  testing::internal::CaptureStdout();
  const GrpoResult r = run_grpo(s, false);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(r.steps_without_update, 2);
  EXPECT_NE(out.find("step 1: every group's rewards are equal, so every advantage is 0"), std::string::npos)
      << out;
  EXPECT_NE(out.find("| no update (every advantage 0) |"), std::string::npos) << out;
  const nlohmann::json m = first_metrics(s);
  EXPECT_EQ(m["zero_std_fraction"], 1.0) << m.dump();
  for (const char* key : {"loss", "grad_norm", "lr", "entropy"})
    EXPECT_TRUE(m[key].is_null()) << key << " " << m.dump();
  const auto start = load_model_dir<float>(tmp.path / "policy");
  const auto saved = load_model_dir<float>(fs::path(s.out) / "model");
  ASSERT_EQ(saved->params().value.size(), start->params().value.size());
  for (size_t i = 0; i < start->params().value.size(); ++i)
    ASSERT_EQ(saved->params().value[i], start->params().value[i]) << "parameter " << i;
  s.out = (tmp.path / "kl").string();
  s.beta = 0.1;
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_grpo(s, false).steps_without_update, 0);
  testing::internal::GetCapturedStdout();
  EXPECT_TRUE(first_metrics(s)["grad_norm"].is_number());
}

// GRPO's loss never reaches a policy's MTP layers: they are saved as they came. Weight decay shrank them
// every step (PyTorch's AdamW leaves a parameter without a gradient alone), while the decoder trains.
TEST(GrpoReview, MtpLayersAreLeftAsTheyCame) {
  TempDir tmp("grpo-review-mtp");
  tiny_policy(tmp.path);
  auto cfg = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  cfg.vocab_size = 272;
  ASSERT_EQ(cfg.num_nextn_predict_layers, 1);
  {
    Transformer<float> m(cfg);
    m.init_weights(5);
    save_model_dir(m, tmp.path / "policy");  // replaces tiny_policy's, which has no MTP layer
  }
  auto s = settings(tmp.path, "mtp");
  s.steps = 2;
  s.beta = 0.1;  // an update whatever the rewards
  s.lr = 0.05;
  s.weight_decay = 0.5;
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_grpo(s, false).steps_without_update, 0);
  testing::internal::GetCapturedStdout();
  const auto start = load_model_dir<float>(tmp.path / "policy");
  const auto saved = load_model_dir<float>(fs::path(s.out) / "model");
  const std::string mtp = fmt::format("model.layers.{}.", cfg.num_hidden_layers);
  int64_t mtp_tensors = 0, moved = 0;
  for (const auto& info : start->params().layout.all()) {
    const float* a = start->params().value.data() + info.offset;
    const float* b = saved->params().value.data() + info.offset;
    const bool same = std::equal(a, a + info.numel, b);
    if (info.name.rfind(mtp, 0) == 0) {
      ++mtp_tensors;
      EXPECT_TRUE(same) << info.name;
    } else {
      moved += !same;
    }
  }
  EXPECT_GT(mtp_tensors, 5);
  EXPECT_GT(moved, 5);
}

// The aux-loss-free router bias moves by the expert loads of the step. Those counted every position of a
// micro-batch, padding included, so the update depended on how completions were grouped into micro-batches
// (and padding steered the balance). The loads over each row's real tokens equal those of the rows run alone.
TEST(GrpoReview, ExpertLoadsLeavePaddingOut) {
  TempDir tmp("grpo-review-loads");
  const auto policy = load_model_dir<float>(tiny_policy(tmp.path));
  const std::vector<int32_t> a = {5, 17, 99, 3, 42}, b = {7, 8, 9, 10, 11, 12, 13, 14, 15};
  const int64_t T = int64_t(b.size());
  auto run = [&](const std::vector<int32_t>& tokens, int64_t rows, int64_t Tn) {
    std::vector<int32_t> targets(tokens.size(), -1);
    std::vector<float> lp(tokens.size());
    policy->policy_forward(tokens.data(), targets.data(), rows, Tn, 1.0, lp.data(), nullptr);
  };
  std::vector<int32_t> both(a);
  both.resize(size_t(T), 0);  // a, padded with token 0 as the trainer pads
  both.insert(both.end(), b.begin(), b.end());
  run(both, 2, T);
  const auto padded_out = policy->expert_loads({int64_t(a.size()), T}, T);
  const auto all_positions = policy->expert_loads();
  run(a, 1, int64_t(a.size()));
  auto alone = policy->expert_loads();
  run(b, 1, T);
  const auto b_alone = policy->expert_loads();
  ASSERT_FALSE(alone.empty());
  ASSERT_EQ(padded_out.size(), alone.size());
  int64_t padding_counted = 0;
  for (size_t l = 0; l < alone.size(); ++l) {
    for (size_t e = 0; e < alone[l].load.size(); ++e) {
      alone[l].load[e] += b_alone[l].load[e];
      padding_counted += all_positions[l].load[e] - alone[l].load[e];
    }
    EXPECT_EQ(padded_out[l].layer, alone[l].layer);
    EXPECT_EQ(padded_out[l].load, alone[l].load) << "layer " << alone[l].layer;
  }
  EXPECT_GT(padding_counted, 0) << "expert_loads() should count the padding: the test would check nothing";
}

// The trainer's log-probs are taken at the sampling temperature (spec §1.2 step 2; TRL issue 4159: a
// mismatch makes ρ ≠ 1 on-policy), so they agree with the sampler's also away from T = 1.
TEST(GrpoReview, LogprobsAgreeWithTheSamplerAtAnyTemperature) {
  TempDir tmp("grpo-review-temp");
  tiny_policy(tmp.path);
  for (double T : {0.5, 1.7}) {
    auto s = settings(tmp.path, fmt::format("t{}", T));
    s.temperature = T;
    run_grpo(s, false);
    const auto m = first_metrics(s);
    EXPECT_LT(m["logprob_mismatch_mean"].get<double>(), 1e-4) << T << " " << m.dump();
    EXPECT_LT(m["logprob_mismatch_max"].get<double>(), 1e-2) << T << " " << m.dump();
  }
}

// μ = 1: π_old = π_θ, so ρ ≡ 1 and nothing clips. μ > 1: π_old stays the sampling policy while π_θ moves, so
// with a large learning rate the later iterations clip (the logged fractions are the last iteration's).
// β > 0: the reference is the initial policy, so step 1's KL is exactly 0 and later steps' is not; a resumed
// run reloads that reference (not the checkpoint's policy) and reproduces the uninterrupted run.
TEST(GrpoReview, OldAndReferenceLogprobBookkeeping) {
  TempDir tmp("grpo-review-mu");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path, "mu1");
  s.steps = 3;
  s.lr = 3e-2;
  s.beta = 0.04;
  run_grpo(s, false);
  auto m = test::read_jsonl(fs::path(s.out) / "metrics.jsonl");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0]["kl"].get<double>(), 0.0) << m[0].dump();
  EXPECT_GT(m[2]["kl"].get<double>(), 0.0) << m[2].dump();
  {
    // Without a reference (β = 0) no KL is measured: null, not a made-up 0.
    auto s0 = settings(tmp.path, "beta0");
    s0.steps = 1;
    s0.beta = 0;
    run_grpo(s0, false);
    const auto m0 = test::read_jsonl(fs::path(s0.out) / "metrics.jsonl");
    ASSERT_EQ(m0.size(), 1u);
    EXPECT_TRUE(m0[0]["kl"].is_null()) << m0[0].dump();
  }
  for (const auto& row : m) {
    EXPECT_EQ(row["clip_low_fraction"].get<double>(), 0.0) << row.dump();
    EXPECT_EQ(row["clip_high_fraction"].get<double>(), 0.0) << row.dump();
  }

  s = settings(tmp.path, "mu3");
  s.steps = 3;
  s.lr = 3e-2;
  s.beta = 0.04;
  s.num_iterations = 3;
  s.checkpoint_every = 1;
  run_grpo(s, false);
  const auto want = test::read_jsonl(fs::path(s.out) / "metrics.jsonl");
  ASSERT_EQ(want.size(), 3u);
  double clipped = 0;
  for (const auto& row : want)
    clipped += row["clip_low_fraction"].get<double>() + row["clip_high_fraction"].get<double>();
  EXPECT_GT(clipped, 0.0);
  EXPECT_GT(want[0]["kl"].get<double>(), 0.0);  // the last of 3 iterations: the policy has moved

  auto s2 = s;
  s2.out = (tmp.path / "mu3-resumed").string();
  s2.steps = 1;
  run_grpo(s2, false);
  run_grpo(s2, true, {{"steps", 3}});
  const auto got = test::read_jsonl(fs::path(s2.out) / "metrics.jsonl");
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    for (const char* key : {"reward", "kl", "loss", "grad_norm", "clip_low_fraction", "clip_high_fraction"})
      EXPECT_EQ(got[i][key], want[i][key]) << "step " << i + 1 << " " << key;
}

// The objective end to end in double, as the trainer composes it: logits x·Wᵀ at the sampling temperature →
// per-token log-probs and entropies → grpo_token_loss (clip, two-sided clip, k3 KL, entropy bonus) → its
// dlogp / dentropy back through the head. The gradient with respect to the head W must match central finite
// differences of the loss, for every aggregation.
TEST(GrpoReview, ComposedLossGradientMatchesFiniteDifferences) {
  const int64_t N = 7, d = 4, V = 11;
  const double tau = 0.7;
  auto x = test::random_vector(size_t(N * d), 11), W = test::random_vector(size_t(V * d), 12);
  const std::vector<int32_t> tgt = {3, 0, 10, 5, 5, 2, 7};
  // Two completions of 3 and 4 tokens; old and reference log-probs are the current ones shifted by fixed
  // amounts, so ratios sit inside and outside the clip range and away from its kinks.
  const std::vector<double> shift_old = {0.05, -0.4, 0.3, 0.0, 0.6, -0.1, -0.5};
  const std::vector<double> shift_ref = {0.2, -0.3, 0.1, 0.4, -0.2, 0.0, 0.3};
  for (auto agg :
       {LossAggregation::Grpo, LossAggregation::Bnpo, LossAggregation::DrGrpo, LossAggregation::Dapo}) {
    SCOPED_TRACE(static_cast<int>(agg));
    GrpoLossOptions o;
    o.aggregation = agg;
    o.max_completion_length = 5;
    o.beta = 0.3;
    o.entropy_coef = 0.05;
    o.delta = 1.5;
    std::vector<double> lp(static_cast<size_t>(N)), H(static_cast<size_t>(N));
    policy_logprob_forward<double>(x.data(), W.data(), tgt.data(), N, d, V, tau, lp.data(), H.data());
    GrpoBatch b;
    b.offsets = {0, 3, 7};
    b.advantages = {0.9, -1.1};
    b.mask = {1, 1, 0, 1, 1, 1, 1};
    b.total_tokens_override = 9;  // one of several micro-batches of a dapo / bnpo step
    for (int64_t i = 0; i < N; ++i) {
      b.logp_old.push_back(lp[size_t(i)] - shift_old[size_t(i)]);
      b.logp_ref.push_back(lp[size_t(i)] + shift_ref[size_t(i)]);
    }
    auto loss = [&] {
      policy_logprob_forward<double>(x.data(), W.data(), tgt.data(), N, d, V, tau, lp.data(), H.data());
      GrpoBatch c = b;
      c.logp = lp;
      c.entropy = H;
      return grpo_token_loss(c, o).loss;
    };
    loss();
    GrpoBatch c = b;
    c.logp = lp;
    c.entropy = H;
    const auto r = grpo_token_loss(c, o);
    std::vector<double> dx(size_t(N * d)), dW(size_t(V * d), 0.0);
    policy_logprob_backward<double>(x.data(), W.data(), tgt.data(), N, d, V, tau, r.dlogp.data(),
                                    r.dentropy.data(), dx.data(), dW.data());
    EXPECT_LT(test::check_gradient(W, dW, loss, 1e-6).max_rel_err, 1e-5);
    EXPECT_LT(test::check_gradient(x, dx, loss, 1e-6).max_rel_err, 1e-5);
  }
}

}  // namespace
}  // namespace seek
