// `seek train`: every run setting is a flag named after its settings.json key (--batch-size sets
// "batch_size"), a --run-config JSON file can hold any of them, and flags win over the file.
#include <fmt/core.h>

#include <fstream>
#include <memory>

#include "cli/registry.hpp"
#include "core/error.hpp"
#include "train/trainer.hpp"

namespace seek::cli {
namespace {

struct TrainCli {
  nlohmann::json flags = nlohmann::json::object();
  std::string run_config;
  bool resume = false;
};

template <typename V>
void flag(CLI::App& app, const std::shared_ptr<TrainCli>& c, const std::string& key,
          const std::string& help) {
  std::string name = "--" + key;
  for (auto& ch : name)
    if (ch == '_') ch = '-';
  app.add_option_function<V>(
      name, [c, key](const V& v) { c->flags[key] = v; }, help);
}

void run(const TrainCli& c) {
  nlohmann::json merged = nlohmann::json::object();
  if (!c.run_config.empty()) {
    std::ifstream f(c.run_config);
    SEEK_CHECK(f.good(), "cannot read run config {}", c.run_config);
    try {
      merged = nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: not valid JSON: {}", c.run_config, e.what());
    }
    TrainSettings::from_json(merged, c.run_config);  // reports unknown keys against the file's name
  }
  for (auto it = c.flags.begin(); it != c.flags.end(); ++it) merged[it.key()] = it.value();
  TrainSettings s = TrainSettings::from_json(merged, c.run_config.empty() ? "command line" : c.run_config);
  auto r = run_training(s, c.resume, merged);
  if (r.interrupted) std::exit(130);
}

RegisterCommand reg(
    "train", "Pretrain or fine-tune (SFT) a model; exact resume from checkpoints", [](CLI::App& app) {
      auto c = std::make_shared<TrainCli>();
      app.add_option("--run-config", c->run_config, "JSON file with any of the settings below (flags win)");
      app.add_flag("--resume", c->resume, "continue the run in --out from its newest checkpoint");
      flag<std::string>(app, c, "config", "model config.json, to train from scratch");
      flag<std::string>(app, c, "init", "model directory to continue from (ours or Hugging Face DeepSeek)");
      flag<std::string>(app, c, "tokenizer", "tokenizer folder (default: --init's, else byte-level)");
      flag<std::vector<std::string>>(app, c, "data", "input files: .txt or .jsonl");
      flag<std::string>(app, c, "objective", "pretrain | sft (loss on assistant tokens only)");
      flag<std::string>(app, c, "out", "run folder: settings, metrics.jsonl, checkpoints, final model");
      flag<double>(app, c, "val_fraction", "share of documents held out for validation (default 0.05)");
      flag<int64_t>(app, c, "batch_size", "sequences per micro-batch (default 8)");
      flag<int64_t>(app, c, "seq_len", "tokens per sequence (default 256)");
      flag<int64_t>(app, c, "grad_accum", "micro-batches per optimizer step (default 1)");
      flag<int64_t>(app, c, "steps", "optimizer steps in total (default 1000)");
      flag<double>(app, c, "lr", "peak learning rate (default 1e-3)");
      flag<double>(app, c, "min_lr", "final learning rate of the decay (default 1e-4)");
      flag<int64_t>(app, c, "warmup_steps", "linear warm-up steps (default 100)");
      flag<std::string>(app, c, "schedule", "constant | cosine | linear | wsd (default cosine)");
      flag<double>(app, c, "decay_fraction", "wsd: share of steps in the final decay (default 0.2)");
      flag<double>(app, c, "weight_decay", "AdamW decoupled weight decay on 2-D weights (default 0.1)");
      flag<double>(app, c, "beta1", "AdamW β1 (default 0.9)");
      flag<double>(app, c, "beta2", "AdamW β2 (default 0.95)");
      flag<double>(app, c, "eps", "AdamW ε (default 1e-8)");
      flag<double>(app, c, "max_grad_norm", "global gradient-norm clip, <= 0 disables (default 1.0)");
      flag<double>(app, c, "bias_update_speed", "γ of the aux-loss-free router bias (default 1e-3)");
      flag<double>(app, c, "aux_alpha", "α of the balance loss (default: the config's aux_loss_alpha)");
      flag<bool>(app, c, "seq_aux", "balance loss per sequence (true) or per batch (false)");
      flag<double>(app, c, "mtp_lambda", "λ, weight of the multi-token-prediction loss (default 0.3)");
      flag<uint64_t>(app, c, "seed", "seed for initialisation, data split and order (default 1234)");
      flag<int>(app, c, "threads", "OpenMP threads (default: all cores)");
      flag<int64_t>(app, c, "eval_every", "validate every N steps, 0 = never (default 100)");
      flag<int64_t>(app, c, "eval_batches", "validation batches per evaluation (default 8)");
      flag<int64_t>(app, c, "checkpoint_every",
                    "checkpoint every N steps, 0 = only at the end (default 200)");
      flag<int64_t>(app, c, "keep_last", "checkpoints to keep (default 3)");
      flag<int64_t>(app, c, "log_every", "progress line every N steps (default 1)");
      flag<std::string>(app, c, "on_nonfinite", "stop | skip a step whose loss or gradient is not finite");
      flag<std::string>(app, c, "save_dtype", "final model dtype: f32 | bf16 (default f32)");
      app.callback([c] { run(*c); });
    });

}  // namespace
}  // namespace seek::cli
