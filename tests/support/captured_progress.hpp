// ProgressLine options that write into a string instead of stderr, as to a log (a line per update, none
// rewritten), on a clock that moves 20 s per reading so that every update is due.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/progress.hpp"

namespace seek::test {

class CapturedProgress {
 public:
  CapturedProgress() : file_(open_memstream(&buf_, &size_)) {
    options.out = file_;
    options.terminal = 0;
    options.now = [this] { return clock_ += 20; };
  }
  ~CapturedProgress() {
    std::fclose(file_);
    std::free(buf_);
  }
  CapturedProgress(const CapturedProgress&) = delete;
  CapturedProgress& operator=(const CapturedProgress&) = delete;

  // Everything written so far.
  std::string text() {
    std::fflush(file_);
    return std::string(buf_, size_);
  }

  ProgressLine::Options options;

 private:
  char* buf_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
  double clock_ = 0;
};

}  // namespace seek::test
