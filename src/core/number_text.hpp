// A number as messages show it: fmt's shortest round-trip form, and NaN without its sign bit (fmt writes
// "-nan" for a NaN whose sign bit is set, which reads like a number gone negative).
#pragma once
#include <fmt/format.h>

#include <cmath>
#include <string>

namespace seek {

inline std::string number_text(double v) {
  return std::isnan(v) ? std::string("NaN") : fmt::format("{}", v);
}

}  // namespace seek
