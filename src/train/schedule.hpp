// Learning-rate schedules: linear warm-up from 0, then constant, cosine or linear decay to min_lr, or
// warmup-stable-decay (WSD: constant until the last decay_fraction of steps, then linear to min_lr).
// step counts from 0 (the first optimizer step uses lr_at(0)).
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
std::string schedule_kind_name(ScheduleKind k);

}  // namespace seek
