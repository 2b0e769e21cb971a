// Errors that reach the user. Every failure on bad input throws seek::Error with a message that names the
// file, key or tensor at fault, so the CLI can print it and exit instead of crashing.
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace seek {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// An error of a training run whose message ends with advice about the run's folder (--resume it, move its
// checkpoints aside): a caller that removes that folder when the run fails (seek demo) reports problem(),
// without advice that no longer applies.
class RunError : public Error {
 public:
  RunError(std::string problem, const std::string& advice)
      : Error(problem + ". " + advice), problem_(std::move(problem)) {}
  const std::string& problem() const { return problem_; }

 private:
  std::string problem_;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace seek

// A check that stays on in release builds: for invariants whose violation means bad input or a bug that
// would otherwise corrupt memory.
#define SEEK_CHECK(cond, ...)    \
  do {                           \
    if (!(cond)) [[unlikely]]    \
      ::seek::fail(__VA_ARGS__); \
  } while (0)
