// Training checkpoints: <run>/checkpoints/step-NNNNNNNN/ holds a complete model directory (config.json,
// model.safetensors in F32 so a resume is bit-exact, the tokenizer files), the AdamW moments
// (optimizer.safetensors) and trainer_state.json (step, data position, seed, counters). A checkpoint is built
// in a temporary folder, fsynced and renamed into place, so a crash at any moment leaves the previous
// checkpoint complete and usable; only the newest keep_last checkpoints are kept.
#pragma once
#include <omp.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/adamw.hpp"
#include "model/model_dir.hpp"
#include "model/transformer.hpp"
#include "tokenizer/tokenizer_files.hpp"

namespace seek {

struct TrainerState {
  int64_t step = 0;           // optimizer steps completed
  int64_t data_position = 0;  // training sequences consumed
  int64_t tokens_seen = 0;
  double elapsed_seconds = 0;
  // The run's count of failures in a row that stops it (train: non-finite steps skipped in a row; grpo:
  // prompts skipped for length in a row), saved so a resumed run stops where the uninterrupted one would: a
  // diverged run's plain --resume started the count over and went on to finish and export.
  int64_t failure_streak = 0;
  nlohmann::json extra;  // anything else the trainer wants back (e.g. the settings it ran with)
};

// Writes checkpoint `state.step` with the run's tokenizer files, then deletes all but the newest keep_last;
// with keep_checkpoint_before_failures, while state.failure_streak > 0, not checkpoint_before_failures
// either. Returns its folder.
std::filesystem::path save_checkpoint(const std::filesystem::path& run_dir, const Transformer<float>& model,
                                      AdamW<float>& opt, const TrainerState& state,
                                      const tok::TokenizerFileSet& tokenizer, int64_t keep_last,
                                      bool keep_checkpoint_before_failures);

// Writes a run's final model to `dir` (<run>/model): weights in `opts.dtype`, config.json and the tokenizer
// files, refused when a weight is non-finite. It is built beside `dir` and swapped in whole (replace_folder),
// so a run killed while saving leaves the earlier export or the new one, never a mix of their shards.
void save_final_model(const Transformer<float>& model, const std::filesystem::path& dir,
                      const SaveOptions& opts, const tok::TokenizerFileSet& tokenizer);

// Throws seek::Error when the checkpoint's config.json describes other tensors than `run_model` (the run's
// --config or --init model, named by `run_model_source`): a checkpoint copied from another run.
void check_checkpoint_model(const std::filesystem::path& checkpoint, const ModelConfig& run_model,
                            const std::string& run_model_source);

// A run's checkpoints as the trainers write them: `state.extra` holds the run's settings, and the step saved
// last is remembered, so a run stopped within a step saves its last complete step only if that is not saved
// yet (and not at step 0, where nothing was trained).
class RunCheckpoints {
 public:
  // `saved_step`: the step of the checkpoint a resumed run started from, -1 for a new run.
  RunCheckpoints(std::filesystem::path run_dir, tok::TokenizerFileSet tokenizer, int64_t keep_last,
                 int64_t saved_step)
      : run_dir_(std::move(run_dir)),
        tokenizer_(std::move(tokenizer)),
        keep_last_(keep_last),
        saved_step_(saved_step) {}

  // What the run trains on, saved with each checkpoint (its "data"): a resumed run compares it with what it
  // reads now (check_same_data).
  void set_data(nlohmann::json data) { data_ = std::move(data); }
  // parameters_hash of the model the run started from (its "init_weights"; empty: not recorded), which a
  // resumed GRPO run's KL reference must match.
  void set_init_weights(std::string hash) { init_weights_ = std::move(hash); }
  // For a run whose failures leave the weights as they were (seek train's skipped non-finite steps, not
  // GRPO's skipped prompts): the newest checkpoint from before a streak of them is not rotated out.
  void keep_checkpoint_before_failures() { keep_before_failures_ = true; }
  // Whether the evaluation after the step saved next (GRPO's held-out evaluation, seek train's validation)
  // was cut short by a stop or failed: the checkpoint records it ("eval_pending"), and a resumed run runs it
  // first, so the step's metrics line gets it as in an uninterrupted run (eval_pending_at).
  void set_eval_pending(bool pending) { eval_pending_ = pending; }

  void save(const Transformer<float>& model, AdamW<float>& opt, TrainerState& state,
            const nlohmann::json& settings) {
    // The threads it ran with (settings hold 0 for all cores, which differs between machines): sums split
    // across threads round differently, so a resume with another count is noted (print_resuming).
    state.extra = {{"settings", settings}, {"threads", omp_get_max_threads()}};
    if (!data_.is_null()) state.extra["data"] = data_;
    if (!init_weights_.empty()) state.extra["init_weights"] = init_weights_;
    if (eval_pending_) state.extra["eval_pending"] = true;
    save_checkpoint(run_dir_, model, opt, state, tokenizer_, keep_last_, keep_before_failures_);
    saved_step_ = state.step;
  }
  void save_unless_saved(const Transformer<float>& model, AdamW<float>& opt, TrainerState& state,
                         const nlohmann::json& settings) {
    if (state.step > 0 && state.step != saved_step_) save(model, opt, state, settings);
  }

 private:
  std::filesystem::path run_dir_;
  tok::TokenizerFileSet tokenizer_;
  int64_t keep_last_, saved_step_;
  bool keep_before_failures_ = false, eval_pending_ = false;
  nlohmann::json data_;
  std::string init_weights_;
};

// Whether the run saved in `state` still owes its step's evaluation (RunCheckpoints::set_eval_pending) and
// `kept`, the metrics.jsonl lines truncate_log_to_step kept, has no `key` in that step's line.
bool eval_pending_at(const TrainerState& state, const std::vector<nlohmann::json>& kept, const char* key);

// A content hash of the model's f32 parameters (hex), as checkpoints record them.
std::string parameters_hash(const Transformer<float>& model);

// Throws seek::Error when a resumed run's data differ from what its checkpoint (`state`, saved at its step)
// recorded: `now` as TokenCache::content, `files` the run's data files in order, for the message. The data
// position would index other sequences, so the run would not continue as it started. A checkpoint written
// before the record existed is not checked.
void check_same_data(const TrainerState& state, const nlohmann::json& now,
                     const std::vector<std::string>& files);

// The newest complete checkpoint of a run (temporary folders of interrupted saves are ignored), if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& run_dir);

// The newest complete checkpoint saved after a step that succeeded (failure_streak 0), if any: where a run
// that diverged can go back to. Retention never deletes it while a streak of failures goes on.
std::optional<std::filesystem::path> checkpoint_before_failures(const std::filesystem::path& run_dir);

// step-N folders newer than latest_checkpoint (all of them when there is none) without a trainer_state.json,
// oldest first: never a save of seek's (it renames a finished folder in), so a copy or an edit by hand that
// a resume passes over and says so.
std::vector<std::filesystem::path> stateless_checkpoints_past_latest(const std::filesystem::path& run_dir);

// Restores parameters, AdamW moments and step, and the trainer state. The model must have the checkpoint's
// config (the caller builds it from <checkpoint>/config.json); shapes are checked.
TrainerState load_checkpoint(const std::filesystem::path& dir, Transformer<float>& model, AdamW<float>& opt);

}  // namespace seek
