// One DeepSeekMoE layer of configs/small.json (16 routed experts, top-4, 1 shared, d = 256, I = 256) over
// B·T = 2048 tokens: forward and forward+backward with tokens grouped by expert (one GEMM per expert),
// against the same routed-expert math done per token with matrix-vector products (what grouping avoids).
// Counter GFLOPs counts the routed + shared expert and router matmuls (2 FLOPs per multiply-add; backward
// 2×).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/rng.hpp"

#include "kernels/gemm.hpp"
#include "kernels/swiglu.hpp"
#include "model/mlp.hpp"
#include "model/moe.hpp"
#include "model/router.hpp"
#include "model/transformer.hpp"

namespace {

struct Setup {
  seek::ModelConfig cfg = seek::ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/small.json");
  seek::Transformer<float> model{cfg};
  const seek::LayerIds* layer = nullptr;
  int64_t B = 8, T = 256;
  std::vector<float> x, y, dy, dx;
  Setup() {
    model.init_weights(1);
    for (const auto& l : model.ids().layers)
      if (l.moe) {
        layer = &l;
        break;
      }
    seek::Rng rng(3);
    x.resize(size_t(B * T * cfg.hidden_size));
    for (auto& v : x) v = float(rng.normal());
    y.resize(x.size());
    dx.resize(x.size());
    dy = x;
  }
  double flops_forward() const {
    double d = double(cfg.hidden_size), I = double(cfg.moe_intermediate_size), N = double(B * T);
    return 2 * N *
           (d * double(cfg.n_routed_experts) + 3 * d * I * double(cfg.num_experts_per_tok) +
            3 * d * I * double(cfg.n_shared_experts));
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

void BM_MoeForwardGrouped(benchmark::State& st) {
  auto& s = setup();
  seek::MoeCache<float> cache;
  seek::BalanceOptions bal;
  bal.alpha = s.cfg.aux_loss_alpha;
  for (auto _ : st)
    seek::moe_forward<float>(s.cfg, s.model.params(), s.layer->experts, s.x.data(), s.B, s.T, s.y.data(), bal,
                             cache);
  st.counters["GFLOPs"] = benchmark::Counter(s.flops_forward() * double(st.iterations()),
                                             benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_MoeForwardBackwardGrouped(benchmark::State& st) {
  auto& s = setup();
  seek::MoeCache<float> cache;
  seek::BalanceOptions bal;
  bal.alpha = s.cfg.aux_loss_alpha;
  for (auto _ : st) {
    seek::moe_forward<float>(s.cfg, s.model.params(), s.layer->experts, s.x.data(), s.B, s.T, s.y.data(), bal,
                             cache);
    seek::moe_backward<float>(s.cfg, s.model.params(), s.layer->experts, s.x.data(), s.B, s.T, s.dy.data(),
                              s.dx.data(), bal, 1.0, cache);
  }
  st.counters["GFLOPs"] = benchmark::Counter(3 * s.flops_forward() * double(st.iterations()),
                                             benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

// Peer: the same router and shared expert, then each (token, expert) pair runs gate/up/down as
// matrix-vector products and adds its weighted output.
void BM_MoeForwardPerToken(benchmark::State& st) {
  auto& s = setup();
  seek::RouterCache<float> router;
  seek::BalanceOptions bal;
  auto& ps = s.model.params();
  const auto& ids = s.layer->experts;
  const int64_t N = s.B * s.T, d = s.cfg.hidden_size, I = s.cfg.moe_intermediate_size,
                K = s.cfg.num_experts_per_tok, E = s.cfg.n_routed_experts, S = ids.shared.inter;
  std::vector<float> g(static_cast<size_t>(I)), u(g.size()), h(g.size()), o(static_cast<size_t>(d));
  std::vector<float> logits(size_t(N * E)), sg(size_t(N * S)), su(sg.size()), sh(sg.size());
  for (auto _ : st) {
    seek::linear_forward<float>(s.x.data(), ps.p(ids.router), logits.data(), N, E, d);
    seek::router_forward<float>(s.cfg, logits.data(), ids.bias >= 0 ? ps.p(ids.bias) : nullptr, s.B, s.T, bal,
                                router);
    seek::mlp_forward<float>(ps, ids.shared, s.x.data(), N, d, s.y.data(), sg.data(), su.data(), sh.data());
    for (int64_t t = 0; t < N; ++t)
      for (int64_t k = 0; k < K; ++k) {
        const auto& e = ids.experts[size_t(router.idx[size_t(t * K + k)])];
        const float* xt = s.x.data() + t * d;
        seek::gemm<float>(false, true, 1, I, d, 1.0f, xt, d, ps.p(e.gate), d, 0.0f, g.data(), I);
        seek::gemm<float>(false, true, 1, I, d, 1.0f, xt, d, ps.p(e.up), d, 0.0f, u.data(), I);
        seek::swiglu_forward<float>(g.data(), u.data(), h.data(), I);
        seek::gemm<float>(false, true, 1, d, I, 1.0f, h.data(), I, ps.p(e.down), I, 0.0f, o.data(), d);
        float* yt = s.y.data() + t * d;
        const float w = router.weight[size_t(t * K + k)];
        for (int64_t i = 0; i < d; ++i) yt[i] += w * o[size_t(i)];
      }
  }
  st.counters["GFLOPs"] = benchmark::Counter(s.flops_forward() * double(st.iterations()),
                                             benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

}  // namespace

BENCHMARK(BM_MoeForwardGrouped)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MoeForwardBackwardGrouped)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MoeForwardPerToken)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(2);

BENCHMARK_MAIN();
