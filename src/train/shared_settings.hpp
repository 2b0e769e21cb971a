// What the run settings of `seek train` and `seek grpo` have in common: keys with the same name, type and
// role in both (each command keeps its own defaults), and the checks both make of them. Kept here, below
// both, so the two commands cannot drift apart on a shared key.
#pragma once
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/thread_count.hpp"
#include "train/schedule.hpp"

namespace seek {

// f("key", field) for every shared key; each settings table visits these through here.
template <typename S, typename F>
void for_each_shared_field(S& s, F&& f) {
  f("init", s.init);
  f("tokenizer", s.tokenizer);
  f("out", s.out);
  f("steps", s.steps);
  f("lr", s.lr);
  f("min_lr", s.min_lr);
  f("warmup_steps", s.warmup_steps);
  f("schedule", s.schedule);
  f("weight_decay", s.weight_decay);
  f("beta1", s.beta1);
  f("beta2", s.beta2);
  f("eps", s.eps);
  f("max_grad_norm", s.max_grad_norm);
  f("bias_update_speed", s.bias_update_speed);
  f("seed", s.seed);
  f("threads", s.threads);
  f("eval_every", s.eval_every);
  f("checkpoint_every", s.checkpoint_every);
  f("keep_last", s.keep_last);
  f("save_dtype", s.save_dtype);
}

// The learning-rate schedule of the shared keys. total_steps is the caller's: a GRPO step is num_iterations
// optimizer steps.
template <typename S>
Schedule shared_schedule(const S& s, int64_t total_steps) {
  Schedule sched;
  sched.kind = parse_schedule_kind(s.schedule);
  sched.lr = s.lr;
  sched.min_lr = s.min_lr;
  sched.warmup_steps = s.warmup_steps;
  sched.total_steps = total_steps;
  return sched;
}

// Notes on settings given a value other than their default (changed) that the run's other settings leave
// without effect (inert), each "x has no effect ...": what settings_without_effect of each command returns.
class InertSettingNotes {
 public:
  void add(bool changed, bool inert, std::string what) {
    if (changed && inert) notes_.push_back(std::move(what));
  }
  std::vector<std::string> take() { return std::move(notes_); }

