// Ctrl-C in `seek grpo` or `seek eval` while completions run in the sandbox: the runs in progress are killed
// and no new one starts, so the job reaches its safe point at once (a GRPO step's code scoring went on for a
// minute after the signal, then threw the step away). Once the job's StopOnSignal is gone, runs work again.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cmath>
#include <future>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "core/stop_signal.hpp"
#include "reward/code_runner.hpp"
#include "reward/combined_reward.hpp"
#include "reward/sandbox.hpp"
#include "support/sandbox_tests.hpp"

namespace seek::reward {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A stop asked for `after` from now, through the same handler as a user's Ctrl-C (SEEK_TEST_SIGNAL_AT).
std::future<void> signal_after(const StopOnSignal& stop, std::chrono::milliseconds after) {
  return std::async(std::launch::async, [&stop, after] {
    std::this_thread::sleep_for(after);
    ::setenv("SEEK_TEST_SIGNAL_AT", "sandbox-stop-test:1", 1);
    stop.requested("sandbox-stop-test");
  });
}

SandboxLimits slow_limits() {
  SandboxLimits l;
  l.cpu_seconds = 30;
  l.wall_seconds = 30;
  return l;
}

TEST(SandboxStop, ARunInProgressIsKilledAndNoNewOneStarts) {
  REQUIRE_ISOLATION();
  const std::vector<std::string> spin = {"/usr/bin/python3", "-c", "while True: pass"};
  {
    const StopOnSignal stop("");
    auto signal = signal_after(stop, std::chrono::milliseconds(500));
    const auto t0 = Clock::now();
    const SandboxRun run = run_in_sandbox(spin, {}, "", slow_limits());
    signal.get();
    EXPECT_LT(seconds_since(t0), 10.0);
    EXPECT_TRUE(run.stopped);
    EXPECT_FALSE(run.ok());
    EXPECT_FALSE(run.wall_timeout);
    const SandboxRun next = run_in_sandbox({"/usr/bin/python3", "-c", "pass"}, {}, "", slow_limits());
    EXPECT_TRUE(next.stopped);
    EXPECT_FALSE(next.started);
  }
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  const StopOnSignal next_job("");  // the next job starts without a stop asked for
  EXPECT_TRUE(run_in_sandbox({"/usr/bin/python3", "-c", "pass"}, {}, "", slow_limits()).ok());
}

TEST(SandboxStop, ABatchOfCodeRewardsEndsEarly) {
  REQUIRE_ISOLATION();
  const CombinedReward rewards(RewardSpec::from_json(
      {{"code", {{"cpu_seconds", 20}, {"wall_seconds", 20}, {"total_wall_seconds", 60}}}}, "test"));
  Problem p;
  p.id = "spin";
  p.tests = {{"", "1"}, {"", "1"}, {"", "1"}};
  const std::string completion = "```python\nwhile True: pass\n```";
  const std::vector<RewardInput> inputs(8, RewardInput{&p, completion});
  {
    const StopOnSignal stop("");
    auto signal = signal_after(stop, std::chrono::milliseconds(500));
    const auto t0 = Clock::now();
    const auto scores = rewards.score_batch(inputs, 2);
    signal.get();
    // Without the stop: 8 completions × 3 tests × 20 s on 2 threads, four minutes.
    EXPECT_LT(seconds_since(t0), 10.0);
    EXPECT_EQ(scores.size(), inputs.size());
  }
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
}

// With a stop pending, the checks made before scoring say nothing rather than fail: the interpreter probe of
// a code reward made at an evaluation, and the compile check of the tests. They were errors ("cannot check
// that the problems' tests are valid Python ... killed by signal 9"), so a Ctrl-C ended the job with status
// 1, and a GRPO run without its checkpoint.
TEST(SandboxStop, ChecksBeforeScoringGiveWayToAStop) {
  REQUIRE_ISOLATION();
  {
    const StopOnSignal stop("");
    signal_after(stop, std::chrono::milliseconds(0)).get();
    ASSERT_TRUE(StopOnSignal::stop_pending());
    EXPECT_NO_THROW(make_reward("code"));
    const std::vector<std::string_view> broken = {"assert ("};
    std::optional<std::pair<size_t, std::string>> found;
    EXPECT_NO_THROW(found = first_unusable_tests(broken, test::fast_code_run()));
    EXPECT_FALSE(found.has_value());
  }
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  const StopOnSignal next_job("");
  const std::vector<std::string_view> broken = {"assert ("};
  EXPECT_TRUE(first_unusable_tests(broken, test::fast_code_run()).has_value());
}

}  // namespace
}  // namespace seek::reward
