#include "train/settings.hpp"

#include <filesystem>

#include "core/error.hpp"
#include "train/settings_io.hpp"

namespace seek {

namespace {

// One table drives both directions, so a new setting is one line here.
template <typename F>
void for_each_field(TrainSettings& s, F&& f) {
  f("config", s.config);
  f("init", s.init);
  f("tokenizer", s.tokenizer);
  f("data", s.data);
  f("objective", s.objective);
  f("out", s.out);
  f("val_fraction", s.val_fraction);
  f("batch_size", s.batch_size);
  f("seq_len", s.seq_len);
  f("grad_accum", s.grad_accum);
  f("steps", s.steps);
  f("lr", s.lr);
  f("min_lr", s.min_lr);
  f("warmup_steps", s.warmup_steps);
  f("schedule", s.schedule);
  f("decay_fraction", s.decay_fraction);
  f("weight_decay", s.weight_decay);
  f("beta1", s.beta1);
  f("beta2", s.beta2);
  f("eps", s.eps);
  f("max_grad_norm", s.max_grad_norm);
  f("bias_update_speed", s.bias_update_speed);
  f("aux_alpha", s.aux_alpha);
  f("seq_aux", s.seq_aux);
  f("mtp_lambda", s.mtp_lambda);
  f("seed", s.seed);
  f("threads", s.threads);
  f("eval_every", s.eval_every);
  f("eval_batches", s.eval_batches);
  f("checkpoint_every", s.checkpoint_every);
  f("keep_last", s.keep_last);
  f("log_every", s.log_every);
  f("on_nonfinite", s.on_nonfinite);
  f("save_dtype", s.save_dtype);
}

}  // namespace

TrainSettings TrainSettings::from_json(const nlohmann::json& j, const std::string& source) {
  return settings_from_json<TrainSettings>(j, source,
                                           [](TrainSettings& s, auto&& f) { for_each_field(s, f); });
}

nlohmann::json TrainSettings::to_json() const {
  return settings_to_json(*this, [](TrainSettings& s, auto&& f) { for_each_field(s, f); });
}

Objective TrainSettings::objective_kind() const {
  if (objective == "pretrain") return Objective::Pretrain;
  if (objective == "sft") return Objective::Sft;
  fail("unknown objective \"{}\" (expected pretrain or sft)", objective);
}

Schedule TrainSettings::make_schedule() const {
  Schedule s;
  s.kind = parse_schedule_kind(schedule);
  s.lr = lr;
  s.min_lr = min_lr;
  s.warmup_steps = warmup_steps;
  s.total_steps = steps;
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
  auto positive = [](int64_t v, const char* name) {
    SEEK_CHECK(v > 0, "{} must be positive, got {}", name, v);
  };
  positive(batch_size, "batch_size");
  positive(seq_len, "seq_len");
  positive(grad_accum, "grad_accum");
  positive(steps, "steps");
  positive(log_every, "log_every");
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
