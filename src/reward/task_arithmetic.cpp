// Multi-digit arithmetic chains: "Calculate 482 + 37 * 5 - 96." with the usual precedence (* before + -).
// Knobs: the number of terms, the digits per term, and the operators used. The answer must be the plain
// integer (thousands commas allowed); restating the expression does not count.
#include <tuple>

#include "reward/task.hpp"
#include "reward/task_util.hpp"
#include "reward/tasks_internal.hpp"

#include "core/error.hpp"

namespace seek::reward::detail {

namespace {

class ArithmeticTask : public Task {
 public:
  explicit ArithmeticTask(const nlohmann::json& options)
      : Task("arithmetic", options, {"min_terms", "max_terms", "min_digits", "max_digits", "operators"}) {
    const OptionReader& o = reader();
    std::tie(min_terms_, max_terms_) = o.integer_range("min_terms", "max_terms", 2, 4, 2, 20);
    std::tie(min_digits_, max_digits_) = o.integer_range("min_digits", "max_digits", 1, 3, 1, 6);
    ops_ = o.string("operators", "+-");
    if (ops_.empty() || ops_.find_first_not_of("+-*") != std::string::npos)
      fail("{}: option 'operators' must be made of + - * (got \"{}\")", o.where(), ops_);
    // Products of many long terms would overflow 64 bits: bound the worst case (every operator '*').
    if (ops_.find('*') != std::string::npos && max_terms_ * max_digits_ > 17)
      fail(
          "{}: with '*' the answer could exceed 64 bits: need max_terms * max_digits <= 17 (got {}{} * {}{})",
          o.where(), max_terms_, o.has("max_terms") ? "" : " (the default)", max_digits_,
          o.has("max_digits") ? "" : " (the default)");
    record("min_terms", min_terms_);
    record("max_terms", max_terms_);
    record("min_digits", min_digits_);
    record("max_digits", max_digits_);
    record("operators", ops_);
  }

 protected:
  TaskInstance generate(Rng& rng) const override {
    int n = int(uniform_int(rng, min_terms_, max_terms_));
    std::vector<int64_t> terms;
    std::string ops;
    for (int i = 0; i < n; ++i) {
      int digits = int(uniform_int(rng, min_digits_, max_digits_));
      int64_t lo = digits == 1 ? 0 : 1;
      for (int k = 1; k < digits; ++k) lo *= 10;
      int64_t hi = lo == 0 ? 9 : lo * 10 - 1;
      terms.push_back(uniform_int(rng, lo, hi));
      if (i > 0) ops += ops_[rng.below(ops_.size())];
    }
    // Evaluate with precedence: a sum of products (the constructor bounded the sizes to fit 64 bits).
    int64_t total = 0, product = terms[0];
    int sign = 1;
    std::string expr = std::to_string(terms[0]);
    for (int i = 1; i < n; ++i) {
      char op = ops[size_t(i - 1)];
      expr += std::string(" ") + op + " " + std::to_string(terms[size_t(i)]);
      if (op == '*') {
        product *= terms[size_t(i)];
      } else {
        total += sign * product;
        sign = op == '+' ? 1 : -1;
        product = terms[size_t(i)];
      }
    }
    total += sign * product;
    TaskInstance inst;
    inst.key = expr;
    inst.question = "Calculate " + expr + ".";
    inst.answer = std::to_string(total);
    inst.data = {{"expression", expr}, {"value", total}};
    return inst;
  }

  double check(const Problem& p, const std::string& answer, const Deadline&) const override {
    auto v = parse_int_answer(answer);
    return v && *v == p.data.at("value").get<int64_t>() ? 1.0 : 0.0;
  }

 private:
  int64_t min_terms_, max_terms_, min_digits_, max_digits_;
  std::string ops_;
};

}  // namespace

std::shared_ptr<Task> make_arithmetic(const nlohmann::json& o) {
  return std::make_shared<ArithmeticTask>(o);
}

}  // namespace seek::reward::detail
