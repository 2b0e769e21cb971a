// Learning-rate schedules: linear warm-up (lr · (step + 1) / warmup_steps, so the first step is not at 0 and
// the peak comes at step warmup_steps - 1 and again at warmup_steps), then constant, cosine or linear decay
// to min_lr, or warmup-stable-decay (WSD: constant until the last decay_fraction of the steps after the
// warm-up, then linear to min_lr). step counts from 0 (the first optimizer step uses lr_at(0)).
#pragma once
#include <cstdint>
#include <string>

namespace seek {

enum class ScheduleKind { Constant, Cosine, Linear, Wsd };

struct Schedule {
  ScheduleKind kind = ScheduleKind::Cosine;
  double lr = 1e-3;
  double min_lr = 0.0;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double decay_fraction = 0.2;  // WSD only

  double lr_at(int64_t step) const;
};

ScheduleKind parse_schedule_kind(const std::string& name);  // throws seek::Error naming the bad value

}  // namespace seek
