// Strict option objects (see options.hpp).
#include "reward/options.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/untrusted_json.hpp"

namespace seek::reward {

namespace {

// The reader keeps a copy of the options, and copying recurses once per nesting level.
nlohmann::json copy_options(const nlohmann::json& options, const std::string& where) {
  check_json_depth(options, where);
  return options.is_null() ? nlohmann::json::object() : options;
}

}  // namespace

OptionReader::OptionReader(const nlohmann::json& options, std::string where,
                           const std::vector<std::string>& known)
    : j_(copy_options(options, where)), where_(std::move(where)) {
  if (!j_.is_object()) fail("{}: options must be a JSON object, got {}", where_, describe_json(j_));
  for (const auto& [key, value] : j_.items()) {
    bool ok = false;
    std::string list;
    for (const std::string& k : known) {
      ok = ok || key == k;
      list += (list.empty() ? "" : ", ") + k;
    }
    if (!ok) fail("{}: unknown option '{}' (known: {})", where_, key, list.empty() ? "none" : list);
  }
}

double OptionReader::number(const char* key, double fallback, double min, double max) const {
  if (!j_.contains(key)) return fallback;
  const auto& v = j_[key];
  if (!v.is_number()) fail("{}: option '{}' must be a number, got {}", where_, key, describe_json(v));
  double d = v.get<double>();
  if (!std::isfinite(d) || d < min || d > max)
    fail("{}: option '{}' = {} is outside [{}, {}]", where_, key, d, min, max);
  return d;
}

int64_t OptionReader::integer(const char* key, int64_t fallback, int64_t min, int64_t max) const {
  if (!j_.contains(key)) return fallback;
  const auto& v = j_[key];
  if (!v.is_number_integer())
    fail("{}: option '{}' must be an integer, got {}", where_, key, describe_json(v));
  // Past int64's range a JSON integer is kept unsigned, and read as int64 it wrapped (2^64 - 1 was -1).
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(max))
    fail("{}: option '{}' = {} is outside [{}, {}]", where_, key, v.get<uint64_t>(), min, max);
  int64_t i = v.get<int64_t>();
  if (i < min || i > max) fail("{}: option '{}' = {} is outside [{}, {}]", where_, key, i, min, max);
  return i;
}

std::pair<int64_t, int64_t> OptionReader::integer_range(const char* min_key, const char* max_key,
                                                        int64_t min_fallback, int64_t max_fallback,
                                                        int64_t min, int64_t max) const {
  const int64_t lo = integer(min_key, min_fallback, min, max), hi = integer(max_key, max_fallback, min, max);
  check_order(min_key, lo, max_key, hi);
  return {lo, hi};
}

void OptionReader::check_order(const char* low_key, int64_t low, const char* high_key, int64_t high) const {
  if (low <= high) return;
  const bool low_given = has(low_key), high_given = has(high_key);
  if (low_given && !high_given)
    fail("{}: {} {} is above {} {} (its default); set {} too", where_, low_key, low, high_key, high,
         high_key);
  if (high_given && !low_given)
    fail("{}: {} {} is below {} {} (its default); set {} too", where_, high_key, high, low_key, low, low_key);
  fail("{}: {} {} is above {} {}", where_, low_key, low, high_key, high);
}

bool OptionReader::boolean(const char* key, bool fallback) const {
  if (!j_.contains(key)) return fallback;
  const auto& v = j_[key];
  if (!v.is_boolean()) fail("{}: option '{}' must be true or false, got {}", where_, key, describe_json(v));
  return v.get<bool>();
}

std::string OptionReader::string(const char* key, const std::string& fallback) const {
  if (!j_.contains(key)) return fallback;
  const auto& v = j_[key];
  if (!v.is_string()) fail("{}: option '{}' must be a string, got {}", where_, key, describe_json(v));
  return v.get<std::string>();
}

}  // namespace seek::reward
