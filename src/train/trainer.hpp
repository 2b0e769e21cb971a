// `seek train`: pretraining and SFT with gradient accumulation, LR schedules, clipping, MoE balancing, MTP,
// periodic evaluation and checkpoints, exact resume, metrics.jsonl and a progress line.
#pragma once
#include <cstdint>
#include <functional>

#include <nlohmann/json.hpp>

#include "core/progress.hpp"
#include "train/settings.hpp"

namespace seek {

struct TrainResult {
  int64_t steps_done = 0;             // optimizer steps completed in total (including before a resume)
  double last_loss = -1;              // -1: unknown (a complete run resumed after its metrics.jsonl went)
  double last_val_loss = -1;          // -1: never evaluated
  bool interrupted = false;           // stopped by SIGINT/SIGTERM after saving a checkpoint
  int64_t skipped_steps = 0;          // this session's steps whose update --on-nonfinite skip dropped
  int64_t steps_without_targets = 0;  // this session's SFT steps with no answer token: no update
  // A step whose validation a stop cut short (0: none): its checkpoint owes it, and --resume runs it first.
  int64_t validation_owed_step = 0;
};

// Runs (or, with resume, continues) the run described by `settings`. With resume, settings saved in the run
// folder are the base and `overrides` (the keys the user gave on the command line) replace them; without
// resume, `settings` already includes the overrides. Throws seek::Error on bad input.
// `progress`: where and how the line inside a step (its micro-batches) is shown.
TrainResult run_training(const TrainSettings& settings, bool resume, const nlohmann::json& overrides = {},
                         ProgressLine::Options progress = {});

}  // namespace seek
