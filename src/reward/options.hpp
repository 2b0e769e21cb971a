// Reading option objects strictly: every key must be known, every value of the right type, and errors name
// the key, the expected type and where the object came from ("reward 'cosine'", "task 'countdown'").
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace seek::reward {

class OptionReader {
 public:
  // Throws seek::Error if `options` is not an object (null counts as empty) or holds a key not in `known`.
  OptionReader(const nlohmann::json& options, std::string where, const std::vector<std::string>& known);

  double number(const char* key, double fallback, double min, double max) const;
  int64_t integer(const char* key, int64_t fallback, int64_t min, int64_t max) const;
  bool boolean(const char* key, bool fallback) const;
  std::string string(const char* key, const std::string& fallback) const;
  bool has(const char* key) const { return j_.contains(key); }
  const std::string& where() const { return where_; }

 private:
  nlohmann::json j_;
  std::string where_;
};

}  // namespace seek::reward