 private:
  std::vector<std::string> notes_;
};

// Those of the shared keys, which both commands note first.
template <typename S>
void note_shared_settings_without_effect(const S& s, InertSettingNotes& notes) {
  const S d;
  notes.add(s.min_lr != d.min_lr, parse_schedule_kind(s.schedule) == ScheduleKind::Constant,
            "min_lr has no effect with the constant schedule");
}

// A tokenizer given by name (`flag`: "tokenizer" for the setting, "--tokenizer" for seek eval's flag) is a
// folder that exists. load_tokenizer reads any folder without a tokenizer.json as the byte tokenizer, so a
// mistyped path, or the tokenizer.json file itself, would otherwise run on bytes without a word (seek
// tokenize makes the same check).
inline void check_tokenizer_folder(const std::string& dir, const char* flag) {
  std::error_code ec;
  const auto st = std::filesystem::status(dir, ec);
  SEEK_CHECK(!std::filesystem::exists(st) || std::filesystem::is_directory(st),
             "{} {} is a file; give the folder that holds tokenizer.json", flag, dir);
  SEEK_CHECK(std::filesystem::is_directory(st),
             "{} {}: no such folder (give the folder that holds tokenizer.json)", flag, dir);
}

inline void require_positive(int64_t v, const char* name) {
  SEEK_CHECK(v > 0, "{} must be positive, got {}", name, v);
}

// An lr > 0 that fp32, which the optimizer computes in, rounds to 0: the run trained nothing and exited 0
// (--lr 1e-50 saved the initial weights as the trained model).
inline void check_lr_in_fp32(double lr, const char* name) {
  SEEK_CHECK(float(lr) > 0,
             "{} {} is below the smallest fp32 number (~1.4e-45), which the optimizer uses: "
             "it would be 0 and train nothing",
             name, lr);
}

// The checks of the shared keys, the same for both commands (GRPO used to accept a β1 of 2 or a negative
// weight decay that `seek train` refused).
template <typename S>
void validate_shared(const S& s) {
  SEEK_CHECK(!s.out.empty(), "no run folder: give --out DIR");
  if (!s.tokenizer.empty()) check_tokenizer_folder(s.tokenizer, "tokenizer");
  // inf passes `lr > 0` and NaN the checks written as negations (an lr of inf turned GRPO's policy into NaNs
  // and saved it): each real-valued setting must be a finite number first.
  for (const auto& [name, v] :
       {std::pair{"lr", s.lr}, std::pair{"min_lr", s.min_lr}, std::pair{"beta1", s.beta1},
        std::pair{"beta2", s.beta2}, std::pair{"eps", s.eps}, std::pair{"weight_decay", s.weight_decay},
        std::pair{"max_grad_norm", s.max_grad_norm}, std::pair{"bias_update_speed", s.bias_update_speed}})
    SEEK_CHECK(std::isfinite(double(v)), "{} must be a finite number, got {}", name, double(v));
  require_positive(s.steps, "steps");
  const ScheduleKind schedule = parse_schedule_kind(s.schedule);
  SEEK_CHECK(s.warmup_steps >= 0, "warmup_steps must be >= 0, got {}", s.warmup_steps);
  SEEK_CHECK(s.lr > 0 && s.min_lr >= 0, "need 0 <= min_lr <= lr and lr > 0 (lr {}, min_lr {})", s.lr,
             s.min_lr);
  // seek train's default min_lr (1e-4) is above the learning rates fine-tuning uses: the bare "need min_lr <=
  // lr" named a value the user never gave. A constant schedule never reaches min_lr.
  SEEK_CHECK(
      s.min_lr <= s.lr || schedule == ScheduleKind::Constant,
      "min_lr {} is above lr {}, the rate the schedule decays from{}: give --min-lr at most {} (0 decays "
      "to nothing)",
      s.min_lr, s.lr, s.min_lr == S{}.min_lr ? " (min_lr is the default, unchanged)" : "", s.lr);
  // A β just below 1 passes `< 1` but is 1 in fp32, where the moments are kept: β1 froze the first moment at
  // 0 (no update at all), β2 the second (updates of lr·m/eps that blew the weights up), and both exited 0.
  for (const auto& [name, beta] : {std::pair{"beta1", s.beta1}, std::pair{"beta2", s.beta2}}) {
    SEEK_CHECK(beta >= 0 && beta < 1, "{} must be in [0, 1), got {}", name, beta);
    SEEK_CHECK(float(beta) < 1.0f,
               "{} {} rounds to 1 in fp32, which the optimizer keeps its moments in: they would never move; "
               "give at most {}",
               name, beta, std::nextafter(1.0f, 0.0f));
  }
  SEEK_CHECK(s.eps > 0, "eps must be positive, got {}", s.eps);
  SEEK_CHECK(s.weight_decay >= 0, "weight_decay must be >= 0, got {}", s.weight_decay);
  // The optimizer runs in fp32: an eps below its smallest value becomes 0 (0/0 where a gradient is 0) and an
  // lr, weight decay or eps above its largest becomes inf, either of which turns the weights into NaNs.
  // Compared in double (a cast to float past its range is undefined).
  for (const auto& [name, v] : {std::pair{"lr", s.lr}, std::pair{"min_lr", s.min_lr},
                                std::pair{"weight_decay", s.weight_decay}, std::pair{"eps", s.eps}})
    SEEK_CHECK(std::fabs(double(v)) <= double(std::numeric_limits<float>::max()),
               "{} {} is beyond the largest fp32 number (~3.4e38), which the optimizer uses", name,
               double(v));
  check_lr_in_fp32(s.lr, "lr");
  SEEK_CHECK(float(s.eps) > 0,
             "eps {} is below the smallest fp32 number (~1.4e-45), which the optimizer uses", s.eps);
  // The router bias moves by this much per step against sigmoid scores in (0, 1) (V3 uses 0.001); 1e38 made
  // it inf within a few steps, routed every token arbitrarily, and failed only at the next save.
  SEEK_CHECK(s.bias_update_speed >= 0 && s.bias_update_speed <= 1e6,
             "bias_update_speed must be in [0, 1e6] (DeepSeek-V3 uses 0.001), got {}", s.bias_update_speed);
  SEEK_CHECK(s.eval_every >= 0, "eval_every must be >= 0 (0: never), got {}", s.eval_every);
  SEEK_CHECK(s.checkpoint_every >= 0, "checkpoint_every must be >= 0 (0: only at the end), got {}",
             s.checkpoint_every);
  SEEK_CHECK(s.keep_last >= 1, "keep_last must be at least 1, got {}", s.keep_last);
  SEEK_CHECK(s.save_dtype == "f32" || s.save_dtype == "bf16", "save_dtype must be f32 or bf16, got \"{}\"",
             s.save_dtype);
  check_thread_count(s.threads, "threads");
}

}  // namespace seek
