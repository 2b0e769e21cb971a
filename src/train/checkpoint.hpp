// Training checkpoints: <run>/checkpoints/step-NNNNNNNN/ holds a complete model directory (config.json,
// model.safetensors in F32 so a resume is bit-exact, the tokenizer files), the AdamW moments
// (optimizer.safetensors) and trainer_state.json (step, data position, seed, counters). A checkpoint is built
// in a temporary folder, fsynced and renamed into place, so a crash at any moment leaves the previous
// checkpoint complete and usable; only the newest keep_last checkpoints are kept.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>

#include "model/adamw.hpp"
#include "model/transformer.hpp"

namespace seek {

struct TrainerState {
  int64_t step = 0;           // optimizer steps completed
  int64_t data_position = 0;  // training sequences consumed
  int64_t tokens_seen = 0;
  double elapsed_seconds = 0;
  nlohmann::json extra;  // anything else the trainer wants back (e.g. the settings it ran with)
};

// Writes checkpoint `state.step`; copies tokenizer.json / tokenizer_config.json from tokenizer_dir when
// given. Returns its folder.
std::filesystem::path save_checkpoint(const std::filesystem::path& run_dir, const Transformer<float>& model,
                                      AdamW<float>& opt, const TrainerState& state,
                                      const std::filesystem::path& tokenizer_dir, int64_t keep_last);

// Throws seek::Error when the checkpoint's config.json describes other tensors than `run_model` (the run's
// --config or --init model, named by `run_model_source`): a checkpoint copied from another run.
void check_checkpoint_model(const std::filesystem::path& checkpoint, const ModelConfig& run_model,
                            const std::string& run_model_source);

// The newest complete checkpoint of a run (temporary folders of interrupted saves are ignored), if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& run_dir);

// Restores parameters, AdamW moments and step, and the trainer state. The model must have the checkpoint's
// config (the caller builds it from <checkpoint>/config.json); shapes are checked.
TrainerState load_checkpoint(const std::filesystem::path& dir, Transformer<float>& model, AdamW<float>& opt);

}  // namespace seek
