// Pins three pieces of training math against double-precision references written here from the published
// formulas: AdamW with global-norm clipping (PyTorch's torch.optim.AdamW + clip_grad_norm_), V3's
// aux-loss-free bias update, and the sequence-/batch-wise balance loss with its gradient (f constant).
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "core/rng.hpp"
#include "model/adamw.hpp"
#include "model/router.hpp"
#include "model_test_util.hpp"

namespace seek {
namespace {

// ---------------------------------------------------------------------------------------------------------
// 1. AdamW

struct RefAdamW {  // torch.optim.AdamW (amsgrad=False, maximize=False), one tensor, in double
  std::vector<double> m, v;
  void step(std::vector<double>& p, const std::vector<double>& g, double lr, double b1, double b2, double eps,
            double wd, int64_t t) {
    if (m.empty()) m.assign(p.size(), 0.0), v.assign(p.size(), 0.0);
    for (size_t i = 0; i < p.size(); ++i) {
      p[i] *= 1.0 - lr * wd;  // decoupled decay first, on the old value
      m[i] = b1 * m[i] + (1.0 - b1) * g[i];
      v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
      const double bc1 = 1.0 - std::pow(b1, double(t)), bc2 = 1.0 - std::pow(b2, double(t));
      const double denom = std::sqrt(v[i]) / std::sqrt(bc2) + eps;
      p[i] -= (lr / bc1) * m[i] / denom;
    }
  }
};

// torch.nn.utils.clip_grad_norm_: total norm over all grads, coef = max/(norm+1e-6) clamped to 1.
double ref_clip(std::vector<std::vector<double>*> grads, double max_norm) {
  double sq = 0;
  for (auto* g : grads)
    for (double x : *g) sq += x * x;
  const double norm = std::sqrt(sq);
  const double coef = std::min(1.0, max_norm / (norm + 1e-6));
  for (auto* g : grads)
    for (double& x : *g) x *= coef;
  return norm;
}

TEST(TrainingMathReview, AdamWMatchesTorchAlgorithmWithClippingDecayMaskAndResume) {
  ParamStore<double> ps;
  const int w = ps.layout.add("w", {3, 4}, true);          // 2-D: decayed
  const int n = ps.layout.add("norm", {5}, false);         // 1-D: not decayed
  const int b = ps.layout.add("bias", {4}, false, false);  // rule-updated: untouched, not in the norm
  ps.allocate();
  const int ids[2] = {w, n};
  Rng rng(7);
  for (int id = 0; id < ps.layout.size(); ++id)
    for (int64_t i = 0; i < ps.layout[id].numel; ++i) ps.p(id)[i] = rng.normal();
  std::vector<std::vector<double>> ref(2);
  for (int k = 0; k < 2; ++k) ref[size_t(k)].assign(ps.p(ids[k]), ps.p(ids[k]) + ps.layout[ids[k]].numel);
  const std::vector<double> bias0(ps.p(b), ps.p(b) + 4);
  RefAdamW ra[2];

  AdamWParams hp;
  hp.lr = 0.05;
  hp.beta1 = 0.8;
  hp.beta2 = 0.9;
  hp.eps = 1e-3;  // large enough that its placement (after the bias-corrected sqrt) matters
  hp.weight_decay = 0.3;
  const double max_norm = 2.0;

  auto opt = std::make_unique<AdamW<double>>(ps.layout);
  for (int64_t t = 1; t <= 6; ++t) {
    // Gradient scale alternates so that some steps clip and some do not.
    const double gscale = (t % 2) ? 3.0 : 0.1;
    std::vector<std::vector<double>> g(2);
    for (int k = 0; k < 2; ++k) {
      for (int64_t i = 0; i < ps.layout[ids[k]].numel; ++i) {
        ps.g(ids[k])[i] = gscale * rng.normal();
        g[size_t(k)].push_back(ps.g(ids[k])[i]);
      }
    }
    for (int64_t i = 0; i < 4; ++i) ps.g(b)[i] = 100.0;  // must neither count in the norm nor move the bias
    const double ref_norm = ref_clip({&g[0], &g[1]}, max_norm);
    for (int k = 0; k < 2; ++k)
      ra[k].step(ref[size_t(k)], g[size_t(k)], hp.lr, hp.beta1, hp.beta2, hp.eps,
                 k == 0 ? hp.weight_decay : 0.0, t);

    if (t == 4) {  // resume: a fresh optimizer with the saved moments and step count
      auto fresh = std::make_unique<AdamW<double>>(ps.layout);
      std::copy(opt->m().data(), opt->m().data() + ps.layout.total(), fresh->m().data());
      std::copy(opt->v().data(), opt->v().data() + ps.layout.total(), fresh->v().data());
      fresh->set_steps(opt->steps());
      opt = std::move(fresh);
    }
    const StepStats st = opt->step(ps, hp, max_norm);
    ASSERT_TRUE(st.finite);
    EXPECT_EQ(opt->steps(), t);
    EXPECT_NEAR(st.grad_norm, ref_norm, 1e-12 * ref_norm) << "grad_norm is the pre-clip norm, step " << t;
    EXPECT_EQ(st.clip_scale<1.0, ref_norm> max_norm) << "step " << t;
    for (int k = 0; k < 2; ++k)
      for (int64_t i = 0; i < ps.layout[ids[k]].numel; ++i)
        EXPECT_NEAR(ps.p(ids[k])[i], ref[size_t(k)][size_t(i)], 1e-12)
            << ps.layout[ids[k]].name << "[" << i << "] step " << t;
    for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(ps.p(b)[i], bias0[size_t(i)]);
  }
}

// A tensor held out of the first steps (MTP layers at mtp_lambda 0), then trained after a resume, follows
// PyTorch's per-parameter step: its first update has t = 1, while the others continue with the run's t.
TEST(TrainingMathReview, AdamWCountsEachTensorsOwnStepsAcrossAHoldAndResume) {
  ParamStore<double> ps;
  const int a = ps.layout.add("a", {2, 3}, true);
  const int h = ps.layout.add("held", {4}, false);
  ps.allocate();
  Rng rng(11);
  for (int id : {a, h})
    for (int64_t i = 0; i < ps.layout[id].numel; ++i) ps.p(id)[i] = rng.normal();
  std::vector<double> ref_a(ps.p(a), ps.p(a) + 6), ref_h(ps.p(h), ps.p(h) + 4);
  RefAdamW ra, rh;
  AdamWParams hp;
  hp.lr = 0.01;
  hp.weight_decay = 0.1;
  auto opt = std::make_unique<AdamW<double>>(ps.layout);
  opt->hold(h);
  int64_t h_steps = 0;
  for (int64_t t = 1; t <= 5; ++t) {
    if (t == 4) {  // resume through a checkpoint's state, now training `held`
      auto fresh = std::make_unique<AdamW<double>>(ps.layout);
      std::copy(opt->m().data(), opt->m().data() + ps.layout.total(), fresh->m().data());
      std::copy(opt->v().data(), opt->v().data() + ps.layout.total(), fresh->v().data());
      fresh->set_steps(opt->steps());
      for (int id = 0; id < ps.layout.size(); ++id) fresh->set_updates(id, opt->updates(id));
      opt = std::move(fresh);
    }
    std::vector<double> ga(6), gh(4, 0.0);
    for (double& g : ga) g = rng.normal();
    if (t >= 4)
      for (double& g : gh) g = rng.normal();
    std::copy(ga.begin(), ga.end(), ps.g(a));
    std::copy(gh.begin(), gh.end(), ps.g(h));
    ra.step(ref_a, ga, hp.lr, hp.beta1, hp.beta2, hp.eps, hp.weight_decay, t);
    if (t >= 4) rh.step(ref_h, gh, hp.lr, hp.beta1, hp.beta2, hp.eps, 0.0, ++h_steps);
    ASSERT_TRUE(opt->step(ps, hp, 0.0).finite);
    EXPECT_EQ(opt->steps(), t);
    EXPECT_EQ(opt->updates(a), t);
    EXPECT_EQ(opt->updates(h), h_steps);
    for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(ps.p(a)[i], ref_a[size_t(i)], 1e-13) << "a, step " << t;
    for (int64_t i = 0; i < 4; ++i) EXPECT_NEAR(ps.p(h)[i], ref_h[size_t(i)], 1e-13) << "held, step " << t;
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. Aux-loss-free bias update

TEST(TrainingMathReview, RouterBiasMovesAgainstLoadAndOnlyForSelection) {
  auto cfg = test::shipped_config("tiny-v3");
  Transformer<double> model(cfg);
  model.init_weights(3);
  test::randomise_router_bias(model, 5);
  auto& ps = model.params();
  // Hand-made loads: mean 3 → overloaded experts 0, 7 go down, underloaded 1, 6 go up, the rest stay.
  const std::vector<int64_t> load = {5, 1, 3, 3, 3, 3, 2, 4};
  const std::vector<double> sign = {-1, +1, 0, 0, 0, 0, +1, -1};
  std::vector<ExpertLoad> loads;
  std::vector<int> bias_ids;
  for (const auto& l : model.ids().layers)
    if (l.moe) loads.push_back({l.index, load}), bias_ids.push_back(l.experts.bias);
  for (const auto& m : model.ids().mtp)
    if (m.layer.moe) loads.push_back({m.layer.index, load}), bias_ids.push_back(m.layer.experts.bias);
  ASSERT_GE(bias_ids.size(), 2u);
  std::vector<std::vector<double>> before;
  for (int id : bias_ids) before.emplace_back(ps.p(id), ps.p(id) + 8);
  const double gamma = 1e-3;
  model.update_router_bias(gamma, loads);
  for (size_t j = 0; j < bias_ids.size(); ++j)
    for (int e = 0; e < 8; ++e)
      EXPECT_NEAR(ps.p(bias_ids[j])[e], before[j][size_t(e)] + gamma * sign[size_t(e)], 1e-15)
          << j << " " << e;

  // The loads a forward records are the top-K assignments of the step's tokens.
  auto batch = test::random_batch(cfg, 2, 6, 9);
  LossOptions lo;
  model.forward_backward(batch.tokens.data(), batch.targets.data(), batch.B, batch.T, lo, false);
  for (const auto& el : model.expert_loads()) {
    int64_t sum = 0;
    for (int64_t v : el.load) sum += v;
    const int64_t tokens = el.layer < cfg.num_hidden_layers ? batch.B * batch.T : batch.B * (batch.T - 1);
    EXPECT_EQ(sum, tokens * cfg.num_experts_per_tok) << "layer " << el.layer;
  }

  // The bias picks experts but the gate weights use the unbiased scores.
  ModelConfig c = cfg;
  c.n_group = 1;
  c.topk_group = 1;
  const int64_t E = 8, K = 2, N = 3;
  std::vector<double> logits(size_t(N * E)), bias(size_t(E), 0.0);
  Rng rng(1);
  for (auto& x : logits) x = rng.normal();
  bias[3] = 10.0;  // expert 3 always selected
  RouterCache<double> rc;
  router_forward<double>(c, logits.data(), bias.data(), 1, N, BalanceOptions{}, rc);
  for (int64_t t = 0; t < N; ++t) {
    const double* s = rc.scores.data() + t * E;
    const int32_t* idx = rc.idx.data() + t * K;
    EXPECT_TRUE(idx[0] == 3 || idx[1] == 3);
    const double denom = s[idx[0]] + s[idx[1]];
    for (int64_t k = 0; k < K; ++k) {
      EXPECT_NEAR(rc.weight[size_t(t * K + k)], c.routed_scaling_factor * s[idx[k]] / denom, 1e-12);
      EXPECT_NEAR(s[idx[k]], 1.0 / (1.0 + std::exp(-logits[size_t(t * E + idx[k])])), 1e-14);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// 3. Balance loss

// L = mean over sets S of α Σ_i f_i P_i, f_i = E/(K|S|) #{t∈S: i∈topK(t)}, P_i = mean_{t∈S} s'_{t,i}.
// f is passed in (a constant for the gradient); s' = softmax, or sigmoid normalised over all experts. A set
// is a row (seq_aux) or the batch, of the tokens before each row's padding (`lengths`, empty: none); sets
// without a token are left out of the mean.
double ref_balance(const std::vector<double>& logits, const std::vector<int32_t>& idx, bool sigmoid,
                   int64_t B, int64_t Tn, int64_t E, int64_t K, double alpha, bool seq_aux,
                   const std::vector<int64_t>& lengths, std::vector<double>* f_out) {
  const int64_t sets = seq_aux ? B : 1;
  std::vector<std::vector<int64_t>> members(static_cast<size_t>(sets));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < (lengths.empty() ? Tn : lengths[size_t(b)]); ++i)
      members[size_t(seq_aux ? b : 0)].push_back(b * Tn + i);
  double total = 0;
  int64_t used = 0;
  if (f_out) f_out->assign(size_t(sets * E), 0.0);
  for (int64_t st = 0; st < sets; ++st) {
    const auto& set = members[size_t(st)];
    if (set.empty()) continue;
    ++used;
    const double per = double(set.size());
    std::vector<double> f(size_t(E), 0.0), P(size_t(E), 0.0);
    for (int64_t t : set) {
      for (int64_t k = 0; k < K; ++k) f[size_t(idx[size_t(t * K + k)])] += double(E) / (double(K) * per);
      std::vector<double> s(static_cast<size_t>(E));
      double z = 0, mx = -1e300;
      for (int64_t e = 0; e < E; ++e) mx = std::max(mx, logits[size_t(t * E + e)]);
      for (int64_t e = 0; e < E; ++e) {
        const double l = logits[size_t(t * E + e)];
        s[size_t(e)] = sigmoid ? 1.0 / (1.0 + std::exp(-l)) : std::exp(l - mx);
        z += s[size_t(e)];
      }
      for (int64_t e = 0; e < E; ++e) P[size_t(e)] += s[size_t(e)] / z / per;
    }
    double L = 0;
    for (int64_t e = 0; e < E; ++e) L += f[size_t(e)] * P[size_t(e)];
    total += alpha * L;
    if (f_out) std::copy(f.begin(), f.end(), f_out->begin() + st * E);
  }
  return used > 0 ? total / double(used) : 0.0;
}

// Rows may end in padding (seek train's SFT sequences): its tokens are in no set, get no balance gradient and
// add nothing to the loads; a row of padding alone is no set.
TEST(TrainingMathReview, BalanceLossValueAndGradientMatchFormula) {
  auto v3 = test::shipped_config("tiny-v3");
  v3.n_group = 1;
  v3.topk_group = 1;
  auto v2 = test::shipped_config("tiny-v2lite");
  for (const ModelConfig* base : {&v3, &v2})
    for (bool seq_aux : {true, false})
      for (const std::vector<int64_t>& lengths :
           {std::vector<int64_t>{}, std::vector<int64_t>{5, 2, 4}, std::vector<int64_t>{5, 0, 3}}) {
        const ModelConfig& c = *base;
        const int64_t E = c.n_routed_experts, K = c.num_experts_per_tok, B = 3, Tn = 5, N = B * Tn;
        const bool sigmoid = c.scoring_func == ScoringFunc::Sigmoid;
        const std::string where =
            fmt::format("E {} seq_aux {} lengths {}", E, seq_aux, lengths.empty() ? "none" : "some");
        std::vector<double> logits(size_t(N * E));
        Rng rng(seq_aux ? 21 : 22);
        for (auto& x : logits) x = rng.normal();
        BalanceOptions bal;
        bal.alpha = 0.3;
        bal.seq_aux = seq_aux;
        bal.row_lengths = lengths;
        RouterCache<double> rc;
        const double got = router_forward<double>(c, logits.data(), nullptr, B, Tn, bal, rc);
        std::vector<double> f;
        const double want =
            ref_balance(logits, rc.idx, sigmoid, B, Tn, E, K, bal.alpha, seq_aux, lengths, &f);
        EXPECT_NEAR(got, want, 1e-14) << where;
        // Tokens of one sequence routed to one expert would make f_i = E/K for it: sanity of the scale.
        double fsum = 0;
        for (double x : f) fsum += x;
        const int64_t sets = seq_aux
                                 ? (lengths.empty() ? B
                                                    : int64_t(std::count_if(lengths.begin(), lengths.end(),
                                                                            [](int64_t n) { return n > 0; })))
                                 : 1;
        EXPECT_NEAR(fsum, double(E) * double(sets), 1e-12) << where;
        // The loads count the tokens before the padding.
        int64_t load = 0;
        for (int64_t x : rc.counted_load) load += x;
        EXPECT_EQ(load,
                  K * (lengths.empty() ? N : std::accumulate(lengths.begin(), lengths.end(), int64_t(0))))
            << where;

        // Gradient of the balance loss alone (dweight = 0), f held fixed: central differences of the
        // reference.
        std::vector<double> dweight(size_t(N * K), 0.0), dlogits(size_t(N * E));
        router_backward<double>(c, rc, dweight.data(), B, Tn, bal, 1.0, dlogits.data());
        const double h = 1e-6;
        for (int64_t i = 0; i < N * E; ++i) {
          auto lp = logits, lm = logits;
          lp[size_t(i)] += h;
          lm[size_t(i)] -= h;
          // Same selection (f constant): reuse rc.idx.
          const double num =
              (ref_balance(lp, rc.idx, sigmoid, B, Tn, E, K, bal.alpha, seq_aux, lengths, nullptr) -
               ref_balance(lm, rc.idx, sigmoid, B, Tn, E, K, bal.alpha, seq_aux, lengths, nullptr)) /
              (2 * h);
          EXPECT_NEAR(dlogits[size_t(i)], num, 1e-9) << "logit " << i << " " << where;
        }
      }
}

}  // namespace
}  // namespace seek
