// What the run settings of `seek train` and `seek grpo` have in common: keys with the same name, type and
// role in both (each command keeps its own defaults), and the checks both make of them. Kept here, below
// both, so the two commands cannot drift apart on a shared key.
#pragma once
#include <cstdint>

#include "core/error.hpp"
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

inline void require_positive(int64_t v, const char* name) {
  SEEK_CHECK(v > 0, "{} must be positive, got {}", name, v);
}

}  // namespace seek
