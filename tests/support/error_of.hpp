// The message of the seek::Error that f throws, or "" when it throws none: for tests that check what an error
// says.
#pragma once
#include <functional>
#include <string>

#include "core/error.hpp"

namespace seek::test {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace seek::test
