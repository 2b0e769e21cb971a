#include "train/settings.hpp"

#include <filesystem>

#include "core/error.hpp"
#include "train/settings_io.hpp"

namespace seek {

TrainSettings TrainSettings::from_json(const nlohmann::json& j, const std::string& source) {
  return settings_from_json<TrainSettings>(j, source);
}

nlohmann::json TrainSettings::to_json() const {
  return settings_to_json(*this);
}

Objective TrainSettings::objective_kind() const {
  if (objective == "pretrain") return Objective::Pretrain;
  if (objective == "sft") return Objective::Sft;
  fail("unknown objective \"{}\" (expected pretrain or sft)", objective);
}

Schedule TrainSettings::make_schedule() const {
  Schedule s = shared_schedule(*this, steps);
  s.decay_fraction = decay_fraction;
  return s;
}

void TrainSettings::validate() const {
  SEEK_CHECK(config.empty() != init.empty(),
             "give exactly one of --config (train from scratch) or --init DIR");
  SEEK_CHECK(!data.empty(), "no training data: give --data FILE [FILE...]");
  for (const auto& f : data)  // checked first: a mistyped path should not wait for the model to load
    SEEK_CHECK(std::filesystem::is_regular_file(f), "training data file {} does not exist", f);
  SEEK_CHECK(!out.empty(), "no run folder: give --out DIR");
  objective_kind();
  make_schedule();
  require_positive(batch_size, "batch_size");
  require_positive(seq_len, "seq_len");
  require_positive(grad_accum, "grad_accum");
  require_positive(steps, "steps");
  require_positive(log_every, "log_every");
  SEEK_CHECK(warmup_steps >= 0, "warmup_steps must be >= 0");
  SEEK_CHECK(lr > 0 && min_lr >= 0 && min_lr <= lr, "need 0 <= min_lr <= lr and lr > 0 (lr {}, min_lr {})",
             lr, min_lr);
  SEEK_CHECK(val_fraction >= 0 && val_fraction < 1, "val_fraction must be in [0, 1), got {}", val_fraction);
  SEEK_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "beta1 and beta2 must be in [0, 1)");
  SEEK_CHECK(eps > 0, "eps must be positive");
  SEEK_CHECK(weight_decay >= 0, "weight_decay must be >= 0");
  SEEK_CHECK(mtp_lambda >= 0, "mtp_lambda must be >= 0");
  SEEK_CHECK(bias_update_speed >= 0, "bias_update_speed must be >= 0");
  SEEK_CHECK(eval_every >= 0 && checkpoint_every >= 0,
             "eval_every and checkpoint_every must be >= 0 (0: never)");
  SEEK_CHECK(keep_last >= 1, "keep_last must be at least 1");
  SEEK_CHECK(on_nonfinite == "stop" || on_nonfinite == "skip",
             "on_nonfinite must be stop or skip, got \"{}\"", on_nonfinite);
  SEEK_CHECK(save_dtype == "f32" || save_dtype == "bf16", "save_dtype must be f32 or bf16, got \"{}\"",
             save_dtype);
  SEEK_CHECK(threads >= 0, "threads must be >= 0");
}

}  // namespace seek
