// A file descriptor that is closed when it goes out of scope, so that no error path (an exception between
// open and close) leaks one.
#pragma once
#include <unistd.h>

namespace seek {

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

}  // namespace seek
