#include "core/stdout.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.hpp"

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

void check_stdout_writable() {
  SEEK_CHECK(g_first_errno == 0, "cannot write to standard output: {}", std::strerror(g_first_errno));
}

}  // namespace seek
