#include "core/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.hpp"
#include "core/resources.hpp"

namespace seek {

namespace {

bool is_dev_null(const struct stat& st) {
  struct stat null_st {};
  return S_ISCHR(st.st_mode) && ::stat("/dev/null", &null_st) == 0 && null_st.st_rdev == st.st_rdev;
}

// Reads fd to its end; name is what errors call it. Closes fd (unless it is standard input).
std::string read_descriptor(int fd, const std::string& name, long long limit, const char* limit_reason) {
  const auto done = [&] {
    if (fd != 0) ::close(fd);
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    done();
    fail("cannot read {}: {}", name, std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    done();
    fail("{} is a folder, not a file", name);
  }
  // A device gives no text but an endless stream (/dev/zero, /dev/urandom), which would fill the memory for
  // minutes before the limit ends it; a terminal (typed text) and /dev/null (nothing) are what a user means.
  if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && !is_dev_null(st) && !::isatty(fd)) {
    done();
    fail("{} is a device, not a text file", name);
  }
  if (limit <= 0 && !limit_reason) limit = memory_check_limit();  // -1: none
  // size: the file's, or -1 for a stream (read until it passed the limit).
  const auto too_large = [&](long long size) {
    done();
    if (limit_reason) {
      // Just past the limit both round to the same figure ("holds 67.1 MB, more than 67.1 MB"): then in
      // bytes.
      const bool same = size >= 0 && format_bytes(size) == format_bytes(limit);
      const auto shown = [&](long long n) { return same ? fmt::format("{} bytes", n) : format_bytes(n); };
      fail("{} {} {}: {}", name,
           size >= 0 ? fmt::format("holds {}, more than", shown(size)) : "gives more than", shown(limit),
           limit_reason);
    }
    const std::string room =
        limit == 0 ? std::string("no memory is available to read it into")
                   : fmt::format("the {} of memory available to read it into", format_bytes(limit));
    const std::string note = available_memory_note();
    fail("{} {} ({}SEEK_MEMORY_AVAILABLE sets that figure, SEEK_NO_MEMORY_CHECK=1 lifts the limit)", name,
         size >= 0
             ? fmt::format("holds {}, {}{}", format_bytes(size), limit == 0 ? "and " : "more than ", room)
         : limit == 0 ? "gives data, and " + room
                      : "gives more than " + room,
         note.empty() ? "" : note + "; ");
  };
  std::string out;
  if (S_ISREG(st.st_mode)) {
    if (limit >= 0 && st.st_size > limit) too_large(st.st_size);
    out.reserve(size_t(st.st_size));
  }
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      done();
      if (fd == 0 && e == EBADF) fail("cannot read {}: it is closed", name);
      fail("cannot read {}: {}", name, std::strerror(e));
    }
    // A stream (a pipe, /dev/zero) has no size to check first: checked before each append, and the buffer
    // grows no further than the limit (doubling past it could ask for twice the memory there is).
    if (limit >= 0 && (long long)(out.size()) + n > limit) too_large(-1);
    if (out.size() + size_t(n) > out.capacity()) {
      size_t grow = std::max(2 * out.capacity(), out.size() + size_t(n));
      if (limit >= 0) grow = std::min(grow, size_t(limit));
      out.reserve(grow);
    }
    out.append(buf, size_t(n));
  }
  done();
  return out;
}

}  // namespace

std::string open_error_text(const std::filesystem::path& path, int err) {
  std::string text = std::strerror(err);
  std::error_code ec;
  if (err == ENOENT && std::filesystem::is_symlink(std::filesystem::symlink_status(path, ec))) {
    const std::filesystem::path to = std::filesystem::read_symlink(path, ec);
    if (!ec) text += fmt::format(" (a link to {}, which does not exist)", to.string());
  }
  return text;
}

std::string read_file(const std::filesystem::path& path, long long limit, const char* limit_reason) {
  SEEK_CHECK(!path.empty(), "cannot read a file with an empty name");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot read {}: {}", path.string(), open_error_text(path, errno));
  return read_descriptor(fd, path.string(), limit, limit_reason);
}

std::string read_input(const std::string& path, long long limit, const char* limit_reason) {
  if (path != "-") return read_file(path, limit, limit_reason);
  return read_descriptor(0, "standard input", limit, limit_reason);
}

void refuse_special_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return;
  fail("{} is not a regular file (a FIFO, socket or device)", path.string());
}

void refuse_device(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && !is_dev_null(st))
    fail("{} is a device, not a text file", path.string());
}

}  // namespace seek
