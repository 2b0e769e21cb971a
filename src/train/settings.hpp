// Everything that describes a training run. It comes from a JSON run file and/or command-line flags (same key
// names; flags win), is validated as a whole, and the resolved settings are saved as <out>/settings.json.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "train/dataset.hpp"
#include "train/schedule.hpp"
#include "train/shared_settings.hpp"

namespace seek {

struct TrainSettings {
  // model and data
  std::string config;             // config.json for a model trained from scratch
  std::string init;               // or a model directory to continue from (ours or Hugging Face DeepSeek)
  std::string tokenizer;          // tokenizer folder; default: init's tokenizer.json if present, else bytes
  std::vector<std::string> data;  // input files
  std::string objective = "pretrain";  // pretrain | sft
  std::string out;                     // run folder
  double val_fraction = 0.05;
  // batch
  int64_t batch_size = 8;  // sequences per micro-batch
  int64_t seq_len = 256;
  int64_t grad_accum = 1;  // micro-batches per optimizer step
  int64_t steps = 1000;    // optimizer steps in total
  // optimizer and schedule
  double lr = 1e-3, min_lr = 1e-4;
  int64_t warmup_steps = 100;
  std::string schedule = "cosine";  // constant | cosine | linear | wsd
  double decay_fraction = 0.2;      // wsd
  double weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double max_grad_norm = 1.0;  // <= 0: no clipping
  // MoE balance and MTP
  double bias_update_speed = 1e-3;  // γ of the aux-loss-free bias (noaux_tc routers)
  double aux_alpha = -1;            // α of the balance loss; < 0: the config's aux_loss_alpha
  bool seq_aux = true;
  double mtp_lambda = 0.3;  // λ
  // run control
  uint64_t seed = 1234;
  int threads = 0;  // 0: all cores
  int64_t eval_every = 100, eval_batches = 8;
  int64_t checkpoint_every = 200, keep_last = 3;
  int64_t log_every = 1;
  std::string on_nonfinite = "stop";  // stop | skip
  std::string save_dtype = "f32";  // final model: f32 | bf16 (checkpoints are always f32, for exact resume)

  // The one table of keys: JSON in and out (train/settings_io.hpp) and the type of each command-line flag
  // (cli/settings_flags.hpp) come from it, so they cannot disagree on a key. Keys shared with `seek grpo`
  // are listed in train/shared_settings.hpp.
  template <typename F>
  void for_each_field(F&& f) {
    f("config", config);
    for_each_shared_field(*this, f);
    f("data", data);
    f("objective", objective);
    f("val_fraction", val_fraction);
    f("batch_size", batch_size);
    f("seq_len", seq_len);
    f("grad_accum", grad_accum);
    f("decay_fraction", decay_fraction);
    f("aux_alpha", aux_alpha);
    f("seq_aux", seq_aux);
    f("mtp_lambda", mtp_lambda);
    f("eval_batches", eval_batches);
    f("log_every", log_every);
    f("on_nonfinite", on_nonfinite);
  }

  // What a checkpoint's run is made of (its model, tokenizer, data and their order): --resume refuses to
  // change these; anything else (steps, learning rate, logging, ...) may change, and each change is printed.
  static constexpr const char* kCommand = "seek train";  // what makes and resumes such runs
  static constexpr const char* kFixedOnResume[] = {"config",    "init",    "tokenizer", "data",
                                                   "objective", "seq_len", "seed",      "val_fraction"};
  // Settings that name files or folders: saved absolute, so --resume works from any directory.
  static constexpr const char* kPathSettings[] = {"config", "init", "tokenizer", "data"};
  // What a resumed run reads again; the model's config and the tokenizer come from its checkpoint, so the
  // --config, --init and --tokenizer of a run may be gone (a base model deleted after an SFT run started).
  static bool reads_on_resume(const std::string& key, const nlohmann::json& /*settings*/) {
    return key == "data";
  }

  static TrainSettings from_json(const nlohmann::json& j, const std::string& source);  // rejects unknown keys
  // For --resume: a given aux_alpha below 0 as the α it stands for, the aux_loss_alpha of the checkpoint's
  // config.json (settings.json holds resolved values); any other key or value as given.
  static nlohmann::json resolve_on_resume(const std::string& key, const nlohmann::json& given,
                                          const std::filesystem::path& checkpoint,
                                          const nlohmann::json& saved);
  nlohmann::json to_json() const;
  void validate() const;
  Objective objective_kind() const;
  Schedule make_schedule() const;
  // Notes on settings given a value other than the default that this run's other settings leave without
  // effect (decay_fraction without wsd, min_lr with the constant schedule, ...): each "x has no effect ...".
  // What depends on the model (mtp_lambda) the trainer notes itself.
  std::vector<std::string> settings_without_effect() const;
  int64_t sequences_per_step() const { return batch_size * grad_accum; }
};

}  // namespace seek
