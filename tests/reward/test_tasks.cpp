// Built-in tasks: deterministic streams, difficulty knobs, verifiers on hand-written answers, train/held-out
// disjointness, the registry's errors; and the JSONL problem loader.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/error.hpp"
#include "reward/dataset.hpp"
#include "reward/task.hpp"
#include "reward_test_util.hpp"
#include "support/error_of.hpp"

namespace seek::reward {
namespace {

using test::wrap;

TEST(Tasks, EveryTaskIsDeterministicAndSolvedByItsReference) {
  for (const auto& name : task_names()) {
    auto a = make_task(name, {{"seed", 7}});
    auto b = make_task(name, {{"seed", 7}});
    auto c = make_task(name, {{"seed", 8}});
    int differ = 0;
    for (uint64_t i = 0; i < 50; ++i) {
      Problem pa = a->train(i), pb = b->train(i), pc = c->train(i);
      EXPECT_EQ(pa.prompt, pb.prompt) << name;
      EXPECT_EQ(pa.answer, pb.answer) << name;
      differ += pa.prompt != pc.prompt;
      // Addressable by index: computing sample 40 first gives the same problem.
      EXPECT_EQ(make_task(name, {{"seed", 7}})->train(i).prompt, pa.prompt);
      EXPECT_EQ(a->verify(pa, wrap(pa.answer)), 1.0) << name << ": " << pa.prompt << " -> " << pa.answer;
      EXPECT_EQ(a->verify(pa, "no answer"), 0.0) << name;
      EXPECT_EQ(a->verify(pa, "<think>" + wrap(pa.answer) + "</think> gave up"), 0.0) << name;
      EXPECT_NE(pa.prompt.find("<answer>"), std::string::npos);  // the R1 template
    }
    EXPECT_GT(differ, 25) << name;
  }
}

TEST(Tasks, HeldOutSetIsDisjointFromTraining) {
  for (const auto& name : task_names()) {
    auto t = make_task(name, {{"seed", 3}, {"held_out_fraction", 0.05}});
    std::set<std::string> held;
    for (uint64_t i = 0; i < 200; ++i) {
      Problem p = t->held_out(i);
      EXPECT_TRUE(t->in_held_out_set(p.data["key"])) << name;
      held.insert(p.data["key"]);
    }
    EXPECT_EQ(t->held_out(5).prompt, t->held_out(5).prompt);
    // Other train seeds must not see them either: the split depends on the problem, not the seed.
    for (uint64_t seed : {3u, 4u}) {
      auto tr = make_task(name, {{"seed", seed}, {"held_out_fraction", 0.05}});
      for (uint64_t i = 0; i < 3000; ++i) {
        std::string key = tr->train(i).data["key"];
        ASSERT_EQ(held.count(key), 0u) << name << " train sample " << i << " is held out: " << key;
        ASSERT_FALSE(tr->in_held_out_set(key));
      }
    }
  }
  EXPECT_THROW(make_task("gcd", {{"held_out_fraction", 0.0}})->held_out(0), Error);
  // A fraction so small that finding each held-out problem takes ~1/fraction draws is refused where the
  // options are read: at 1e-6, a third of the held-out problems failed after a million draws, and a slow task
  // took minutes per problem.
  for (double tiny : {1e-300, 1e-6, 9e-4}) {
    const std::string e = test::error_of([&] { make_task("countdown", {{"held_out_fraction", tiny}}); });
    EXPECT_NE(e.find(fmt::format("option 'held_out_fraction' is {}, below 0.001", tiny)), std::string::npos)
        << e;
  }
  // At the smallest fraction allowed, held-out problems come at once.
  const auto smallest = make_task("arithmetic", {{"held_out_fraction", 1e-3}});
  for (uint64_t i = 0; i < 50; ++i) EXPECT_TRUE(smallest->in_held_out_set(smallest->held_out(i).data["key"]));
}

// An evaluation set holds each problem once: the held-out stream draws with replacement, and 200 problems
// of the demo's two-number additions held 130 distinct questions (pass@k weighed some of them twice). Where
// the options allow fewer distinct problems than asked, all of them are given.
TEST(Tasks, HeldOutProblemsAreDistinct) {
  const nlohmann::json small = {{"min_terms", 2},           {"max_terms", 2},   {"min_digits", 1},
                                {"max_digits", 2},          {"operators", "+"}, {"template", "plain"},
                                {"held_out_fraction", 0.05}};
  auto t = make_task("arithmetic", small);
  std::set<std::string> stream;
  for (uint64_t i = 0; i < 200; ++i) stream.insert(t->held_out(i).data["key"].get<std::string>());
  ASSERT_LT(stream.size(), 200u);  // the stream repeats (else this tests nothing)
  const auto first = t->held_out_problems(200);
  std::set<std::string> keys;
  for (const Problem& p : first) keys.insert(p.data["key"].get<std::string>());
  EXPECT_EQ(keys.size(), first.size());
  // In stream order: the first distinct ones.
  const auto five = t->held_out_problems(5);
  ASSERT_EQ(five.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(five[i].prompt, first[i].prompt);
  EXPECT_EQ(t->held_out(0).prompt, first[0].prompt);
  // More than the options allow: all the distinct ones there are, each once.
  const auto all = t->held_out_problems(100000);
  keys.clear();
  for (const Problem& p : all) keys.insert(p.data["key"].get<std::string>());
  EXPECT_EQ(keys.size(), all.size());
  EXPECT_LT(all.size(), 100000u);
  EXPECT_GE(all.size(), first.size());
  for (const std::string& k : stream) EXPECT_EQ(keys.count(k), 1u) << k;
}

TEST(Countdown, VerifierFollowsTinyZero) {
  auto t = make_task("countdown");
  Problem p = t->train(0);
  p.data = {{"numbers", {44, 19, 35}}, {"target", 98}};
  EXPECT_EQ(t->verify(p, wrap("44 + 19 + 35")), 1.0);
  EXPECT_EQ(t->verify(p, wrap("(44 + 19) + 35")), 1.0);
  EXPECT_EQ(t->verify(p, wrap("44 + 19 + 35 = 98")), 0.0);  // '=' is not allowed
  EXPECT_EQ(t->verify(p, wrap("44 + 19 - 35")), 0.0);       // wrong value
  EXPECT_EQ(t->verify(p, wrap("44 + 54")), 0.0);            // numbers not given
  EXPECT_EQ(t->verify(p, wrap("44 + 19 + 35 + 0")), 0.0);   // extra number
  EXPECT_EQ(t->verify(p, wrap("44 + 19 + 35 * 1")), 0.0);
  EXPECT_EQ(t->verify(p, wrap("98")), 0.0);
  EXPECT_EQ(t->verify(p, wrap("44(19) + 35")), 0.0);  // implicit multiplication
  EXPECT_EQ(t->verify(p, "44 + 19 + 35"), 0.0);       // no answer tag
  // Also after a number's trailing dot: "3.(4)" was read as 3 × 4 (Python refuses to call 3.).
  p.data = {{"numbers", {3, 4, 5}}, {"target", 17}};
  EXPECT_EQ(t->verify(p, wrap("3 * 4 + 5")), 1.0);
  EXPECT_EQ(t->verify(p, wrap("3.(4) + 5")), 0.0);
  EXPECT_EQ(t->verify(p, wrap("3. (4) + 5")), 0.0);
  EXPECT_EQ(t->verify(p, wrap("3. * 4 + 5")), 1.0);  // 3. is 3.0 in Python
  p.data = {{"numbers", {6, 4, 3}}, {"target", 8}};
  EXPECT_EQ(t->verify(p, wrap("6 / 3 * 4")), 1.0);
  EXPECT_EQ(t->verify(p, wrap("6 * 4 / 3")), 1.0);  // exact rationals
  auto tz = make_task("countdown", {{"format_score", 0.1}, {"use_all", false}});
  p.data = {{"numbers", {6, 4, 3}}, {"target", 10}};
  EXPECT_EQ(tz->verify(p, wrap("6 + 4")), 1.0);  // each number at most once
  EXPECT_DOUBLE_EQ(tz->verify(p, wrap("6 + 3")), 0.1);
  EXPECT_DOUBLE_EQ(tz->verify(p, wrap("6 + 6 - 2")), 0.1);
  // Any tagged answer that fails earns format_score, as in TinyZero (other characters scored 0), and a
  // leading zero fails as Python's eval fails on it.
  EXPECT_DOUBLE_EQ(tz->verify(p, wrap("6 \u00d7 4")), 0.1);
  EXPECT_DOUBLE_EQ(tz->verify(p, wrap("6 + 4 = 10")), 0.1);
  EXPECT_DOUBLE_EQ(tz->verify(p, wrap("06 + 4")), 0.1);
  EXPECT_DOUBLE_EQ(tz->verify(p, "6 + 4"), 0.0);  // no answer at all
  // TinyZero's 1e-5 is for float rounding; in exact rationals a value within it is another value: these
  // answered the target with large numbers allowed.
  auto wide = make_task("countdown", {{"max_number", 100000}, {"use_all", true}});
  p.data = {{"numbers", {9, 1, 100000}}, {"target", 9}};
  EXPECT_EQ(wide->verify(p, wrap("9 + 1/100000")), 0.0);
  EXPECT_EQ(wide->verify(p, wrap("9 * (100000 / 100000)")), 0.0);  // 100000 is given once
  p.data = {{"numbers", {7, 1, 400, 500}}, {"target", 7}};
  EXPECT_EQ(wide->verify(p, wrap("7 + 1/(400*500)")), 0.0);
  EXPECT_EQ(wide->verify(p, wrap("7 * 1 + 400 - 400")), 0.0);  // 400 twice, 500 not
  EXPECT_EQ(wide->verify(p, wrap("7 * 1 * 500 / 500 + 400 - 400")), 0.0);
  p.data = {{"numbers", {7, 1, 400, 400}}, {"target", 7}};
  EXPECT_EQ(wide->verify(p, wrap("7 * 1 + 400 - 400")), 1.0);
}

TEST(Countdown, DifficultyKnobs) {
  auto t = make_task("countdown",
                     {{"min_numbers", 5}, {"max_numbers", 5}, {"max_number", 9}, {"max_target", 500}});
  for (uint64_t i = 0; i < 50; ++i) {
    Problem p = t->train(i);
    auto nums = p.data["numbers"].get<std::vector<int64_t>>();
    EXPECT_EQ(nums.size(), 5u);
    for (auto v : nums) EXPECT_LE(v, 9);
    EXPECT_LE(p.data["target"].get<int64_t>(), 500);
    EXPECT_EQ(t->verify(p, wrap(p.answer)), 1.0) << p.answer;
  }
}

TEST(Tasks, VerifiersOnHandWrittenAnswers) {
  auto arith = make_task("arithmetic", {{"min_terms", 3}, {"max_terms", 3}, {"operators", "+-*"}});
  Problem p = arith->train(0);
  p.data = {{"expression", "12 + 3 * 4"}, {"value", 24}};
  EXPECT_EQ(arith->verify(p, wrap("24")), 1.0);
  EXPECT_EQ(arith->verify(p, wrap(" 24 ")), 1.0);
  EXPECT_EQ(arith->verify(p, wrap("60")), 0.0);
  EXPECT_EQ(arith->verify(p, wrap("12 + 3 * 4")), 0.0);  // restating the question is not an answer
  EXPECT_EQ(arith->verify(p, wrap("24.0")), 0.0);
  p.data["value"] = 1234;
  EXPECT_EQ(arith->verify(p, wrap("1,234")), 1.0);
  EXPECT_EQ(arith->verify(p, wrap("12,34")), 0.0);
  for (uint64_t i = 0; i < 20; ++i) {
    std::string e = arith->train(i).data["expression"];
    EXPECT_EQ(std::count(e.begin(), e.end(), ' '), 4) << e;  // three terms
  }

  auto sorting = make_task("sorting", {{"order", "ascending"}});
  p = sorting->train(0);
  p.data["sorted"] = {-3, 5, 12};
  EXPECT_EQ(sorting->verify(p, wrap("-3, 5, 12")), 1.0);
  EXPECT_EQ(sorting->verify(p, wrap("[-3, 5, 12]")), 1.0);
  EXPECT_EQ(sorting->verify(p, wrap("-3 5 12")), 1.0);
  EXPECT_EQ(sorting->verify(p, wrap("12, 5, -3")), 0.0);
  EXPECT_EQ(sorting->verify(p, wrap("-3, 5")), 0.0);
  EXPECT_EQ(sorting->verify(p, wrap("-3, 5, 12, 12")), 0.0);
  EXPECT_NE(sorting->train(3).prompt.find("ascending"), std::string::npos);

  auto gcd = make_task("gcd", {{"max_value", 100}, {"max_count", 3}, {"min_count", 3}});
  p = gcd->train(0);
  EXPECT_EQ(p.data["numbers"].size(), 3u);
  p.data["gcd"] = 42;
  EXPECT_EQ(gcd->verify(p, wrap("42")), 1.0);
  EXPECT_EQ(gcd->verify(p, wrap("\\boxed{42}")), 1.0);
  EXPECT_EQ(gcd->verify(p, wrap("21")), 0.0);
  int ones = 0;
  for (uint64_t i = 0; i < 200; ++i) ones += gcd->train(i).answer == "1";
  EXPECT_LT(ones, 60);  // a constant "1" must not be a good policy

  auto letters = make_task("letter_counting");
  p = letters->train(0);
  p.data["count"] = 3;
  EXPECT_EQ(letters->verify(p, wrap("3")), 1.0);
  EXPECT_EQ(letters->verify(p, wrap("three")), 0.0);
  std::map<std::string, int> answers;  // no constant answer is a good policy (a random letter's gave "1" 46%)
  for (uint64_t i = 0; i < 1000; ++i) {
    Problem q = letters->train(i);
    const std::string text = q.data["text"], letter = q.data["letter"];
    ASSERT_EQ(q.answer, std::to_string(std::count(text.begin(), text.end(), letter[0])));
    ++answers[q.answer];
  }
  for (const auto& [answer, n] : answers) EXPECT_LT(n, 380) << "answer " << answer;
  EXPECT_GT(answers["0"], 150);
  EXPECT_GT(answers["2"], 150);
  EXPECT_GT(answers["3"], 50);

  auto rev = make_task("word_reversal", {{"min_length", 6}, {"max_length", 6}});
  p = rev->train(0);
  EXPECT_EQ(p.data["word"].get<std::string>().size(), 6u);
  p.data["reversed"] = "ananab";
  EXPECT_EQ(rev->verify(p, wrap("ananab")), 1.0);
  EXPECT_EQ(rev->verify(p, wrap("\"Ananab\"")), 1.0);
  EXPECT_EQ(rev->verify(p, wrap("banana")), 0.0);
  EXPECT_EQ(rev->verify(p, wrap("**ananab**.")), 1.0);
}

// What only frames an integer answer, as the maths rules read it: "750.", "\(750\)" and "**750**" scored 0
// on the arithmetic task, where "$750$" scored 1.
TEST(Tasks, FramedIntegerAnswersAreRead) {
  const auto task = make_task("arithmetic", nlohmann::json::object());
  Problem p = task->train(0);
  p.data["value"] = 750;
  for (const char* answer :
       {"750", "750.", "$750$.", "\\(750\\)", "\\[ 750 \\]", "**750**", "**$750$**", "\"750\""})
    EXPECT_EQ(task->verify(p, std::string("<think>x</think><answer>") + answer + "</answer>"), 1.0) << answer;
  for (const char* answer : {"751.", "**750", "7.50", "750..5"})
    EXPECT_EQ(task->verify(p, std::string("<think>x</think><answer>") + answer + "</answer>"), 0.0) << answer;
}

// A sorting problem is its numbers as a set and the direction: the key was the order shown, so a held-out
// problem was trained on with its numbers in another order (same answer).
TEST(Tasks, SortingHoldsOutTheSetNotTheOrder) {
  const auto t = make_task("sorting", {{"min_count", 3},
                                       {"max_count", 3},
                                       {"min_value", 0},
                                       {"max_value", 4},
                                       {"order", "ascending"},
                                       {"held_out_fraction", 0.2}});
  std::set<std::vector<int64_t>> held;
  for (uint64_t i = 0; i < 200; ++i) held.insert(t->held_out(i).data["sorted"].get<std::vector<int64_t>>());
  for (uint64_t i = 0; i < 2000; ++i)
    ASSERT_FALSE(held.count(t->train(i).data["sorted"].get<std::vector<int64_t>>()))
        << "training problem " << i;
}

TEST(Tasks, RegistryErrorsAndTemplates) {
  try {
    make_task("sudoku");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sudoku"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("countdown"), std::string::npos);
  }
  try {
    make_task("countdown", {{"max_numbrs", 5}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_numbrs"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("max_numbers"), std::string::npos);
  }
  EXPECT_THROW(make_task("countdown", {{"min_numbers", 5}, {"max_numbers", 3}}), Error);
  EXPECT_THROW(make_task("sorting", {{"order", "sideways"}}), Error);
  EXPECT_THROW(make_task("arithmetic", {{"operators", "+/"}}), Error);
  EXPECT_THROW(make_task("arithmetic", {{"operators", "*"}, {"max_terms", 10}, {"max_digits", 6}}), Error);
  EXPECT_THROW(make_task("gcd", {{"seed", "one"}}), Error);
  auto plain = make_task("gcd", {{"template", "plain"}});
  EXPECT_EQ(plain->train(0).prompt.rfind("Find the greatest", 0), 0u);
  // The instruction template (for chat models) is a user turn, rendered in the model's chat format: it was
  // sent as bare text.
  const Problem instructed = make_task("gcd", {{"template", "instruction"}})->train(0);
  EXPECT_TRUE(instructed.prompt.empty());
  ASSERT_EQ(instructed.messages.size(), 1u);
  EXPECT_EQ(instructed.messages[0]["role"], "user");
  EXPECT_EQ(instructed.messages[0]["content"].get<std::string>().rfind("Find the greatest", 0), 0u);
  EXPECT_TRUE(instructed.messages[0]["content"].get<std::string>().ends_with("</answer>."));
  auto pre = make_task("gcd", {{"think_prefilled", true}});
  Problem p = pre->train(0);
  EXPECT_TRUE(p.prompt.ends_with("Assistant: <think>"));
  EXPECT_EQ(pre->verify(p, "reasoning</think><answer>" + p.answer + "</answer>"), 1.0);
  // Only the r1 prompt has an Assistant turn to open <think> in: elsewhere every right answer scored 0.
  for (const char* other : {"instruction", "plain"}) {
    try {
      make_task("gcd", {{"think_prefilled", true}, {"template", other}});
      FAIL() << other;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("think_prefilled"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(other), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(make_task("gcd")->options()["held_out_fraction"], 0.01);
}

// A bound set above the other bound's default used to pass (each bound was only checked against the given
// other one) and then asked for an empty range: sorting and letter_counting allocated until std::bad_alloc,
// countdown spun forever, the others generated problems outside the options. Every min/max pair is checked
// after the defaults are filled in, and the message says which value is a default.
TEST(TaskOptions, BoundsAreCheckedAgainstTheOtherBoundsDefault) {
  struct Case {
    const char* task;
    nlohmann::json options;
    const char* message;
  } cases[] = {
      {"sorting", {{"min_count", 10}}, "min_count 10 is above max_count 6 (its default); set max_count too"},
      {"sorting",
       {{"min_value", 100}},
       "min_value 100 is above max_value 99 (its default); set max_value too"},
      {"sorting", {{"max_count", 2}}, "max_count 2 is below min_count 3 (its default); set min_count too"},
      {"sorting", {{"min_count", 5}, {"max_count", 4}}, "min_count 5 is above max_count 4"},
      {"letter_counting", {{"min_words", 5}}, "min_words 5 is above max_words 3 (its default)"},
      {"countdown", {{"min_number", 200}}, "min_number 200 is above max_number 100 (its default)"},
      {"countdown", {{"min_target", 200}}, "min_target 200 is above max_target 100 (its default)"},
      {"countdown", {{"min_numbers", 5}}, "min_numbers 5 is above max_numbers 4 (its default)"},
      {"countdown", {{"max_target", 0}}, "max_target 0 is below min_target 1 (its default)"},
      {"gcd", {{"min_count", 3}}, "min_count 3 is above max_count 2 (its default)"},
      {"gcd", {{"max_value", 10}}, "max_value 10 is below max_factor 50 (its default); set max_factor too"},
      {"gcd", {{"max_value", 10}, {"max_factor", 20}}, "max_factor 20 is above max_value 10"},
      {"arithmetic", {{"min_terms", 5}}, "min_terms 5 is above max_terms 4 (its default)"},
      {"arithmetic", {{"min_digits", 4}}, "min_digits 4 is above max_digits 3 (its default)"},
      {"arithmetic", {{"operators", "*"}, {"max_terms", 10}}, "(got 10 * 3 (the default))"},
      {"word_reversal", {{"min_length", 9}}, "min_length 9 is above max_length 8 (its default)"},
  };
  for (const auto& c : cases) {
    const std::string e = test::error_of([&] { make_task(c.task, c.options); });
    EXPECT_NE(e.find(fmt::format("task '{}': ", c.task)), std::string::npos) << c.options.dump() << ": " << e;
    EXPECT_NE(e.find(c.message), std::string::npos) << c.task << " " << c.options.dump() << ": " << e;
  }
  // Setting the other bound too makes each of them valid.
  EXPECT_EQ(make_task("sorting", {{"min_count", 10}, {"max_count", 10}})->train(0).data["numbers"].size(),
            10u);
  EXPECT_EQ(make_task("gcd", {{"max_value", 10}, {"max_factor", 10}})->options()["max_factor"], 10);
  EXPECT_EQ(make_task("word_reversal", {{"min_length", 9}, {"max_length", 9}})->train(0).answer.size(), 9u);
  // Every length the options admit has a word (the list had none of 12 letters, and one word twice).
  for (int n = 3; n <= 12; ++n)
    EXPECT_EQ(make_task("word_reversal", {{"min_length", n}, {"max_length", n}})->train(0).answer.size(),
              size_t(n))
        << n;
}

// Runs f in a child process that must end within `seconds` by throwing a seek::Error containing `needle`: the
// bugs below were endless loops, which would otherwise hang the test instead of failing it.
void expect_error_within(int seconds, const std::function<void()>& f, const std::string& needle) {
  EXPECT_EXIT(
      {
        alarm(unsigned(seconds));
        const std::string e = test::error_of(f);
        std::fputs(e.c_str(), stderr);
        std::_Exit(e.empty() ? 0 : 1);
      },
      testing::ExitedWithCode(1), needle);
}

// Targets no equation over the numbers reaches (99 from ones), or reaches once in thousands of draws
// (exactly 50000 from numbers up to 100): generating a problem looped without end. Now make_task measures
// the hit rate and refuses such options, naming them.
TEST(Countdown, UnreachableTargetsAreAnErrorNotAHang) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  expect_error_within(
      20,
      [] {
        make_task("countdown", {{"min_target", 99}, {"max_target", 99}, {"min_number", 1}, {"max_number", 1}})
            ->train(0);
      },
      "task 'countdown': equations over 3 to 4 numbers in \\[1, 1\\] reach a target in \\[99, 99\\] too "
      "rarely to generate problems \\(0 of 20000 random draws\\); widen min_target/max_target");
  expect_error_within(
      20,
      [] {
        make_task("countdown", {{"min_target", 50000}, {"max_target", 50000}})->held_out(0);
      },
      "reach a target in \\[50000, 50000\\] too rarely");
  // Rare but reachable targets still work.
  auto t = make_task("countdown", {{"min_target", 99}, {"max_target", 99}});
  Problem p = t->train(0);
  EXPECT_EQ(p.data["target"], 99);
  EXPECT_EQ(t->verify(p, wrap(p.answer)), 1.0);
}

// Options with a single distinct problem (two 1s and target 0) leave one side of the train/held-out split
// empty; each of train(i) and held_out(i) drew up to a million problems before failing, which is hours where
// a problem is slow to generate. The search now stops once its draws bring no new problem.
TEST(Tasks, ASplitSideWithNoProblemsIsAnErrorNotALongSearch) {
  const nlohmann::json one = {{"min_numbers", 2}, {"max_numbers", 2}, {"min_number", 1},
                              {"max_number", 1},  {"min_target", 0},  {"max_target", 0}};
  std::set<bool> sides;
  for (double fraction : {0.01, 0.5}) {
    nlohmann::json o = one;
    o["held_out_fraction"] = fraction;
    auto t = make_task("countdown", o);
    const bool held = t->in_held_out_set("1,1->0");
    const std::string e = test::error_of([&] { held ? t->train(0) : t->held_out(0); });
    EXPECT_NE(
        e.find("task 'countdown': its options allow only about 1 distinct problem (500 more draws found "
               "no new one), and " +
               std::string(held ? "all are held out for evaluation; widen the task's options or lower "
                                : "none is in the held-out set; widen the task's options or raise ") +
               "held_out_fraction"),
        std::string::npos)
        << fraction << ": " << e;
    EXPECT_EQ((held ? t->held_out(0) : t->train(0)).data["key"], "1,1->0");
    sides.insert(held);
  }
  EXPECT_EQ(sides.size(), 2u);  // the problem is held out at 0.5 but not at 0.01, so both searches ran
}

std::string write_file(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("seek-test-" + std::to_string(getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(Dataset, LoadsMathsAndCodeProblems) {
  std::string path = write_file("ok.jsonl",
                                R"({"prompt": "2+2?", "answer": "She computes 2+2=4.\n#### 4"}
{"messages": [{"role": "user", "content": "half?"}], "answer": "\\boxed{\\frac{1}{2}}", "level": 3}

{"prompt": "echo", "tests": [{"input": "1\n", "output": "1\n"}], "id": 17}
{"prompt": "f", "tests": "assert f(1) == 2"}
{"prompt": "n", "answer": 12}
{"prompt": "h", "answer": "#### Step 1\nadd them: \\boxed{7}"}
)");
  auto ps = load_problems_jsonl(path);
  ASSERT_EQ(ps.size(), 6u);
  EXPECT_EQ(ps[0].answer, "4");
  // The file's name: the same id however the path is typed.
  const std::string name = std::filesystem::path(path).filename().string();
  EXPECT_EQ(ps[0].id, name + ":1");
  EXPECT_EQ(load_problems_jsonl(std::filesystem::path(path).parent_path().string() + "/./" + name)[0].id,
            name + ":1");
  EXPECT_EQ(ps[1].answer, "\\frac{1}{2}");
  EXPECT_EQ(ps[1].messages[0]["content"], "half?");
  EXPECT_EQ(ps[1].data["level"], 3);
  EXPECT_EQ(ps[2].tests.size(), 1u);
  EXPECT_EQ(ps[2].id, "17");
  EXPECT_TRUE(ps[2].is_code());
  EXPECT_EQ(ps[3].asserts, "assert f(1) == 2");
  EXPECT_EQ(ps[4].answer, "12");
  EXPECT_EQ(ps[5].answer, "7");  // a "####" heading, and the answer boxed
  std::filesystem::remove(path);
}

TEST(Dataset, ErrorsNameFileAndLine) {
  struct Bad {
    const char* text;
    const char* needle;
  } bad[] = {
      {"{\"prompt\": \"a\", \"answer\": \"1\"}\n{not json}\n", ":2: not valid JSON"},
      {"{\"answer\": \"1\"}\n", ":1: needs exactly one of \"prompt\" or \"messages\""},
      {"{\"prompt\": \"a\"}\n", ":1: needs \"answer\""},
      {"{\"prompt\": \"a\", \"answer\": [1]}\n", ":1: \"answer\" must be"},
      {"{\"prompt\": \"a\", \"tests\": [{\"input\": 1}]}\n", ":1: tests[0]"},
      {"{\"prompt\": \"a\", \"answer\": \"1\", \"tests\": \"assert 1\"}\n", "both"},
      {"{\"messages\": [{\"role\": \"user\"}], \"answer\": \"1\"}\n", "messages[0]"},
      // A number past double was an internal error without file or line.
      {"{\"prompt\": \"a\", \"answer\": 1e400}\n", ":1: not valid JSON: number overflow"},
      // Past uint64 an integer reads as a double, and a wrong answer with its leading digits scored 1.
      {"{\"prompt\": \"a\", \"answer\": 123456789012345678901234567890}\n",
       ":1: the integer 123456789012345678901234567890 at answer does not fit in 64 bits"},
      {"{\"prompt\": \"a\", \"answer\": 100000000000000000001}\n", "at answer does not fit in 64 bits"},
      {"{\"prompt\": \"a\", \"answer\": \"1\", \"answer\": \"2\"}\n",
       ":1: key \"answer\" appears more than once"},
      // A final-answer marker with nothing in it kept the whole text as the reference, which no completion
      // can match: "####" itself, a GSM8K solution whose "####" ends the text, an unclosed \boxed{.
      {"{\"prompt\": \"a\", \"answer\": \"####\"}\n", ":1: \"answer\" has \"####\" with no answer after it"},
      {"{\"prompt\": \"a\", \"answer\": \"She adds 2 and 2.\\n#### \"}\n", "has \"####\" with no answer"},
      {"{\"prompt\": \"a\", \"answer\": \"#### Step 1\"}\n", "\"#### Step 1\", is a Markdown heading"},
      {"{\"prompt\": \"a\", \"answer\": \"so \\\\boxed{3\"}\n",
       ":1: \"answer\" has a \\boxed{ that is never closed"},
      // An empty box, or an <answer> block empty or never closed, holds no final answer either (they were
      // kept whole once references were read by the completions' rules).
      {"{\"prompt\": \"a\", \"answer\": \"The answer is $\\\\boxed{ }$.\"}\n",
       ":1: \"answer\" is empty after extracting the final answer"},
      {"{\"prompt\": \"a\", \"answer\": \"<answer></answer>\"}\n",
       ":1: \"answer\" has an <answer> tag but no <answer>...</answer> block with an answer in it"},
      {"{\"prompt\": \"a\", \"answer\": \"<answer>5\"}\n", "has an <answer> tag but no"},
      {"{\"prompt\": \"a\", \"answer\": \"5</answer>\"}\n", "has an <answer> tag but no"},
      // Ids name the records of eval --out and completions.jsonl: a repeated one made two records one.
      {"{\"prompt\": \"a\", \"answer\": \"1\", \"id\": \"x\"}\n{\"prompt\": \"b\", \"answer\": \"1\"}\n"
       "{\"prompt\": \"c\", \"answer\": \"1\", \"id\": \"x\"}\n",
       ":3: \"id\" \"x\" is also the id of line 1"},
      // An id above INT64_MAX wrapped to -1, the same as the next record's.
      {"{\"prompt\": \"a\", \"answer\": \"1\", \"id\": 18446744073709551615}\n"
       "{\"prompt\": \"b\", \"answer\": \"1\", \"id\": -1}\n{\"prompt\": \"c\", \"answer\": \"1\", \"id\": "
       "\"18446744073709551615\"}\n",
       ":3: \"id\" \"18446744073709551615\" is also the id of line 1"},
  };
  for (const auto& b : bad) {
    std::string path = write_file("bad.jsonl", b.text);
    try {
      load_problems_jsonl(path);
      ADD_FAILURE() << b.text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(b.needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    std::filesystem::remove(path);
  }
  EXPECT_THROW(load_problems_jsonl("/nonexistent/file.jsonl"), Error);
  // A folder read as "read error after line 0".
  try {
    load_problems_jsonl(testing::TempDir());
    ADD_FAILURE() << "a folder was read as problems";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a folder, not a JSONL file of problems"), std::string::npos)
        << e.what();
  }
  // A record nested 10^6 deep crashed (its copy recursed once per level).
  const std::string deep = "{\"prompt\": \"a\", \"answer\": \"1\", \"x\": " + std::string(1000000, '[') +
                           std::string(1000000, ']') + "}\n";
  const std::string path = write_file("deep.jsonl", deep);
  try {
    load_problems_jsonl(path);
    ADD_FAILURE() << "deep record accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":1: the value at x[][]"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace seek::reward
