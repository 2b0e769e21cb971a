#include "core/stop_signal.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace seek {

namespace {

std::atomic<bool> g_requested{false};
const char* g_notice = "";  // set before the handlers are installed, read by them
struct sigaction g_old_int, g_old_term;
std::map<std::string, long> g_test_checks;  // per safe point, for SEEK_TEST_SIGNAL_AT

void on_signal(int sig) {
  if (g_requested.exchange(true)) {
    // The second one: behave as without a handler (the default action ends the process with this signal).
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  // write(2), not stdio: only async-signal-safe calls here.
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, g_notice, std::strlen(g_notice));
}

// SEEK_TEST_SIGNAL_AT="<where>:<n>" (see the header): raises SIGINT at the n-th check of `where`.
void maybe_signal_for_test(const char* where) {
  const char* spec = std::getenv("SEEK_TEST_SIGNAL_AT");
  if (spec == nullptr) return;
  const std::string s(spec);
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || s.compare(0, colon, where) != 0) return;
  if (++g_test_checks[where] == std::atol(s.c_str() + colon + 1)) std::raise(SIGINT);
}

}  // namespace

StopOnSignal::StopOnSignal(const char* notice) {
  g_requested = false;
  g_notice = notice;
  g_test_checks.clear();
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a read or write in progress goes on instead of failing with EINTR
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopOnSignal::~StopOnSignal() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

bool StopOnSignal::requested(const char* where) const {
  maybe_signal_for_test(where);
  return g_requested;
}

}  // namespace seek
