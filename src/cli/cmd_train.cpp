// `seek train`: every run setting is a flag named after its settings.json key (--batch-size sets
// "batch_size"), a --run-config JSON file can hold any of them, and flags win over the file.
#include <fmt/core.h>

#include <cstdlib>

#include "cli/registry.hpp"
#include "cli/settings_flags.hpp"
#include "core/error.hpp"
#include "train/trainer.hpp"

namespace seek::cli {
namespace {

void run(const SettingsFlags& c) {
  nlohmann::json merged = c.merged();
  TrainSettings s = TrainSettings::from_json(merged, c.source());
  auto r = run_training(s, c.resume, merged);
  if (r.interrupted) std::exit(130);
}

RegisterCommand reg(
    "train", "Pretrain or fine-tune (SFT) a model; exact resume from checkpoints", [](CLI::App& app) {
      auto c = std::make_shared<SettingsFlags>();
      add_run_flags(app, c);
      settings_flag<std::string>(app, c, "config", "model config.json, to train from scratch");
      settings_flag<std::string>(app, c, "init",
                                 "model directory to continue from (ours or Hugging Face DeepSeek)");
      settings_flag<std::string>(app, c, "tokenizer",
                                 "tokenizer folder (default: --init's, else byte-level)");
      settings_flag<std::vector<std::string>>(app, c, "data", "input files: .txt or .jsonl");
      settings_flag<std::string>(app, c, "objective", "pretrain | sft (loss on assistant tokens only)");
      settings_flag<std::string>(app, c, "out",
                                 "run folder: settings, metrics.jsonl, checkpoints, final model");
      settings_flag<double>(app, c, "val_fraction",
                            "share of documents held out for validation (default 0.05)");
      settings_flag<int64_t>(app, c, "batch_size", "sequences per micro-batch (default 8)");
      settings_flag<int64_t>(app, c, "seq_len", "tokens per sequence (default 256)");
      settings_flag<int64_t>(app, c, "grad_accum", "micro-batches per optimizer step (default 1)");
      settings_flag<int64_t>(app, c, "steps", "optimizer steps in total (default 1000)");
      settings_flag<double>(app, c, "lr", "peak learning rate (default 1e-3)");
      settings_flag<double>(app, c, "min_lr", "final learning rate of the decay (default 1e-4)");
      settings_flag<int64_t>(app, c, "warmup_steps", "linear warm-up steps (default 100)");
      settings_flag<std::string>(app, c, "schedule", "constant | cosine | linear | wsd (default cosine)");
      settings_flag<double>(app, c, "decay_fraction", "wsd: share of steps in the final decay (default 0.2)");
      settings_flag<double>(app, c, "weight_decay",
                            "AdamW decoupled weight decay on 2-D weights (default 0.1)");
      settings_flag<double>(app, c, "beta1", "AdamW β1 (default 0.9)");
      settings_flag<double>(app, c, "beta2", "AdamW β2 (default 0.95)");
      settings_flag<double>(app, c, "eps", "AdamW ε (default 1e-8)");
      settings_flag<double>(app, c, "max_grad_norm",
                            "global gradient-norm clip, <= 0 disables (default 1.0)");
      settings_flag<double>(app, c, "bias_update_speed", "γ of the aux-loss-free router bias (default 1e-3)");
      settings_flag<double>(app, c, "aux_alpha",
                            "α of the balance loss (default: the config's aux_loss_alpha)");
      settings_flag<bool>(app, c, "seq_aux", "balance loss per sequence (true) or per batch (false)");
      settings_flag<double>(app, c, "mtp_lambda",
                            "λ, weight of the multi-token-prediction loss (default 0.3)");
      settings_flag<uint64_t>(app, c, "seed", "seed for initialisation, data split and order (default 1234)");
      settings_flag<int>(app, c, "threads", "OpenMP threads (default: all cores)");
      settings_flag<int64_t>(app, c, "eval_every", "validate every N steps, 0 = never (default 100)");
      settings_flag<int64_t>(app, c, "eval_batches", "validation batches per evaluation (default 8)");
      settings_flag<int64_t>(app, c, "checkpoint_every",
                             "checkpoint every N steps, 0 = only at the end (default 200)");
      settings_flag<int64_t>(app, c, "keep_last", "checkpoints to keep (default 3)");
      settings_flag<int64_t>(app, c, "log_every", "progress line every N steps (default 1)");
      settings_flag<std::string>(app, c, "on_nonfinite",
                                 "stop | skip a step whose loss or gradient is not finite");
      settings_flag<std::string>(app, c, "save_dtype", "final model dtype: f32 | bf16 (default f32)");
      app.callback([c] { run(*c); });
    });

}  // namespace
}  // namespace seek::cli
