// Countdown, as TinyZero trains it (spec §4.1): given 3-4 numbers and a target, write an equation that
// equals the target using + - * / and parentheses, each number used once. Every generated problem is
// solvable by construction (the target is the value of a random equation over the numbers, with only
// whole, non-negative intermediate results), and the reference answer is that equation.
//
// Verification follows TinyZero's compute_score: the answer (last <answer> block) must consist only of
// digits, + - * / ( ) . and spaces, without decimal fractions (TinyZero read "2.5" as the integers 2 and 5,
// so it accepted "2.5 * 10" for 25 from [2, 5, 10]); the integers in it, sorted, must equal the given numbers
// sorted (with use_all false: each given number at most once, at least one used); it must evaluate (exactly,
// in rationals) to the target (TinyZero: within 1e-5 in floats; within that here only where exact
// arithmetic overflows) -> 1.0. Otherwise format_score (TinyZero used 0.1; default 0
// here, so a well-formed wrong equation earns nothing), also for other characters ("3 × 4"). Implicit
// multiplication such as "2(3+4)" and leading zeros ("017") are rejected, as Python's eval would; so are
// "**" and "//", which TinyZero's character check let through to eval (the prompt offers + - * / only).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <tuple>

#include "core/error.hpp"
#include "reward/math_eval.hpp"
#include "reward/task.hpp"
#include "reward/task_util.hpp"
#include "reward/tasks_internal.hpp"

namespace seek::reward::detail {

namespace {

class CountdownTask : public Task {
 public:
  explicit CountdownTask(const nlohmann::json& options)
      : Task("countdown", options,
             {"min_numbers", "max_numbers", "min_number", "max_number", "min_target", "max_target", "use_all",
              "format_score"}) {
    const OptionReader& o = reader();
    std::tie(min_n_, max_n_) = o.integer_range("min_numbers", "max_numbers", 3, 4, 2, 8);
    std::tie(min_v_, max_v_) = o.integer_range("min_number", "max_number", 1, 100, 1, 100000);
    std::tie(min_t_, max_t_) = o.integer_range("min_target", "max_target", 1, 100, 0, 1000000000);
    use_all_ = o.boolean("use_all", true);
    format_score_ = o.number("format_score", 0.0, 0.0, 1.0);
    // Ordered ranges can still ask for targets the equations (almost) never reach: 99 from numbers that are
    // all 1, or exactly 50000 from numbers up to 100. Measured now, on a fixed sequence of draws, so such
    // options fail at start-up rather than hang or fail in the middle of a run; options that pass make
    // generate()'s bound practically unreachable (a hit rate of 1 in kProbeDraws / kProbeHits draws or more
    // misses kMaxDraws draws in a row with probability below e^-100).
    Rng probe(0x636f756e74646f77ull);
    int64_t draws = 0, hits = 0;
    for (; draws < kProbeDraws && hits < kProbeHits; ++draws) hits += try_draw(probe).has_value();
    if (hits < kProbeHits)
      fail(
          "{}: equations over {} to {} numbers in [{}, {}] reach a target in [{}, {}] too rarely to generate "
          "problems ({} of {} random draws); widen min_target/max_target, or change min_number/max_number or "
          "min_numbers/max_numbers",
          o.where(), min_n_, max_n_, min_v_, max_v_, min_t_, max_t_, hits, draws);
    record("min_numbers", min_n_);
    record("max_numbers", max_n_);
    record("min_number", min_v_);
    record("max_number", max_v_);
    record("min_target", min_t_);
    record("max_target", max_t_);
    record("use_all", use_all_);
    record("format_score", format_score_);
  }

 protected:
  TaskInstance generate(Rng& rng) const override {
    for (int64_t draw = 0; draw < kMaxDraws; ++draw) {
      if (auto inst = try_draw(rng)) return std::move(*inst);
    }
    // Options that passed the constructor's probe practically never get here; the bound keeps a run from
    // spinning forever if they do.
    fail(
        "task 'countdown': no equation over {} to {} numbers in [{}, {}] reached a target in [{}, {}] in {} "
        "random draws; widen min_target/max_target",
        min_n_, max_n_, min_v_, max_v_, min_t_, max_t_, kMaxDraws);
  }

