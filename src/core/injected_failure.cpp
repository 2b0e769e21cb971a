#include "core/injected_failure.hpp"

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "core/error.hpp"

namespace seek {

void injected_failure_point(const char* where) {
  static std::mutex mutex;
  static std::string counted_for;
  static std::map<std::string, long> calls;
  const char* spec = std::getenv("SEEK_TEST_FAIL_AT");
  const std::lock_guard lock(mutex);
  if (spec == nullptr) {  // unset: the same value set again counts afresh
    counted_for.clear();
    return;
  }
  if (counted_for != spec) {
    counted_for = spec;
    calls.clear();
  }
  const std::string s(spec);
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || s.compare(0, colon, where) != 0) return;
  if (++calls[where] == std::atol(s.c_str() + colon + 1))
    fail("injected failure at {} (SEEK_TEST_FAIL_AT)", where);
}

}  // namespace seek
