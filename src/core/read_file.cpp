#include "core/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"
#include "core/resources.hpp"

namespace seek {

std::string read_file(const std::filesystem::path& path, long long limit) {
  SEEK_CHECK(!path.empty(), "cannot read a file with an empty name");
  if (limit <= 0) limit = memory_check_limit();  // -1: none
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot read {}: {}", path.string(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    fail("cannot read {}: {}", path.string(), std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail("{} is a folder, not a file", path.string());
  }
  // size: the file's, or -1 for a stream (read until it passed the limit).
  const auto too_large = [&](long long size) {
    ::close(fd);
    const std::string room =
        limit == 0 ? std::string("no memory is available to read it into")
                   : fmt::format("the {} of memory available to read it into", format_bytes(limit));
    const std::string note = available_memory_note();
    fail("{} {} ({}SEEK_MEMORY_AVAILABLE sets that figure, SEEK_NO_MEMORY_CHECK=1 lifts the limit)",
         path.string(),
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
      ::close(fd);
      fail("cannot read {}: {}", path.string(), std::strerror(e));
    }
    out.append(buf, size_t(n));
    // A stream (a pipe, /dev/zero) has no size to check first.
    if (limit >= 0 && (long long)out.size() > limit) too_large(-1);
  }
  ::close(fd);
  return out;
}

void refuse_special_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return;
  fail("{} is not a regular file (a FIFO, socket or device)", path.string());
}

}  // namespace seek
