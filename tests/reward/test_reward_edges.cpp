// Rules of the rewards and the answer checks that no other test pinned: each case below is an input on which
// a plausible slip in the code (a comparison off by one, a dropped check, the wrong of two tags) changes the
// score. Found by mutation testing; every expectation is the rule as documented (docs/rewards.md), not the
// code's output copied.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>

#include "reward/answer_compare.hpp"
#include "reward/answer_extract.hpp"
#include "reward/math_eval.hpp"
#include "reward/reward.hpp"
#include "reward/task.hpp"
#include "reward_test_util.hpp"

namespace seek::reward {
namespace {

using test::maths;
using test::score;
using test::wrap;

Problem countdown(const Task& t, const nlohmann::json& numbers, int64_t target) {
  Problem p = t.train(0);
  p.data = {{"numbers", numbers}, {"target", target}};
  return p;
}

TEST(EdgeFormat, BlocksHoldNoTagOfTheOtherKind) {
  auto f = make_reward("format");
  const Problem p = maths("1");
  EXPECT_EQ(score(*f, p, "<think>r</think><answer>4</answer>"), 1.0);
  for (const char* c :
       {"<think>r<answer>x</think><answer>4</answer>", "<think>r</answer></think><answer>4</answer>",
        "<think>r</think><answer>4</think></answer>", "<think>r</think><answer>4<think></answer>"})
    EXPECT_EQ(score(*f, p, c), 0.0) << c;
}

// With newlines, each of the four tags counts 0.25 only in its own "\n"-wrapped form.
TEST(EdgeFormat, TagCountWithNewlinesNeedsTheNewlineBeforeTheThinkClose) {
  auto nl = make_reward("tag_count", {{"newlines", true}});
  const Problem p = maths("1");
  EXPECT_DOUBLE_EQ(score(*nl, p, "<think>\na\n</think>\n<answer>\nb\n</answer>"), 1.0);
  EXPECT_DOUBLE_EQ(score(*nl, p, "<think>\na</think>\n<answer>\nb\n</answer>"), 0.75);
}

// A token count of 0 is a length (nothing generated), not "unknown" (-1, which falls back to bytes).
TEST(EdgeLength, ZeroTokensIsALength) {
  auto overlong = make_reward("soft_overlong", {{"max_length", 100}, {"cache_length", 20}});
  const Problem p = maths("4");
  EXPECT_DOUBLE_EQ(score(*overlong, p, std::string(90, 'x'), 0), 0.0);
  EXPECT_DOUBLE_EQ(score(*overlong, p, std::string(90, 'x'), 90), -0.5);  // 10 into the 20-token window
}

// The cosine reward's progress stops at max_length: past it, a right answer earns its floor 0.5 and a wrong
// one its floor -0.5; partial credit (countdown's format_score) is not a right answer.
TEST(EdgeLength, CosineStopsAtMaxLengthAndPartialCreditIsWrong) {
  auto cosine = make_reward("cosine", {{"max_length", 100}});
  const Problem p = maths("4");
  EXPECT_NEAR(score(*cosine, p, "<think></think><answer>4</answer>", 150), 0.5, 1e-12);
  EXPECT_NEAR(score(*cosine, p, "<think></think><answer>5</answer>", 200), -0.5, 1e-12);
  auto task = make_task("countdown", {{"format_score", 0.1}});
  const Problem c = countdown(*task, {44, 19, 35}, 98);
  ASSERT_DOUBLE_EQ(score(*make_reward("accuracy"), c, wrap("44 + 19 - 35")), 0.1);  // 28, not 98
  EXPECT_NEAR(score(*cosine, c, wrap("44 + 19 - 35"), 0), -1.0, 1e-12);
}

TEST(EdgeAccuracy, RelToleranceIsRead) {
  const Problem p = maths("\\frac{1}{3}");
  const std::string c = "<think></think><answer>0.3333333</answer>";
  EXPECT_EQ(score(*make_reward("accuracy"), p, c), 1.0);  // within the default 1e-6
  EXPECT_EQ(score(*make_reward("accuracy", {{"rel_tolerance", 0.0}}), p, c), 0.0);
}

TEST(EdgeCountdown, AnyWhitespaceBetweenTokens) {
  auto t = make_task("countdown");
  const Problem p = countdown(*t, {44, 19, 35}, 98);
  EXPECT_EQ(t->verify(p, wrap("44 +\n19 + 35")), 1.0);
  EXPECT_EQ(t->verify(p, wrap("44\t+ 19 + 35")), 1.0);
}

// No implicit multiplication (Python, TinyZero's evaluator, rejects both), though the expression reader
// would take each as 3 · 4 + 5 = 17.
TEST(EdgeCountdown, AClosingParenthesisIsNotFollowedByANumberOrAnOpeningOne) {
  auto t = make_task("countdown");
  const Problem p = countdown(*t, {3, 4, 5}, 17);
  ASSERT_EQ(t->verify(p, wrap("3 * 4 + 5")), 1.0);
  for (const char* a : {"(3)4 + 5", "(3)(4) + 5", "(3) (4) + 5"}) EXPECT_EQ(t->verify(p, wrap(a)), 0.0) << a;
}

// An expression that uses the numbers but cannot be evaluated earns the format score, as in TinyZero.
TEST(EdgeCountdown, UnreadableExpressionEarnsTheFormatScore) {
  auto t = make_task("countdown", {{"format_score", 0.1}, {"use_all", false}});
  const Problem p = countdown(*t, {6, 4, 3}, 10);
  EXPECT_DOUBLE_EQ(t->verify(p, wrap("(6 + 4")), 0.1);
  EXPECT_DOUBLE_EQ(t->verify(p, wrap("6 + / 4")), 0.1);
}

// A value that is not exact (products past the exact range) must still be within 1e-5 of the target: 1.001
// is not 1. (Numbers this large are outside the task's generator, not outside its verifier.)
TEST(EdgeCountdown, InexactValuesMustBeCloseToTheTarget) {
  auto t = make_task("countdown");
  const int64_t n = 999999999999;
  const Problem p = countdown(*t, {n, n, n, n, n, n, n, n, 1, 1000}, 1);
  const std::string big = "999999999999*999999999999*999999999999*999999999999";
  const std::string a = fmt::format("({})/({}) + 1/1000", big, big);
  const auto v = evaluate(a);
  ASSERT_TRUE(v.has_value());
  ASSERT_FALSE(v->exact());
  EXPECT_EQ(t->verify(p, wrap(a)), 0.0);
}

TEST(EdgeExtract, BoxesAndMarkers) {
  EXPECT_EQ(extract_answer("\\boxed{1} or \\fbox{2}", ExtractOptions{}).text,
            "2");  // the last box, of either kind
  EXPECT_EQ(extract_answer("\\boxed{x \\} y}", ExtractOptions{}).text, "x \\} y");  // escaped braces
  EXPECT_EQ(extract_answer("\\boxed{\\{1}", ExtractOptions{}).text, "\\{1");
  const auto gsm = extract_answer("#### \\frac{1}{2}", ExtractOptions{});
  EXPECT_EQ(gsm.source, AnswerSource::Gsm8k);
  EXPECT_EQ(gsm.text, "\\frac{1}{2}");
  ExtractOptions no_box;
  no_box.allow_boxed = false;  // a box, even inside <answer>, is then no answer
  EXPECT_FALSE(extract_answer("<answer>\\boxed{5}</answer>", no_box).found());
  EXPECT_EQ(last_number("x-5"), "5");  // a dash after a letter is a minus, not a sign
  EXPECT_EQ(last_number("x -5"), "-5");
}

TEST(EdgeExtract, ReferenceAnswers) {
  EXPECT_EQ(reference_answer("<answer>\nwork\n#### $-5\n</answer>"), "$-5");
  EXPECT_EQ(reference_answer("\\boxed{1}\n#### 7\n\\fbox{2}"), "2");
  EXPECT_EQ(reference_answer("<answer>work\n#### 5,</answer>"),
            "work\n#### 5,");  // no answer line: kept whole
}

TEST(EdgeCompare, Equivalences) {
  EXPECT_TRUE(answers_equal("50\\% ", "0.5"));  // a percent sign before trailing space
  EXPECT_TRUE(answers_equal("0.5", "50\\% "));
  EXPECT_TRUE(answers_equal("+0.3333333", "\\frac{1}{3}"));  // a written decimal, with its sign
  EXPECT_TRUE(answers_equal("(+0.3333333)", "\\frac{1}{3}"));
  EXPECT_TRUE(answers_equal("\\frac{1}{0-2}", "-\\frac{1}{2}"));
  EXPECT_TRUE(answers_equal("1/(-2)", "-0.5"));
  EXPECT_TRUE(answers_equal("x > 5", "5 < x"));
  EXPECT_TRUE(answers_equal("\\{(3,4),(1,2)\\}", "\\{(1,2),(3,4)\\}"));
}

TEST(EdgeCompare, Differences) {
  EXPECT_FALSE(answers_equal("x > 5", "5 \\ge x"));                       // only the flipped relation
  EXPECT_FALSE(answers_equal("\\{(1,4),(3,2)\\}", "\\{(1,2),(3,4)\\}"));  // pairs stay whole
  EXPECT_FALSE(answers_equal("0^{-1}", "2 \\cdot 0^{-1}"));               // undefined is never equal
  EXPECT_FALSE(
      answers_equal("\\sqrt{x-8}", "\\sqrt{x-8} \\cdot \\frac{11x}{97}"));  // one sample point agrees
  // Past 2^53 an inexact value no longer holds the units digit: the text decides, not the tolerance.
  EXPECT_FALSE(answers_equal("31415926535897932.0", "\\pi \\times 10^{16}"));
}

TEST(EdgeEvaluate, ExactRangeAndSigns) {
  EXPECT_FALSE(evaluate("0^(-1)").has_value());
  const auto half = evaluate("1/(0-2)");
  ASSERT_TRUE(half.has_value());
  EXPECT_EQ(half->str(), "-1/2");  // the sign on the numerator
  const auto big = evaluate("2^125");
  ASSERT_TRUE(big.has_value());
  EXPECT_FALSE(big->exact());  // the first power of two past the exact range
  const auto below = evaluate("2^124");
  ASSERT_TRUE(below.has_value());
  EXPECT_TRUE(below->exact());
}

}  // namespace
}  // namespace seek::reward
