#include "train/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.hpp"

namespace seek {

double Schedule::lr_at(int64_t step) const {
  if (warmup_steps > 0 && step < warmup_steps) return lr * double(step + 1) / double(warmup_steps);
  const int64_t span = std::max<int64_t>(1, total_steps - warmup_steps);
  const double progress = std::clamp(double(step - warmup_steps) / double(span), 0.0, 1.0);
  switch (kind) {
    case ScheduleKind::Constant:
      return lr;
    case ScheduleKind::Cosine:
      return min_lr + (lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    case ScheduleKind::Linear:
      return lr + (min_lr - lr) * progress;
    case ScheduleKind::Wsd: {
      const double stable = 1.0 - std::clamp(decay_fraction, 0.0, 1.0);
      if (progress <= stable) return lr;
      return lr + (min_lr - lr) * (progress - stable) / (1.0 - stable);
    }
  }
  return lr;
}

ScheduleKind parse_schedule_kind(const std::string& name) {
  if (name == "constant") return ScheduleKind::Constant;
  if (name == "cosine") return ScheduleKind::Cosine;
  if (name == "linear") return ScheduleKind::Linear;
  if (name == "wsd") return ScheduleKind::Wsd;
  fail("unknown learning-rate schedule \"{}\" (expected constant, cosine, linear or wsd)", name);
}

}  // namespace seek
