// `seek demo`: until the training loop lands, a short real pretraining run of configs/small.json on a
// generated arithmetic corpus (byte-level tokens), showing the loss fall and the step throughput.
#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "cli/registry.hpp"
#include "core/error.hpp"
#include "core/resources.hpp"
#include "core/rng.hpp"
#include "model/adamw.hpp"
#include "model/transformer.hpp"

namespace seek::cli {
namespace {

struct DemoOptions {
  std::string config = std::string(SEEK_SOURCE_DIR) + "/configs/small.json";
  int steps = 40;
  int batch = 8;
  int seq = 128;
  double lr = 2e-3;
  uint64_t seed = 1234;
};

// "a+b=c\n" lines: a corpus whose structure a small model starts to learn within a few dozen steps.
std::vector<int32_t> arithmetic_corpus(size_t n_tokens, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> ids;
  ids.reserve(n_tokens);
  while (ids.size() < n_tokens) {
    int a = int(rng.below(100)), b = int(rng.below(100));
    std::string line = fmt::format("{}+{}={}\n", a, b, a + b);
    for (unsigned char ch : line) ids.push_back(ch);
  }
  ids.resize(n_tokens);
  return ids;
}

void run_demo(const DemoOptions& o) {
  ModelConfig cfg = ModelConfig::load(o.config);
  SEEK_CHECK(cfg.vocab_size >= 256, "the demo uses byte tokens, so vocab_size must be >= 256 (got {})",
             cfg.vocab_size);
  Transformer<float> model(cfg);
  model.init_weights(o.seed);
  int64_t nparams = 0;
  for (const auto& p : model.params().layout.all()) nparams += p.numel;
  fmt::print("seek demo: {} ({:.1f}M parameters), batch {}×{}, {} steps, AdamW lr {}\n", o.config,
             double(nparams) / 1e6, o.batch, o.seq, o.steps, o.lr);
  auto corpus = arithmetic_corpus(size_t(o.batch) * size_t(o.seq + 1) * size_t(o.steps) + 1, o.seed);
  AdamW<float> opt(model.params().layout);
  AdamWParams hp;
  hp.lr = o.lr;
  hp.weight_decay = 0.1;
  LossOptions lo;
  lo.balance.alpha = cfg.aux_loss_alpha;
  lo.balance.seq_aux = cfg.seq_aux;
  std::vector<int32_t> tokens(size_t(o.batch * o.seq)), targets(tokens.size());
  const auto start = std::chrono::steady_clock::now();
  double first = 0, last = 0, tokens_done = 0;
  for (int s = 0; s < o.steps; ++s) {
    for (int b = 0; b < o.batch; ++b) {
      size_t base = (size_t(s) * size_t(o.batch) + size_t(b)) * size_t(o.seq + 1);
      for (int t = 0; t < o.seq; ++t) {
        tokens[size_t(b * o.seq + t)] = corpus[base + size_t(t)];
        targets[size_t(b * o.seq + t)] = corpus[base + size_t(t) + 1];
      }
    }
    model.params().zero_grad();
    LossResult r = model.forward_backward(tokens.data(), targets.data(), o.batch, o.seq, lo, true);
    StepStats st = opt.step(model.params(), hp, 1.0);
    SEEK_CHECK(st.finite && std::isfinite(r.loss), "non-finite loss or gradient at step {}", s + 1);
    model.update_router_bias(1e-3);
    if (s == 0) first = r.ce;
    last = r.ce;
    tokens_done += double(o.batch) * o.seq;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double tps = tokens_done / secs;
    double eta = secs / (s + 1) * (o.steps - s - 1);
    fmt::print(
        "step {:>4}/{} | loss {:.4f} (ce {:.4f} mtp {:.4f} bal {:.5f}) | grad norm {:.3f} | {:.0f} tok/s | "
        "ETA {:.0f}s\n",
        s + 1, o.steps, r.loss, r.ce, r.mtp, r.balance, st.grad_norm, tps, eta);
    std::fflush(stdout);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(
      "done: next-token loss {:.3f} -> {:.3f} in {:.1f}s, {:.0f} tokens/s (forward+backward+AdamW), "
      "peak RSS {:.0f} MB\n",
      first, last, secs, tokens_done / secs, peak_rss_mb());
}

RegisterCommand reg("demo", "Train configs/small.json briefly on a generated corpus and show the loss fall",
                    [](CLI::App& app) {
                      auto o = std::make_shared<DemoOptions>();
                      app.add_option("--config", o->config, "model config.json");
                      app.add_option("--steps", o->steps, "optimizer steps")->check(CLI::PositiveNumber);
                      app.add_option("--batch", o->batch, "sequences per step")->check(CLI::PositiveNumber);
                      app.add_option("--seq", o->seq, "tokens per sequence")->check(CLI::PositiveNumber);
                      app.add_option("--lr", o->lr, "AdamW learning rate");
                      app.add_option("--seed", o->seed, "random seed");
                      app.callback([o] { run_demo(*o); });
                    });

}  // namespace
}  // namespace seek::cli
