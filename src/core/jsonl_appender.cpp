#include "core/jsonl_appender.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace seek {

JsonlAppender::JsonlAppender(std::filesystem::path path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  SEEK_CHECK(fd_ >= 0, "cannot open {} for writing: {}", path_.string(), std::strerror(errno));
}

JsonlAppender::~JsonlAppender() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonlAppender::append(const nlohmann::json& line) {
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const off_t before = ::lseek(fd_, 0, SEEK_END);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n > 0) {
      done += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int err = n < 0 ? errno : ENOSPC;  // a write of 0 bytes makes no progress: the disk is full
    // Part of the line may be in: cut it off, or the next reader (a resumed run, a plot) finds a torn line.
    [[maybe_unused]] const bool cut = before >= 0 && ::ftruncate(fd_, before) == 0;
    fail("cannot write to {}: {}", path_.string(), std::strerror(err));
  }
}

}  // namespace seek
