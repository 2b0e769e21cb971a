// An environment variable set for one scope, whatever the test does in it (a failed ASSERT returns early).
#pragma once
#include <cstdlib>
#include <string>
#include <utility>

namespace seek::test {

struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
};

}  // namespace seek::test
