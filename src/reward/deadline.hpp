// A time limit that long-running reward code checks cooperatively: rewards run inside the trainer's worker
// threads, where nothing can be interrupted from outside, so every loop over untrusted input asks this.
#pragma once
#include <chrono>

namespace seek::reward {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  // A limit of zero or less means no limit.
  explicit Deadline(double seconds = 0)
      : end_(seconds > 0 ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(seconds))
                         : Clock::time_point::max()) {}
  bool expired() const { return end_ != Clock::time_point::max() && Clock::now() >= end_; }

 private:
  Clock::time_point end_;
};

// Thrown inside reward code when the deadline passes; caught at the reward boundary and scored 0.
struct DeadlineExceeded {};

inline void check(const Deadline& d) {
  if (d.expired()) throw DeadlineExceeded{};
}

}  // namespace seek::reward
