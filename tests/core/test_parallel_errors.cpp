// ParallelErrors: an exception inside an OpenMP loop is kept and rethrown after it (one leaving the region
// calls std::terminate), and the one kept is the lowest failing iteration's, however the threads ran.
#include "core/parallel_errors.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace seek {
namespace {

std::string error_of(const ParallelErrors& errors) {
  try {
    errors.rethrow();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(ParallelErrors, NothingThrownRethrowsNothing) {
  ParallelErrors errors;
  int64_t sum = 0;
#pragma omp parallel for num_threads(2) reduction(+ : sum)
  for (int64_t i = 0; i < 100; ++i) errors.run(i, [&] { sum += i; });
  EXPECT_EQ(error_of(errors), "");
  EXPECT_EQ(sum, 4950);
}

// Iteration 0 fails last in time (it sleeps first), iteration 1 at once: the error kept is iteration 0's, as
// a serial loop would have thrown, not the first to happen.
TEST(ParallelErrors, KeepsTheLowestFailingIterationNotTheFirstInTime) {
  for (int round = 0; round < 3; ++round) {
    ParallelErrors errors;
    std::atomic<bool> later_failed{false};
#pragma omp parallel for schedule(static, 1) num_threads(2)
    for (int64_t i = 0; i < 2; ++i)
      errors.run(i, [&] {
        if (i == 0) {
          // Bounded: a runtime that gives the loop one thread runs iteration 1 only after this one.
          for (int ms = 0; ms < 2000 && !later_failed; ++ms)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          throw std::runtime_error("iteration 0");
        }
        later_failed = true;
        throw std::runtime_error("iteration 1");
      });
    EXPECT_EQ(error_of(errors), "iteration 0");
  }
}

// Once an iteration has failed, those after it are skipped; those before it still run.
TEST(ParallelErrors, SkipsOnlyIterationsAfterAFailure) {
  ParallelErrors errors;
  std::atomic<int> ran_before{0}, ran_after{0};
  for (int64_t i : {5, 0, 1, 2, 9, 7}) {  // run in this order, one thread: 5 fails first
    errors.run(i, [&] {
      if (i == 5) throw std::runtime_error("5");
      if (i < 5) ++ran_before;
      if (i > 5) ++ran_after;
    });
  }
  EXPECT_EQ(ran_before, 3);
  EXPECT_EQ(ran_after, 0);
  EXPECT_EQ(error_of(errors), "5");
}

}  // namespace
}  // namespace seek
