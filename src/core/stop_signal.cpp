#include "core/stop_signal.hpp"

#include "core/temporaries.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace seek {

namespace {

// SIGHUP is a terminal or SSH session closing under a run: stopped and saved like SIGTERM (it ended the run
// with nothing saved since the last checkpoint). SIGPIPE last: installed only for jobs that ask
// (StopOnSignal's closed_stdout).
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
constexpr int kCount = 4;

std::atomic<int> g_signal{0};  // the first signal of the current request; 0: none
const char* g_notice = "";     // set before the handlers are installed, read by them
std::atomic<int> g_depth{0};   // StopOnSignal objects alive (made and destroyed on one thread)
struct sigaction g_old[kCount];
bool g_installed[kCount] = {};
std::map<std::string, long> g_test_checks;  // per safe point, for SEEK_TEST_SIGNAL_AT

void on_signal(int sig) {
  int none = 0;
  if (!g_signal.compare_exchange_strong(none, sig)) {
    // A closing terminal can send SIGHUP twice (the shell passes its own on to its jobs, then the kernel
    // sends one when the session leader exits): no one asked to quit at once, so only SIGINT/SIGTERM force
    // it.
    if (sig == SIGHUP) return;
    // The second one: behave as without a handler (the default action ends the process with this signal),
    // less the temporaries of files being written.
    remove_registered_temporaries();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  // write(2), not stdio: only async-signal-safe calls here.
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, g_notice, std::strlen(g_notice));
}

// Standard output's reader went away (`seek train | head`): a stop request like the first SIGINT, but never
// the "second signal" that quits at once, since every later write to the pipe raises another one. Those
// writes fail instead (EPIPE), which flush_stdout remembers.
void on_pipe(int) {
  int none = 0;
  if (!g_signal.compare_exchange_strong(none, SIGPIPE)) return;
  static const char kNotice[] = "\nseek: standard output was closed; stopping at the next safe point\n";
  [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, kNotice, sizeof kNotice - 1);
}

// SEEK_TEST_SIGNAL_AT="<where>:<n>[:TERM|:HUP]" (see the header): raises SIGINT (SIGTERM, SIGHUP) at the
// n-th check of `where`.
void maybe_signal_for_test(const char* where) {
  const char* spec = std::getenv("SEEK_TEST_SIGNAL_AT");
  if (spec == nullptr) return;
  std::string s(spec);
  int which = 0;  // index into kSignals
  if (s.ends_with(":TERM")) {
    which = 1;
    s.resize(s.size() - 5);
  } else if (s.ends_with(":HUP")) {
    which = 2;
    s.resize(s.size() - 4);
  }
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || s.compare(0, colon, where) != 0) return;
  if (++g_test_checks[where] != std::atol(s.c_str() + colon + 1)) return;
  // Where the signal is ignored (SIGINT in a test run as a background job of a script), the handler is
  // called directly.
  if (g_installed[which])
    std::raise(kSignals[which]);
  else
    on_signal(kSignals[which]);
}

}  // namespace

StopOnSignal::StopOnSignal(const char* notice, bool closed_stdout) {
  if (g_depth++ > 0) return;
  g_signal = 0;
  g_notice = notice;
  g_test_checks.clear();
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a read or write in progress goes on instead of failing with EINTR
  for (int i = 0; i < kCount; ++i) {
    sigaction(kSignals[i], nullptr, &g_old[i]);
    g_installed[i] = g_old[i].sa_handler != SIG_IGN && (kSignals[i] != SIGPIPE || closed_stdout);
    sa.sa_handler = kSignals[i] == SIGPIPE ? on_pipe : on_signal;
    if (g_installed[i]) sigaction(kSignals[i], &sa, nullptr);
  }
}

StopOnSignal::~StopOnSignal() {
  if (--g_depth > 0) return;
  for (int i = 0; i < kCount; ++i)
    if (g_installed[i]) sigaction(kSignals[i], &g_old[i], nullptr);
}

bool StopOnSignal::requested(const char* where) const {
  maybe_signal_for_test(where);
  return g_signal != 0;
}

int StopOnSignal::signal_received() {
  return g_signal;
}

bool StopOnSignal::stop_pending() {
  return g_depth.load() > 0 && g_signal.load() != 0;
}

void end_by_stop_signal() {
  std::fflush(stdout);
  std::fflush(stderr);
  const int sig = g_signal != 0 ? int(g_signal) : SIGINT;
  remove_registered_temporaries();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
  std::_Exit(128 + sig);  // a signal blocked by the caller: the status a shell would show for it
}

}  // namespace seek
