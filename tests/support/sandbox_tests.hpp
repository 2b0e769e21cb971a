// Shared by the tests that run code in the sandbox (tests/reward link seek_reward).
#pragma once
#include <gtest/gtest.h>

#include <cstddef>

#include "reward/code_runner.hpp"
#include "reward/sandbox.hpp"

// Skips a test on a machine without the namespaces the sandbox isolates with (it refuses to run code there).
#define REQUIRE_ISOLATION()                                                                          \
  do {                                                                                               \
    if (!::seek::reward::sandbox_support().namespaces) {                                             \
      GTEST_SKIP() << "no namespaces on this machine: " << ::seek::reward::sandbox_support().reason; \
    }                                                                                                \
  } while (0)

namespace seek::test {

// Tight limits for test programs that finish at once: 1 CPU second, `wall_seconds` per run, 256 MB, 16
// processes, 10 s in all.
inline reward::CodeRunOptions fast_code_run(double wall_seconds = 2) {
  reward::CodeRunOptions o;
  o.limits.cpu_seconds = 1;
  o.limits.wall_seconds = wall_seconds;
  o.limits.memory_bytes = size_t(256) << 20;
  o.limits.max_processes = 16;
  o.total_wall_seconds = 10;
  return o;
}

}  // namespace seek::test
