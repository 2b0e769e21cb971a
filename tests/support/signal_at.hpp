// Makes SIGINT arrive at the n-th check of a safe point ("step:2", "micro-batch:4") of the runs started
// while it lives (core/stop_signal.hpp), through the same handler as a user's Ctrl-C.
#pragma once
#include <cstdlib>

namespace seek::test {

struct SignalAt {
  explicit SignalAt(const char* spec) { ::setenv("SEEK_TEST_SIGNAL_AT", spec, 1); }
  ~SignalAt() { ::unsetenv("SEEK_TEST_SIGNAL_AT"); }
  SignalAt(const SignalAt&) = delete;
  SignalAt& operator=(const SignalAt&) = delete;
};

}  // namespace seek::test
