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
  validate_shared(*this);
  objective_kind();
  make_schedule();
  require_positive(batch_size, "batch_size");
  require_positive(seq_len, "seq_len");
  require_positive(grad_accum, "grad_accum");
  require_positive(log_every, "log_every");
  SEEK_CHECK(val_fraction >= 0 && val_fraction < 1, "val_fraction must be in [0, 1), got {}", val_fraction);
  SEEK_CHECK(mtp_lambda >= 0, "mtp_lambda must be >= 0");
  SEEK_CHECK(on_nonfinite == "stop" || on_nonfinite == "skip",
             "on_nonfinite must be stop or skip, got \"{}\"", on_nonfinite);
}

}  // namespace seek
