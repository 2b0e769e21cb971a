#include "core/stdout.hpp"

#include <cerrno>
#include <cstdio>

namespace seek {

namespace {
int g_first_errno = 0;
}  // namespace

void flush_stdout() {
  errno = 0;
  if (std::fflush(stdout) != 0 && g_first_errno == 0) g_first_errno = errno;
}

int stdout_flush_errno() {
  return g_first_errno;
}

}  // namespace seek
