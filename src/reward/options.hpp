// Reading option objects strictly: every key must be known, every value of the right type, and errors name
// the key, the expected type and where the object came from ("reward 'cosine'", "task 'countdown'").
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace seek::reward {

class OptionReader {
 public:
  // Throws seek::Error if `options` is not an object (null counts as empty) or holds a key not in `known`.
  OptionReader(const nlohmann::json& options, std::string where, const std::vector<std::string>& known);

  double number(const char* key, double fallback, double min, double max) const;
  int64_t integer(const char* key, int64_t fallback, int64_t min, int64_t max) const;
  // A pair of options `min_key` <= `max_key`, each in [min, max]. Checked after the defaults are filled in: a
  // bound's valid range cannot depend on the other bound's value when only one of them is given, so
  // {"min_count": 10} against the default max_count 6 would otherwise pass and ask for an empty range.
  std::pair<int64_t, int64_t> integer_range(const char* min_key, const char* max_key, int64_t min_fallback,
                                            int64_t max_fallback, int64_t min, int64_t max) const;
  // Throws seek::Error unless low <= high (the values of options `low_key` and `high_key`, given or
  // default); the message says which of them is a default and which option to set.
  void check_order(const char* low_key, int64_t low, const char* high_key, int64_t high) const;
  bool boolean(const char* key, bool fallback) const;
  std::string string(const char* key, const std::string& fallback) const;
  bool has(const char* key) const { return j_.contains(key); }
  const std::string& where() const { return where_; }

 private:
  nlohmann::json j_;
  std::string where_;
};

}  // namespace seek::reward
