// GRPO settings whose problems or rewards could not do what they say, refused by GrpoSettings::validate
// (before the policy loads): task options given with a dataset (ignored), evaluations of a task without
// held-out problems (the run failed at its first evaluation, after steps it had not saved), task options that
// cannot generate problems, a reward listed twice, and reward options that fail (e.g. code's python).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "rl/grpo_settings.hpp"
#include "rl/problems.hpp"
#include "support/error_of.hpp"

namespace seek {
namespace {

using nlohmann::json;
using test::error_of;

GrpoSettings grpo(const json& extra) {
  json j = {{"init", "policy"}, {"out", "o"}};
  j.update(extra);
  return GrpoSettings::from_json(j, "test");
}

std::string validate_error(const json& extra) {
  const GrpoSettings s = grpo(extra);
  return error_of([&] { s.validate(); });
}

TEST(GrpoProblemChecks, TaskOptionsWithDataAreAnError) {
  const std::string e = validate_error({{"data", "p.jsonl"}, {"task_options", {{"min_count", 3}}}});
  EXPECT_NE(
      e.find("--task-options ({\"min_count\": 3}) apply only to a built-in --task; the problems of --data "
             "p.jsonl would ignore them, so drop them"),
      std::string::npos)
      << e;
  // The default (empty) options, and options with a task, are fine.
  EXPECT_EQ(validate_error({{"data", "p.jsonl"}}), "");
  EXPECT_EQ(validate_error({{"data", "p.jsonl"}, {"task_options", json::object()}}), "");
  EXPECT_EQ(validate_error({{"task", "gcd"}, {"task_options", {{"min_count", 3}, {"max_count", 3}}}}), "");
  // `seek eval` builds its problems with ProblemSource directly; the check comes before the file is read.
  EXPECT_NE(error_of([] {
              ProblemSource("", {{"seed", 1}}, "/nonexistent.jsonl", 0);
            }).find("apply only to"),
            std::string::npos);
}

TEST(GrpoProblemChecks, EvaluationNeedsHeldOutProblems) {
  const json no_held_out = {{"held_out_fraction", 0}};
  std::string e = validate_error({{"task", "countdown"}, {"task_options", no_held_out}, {"eval_every", 10}});
  EXPECT_NE(
      e.find("eval_every 10 evaluates on task countdown's held-out problems, but its held_out_fraction is "
             "0, so it has none: set held_out_fraction in --task-options above 0"),
      std::string::npos)
      << e;
  // Without evaluations a task needs no held-out set.
  EXPECT_EQ(validate_error({{"task", "countdown"}, {"task_options", no_held_out}}), "");
  // One distinct problem, not held out at 0.01: there is a held-out set, but nothing in it.
  const json one = {{"min_numbers", 2}, {"max_numbers", 2}, {"min_number", 1},
                    {"max_number", 1},  {"min_target", 0},  {"max_target", 0}};
  e = validate_error({{"task", "countdown"}, {"task_options", one}, {"eval_every", 10}});
  EXPECT_NE(e.find("none is in the held-out set"), std::string::npos) << e;
  EXPECT_EQ(validate_error({{"task", "countdown"}, {"eval_every", 10}}), "");
}

// An evaluation asking for more problems than a task's options hold gets each distinct one once, and says
// so the first time (a GRPO run evaluates every eval_every steps).
TEST(GrpoProblemChecks, FewerDistinctHeldOutProblemsThanAskedAreNoted) {
  const nlohmann::json small = {{"min_terms", 2},  {"max_terms", 2},   {"min_digits", 1},
                                {"max_digits", 1}, {"operators", "+"}, {"held_out_fraction", 0.2}};
  ProblemSource source("arithmetic", small, "", 0);
  testing::internal::CaptureStderr();
  const auto problems = source.held_out(1000);
  const auto again = source.held_out(1000);
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_LT(problems.size(), 1000u);
  EXPECT_EQ(again.size(), problems.size());
  const std::string note = fmt::format(
      "note: task 'arithmetic' has only {} distinct held-out problems with these options, fewer than the "
      "1000 "
      "asked for: each is evaluated once",
      problems.size());
  EXPECT_NE(err.find(note), std::string::npos) << err;
  EXPECT_EQ(err.find(note, err.find(note) + 1), std::string::npos) << err;  // once
}

TEST(GrpoProblemChecks, TaskOptionsAndRewardsAreCheckedAtStartUp) {
  std::string e = validate_error({{"task", "sorting"}, {"task_options", {{"min_count", 10}}}});
  EXPECT_NE(e.find("min_count 10 is above max_count 6 (its default)"), std::string::npos) << e;
  e = validate_error(
      {{"task", "gcd"},
       {"rewards", json::array({{{"name", "accuracy"}}, {{"name", "accuracy"}, {"weight", 2}}})}});
  EXPECT_NE(e.find("rewards: reward 'accuracy' is given twice"), std::string::npos) << e;
  e = validate_error({{"task", "gcd"}, {"rewards", {{"telepathy", 1}}}});
  EXPECT_NE(e.find("unknown reward 'telepathy'"), std::string::npos) << e;
  // A reward's own options too: the code reward's interpreter was checked only after settings.json was
  // written.
  e = validate_error({{"task", "gcd"}, {"rewards", {{"code", {{"python", "/nonexistent/python3"}}}}}});
  EXPECT_NE(e.find("option 'python'"), std::string::npos) << e;
}

}  // namespace
}  // namespace seek