  double check(const Problem& p, const std::string& answer, const Deadline& d) const override {
    for (char c : answer) {
      if (!(std::isdigit((unsigned char)c) || c == '+' || c == '-' || c == '*' || c == '/' || c == '(' ||
            c == ')' || c == '.' || std::isspace((unsigned char)c)))
        return format_score_;  // as TinyZero, whose evaluation of it fails ("3 × 4", "x = 12")
    }
    // Implicit multiplication: a number (also one ending in '.', "3.(4)") or ')' followed by '(', or ')'
    // followed by a number. Python's eval refuses each (calling a number).
    char prev = 0;
    for (char c : answer) {
      if (std::isspace((unsigned char)c)) continue;
      if (c == '(' && (std::isdigit((unsigned char)prev) || prev == ')' || prev == '.')) return format_score_;
      if (std::isdigit((unsigned char)c) && prev == ')') return format_score_;
      // A decimal fraction ("2.5", ".5") is not one of the given integers, though its digits would count
      // as two of them (or one): "2.5 * 10" must not make 25 from [2, 5, 10].
      if (std::isdigit((unsigned char)c) && prev == '.') return format_score_;
      prev = c;
    }
    std::vector<int64_t> used;
    for (size_t i = 0; i < answer.size();) {
      if (!std::isdigit((unsigned char)answer[i])) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < answer.size() && std::isdigit((unsigned char)answer[j])) ++j;
      // Python's eval, which TinyZero scores with, refuses "017"; too long is no given number either.
      if (j - i > 12 || (j - i > 1 && answer[i] == '0')) return format_score_;
      used.push_back(std::stoll(answer.substr(i, j - i)));
      i = j;
    }
    std::vector<int64_t> given = p.data.at("numbers").get<std::vector<int64_t>>();
    std::sort(used.begin(), used.end());
    std::sort(given.begin(), given.end());
    bool numbers_ok =
        use_all_ ? used == given
                 : !used.empty() && std::includes(given.begin(), given.end(), used.begin(), used.end());
    if (!numbers_ok) return format_score_;
    auto v = evaluate(answer, d);
    if (!v) return format_score_;
    // TinyZero's 1e-5 absorbs float rounding, which exact rationals do not have: within it, "9 + 1/100000"
    // answered 9 (with max_number 100000), and "7 + 1/(400*500)" 7. Only a value past exact arithmetic
    // (numbers whose products overflow 128 bits) gets the tolerance.
    const int64_t target = p.data.at("target").get<int64_t>();
    const bool equal = v->exact() ? numbers_equal(*v, Number::integer(target), 0, 0)
                                  : std::fabs(v->value() - double(target)) < 1e-5;
    return equal ? 1.0 : format_score_;
  }

 private:
  // One draw of numbers and a few random equations over them: the first equation whose value is a valid
  // target makes the problem; none of them does -> nullopt.
  std::optional<TaskInstance> try_draw(Rng& rng) const {
    int n = int(uniform_int(rng, min_n_, max_n_));
    std::vector<int64_t> nums(size_t(n), 0);
    for (auto& v : nums) v = uniform_int(rng, min_v_, max_v_);
    for (int tries = 0; tries < 20; ++tries) {
      std::vector<std::pair<int64_t, std::string>> items;
      for (int64_t v : nums) items.push_back({v, std::to_string(v)});
      bool ok = true;
      while (items.size() > 1 && ok) {
        size_t i = rng.below(items.size());
        size_t j = rng.below(items.size() - 1);
        if (j >= i) ++j;
        auto a = items[i], b = items[j];
        // Try the operators from a random start; keep only whole, non-negative results.
        int start = int(rng.below(4));
        ok = false;
        std::pair<int64_t, std::string> c;
        for (int k = 0; k < 4 && !ok; ++k) {
          int op = (start + k) % 4;
          if (op == 0 && a.first + b.first <= 1'000'000'000) {
            c = {a.first + b.first, a.second + " + " + b.second}, ok = true;
          } else if (op == 1 && a.first >= b.first) {
            c = {a.first - b.first, a.second + " - (" + b.second + ")"}, ok = true;
          } else if (op == 2 && a.first * b.first <= 1'000'000'000) {
            c = {a.first * b.first, "(" + a.second + ") * (" + b.second + ")"}, ok = true;
          } else if (op == 3 && b.first != 0 && a.first % b.first == 0) {
            c = {a.first / b.first, "(" + a.second + ") / (" + b.second + ")"}, ok = true;
          }
        }
        if (!ok) break;
        items.erase(items.begin() + std::ptrdiff_t(std::max(i, j)));
        items.erase(items.begin() + std::ptrdiff_t(std::min(i, j)));
        items.push_back(c);
      }
      if (!ok || items[0].first < min_t_ || items[0].first > max_t_) continue;
      int64_t target = items[0].first;
      std::vector<int64_t> sorted = nums;
      std::sort(sorted.begin(), sorted.end());
      TaskInstance inst;
      inst.key = join_ints(sorted, ",") + "->" + std::to_string(target);
      inst.question =
          "Using the numbers [" + join_ints(nums) + "], create an equation that equals " +
          std::to_string(target) +
          ". You can use basic arithmetic operations (+, -, *, /) and each number can only be used "
          "once. Show your work in <think> </think> tags. And return the final answer in <answer> "
          "</answer> tags, for example <answer> (1 + 2) / 3 </answer>.";
      inst.answer = simplify(items[0].second);
      inst.data = {{"numbers", nums}, {"target", target}};
      return inst;
    }
    return std::nullopt;
  }
  // "(3) * (4)" -> "3 * 4": parentheses around a bare number are noise in the reference.
  static std::string simplify(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '(') {
        size_t j = i + 1;
        while (j < s.size() && std::isdigit((unsigned char)s[j])) ++j;
        if (j > i + 1 && j < s.size() && s[j] == ')') {
          out.append(s, i + 1, j - i - 1);
          i = j;
          continue;
        }
      }
      out += s[i];
    }
    return out;
  }

  // The constructor's probe: kProbeHits hits within kProbeDraws draws (a hit rate of at least 1 in 1000).
  static constexpr int64_t kProbeDraws = 20'000, kProbeHits = 20;
  // generate()'s bound on draws for one problem.
  static constexpr int64_t kMaxDraws = 100'000;

  int64_t min_n_, max_n_;
  int64_t min_v_, max_v_, min_t_, max_t_;
  bool use_all_;
  double format_score_;
};

}  // namespace

std::shared_ptr<Task> make_countdown(const nlohmann::json& o) {
  return std::make_shared<CountdownTask>(o);
}

}  // namespace seek::reward::detail
