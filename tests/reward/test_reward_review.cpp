// Review of the reward functions, answer extraction/comparison, the dataset loader and the built-in tasks:
// false positives (hedged answers, open vs closed intervals, decimals in Countdown), false negatives (JSON
// number references, a stray </answer>), and the documented boundaries of the length rewards.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

#include "reward/answer_compare.hpp"
#include "reward/answer_extract.hpp"
#include "reward/correctness.hpp"
#include "reward/dataset.hpp"
#include "reward/reward.hpp"
#include "reward/task.hpp"
#include "reward_test_util.hpp"
#include "support/error_of.hpp"

namespace seek::reward {
namespace {

using test::wrap;

double score(const char* name, const nlohmann::json& options, const std::string& completion,
             int64_t tokens = -1, const Problem* p = nullptr) {
  return make_reward(name, options)->score(RewardInput{p, completion, tokens});
}

// TinyZero read "2.5" as the integers 2 and 5, so a decimal glued two given numbers into a third.
TEST(ReviewCountdown, DecimalFractionsAreNotGivenNumbers) {
  auto t = make_task("countdown");
  auto tz = make_task("countdown", {{"format_score", 0.1}, {"use_all", false}});
  Problem p = t->train(0);
  p.data = {{"numbers", {2, 5, 10}}, {"target", 25}};
  EXPECT_EQ(t->verify(p, wrap("2.5 * 10")), 0.0);
  EXPECT_EQ(t->verify(p, wrap("2. 5 * 10")), 0.0);
  EXPECT_DOUBLE_EQ(tz->verify(p, wrap("2.5 * 10")), 0.1);
  EXPECT_DOUBLE_EQ(tz->verify(p, wrap(".5 * 10 * 5")), 0.1);  // 0.5 from 5 alone
  EXPECT_EQ(t->verify(p, wrap("(2 + 10) * 5 / 2")), 0.0);     // 2 used twice
  EXPECT_EQ(t->verify(p, wrap("(10 / 2 + 5) * 2.5")), 0.0);
  p.data = {{"numbers", {1, 2, 3}}, {"target", 6}};
  EXPECT_EQ(t->verify(p, wrap("1 * 2 * 3")), 1.0);
  EXPECT_EQ(t->verify(p, wrap("(1+2)+3")), 1.0);
  EXPECT_EQ(t->verify(p, wrap("1 + 2 + 3.")), 1.0);  // "3." is 3 (Python reads it so too)
  EXPECT_EQ(t->verify(p, wrap("12 / 2 * 1")), 0.0);  // concatenated digits
  EXPECT_EQ(t->verify(p, wrap("3 * 2 ** 1")), 0.0);  // no Python power
  EXPECT_EQ(t->verify(p, wrap("3 × 2 × 1")), 0.0);   // only ASCII operators
}

// A trailing unit is dropped; a second number after words is not a unit ("3 or 4" was read as 3).
TEST(ReviewCompare, HedgedAnswersAreNotUnits) {
  EXPECT_FALSE(answers_equal("3 or 4", "3"));
  EXPECT_FALSE(answers_equal("1 and 2", "1"));
  EXPECT_FALSE(answers_equal("5 apples and 7 pears", "5"));
  EXPECT_FALSE(answers_equal("\\text{3 or 4}", "3"));
  EXPECT_TRUE(answers_equal("3 m^2", "3"));
  EXPECT_TRUE(answers_equal("3\\text{ m}^{2}", "3"));
  EXPECT_TRUE(answers_equal("3 cm^3", "3"));
  EXPECT_TRUE(answers_equal("9.8 m/s^2", "9.8"));
  EXPECT_TRUE(answers_equal("60 km/h", "60"));
  EXPECT_TRUE(answers_equal("12 dollars", "12"));
}

// Lists compare element by element; an open interval is not the closed one.
TEST(ReviewCompare, BracketKindsOfListsMustAgree) {
  EXPECT_FALSE(answers_equal("(1,2)", "[1,2]"));
  EXPECT_FALSE(answers_equal("[1, 2]", "(1, 2)"));
  EXPECT_FALSE(answers_equal("(1,2]", "[1,2)"));
  EXPECT_TRUE(answers_equal("[1, 2]", "[1,2]"));
  EXPECT_TRUE(answers_equal("\\left( 1, 2 \\right)", "(1,2)"));
  EXPECT_TRUE(answers_equal("(1, 2)", "1, 2"));  // a bare list still matches a bracketed one
  EXPECT_TRUE(answers_equal("1, 2, 3", "(1,2,3)"));
}

TEST(ReviewCompare, Equivalences) {
  EXPECT_TRUE(answers_equal("-0", "0"));
  EXPECT_TRUE(answers_equal("5.", "5"));
  EXPECT_TRUE(answers_equal("\\$1,234.50", "1234.5"));
  EXPECT_TRUE(answers_equal("1{,}000", "1000"));
  EXPECT_TRUE(answers_equal("-1,234", "-1234"));
  EXPECT_TRUE(answers_equal("\\sqrt{8}", "2\\sqrt{2}"));
  EXPECT_TRUE(answers_equal("90^\\circ", "90"));
  EXPECT_TRUE(answers_equal("\\dfrac{1}{3}", "0.3333333"));
  EXPECT_TRUE(answers_equal("\\boxed{\\frac{3}{4}}", "0.75"));
  EXPECT_TRUE(answers_equal("100000000000000000000", "10^{20}"));  // exact beyond 64 bits
  EXPECT_FALSE(answers_equal("100000000000000000000", "100000000000000000001"));
  EXPECT_FALSE(answers_equal("1,0000", "10000"));
  // Inside brackets a comma separates elements: pairs and intervals written without a space were joined
  // into one number ((2,500) equalled 2500 and differed from (2, 500)).
  EXPECT_TRUE(answers_equal("(3,100)", "(3, 100)"));
  EXPECT_TRUE(answers_equal("[0,100]", "[0, 100]"));
  EXPECT_TRUE(answers_equal("(-1,250)", "(-1, 250)"));
  EXPECT_FALSE(answers_equal("(2,500)", "2500"));
  EXPECT_FALSE(answers_equal("(0,100)", "100"));
  EXPECT_TRUE(answers_equal("\\boxed{1,000}", "1000"));
  // Sets compare in any order (as Math-Verify's), also against a bare list; tuples and intervals keep theirs.
  EXPECT_TRUE(answers_equal("\\{2, 1\\}", "\\{1, 2\\}"));
  EXPECT_TRUE(answers_equal("\\left\\{3,\\frac{1}{2}\\right\\}", "\\{0.5, 3\\}"));
  EXPECT_TRUE(answers_equal("2, 1", "\\{1, 2\\}"));
  EXPECT_FALSE(answers_equal("\\{2, 1\\}", "1, 2"));  // an ordered reference is not made order-free
  EXPECT_FALSE(answers_equal("\\{5, 3\\}", "x = 3, y = 5"));
  EXPECT_FALSE(answers_equal("\\{3, 1\\} \\setminus \\{2\\}", "\\{1\\} \\setminus \\{2, 3\\}"));
  EXPECT_FALSE(answers_equal("\\{1, 1\\}", "\\{1, 2\\}"));
  EXPECT_FALSE(answers_equal("\\{1, 2, 3\\}", "\\{1, 2\\}"));
  EXPECT_FALSE(answers_equal("(2, 1)", "\\{1, 2\\}"));
  EXPECT_FALSE(answers_equal("(2, 1)", "(1, 2)"));
  EXPECT_FALSE(answers_equal("2, 1", "1, 2"));
  // Relations compare flipped too, as Math-Verify's; chains and other relations do not.
  EXPECT_TRUE(answers_equal("x > 5", "5 < x"));
  EXPECT_TRUE(answers_equal("x \\geq \\frac{1}{2}", "0.5 \\le x"));
  EXPECT_TRUE(answers_equal("x \\le 3", "x <= 3"));
  EXPECT_FALSE(answers_equal("x > 5", "x < 5"));
  EXPECT_FALSE(answers_equal("x \\ge 5", "x > 5"));
  EXPECT_FALSE(answers_equal("1 < x < 5", "5 > x > 1"));
  EXPECT_FALSE(answers_equal("\\left(1, 2\\right)", "1 < 2"));
  // A percentage answers as its number and as the fraction it stands for.
  EXPECT_TRUE(answers_equal("50\\%", "0.5"));
  EXPECT_TRUE(answers_equal("0.5", "50\\%"));
  EXPECT_TRUE(answers_equal("50%", "50"));
  EXPECT_FALSE(answers_equal("50%", "0.05"));
  EXPECT_FALSE(answers_equal("0.5\\%", "50\\%"));  // one percent sign, not two
  EXPECT_FALSE(answers_equal("5000\\%", "50\\%"));
  // Thousands separators inside LaTeX groups are still dropped (only written brackets keep commas).
  EXPECT_TRUE(answers_equal("\\frac{3,000}{7}", "3000/7"));
  EXPECT_TRUE(answers_equal("\\sqrt{1,024}", "32"));
  EXPECT_FALSE(answers_equal("\\{3,100\\}", "\\{3100\\}"));
  EXPECT_FALSE(answers_equal("0.5", "50"));
  // Scientific notation and the Unicode signs of arithmetic are numbers (they compared as text).
  EXPECT_TRUE(answers_equal("1.5e3", "1500"));
  EXPECT_TRUE(answers_equal("1e-3", "0.001"));
  EXPECT_TRUE(answers_equal("2.5E+2", "250"));
  EXPECT_FALSE(answers_equal("1.5e3", "15"));
  EXPECT_FALSE(answers_equal("2e", "2"));
  EXPECT_TRUE(answers_equal("1.5 \u00d7 10^3", "1500"));
  EXPECT_TRUE(answers_equal("6 \u00f7 2", "3"));
  EXPECT_TRUE(answers_equal("2 \u00b7 3", "6"));
  EXPECT_TRUE(answers_equal("1.5 \\times 10^{3}", "1500"));
  EXPECT_FALSE(answers_equal("12", "1,2"));
  EXPECT_FALSE(answers_equal("2.5", "25"));
  EXPECT_FALSE(answers_equal("-5", "5"));
  EXPECT_FALSE(answers_equal("2x", "2"));
  EXPECT_FALSE(answers_equal("1000000", "1000001"));
  EXPECT_FALSE(answers_equal("1, 2, 3", "1, 2"));
  EXPECT_FALSE(answers_equal("x+1", "x-1"));
}

TEST(ReviewExtract, LastCompleteAnswerBlock) {
  ExtractOptions o;
  EXPECT_EQ(extract_answer("<answer>1</answer> then <answer>2</answer>", o).text, "2");
  // A stray closing tag after a complete block: the block's own </answer> ends it.
  EXPECT_EQ(extract_answer("<think>t</think><answer>5</answer>\n</answer>", o).text, "5");
  EXPECT_EQ(extract_answer("<answer>4</answer><answer>5</answer></answer>", o).text, "5");
  EXPECT_EQ(extract_answer("<answer>4</answer><answer>5", o).text, "4");  // the last complete one
  o.require_answer_tag = true;
  auto a = extract_answer("<answer>5</answer></answer>", o);
  EXPECT_EQ(a.text, "5");
  EXPECT_EQ(a.source, AnswerSource::AnswerTag);
  o.require_answer_tag = false;
  EXPECT_EQ(extract_answer("so \\boxed{\\frac{1}{2}} done", o).text, "\\frac{1}{2}");
  EXPECT_FALSE(extract_answer("<think>\\boxed{5}", o).found());
  EXPECT_EQ(extract_answer("The answer is 1,000.", o).text, "1,000");
  // Its exponent alone answered 3.
  EXPECT_EQ(extract_answer("The answer is 1.2e3", o).text, "1.2e3");
  EXPECT_EQ(extract_answer("so about 5E-4.", o).text, "5E-4");

  auto t = make_task("arithmetic");
  Problem p = t->train(0);
  p.data = {{"expression", "2 + 3"}, {"value", 5}};
  EXPECT_EQ(t->verify(p, "<think>2 + 3</think><answer>5</answer>\n</answer>"), 1.0);
}

// JSON numbers: exponent notation ("1e-05") and integers above INT64_MAX made unusable references.
TEST(ReviewDataset, NumericReferenceAnswers) {
  auto problem = [](const char* record) { return problem_from_json(nlohmann::json::parse(record), "x:1"); };
  auto correct = [](const Problem& p, const std::string& c) { return *correctness(p, c, {}, Deadline()); };
  Problem p = problem(R"({"prompt": "q", "answer": 0.00001})");
  EXPECT_EQ(correct(p, "<answer>0.00001</answer>"), 1.0) << p.answer;
  EXPECT_EQ(correct(p, "<answer>\\frac{1}{100000}</answer>"), 1.0) << p.answer;
  EXPECT_EQ(correct(p, "<answer>0.00002</answer>"), 0.0) << p.answer;
  p = problem(R"({"prompt": "q", "answer": 1.5e20})");
  EXPECT_EQ(correct(p, "<answer>150000000000000000000</answer>"), 1.0) << p.answer;
  EXPECT_EQ(correct(p, "<answer>1.6 \\times 10^{20}</answer>"), 0.0) << p.answer;
  p = problem(R"({"prompt": "q", "answer": 18446744073709551615})");
  EXPECT_EQ(p.answer, "18446744073709551615");
  EXPECT_EQ(correct(p, "<answer>-1</answer>"), 0.0);
  p = problem(R"({"prompt": "q", "answer": -7})");
  EXPECT_EQ(p.answer, "-7");
  p = problem(R"({"prompt": "q", "answer": 2.5})");
  EXPECT_EQ(p.answer, "2.5");
  // Past 2^64 an integer is read as a double, which lost its digits: the right answer scored 0. It must be
  // written as a string, which keeps them.
  const std::string e =
      test::error_of([&] { problem(R"({"prompt": "q", "answer": 123456789012345678901234})"); });
  EXPECT_NE(e.find("x:1: \"answer\" is a JSON number with more digits than a double holds (read as "
                   "1.2345678901234569e+23): write it as a string"),
            std::string::npos)
      << e;
  p = problem(R"({"prompt": "q", "answer": "123456789012345678901234"})");
  EXPECT_EQ(correct(p, "<answer>123456789012345678901234</answer>"), 1.0) << p.answer;
  EXPECT_EQ(correct(p, "<answer>123456789012345678901235</answer>"), 0.0) << p.answer;
}

// The accuracy reward's extraction options that only tighten the rules apply to a task's verifier too: with
// reject_multiple_answers, two <answer> blocks hedged on the arithmetic task and scored 1 (dataset problems
// scored 0). Looser options (the last number) leave the task's rules as they are.
TEST(ReviewAccuracy, StricterOptionsApplyToTasks) {
  const auto task = make_task("arithmetic", {{"require_answer_tag", false}});
  Problem p = task->train(0);
  p.data["value"] = 750;
  const std::string hedged = "<think>x</think><answer>3</answer><answer>750</answer>";
  EXPECT_EQ(score("accuracy", nlohmann::json::object(), hedged, -1, &p), 1.0);
  EXPECT_EQ(score("accuracy", {{"reject_multiple_answers", true}}, hedged, -1, &p), 0.0);
  const std::string boxed = "<think>x</think>so \\boxed{750}";
  EXPECT_EQ(score("accuracy", nlohmann::json::object(), boxed, -1, &p), 1.0);
  EXPECT_EQ(score("accuracy", {{"allow_boxed", false}}, boxed, -1, &p), 0.0);
  EXPECT_EQ(score("accuracy", {{"require_answer_tag", true}}, boxed, -1, &p), 0.0);
  EXPECT_EQ(score("accuracy", {{"allow_last_number", true}}, "<think>x</think>it is 750", -1, &p), 0.0);
}

TEST(ReviewLength, SoftOverlongBoundaries) {
  const nlohmann::json o = {{"max_length", 100}, {"cache_length", 20}};
  EXPECT_EQ(score("soft_overlong", o, "", 80), 0.0);
  EXPECT_DOUBLE_EQ(score("soft_overlong", o, "", 81), -0.05);
  EXPECT_DOUBLE_EQ(score("soft_overlong", o, "", 90), -0.5);
  EXPECT_DOUBLE_EQ(score("soft_overlong", o, "", 100), -1.0);
  EXPECT_DOUBLE_EQ(score("soft_overlong", o, "", 101), -1.0);
  EXPECT_DOUBLE_EQ(score("soft_overlong", o, std::string(90, 'x')), -0.5);  // bytes without tokens
}

TEST(ReviewLength, CosineEndpoints) {
  Problem p;
  p.answer = std::string("5");
  const nlohmann::json o = {{"max_length", 100}};
  EXPECT_DOUBLE_EQ(score("cosine", o, "<answer>5</answer>", 0, &p), 1.0);
  EXPECT_DOUBLE_EQ(score("cosine", o, "<answer>5</answer>", 50, &p), 0.75);
  EXPECT_DOUBLE_EQ(score("cosine", o, "<answer>5</answer>", 100, &p), 0.5);
  EXPECT_DOUBLE_EQ(score("cosine", o, "<answer>6</answer>", 0, &p), -1.0);
  EXPECT_DOUBLE_EQ(score("cosine", o, "<answer>6</answer>", 50, &p), -0.75);
  EXPECT_DOUBLE_EQ(score("cosine", o, "<answer>6</answer>", 100, &p), -0.5);
  EXPECT_DOUBLE_EQ(score("cosine", o, "<answer>6</answer>", 500, &p), -0.5);
  // An answer the checker cannot judge (nested past its depth limit) scores as a wrong one of its length:
  // 0 was a bonus over every wrong answer.
  std::string deep = "<answer>\\boxed{";
  for (int i = 0; i < 140; ++i) deep += "\\sqrt{";
  deep += "3" + std::string(141, '}') + "</answer>";
  EXPECT_DOUBLE_EQ(score("cosine", o, deep, 50, &p), -0.75);
}

TEST(ReviewLength, RepetitionOnShortTexts) {
  EXPECT_EQ(score("repetition", {}, ""), 0.0);
  EXPECT_EQ(score("repetition", {}, "a b"), 0.0);
  EXPECT_EQ(score("repetition", {}, "a b c"), 0.0);
  EXPECT_FALSE(std::signbit(score("repetition", {}, "a b c d e"))) << "-0, logged as -0.0";
  EXPECT_DOUBLE_EQ(score("repetition", {}, "a b c a b c"), -0.25);  // 3 distinct of 4
  EXPECT_DOUBLE_EQ(score("repetition", {}, "A b C a B c"), -0.25);  // lower-cased
  EXPECT_DOUBLE_EQ(score("repetition", {{"ngram_size", 1}}, "a a a a"), -0.75);
  EXPECT_DOUBLE_EQ(score("repetition", {{"max_penalty", -2.0}}, "x x x x x"), -2.0 * (1 - 1.0 / 3));
}

TEST(ReviewFormat, TemplateAndTags) {
  EXPECT_EQ(score("format", {}, "<think>a</think><answer>5</answer>"), 1.0);
  EXPECT_EQ(score("format", {}, "\n<think>\na\n</think>\n<answer>\n5\n</answer>\n"), 1.0);
  EXPECT_EQ(score("format", {}, "<think></think><answer>5</answer>"), 1.0);
  EXPECT_EQ(score("format", {}, "x<think>a</think><answer>5</answer>"), 0.0);
  EXPECT_EQ(score("format", {}, "<think>a</think>x<answer>5</answer>"), 0.0);
  EXPECT_EQ(score("format", {}, "<think>a</think><answer>5</answer>x"), 0.0);
  EXPECT_EQ(score("format", {}, "<think>a</think><answer> \n</answer>"), 0.0);
  EXPECT_EQ(score("format", {}, "<think>a<think>b</think><answer>5</answer>"), 0.0);
  EXPECT_EQ(score("format", {}, "<think>a</think><answer>5</answer><answer>6</answer>"), 0.0);
  EXPECT_EQ(score("format", {}, "<think>a</think><answer>5"), 0.0);  // cut by the length limit
  EXPECT_EQ(score("format", {{"think_prefilled", true}}, "a</think><answer>5</answer>"), 1.0);
  EXPECT_DOUBLE_EQ(score("tag_count", {}, "<think>a</think><answer>5</answer>"), 1.0);
  EXPECT_DOUBLE_EQ(score("tag_count", {}, "<think>a</think><think>b</think><answer>5</answer>"), 0.5);
  EXPECT_DOUBLE_EQ(score("tag_count", {{"think_prefilled", true}}, "a</think><answer>5</answer>"), 1.0);
  EXPECT_DOUBLE_EQ(score("tag_count", {{"newlines", true}}, "<think>\na\n</think>\n<answer>\n5\n</answer>"),
                   1.0);
}

// think_prefilled not given follows the prompt: a completion of a prompt that opened <think> (a task's
// think_prefilled, TinyZero-style data ending in "Assistant: <think>") scored format 0 when right and 1 when
// it opened the thinking a second time. Given, the option holds for every completion.
TEST(ReviewFormat, ThinkPrefilledFollowsThePrompt) {
  Problem p;
  p.answer = std::string("5");
  const std::string inside = " I add them.</think> <answer>5</answer>", again = "<think>" + inside;
  const auto prompted = [&](const char* name, const nlohmann::json& options, const std::string& text) {
    return make_reward(name, options)->score(RewardInput{&p, text, -1, /*prompt_opens_think=*/true});
  };
  EXPECT_EQ(prompted("format", {}, inside), 1.0);
  EXPECT_EQ(prompted("format", {}, again), 0.0);
  EXPECT_EQ(prompted("tag_count", {}, inside), 1.0);
  EXPECT_EQ(prompted("tag_count", {}, again), 0.75);
  EXPECT_EQ(prompted("accuracy", {}, inside), 1.0);
  EXPECT_EQ(prompted("format", {{"think_prefilled", false}}, inside), 0.0);
  EXPECT_EQ(prompted("format", {{"think_prefilled", false}}, again), 1.0);
  EXPECT_EQ(score("format", {}, inside, -1, &p), 0.0);  // a prompt that did not open it
  EXPECT_EQ(score("format", {}, again, -1, &p), 1.0);
}

// A task's verifier read the completion with the task's own think_prefilled only: an instruction-template
// prompt (a chat turn) on an R1 model opens <think>, and an answer still inside that thinking scored
// accuracy 1 where format scored it 0. The prompt's opened <think> now counts for tasks too.
TEST(ReviewTasks, APromptThatOpensThinkCountsForTheTasksVerifier) {
  const auto task = make_task("arithmetic", {{"template", "instruction"}});
  Problem p = task->train(0);
  const std::string answer = "<answer>" + p.answer + "</answer>";
  const auto prompted = [&](const std::string& text) {
    return make_reward("accuracy", nlohmann::json::object())
        ->score(RewardInput{&p, text, -1, /*prompt_opens_think=*/true});
  };
  EXPECT_EQ(prompted("Let me compute. " + answer), 0.0);  // the answer is inside the open thinking
  EXPECT_EQ(prompted("Let me compute.</think> " + answer), 1.0);
  EXPECT_EQ(task->verify(p, "Let me compute. " + answer), 1.0);  // a prompt that opened nothing
}

TEST(ReviewTasks, IntegerAndListAnswers) {
  auto arith = make_task("arithmetic");
  Problem p = arith->train(0);
  p.data = {{"expression", "999 + 1"}, {"value", 1000}};
  EXPECT_EQ(arith->verify(p, wrap("1,000")), 1.0);
  EXPECT_EQ(arith->verify(p, wrap("$1000$")), 1.0);
  EXPECT_EQ(arith->verify(p, wrap("\\boxed{1000}")), 1.0);
  EXPECT_EQ(arith->verify(p, wrap("10,00")), 0.0);
  EXPECT_EQ(arith->verify(p, wrap("1,0000")), 0.0);
  EXPECT_EQ(arith->verify(p, wrap("1000.5")), 0.0);
  EXPECT_EQ(arith->verify(p, wrap(",1000")), 0.0);
  EXPECT_EQ(arith->verify(p, wrap("1000,")), 0.0);
  p.data = {{"expression", "1 - 2"}, {"value", -1}};
  EXPECT_EQ(arith->verify(p, wrap("-1")), 1.0);
  EXPECT_EQ(arith->verify(p, wrap("--1")), 0.0);
  auto sorting = make_task("sorting");
  p = sorting->train(0);
  p.data = {{"numbers", {5, -3, 12}}, {"sorted", {-3, 5, 12}}};
  EXPECT_EQ(sorting->verify(p, wrap("[-3, 5, 12]")), 1.0);
  EXPECT_EQ(sorting->verify(p, wrap("-3 5 12")), 1.0);
  EXPECT_EQ(sorting->verify(p, wrap("-3, 5")), 0.0);
  EXPECT_EQ(sorting->verify(p, wrap("-3, 5, 12, 12")), 0.0);
  EXPECT_EQ(sorting->verify(p, wrap("-3-5-12")), 0.0);
  auto wr = make_task("word_reversal");
  p = wr->train(0);
  p.data = {{"word", "banana"}, {"reversed", "ananab"}};
  EXPECT_EQ(wr->verify(p, wrap("Ananab")), 1.0);
  EXPECT_EQ(wr->verify(p, wrap("\"ananab\"")), 1.0);
  EXPECT_EQ(wr->verify(p, wrap("a n a n a b")), 0.0);
  EXPECT_EQ(wr->verify(p, wrap("banana")), 0.0);
}

TEST(ReviewTasks, GeneratedProblemsAreSolvedByTheirReference) {
  for (const auto& name : task_names()) {
    auto t = make_task(name, {{"seed", 11}, {"held_out_fraction", 0.05}});
    for (uint64_t i = 0; i < 200; ++i) {
      Problem p = t->train(i);
      EXPECT_EQ(t->verify(p, wrap(p.answer)), 1.0) << name << ": " << p.prompt << " -> " << p.answer;
      EXPECT_FALSE(t->in_held_out_set(p.data["key"])) << name;
    }
    for (uint64_t i = 0; i < 20; ++i) {
      Problem h = t->held_out(i);
      EXPECT_EQ(t->verify(h, wrap(h.answer)), 1.0) << name << ": " << h.prompt << " -> " << h.answer;
    }
  }
}

}  // namespace
}  // namespace seek::reward
