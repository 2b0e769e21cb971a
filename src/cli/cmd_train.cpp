// `seek train`: every run setting is a flag named after its settings.json key (--batch-size sets
// "batch_size"), a --run-config JSON file can hold any of them, and flags win over the file.
#include <fmt/core.h>

#include "cli/registry.hpp"
#include "cli/settings_flags.hpp"
#include "core/error.hpp"
#include "train/trainer.hpp"

namespace seek::cli {
namespace {

void run(const TrainSettings& s, bool resume, const nlohmann::json& overrides) {
  const TrainResult r = run_training(s, resume, overrides);
  end_run(r.interrupted, r.steps_done, r.validation_owed_step, "validation");
}

// Each setting's --help text, in the order --help lists them.
constexpr FlagHelp kFlagHelp[] = {
    {"config", "model config.json, to train from scratch"},
    {"init", "model directory to continue from (ours or Hugging Face DeepSeek)"},
    {"tokenizer", "tokenizer folder (default: --init's, else byte-level)"},
    {"data", "input files: .txt or .jsonl"},
    {"objective", "pretrain | sft (loss on assistant tokens only) (default pretrain)"},
    {"out", "run folder: settings, metrics.jsonl, checkpoints, final model"},
    {"val_fraction", "share of documents held out for validation (default 0.05)"},
    {"batch_size", "sequences per micro-batch (default 8)"},
    {"seq_len", "tokens per sequence (default 256)"},
    {"grad_accum", "micro-batches per optimizer step (default 1)"},
    {"steps", "optimizer steps in total (default 1000)"},
    {"lr", "peak learning rate (default 1e-3)"},
    {"min_lr", "learning rate the decay reaches one step after the last, as in Hugging Face (default 1e-4)"},
    {"warmup_steps", "linear warm-up steps (default 100)"},
    {"schedule", "constant | cosine | linear | wsd (default cosine)"},
    {"decay_fraction", "wsd: share of the steps after warm-up spent in the final decay (default 0.2)"},
    {"weight_decay", "AdamW decoupled weight decay on 2-D weights (default 0.1)"},
    {"beta1", "AdamW β1 (default 0.9)"},
    {"beta2", "AdamW β2 (default 0.95)"},
    {"eps", "AdamW ε (default 1e-8)"},
    {"max_grad_norm", "global gradient-norm clip, <= 0 disables (default 1.0)"},
    {"bias_update_speed", "γ of the aux-loss-free router bias (default 1e-3)"},
    {"aux_alpha", "α of the balance loss (default, or any value below 0: the config's aux_loss_alpha)"},
    {"seq_aux",
     "balance loss per sequence (true) or per batch (false); not read from the model's config "
     "(default true)"},
    {"mtp_lambda",
     "λ, weight of the multi-token-prediction loss (default 0.3; 0: MTP layers not run or trained)"},
    {"seed", "seed for initialisation, data split and order (default 1234)"},
    {"threads", "OpenMP threads (default: all cores, or OMP_NUM_THREADS)"},
    {"eval_every", "validate every N steps and at the last, 0 = never (default 100)"},
    {"eval_batches", "validation batches per evaluation (default 8)"},
    {"checkpoint_every", "checkpoint every N steps, 0 = only at the end (default 200)"},
    {"keep_last", "checkpoints to keep (default 3)"},
    {"log_every", "progress line every N steps (default 1)"},
    {"on_nonfinite", "stop | skip a step whose loss or gradient is not finite (default stop)"},
    {"save_dtype", "final model dtype: f32 | bf16 (default f32)"},
};

RegisterCommand reg("train", "Pretrain or fine-tune (SFT) a model; exact resume from checkpoints",
                    [](CLI::App& app) { add_settings_command<TrainSettings>(app, kFlagHelp, run); });

}  // namespace
}  // namespace seek::cli
