#include "train/settings.hpp"

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "model/config.hpp"
#include "train/settings_io.hpp"

namespace seek {

namespace {
// The largest weight of an auxiliary loss (λ of MTP, α of the balance loss) taken: 1000 times the main loss
// already drowns it, and is far from what float gradients can hold.
constexpr double kMaxLossWeight = 1000;
// 2^40 tokens a step: a thousand times what any machine's memory holds as activations.
constexpr int64_t kMaxBatchTokens = int64_t(1) << 40;
}  // namespace

TrainSettings TrainSettings::from_json(const nlohmann::json& j, const std::string& source) {
  return settings_from_json<TrainSettings>(j, source);
}

nlohmann::json TrainSettings::resolve_on_resume(const std::string& key, const nlohmann::json& given,
                                                const std::filesystem::path& checkpoint,
                                                const nlohmann::json& /*saved*/) {
  if (key != "aux_alpha" || !given.is_number() || given.get<double>() >= 0) return given;
  return ModelConfig::load((checkpoint / "config.json").string()).aux_loss_alpha;
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

std::vector<std::string> TrainSettings::settings_without_effect() const {
  const TrainSettings d;
  InertSettingNotes notes;
  note_shared_settings_without_effect(*this, notes);
  notes.add(decay_fraction != d.decay_fraction, parse_schedule_kind(schedule) != ScheduleKind::Wsd,
            fmt::format("decay_fraction has no effect with schedule {} (only with wsd)", schedule));
  notes.add(eval_batches != d.eval_batches, eval_every == 0,
            "eval_batches has no effect with eval_every 0 (no validation)");
  return notes.take();
}

void TrainSettings::validate() const {
  SEEK_CHECK(config.empty() != init.empty(),
             "give exactly one of --config (train from scratch) or --init DIR");
  SEEK_CHECK(!data.empty(), "no training data: give --data FILE [FILE...]");
  for (const auto& f : data) {  // checked first: a mistyped path should not wait for the model to load
    std::error_code ec;
    const auto st = std::filesystem::status(f, ec);
    SEEK_CHECK(std::filesystem::exists(st), "training data file {} does not exist", f);
    SEEK_CHECK(!std::filesystem::is_directory(st),
               "training data {} is a folder; give the .txt or .jsonl files in it", f);
    // A device or pipe (/dev/null, <(...)) cannot be memory-mapped, hashed and read again as the data cache
    // needs.
    SEEK_CHECK(
        std::filesystem::is_regular_file(st),
        "training data {} is not a regular file; give a .txt or .jsonl file (the data is read more than "
        "once, so a pipe or device cannot be used)",
        f);
  }
  validate_shared(*this);
  objective_kind();
  make_schedule();
  require_positive(batch_size, "batch_size");
  require_positive(seq_len, "seq_len");
  require_positive(grad_accum, "grad_accum");
  require_positive(log_every, "log_every");
  // The memory check refuses far smaller batches, but SEEK_NO_MEMORY_CHECK=1 skips it, and a product past
  // int64 then sized buffers from a wrapped count (a segfault).
  int64_t tokens = 0, step_tokens = 0;
  SEEK_CHECK(!__builtin_mul_overflow(batch_size, seq_len, &tokens) && tokens <= kMaxBatchTokens &&
                 !__builtin_mul_overflow(tokens, grad_accum, &step_tokens) && step_tokens <= kMaxBatchTokens,
             "batch_size {} × seq_len {} × grad_accum {} is beyond any memory (at most {} tokens a step)",
             batch_size, seq_len, grad_accum, kMaxBatchTokens);
  SEEK_CHECK(val_fraction >= 0 && val_fraction < 1, "val_fraction must be in [0, 1), got {}", val_fraction);
  // inf or 1e300 passed a plain >= 0 and turned the loss's gradient into inf at step 1, reported as a reason
  // to lower the learning rate. A weight far beyond any useful one (the main loss weighs 1; DeepSeek-V3 used
  // 0.3, then 0.1) is refused as well: float gradients overflow long before the double does.
  SEEK_CHECK(std::isfinite(mtp_lambda) && mtp_lambda >= 0 && mtp_lambda <= kMaxLossWeight,
             "mtp_lambda must be a number from 0 to {}, got {}", kMaxLossWeight, mtp_lambda);
  // < 0 stands for the config's aux_loss_alpha; any other value is the weight itself.
  SEEK_CHECK(std::isfinite(aux_alpha) && aux_alpha <= kMaxLossWeight,
             "aux_alpha must be a number up to {} (or below 0 for the config's aux_loss_alpha), got {}",
             kMaxLossWeight, aux_alpha);
  // Only wsd reads it, but a value outside (0, 1] is a mistake under any schedule (and would become one on
  // switching to wsd): 2 or -1 were clamped into a schedule nobody asked for, and nan gave a NaN learning
  // rate.
  SEEK_CHECK(std::isfinite(decay_fraction) && decay_fraction > 0 && decay_fraction <= 1,
             "decay_fraction must be in (0, 1] (the share of steps in wsd's final decay), got {}",
             decay_fraction);
  // With evaluations on, 0 batches made each one silently measure nothing.
  if (eval_every > 0)
    SEEK_CHECK(
        eval_batches >= 1,
        "eval_batches must be at least 1 when eval_every is above 0 (eval_every 0 turns validation off), "
        "got {}",
        eval_batches);
  SEEK_CHECK(on_nonfinite == "stop" || on_nonfinite == "skip",
             "on_nonfinite must be stop or skip, got \"{}\"", on_nonfinite);
}

}  // namespace seek
