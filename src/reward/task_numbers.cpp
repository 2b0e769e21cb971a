// Number tasks: sorting a list, and the greatest common divisor.
//   sorting: "Sort these numbers in ascending order: 5, -3, 12." -> "-3, 5, 12" (commas and/or spaces,
//            optional brackets). Knobs: list length, value range, order (ascending|descending|random).
//   gcd:     "Find the greatest common divisor of 84 and 126." -> "42". The numbers are multiples of a random
//            common factor, so the answer is rarely 1 (a constant "1" would otherwise score well).
#include <algorithm>
#include <numeric>
#include <tuple>

#include "core/error.hpp"
#include "reward/task.hpp"
#include "reward/task_util.hpp"
#include "reward/tasks_internal.hpp"

namespace seek::reward::detail {

namespace {

class SortingTask : public Task {
 public:
  explicit SortingTask(const nlohmann::json& options)
      : Task("sorting", options, {"min_count", "max_count", "min_value", "max_value", "order"}) {
    const OptionReader& o = reader();
    std::tie(min_count_, max_count_) = o.integer_range("min_count", "max_count", 3, 6, 2, 100);
    std::tie(min_value_, max_value_) =
        o.integer_range("min_value", "max_value", -99, 99, -1000000000, 1000000000);
    order_ = o.string("order", "random");
    if (order_ != "ascending" && order_ != "descending" && order_ != "random")
      fail("{}: option 'order' must be \"ascending\", \"descending\" or \"random\", got \"{}\"", o.where(),
           order_);
    record("min_count", min_count_);
    record("max_count", max_count_);
    record("min_value", min_value_);
    record("max_value", max_value_);
    record("order", order_);
  }

 protected:
  TaskInstance generate(Rng& rng) const override {
    int n = int(uniform_int(rng, min_count_, max_count_));
    std::vector<int64_t> v(size_t(n), 0);
    for (auto& x : v) x = uniform_int(rng, min_value_, max_value_);
    bool descending = order_ == "descending" || (order_ == "random" && rng.below(2) == 1);
    std::vector<int64_t> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    if (descending) std::reverse(sorted.begin(), sorted.end());
    const char* dir = descending ? "descending" : "ascending";
    TaskInstance inst;
    // The numbers as a set, as gcd's key: shown in another order they are the same problem, with the same
    // answer, and one held out was trained on in that other order.
    inst.key = std::string(dir) + ":" + join_ints(sorted, ",");
    inst.question = "Sort these numbers in " + std::string(dir) + " order: " + join_ints(v) +
                    ". Answer with the sorted numbers separated by commas.";
    inst.answer = join_ints(sorted);
    inst.data = {{"numbers", v}, {"sorted", sorted}};
    return inst;
  }

  double check(const Problem& p, const std::string& answer, const Deadline&) const override {
    auto v = parse_int_list(answer);
    return v && *v == p.data.at("sorted").get<std::vector<int64_t>>() ? 1.0 : 0.0;
  }

 private:
  int64_t min_count_, max_count_;
  int64_t min_value_, max_value_;
  std::string order_;
};

class GcdTask : public Task {
 public:
  explicit GcdTask(const nlohmann::json& options)
      : Task("gcd", options, {"min_count", "max_count", "max_value", "max_factor"}) {
    const OptionReader& o = reader();
    std::tie(min_count_, max_count_) = o.integer_range("min_count", "max_count", 2, 2, 2, 10);
    max_value_ = o.integer("max_value", 1000, 2, 1000000000000);
    max_factor_ = o.integer("max_factor", 50, 1, 1000000000000);
    // A common factor above max_value would make every number larger than max_value.
    o.check_order("max_factor", max_factor_, "max_value", max_value_);
    record("min_count", min_count_);
    record("max_count", max_count_);
    record("max_value", max_value_);
    record("max_factor", max_factor_);
  }

 protected:
  TaskInstance generate(Rng& rng) const override {
    int n = int(uniform_int(rng, min_count_, max_count_));
    int64_t f = uniform_int(rng, 1, max_factor_);
    std::vector<int64_t> v;
    for (int i = 0; i < n; ++i) v.push_back(f * uniform_int(rng, 1, std::max<int64_t>(1, max_value_ / f)));
    int64_t g = 0;
    for (int64_t x : v) g = std::gcd(g, x);
    std::vector<int64_t> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    std::string list;
    for (size_t i = 0; i < v.size(); ++i)
      list += (i == 0 ? "" : (i + 1 == v.size() ? " and " : ", ")) + std::to_string(v[i]);
    TaskInstance inst;
    inst.key = join_ints(sorted, ",");
    inst.question = "Find the greatest common divisor of " + list + ".";
    inst.answer = std::to_string(g);
    inst.data = {{"numbers", v}, {"gcd", g}};
    return inst;
  }

  double check(const Problem& p, const std::string& answer, const Deadline&) const override {
    auto v = parse_int_answer(answer);
    return v && *v == p.data.at("gcd").get<int64_t>() ? 1.0 : 0.0;
  }

 private:
  int64_t min_count_, max_count_;
  int64_t max_value_, max_factor_;
};

}  // namespace

std::shared_ptr<Task> make_sorting(const nlohmann::json& o) {
  return std::make_shared<SortingTask>(o);
}
std::shared_ptr<Task> make_gcd(const nlohmann::json& o) {
  return std::make_shared<GcdTask>(o);
}

}  // namespace seek::reward::detail
