// AtomicFile: POSIX write/fsync/rename with every return value checked, so a full disk or a read-only
// folder surfaces as a seek::Error instead of a silently truncated checkpoint.
#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/error.hpp"

namespace seek {

namespace fs = std::filesystem;

AtomicFile::AtomicFile(fs::path target) : target_(std::move(target)) {
  tmp_ = target_;
  tmp_ += ".tmp." + std::to_string(::getpid());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0)
    fail("cannot write {}: creating {} failed: {}", target_.string(), tmp_.string(), std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (done_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(tmp_.c_str());
}

void AtomicFile::abort_with(std::string_view what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  done_ = true;
  fail("cannot write {}: {} failed: {}", target_.string(), what, std::strerror(err));
}

void AtomicFile::write(const void* data, size_t n) {
  SEEK_CHECK(!done_ && fd_ >= 0, "AtomicFile::write on {} after commit or failure", target_.string());
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      abort_with(fmt::format("writing {}", tmp_.string()), errno);
    }
    // A zero-byte write for a non-zero request means no progress is possible (treat as a full disk).
    if (w == 0) abort_with(fmt::format("writing {}", tmp_.string()), ENOSPC);
    p += w;
    n -= size_t(w);
  }
}

void AtomicFile::commit() {
  SEEK_CHECK(!done_ && fd_ >= 0, "AtomicFile::commit on {} twice or after failure", target_.string());
  if (::fsync(fd_) != 0) abort_with(fmt::format("fsync of {}", tmp_.string()), errno);
  // close can report deferred write errors (NFS, quota); the data is not safe if it fails.
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) abort_with(fmt::format("close of {}", tmp_.string()), errno);
  if (::rename(tmp_.c_str(), target_.c_str()) != 0)
    abort_with(fmt::format("rename of {}", tmp_.string()), errno);
  done_ = true;
  fs::path dir = target_.parent_path();
  fsync_directory(dir.empty() ? fs::path(".") : dir);
}

void fsync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("cannot open folder {} to fsync it: {}", dir.string(), std::strerror(errno));
  // Some filesystems cannot fsync a folder (EINVAL); there is nothing more to do for them.
  if (::fsync(fd) != 0 && errno != EINVAL) {
    int e = errno;
    ::close(fd);
    fail("fsync of folder {} failed: {}", dir.string(), std::strerror(e));
  }
  ::close(fd);
}

void write_file_atomically(const fs::path& target, std::string_view contents) {
  AtomicFile f(target);
  f.write(contents.data(), contents.size());
  f.commit();
}

}  // namespace seek
