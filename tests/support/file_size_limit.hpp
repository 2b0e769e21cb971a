// A file size limit (RLIMIT_FSIZE) for one scope, with SIGXFSZ ignored: a write past it then fails with
// EFBIG, as one on a full disk fails with ENOSPC, which is how tests make a save fail part-way. The old limit
// and handler come back when the scope ends, whatever the test does in it (a failed ASSERT returns early).
#pragma once
#include <sys/resource.h>

#include <csignal>
#include <stdexcept>

namespace seek::test {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    if (::getrlimit(RLIMIT_FSIZE, &saved_) != 0) throw std::runtime_error("getrlimit(RLIMIT_FSIZE) failed");
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = saved_;
    small.rlim_cur = bytes;
    if (::setrlimit(RLIMIT_FSIZE, &small) != 0) {
      std::signal(SIGXFSZ, old_handler_);
      throw std::runtime_error("setrlimit(RLIMIT_FSIZE) failed");
    }
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = nullptr;
};

}  // namespace seek::test
