// StopOnSignal: the first SIGINT/SIGTERM/SIGHUP is a request the run polls; a second one ends the process as
// if no handler were installed; the handlers it replaced come back when it goes.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "core/stop_signal.hpp"

namespace seek {
namespace {

TEST(StopOnSignal, FirstSignalIsARequest) {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    const StopOnSignal stop("");
    EXPECT_FALSE(stop.requested("test"));
    std::raise(sig);
    EXPECT_TRUE(stop.requested("test"));
  }
  const StopOnSignal fresh("");  // a new run starts without the old request
  EXPECT_FALSE(fresh.requested("test"));
}

// A second signal ends the process with that signal (checked in a child process, which it ends).
TEST(StopOnSignal, SecondSignalEndsTheProcess) {
  for (int sig : {SIGINT, SIGTERM}) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // no OpenMP has run in this test binary, so forking is safe
      const StopOnSignal stop("");
      std::raise(sig);
      std::raise(sig);
      _exit(0);  // reached only if the second signal was swallowed
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "signal " << sig << ", status " << status;
  }
}

// A closing terminal can send SIGHUP twice (the shell passes its own on, then the kernel sends one when the
// session leader exits): the second ended a run that was saving, in a third of real terminal closes. Only
// SIGINT and SIGTERM, asked for twice, quit at once.
TEST(StopOnSignal, ASecondSighupIsNoRequestToQuit) {
  for (int first : {SIGHUP, SIGINT}) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const StopOnSignal stop("");
      std::raise(first);
      std::raise(SIGHUP);
      _exit(stop.requested("test") ? 7 : 8);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7) << "first " << first << ", status " << status;
  }
}

int g_previous_handler_calls = 0;
void previous_handler(int) {
  ++g_previous_handler_calls;
}

TEST(StopOnSignal, PutsBackTheHandlersItReplaced) {
  auto old_int = std::signal(SIGINT, previous_handler);
  auto old_term = std::signal(SIGTERM, previous_handler);
  { const StopOnSignal stop(""); }
  std::raise(SIGINT);
  std::raise(SIGTERM);
  EXPECT_EQ(g_previous_handler_calls, 2);
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
}

TEST(StopOnSignal, TestHookRaisesAtTheNthCheckOfAPoint) {
  ::setenv("SEEK_TEST_SIGNAL_AT", "step:3", 1);
  const StopOnSignal stop("");
  EXPECT_FALSE(stop.requested("micro-batch"));
  EXPECT_FALSE(stop.requested("step"));
  EXPECT_FALSE(stop.requested("step"));
  EXPECT_TRUE(stop.requested("step"));
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
}

TEST(StopOnSignal, AJobInsideAnotherSharesItsRequest) {
  const StopOnSignal outer("");
  {
    const StopOnSignal inner("");
    EXPECT_FALSE(inner.requested("test"));
    std::raise(SIGTERM);
    EXPECT_TRUE(inner.requested("test"));
  }
  EXPECT_TRUE(outer.requested("test"));  // the demo sees the stop its training run was asked for
  EXPECT_EQ(StopOnSignal::signal_received(), SIGTERM);
}

// nohup, `trap '' INT` or a script's background job: the signal was ignored before, and stays ignored.
TEST(StopOnSignal, AnIgnoredSignalStaysIgnored) {
  auto old = std::signal(SIGINT, SIG_IGN);
  {
    const StopOnSignal stop("");
    std::raise(SIGINT);
    EXPECT_FALSE(stop.requested("test"));
    struct sigaction now;
    sigaction(SIGINT, nullptr, &now);
    EXPECT_EQ(now.sa_handler, SIG_IGN);
    ::setenv("SEEK_TEST_SIGNAL_AT", "test:1", 1);  // the test hook still works there
    EXPECT_TRUE(stop.requested("test"));
    ::unsetenv("SEEK_TEST_SIGNAL_AT");
  }
  std::signal(SIGINT, old);
}

// After saving, the process ends by the signal that stopped it, so that a shell running it as one line of a
// script stops the script too (a plain exit(130) would let it go on).
TEST(StopOnSignal, EndByStopSignalEndsByThatSignal) {
  for (int sig : {SIGINT, SIGTERM}) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      {
        const StopOnSignal stop("");
        std::raise(sig);
      }
      end_by_stop_signal();
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "signal " << sig << ", status " << status;
  }
}

}  // namespace
}  // namespace seek
