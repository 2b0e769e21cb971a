// Exceptions inside OpenMP parallel loops. One that leaves a parallel region calls std::terminate (the
// program aborts with "terminate called ..." instead of printing its error), so each iteration runs inside
// ParallelErrors::run, and the loop's owner calls rethrow() after the region. The error kept is that of the
// lowest iteration that fails, not the first in time, so the message does not depend on thread scheduling.
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>

namespace seek {

class ParallelErrors {
 public:
  // Runs f() as iteration i, keeping what it throws. Iterations after one that failed are skipped (the loop's
  // result is thrown away anyway); earlier ones still run, since one of them may fail too and is the error
  // that is kept.
  template <typename F>
  void run(int64_t i, F&& f) noexcept {
    if (i > first_failed_.load(std::memory_order_relaxed)) return;
    try {
      f();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (i < first_failed_.load(std::memory_order_relaxed)) {
        error_ = std::current_exception();
        first_failed_.store(i, std::memory_order_relaxed);
      }
    }
  }

  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::atomic<int64_t> first_failed_{std::numeric_limits<int64_t>::max()};
  std::mutex mutex_;
  std::exception_ptr error_;
};

}  // namespace seek
