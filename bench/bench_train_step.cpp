// One full training step of a model config (forward + backward + AdamW), the headline number:
// tokens/s, achieved GFLOP/s from the analytic FLOP count, and peak RSS. Prints one JSON line so
// bench/step-vs-torch.sh can put it next to the PyTorch reference measured in the same run.
//   bench_train_step [--config configs/small.json] [--batch 8] [--seq 256] [--steps 5] [--warmup 1]
#include <fmt/core.h>

#include <charconv>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "core/openmp_wait.hpp"
#include "core/resources.hpp"
#include "core/rng.hpp"
#include "model/adamw.hpp"
#include "model/flops.hpp"
#include "model/transformer.hpp"

int main(int argc, char** argv) {
  seek::use_short_openmp_spin_by_default(argv);  // as `seek` runs
  std::string config = std::string(SEEK_SOURCE_DIR) + "/configs/small.json";
  int64_t B = 8, T = 256, steps = 5, warmup = 1;
  // Every flag takes a value. A flag without one (`--batch` last, or followed by another flag), an unknown
  // flag or a value that is not a count is an error: ignoring it would measure the default shape and exit 0,
  // and the caller would take that line for the shape it asked for.
  auto usage = [] {
    fmt::print(stderr,
               "usage: bench_train_step [--config configs/small.json] [--batch 8] [--seq 256] [--steps 5] "
               "[--warmup 1]\n");
    return 2;
  };
  const std::pair<const char*, int64_t*> counts[] = {
      {"--batch", &B}, {"--seq", &T}, {"--steps", &steps}, {"--warmup", &warmup}};
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    int64_t* count = nullptr;  // where the value goes, unless it is --config's path
    for (auto [name, target] : counts)
      if (k == name) count = target;
    if (k != "--config" && !count) {
      fmt::print(stderr, "bench_train_step: unknown option '{}'\n", k);
      return usage();
    }
    if (i + 1 >= argc || std::strncmp(argv[i + 1], "--", 2) == 0) {
      fmt::print(stderr, "bench_train_step: {} needs a value\n", k);
      return usage();
    }
    std::string_view v = argv[i + 1];
    if (!count) {
      config = v;
      continue;
    }
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *count);
    // --warmup may be 0; a batch, a sequence or a number of timed steps of 0 measures nothing.
    if (ec != std::errc() || end != v.data() + v.size() || *count < (k == "--warmup" ? 0 : 1)) {
      fmt::print(stderr, "bench_train_step: {} needs a whole number {}, not '{}'\n", k,
                 k == "--warmup" ? "of 0 or more" : "of 1 or more", v);
      return usage();
    }
  }
  auto cfg = seek::ModelConfig::load(config);
  seek::Transformer<float> model(cfg);
  model.init_weights(1);
  seek::AdamW<float> opt(model.params().layout);
  seek::AdamWParams hp;
  hp.lr = 1e-3;
  seek::LossOptions lo;
  lo.balance.alpha = cfg.aux_loss_alpha;
  seek::Rng rng(7);
  std::vector<int32_t> tokens(size_t(B * T)), targets(size_t(B * T));
  // A new batch every step, as in real training: routing (and so each expert's GEMM shapes) changes.
  auto step = [&] {
    for (auto& t : tokens) t = int32_t(rng.below(uint64_t(cfg.vocab_size)));
    for (auto& t : targets) t = int32_t(rng.below(uint64_t(cfg.vocab_size)));
    model.params().zero_grad();
    auto r = model.forward_backward(tokens.data(), targets.data(), B, T, lo, true);
    opt.step(model.params(), hp, 1.0);
    model.update_router_bias(1e-3);
    return r.loss;
  };
  for (int64_t i = 0; i < warmup; ++i) step();
  auto t0 = std::chrono::steady_clock::now();
  double fwd_bwd = 0;
  for (int64_t i = 0; i < steps; ++i) {
    auto a = std::chrono::steady_clock::now();
    step();
    fwd_bwd += std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto flops = seek::training_step_flops(cfg, B, T);
  double step_s = secs / double(steps);
  fmt::print(
      "{{\"impl\": \"seek\", \"tokens_per_s\": {:.1f}, \"step_ms\": {:.1f}, \"gflops\": {:.1f}, "
      "\"matmul_gflop_per_step\": {:.2f}, \"attention_gflop_per_step\": {:.2f}, \"peak_rss_mb\": {:.0f}, "
      "\"batch\": {}, \"seq\": {}}}\n",
      double(B * T) / step_s, step_s * 1e3, flops.total() / step_s / 1e9, flops.matmul / 1e9,
      flops.attention / 1e9, seek::peak_rss_mb(), B, T);
  return 0;
}
