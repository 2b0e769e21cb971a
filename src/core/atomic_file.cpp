// AtomicFile: POSIX write/fsync/rename with every return value checked, so a full disk or a read-only
// folder surfaces as a seek::Error instead of a silently truncated checkpoint.
#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/error.hpp"
#include "core/temporaries.hpp"

namespace seek {

namespace fs = std::filesystem;

namespace {

// ".tmp." and the longest process id Linux gives (pid_max is at most 2^22, 7 digits).
constexpr size_t kTemporarySuffixMax = 5 + 7;

// Why `target` must not be replaced, or "" when it may be.
std::string replace_refusal(const fs::path& target) {
  // The temporary's name adds ".tmp.<pid>": a name that fits alone could fail there, after the work is done.
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const long name_max = ::pathconf(dir.c_str(), _PC_NAME_MAX);
  const size_t limit = name_max > 0 ? size_t(name_max) : 255, name = target.filename().string().size();
  if (name + kTemporarySuffixMax > limit)
    return fmt::format(
        "its name is {} bytes long, and the temporary file written first (the name + \".tmp.\" + a process "
        "id) would pass the file system's limit of {} bytes; give a name of at most {} bytes",
        name, limit, limit - kTemporarySuffixMax);
  struct stat st {};
  if (::lstat(target.c_str(), &st) != 0)
    return errno == ENOENT ? "" : fmt::format("cannot check what is there: {}", std::strerror(errno));
  switch (st.st_mode & S_IFMT) {
    case S_IFREG:
      break;
    case S_IFDIR:
      return "it is a folder, not a file";
    case S_IFCHR:
      return "it is a character device, not a regular file";
    case S_IFBLK:
      return "it is a block device, not a regular file";
    case S_IFIFO:
      return "it is a named pipe (FIFO), not a regular file";
    case S_IFSOCK:
      return "it is a socket, not a regular file";
    case S_IFLNK: {
      std::error_code ec;
      const fs::path to = fs::read_symlink(target, ec);
      // /dev/stdout, a process substitution's /dev/fd/63: "remove the link" is no advice there.
      struct stat behind {};
      const bool resolves = ::stat(target.c_str(), &behind) == 0;
      const std::string dest = ec ? std::string() : to.string();
      if ((resolves && !S_ISREG(behind.st_mode)) || dest.starts_with("/proc/self/fd/") ||
          dest.starts_with("/dev/fd/"))
        return fmt::format(
            "it is a symbolic link{} to {}, not a file of its own: the file is written whole under a "
            "temporary name and renamed into place, so give the path of a file",
            dest.empty() ? "" : fmt::format(" ({})", dest),
            !resolves || S_ISREG(behind.st_mode) ? "an open descriptor"
            : S_ISFIFO(behind.st_mode)           ? "a pipe"
            : S_ISCHR(behind.st_mode)            ? "a terminal or other device"
            : S_ISSOCK(behind.st_mode)           ? "a socket"
            : S_ISDIR(behind.st_mode)            ? "a folder"
                                                 : "something other than a file");
      return fmt::format(
          "it is a symbolic link{}; seek does not write through links (the file behind one may be shared) "
          "nor "
          "replace them: give the file's own path or remove the link",
          ec ? "" : fmt::format(" to {}", to.string()));
    }
    default:
      return "it is not a regular file";
  }
  if ((st.st_mode & 0222) == 0)
    return fmt::format("it is read-only (mode {:04o}); make it writable or remove it to replace it",
                       st.st_mode & 07777);
  if (::access(target.c_str(), W_OK) != 0)
    return fmt::format("it is read-only for this user ({})", std::strerror(errno));
  return "";
}

// Removes what a writer of `target` killed by SIGKILL (or a power cut) left: "<target>.tmp.<pid>" of a
// process that is gone. Other signals remove their temporaries themselves (core/temporaries.hpp), but these
// were left behind for good, each as large as the file (a tokenizer, a safetensors shard). A process id is
// only this machine's (a folder on NFS or shared between containers has writers elsewhere), so a temporary
// also must not have been written to for a minute, and must not be locked: every writer holds an flock on
// its own while it lives.
void remove_stale_temporaries(const fs::path& target) {
  constexpr auto kMinAge = std::chrono::minutes(1);
  const std::string prefix = target.filename().string() + ".tmp.";
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::string_view digits = std::string_view(name).substr(prefix.size());
    if (digits.empty() || digits.size() > kTemporarySuffixMax - 5 || digits.front() == '0' ||
        digits.find_first_not_of("0123456789") != std::string_view::npos)
      continue;
    const pid_t pid = pid_t(std::stol(std::string(digits)));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const auto written = std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
    if (std::chrono::system_clock::now() - written < kMinAge) continue;
    // A shared lock conflicts with the writer's exclusive one all the same, and needs only a file open for
    // reading (NFS emulates flock with byte-range locks, where an exclusive one needs it open for writing).
    const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_SH | LOCK_NB) == 0) ::unlink(it->path().c_str());
    ::close(fd);
  }
}

}  // namespace

void check_replaceable(const fs::path& target) {
  const std::string why = replace_refusal(target);
  if (!why.empty()) fail("cannot write {}: {}", target.string(), why);
}

AtomicFile::AtomicFile(fs::path target) : target_(std::move(target)) {
  check_replaceable(target_);
  remove_stale_temporaries(target_);
  tmp_ = target_;
  tmp_ += ".tmp." + std::to_string(::getpid());
  // O_NOFOLLOW: a link planted at the temporary's name must not redirect the write elsewhere.
  // Listed before it exists, so that no signal can come between its creation and its listing.
  slot_ = register_temporary(tmp_.c_str());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0) {
    const int e = errno;
    unregister_temporary(slot_);
    fail("cannot write {}: creating {} failed: {}", target_.string(), tmp_.string(), std::strerror(e));
  }
  // Held while it is written (to the close before the rename): another writer of the target, on this machine
  // or not, leaves a locked temporary alone (remove_stale_temporaries). Best effort: a file system without
  // locks has no such writers.
  (void)::flock(fd_, LOCK_EX | LOCK_NB);
  // The replacement keeps the permissions of the file it replaces (a 0600 file stays private).
  struct stat st {};
  if (::stat(target_.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::fchmod(fd_, st.st_mode & 07777) != 0)
    abort_with("keeping the permissions of the file it replaces", errno);
}

AtomicFile::~AtomicFile() {
  if (done_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(tmp_.c_str());
  unregister_temporary(slot_);
}

void AtomicFile::abort_with(std::string_view what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  unregister_temporary(slot_);
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
  if (const std::string why = replace_refusal(target_); !why.empty()) {
    ::unlink(tmp_.c_str());
    unregister_temporary(slot_);
    done_ = true;
    fail("cannot write {}: {}", target_.string(), why);
  }
  if (::rename(tmp_.c_str(), target_.c_str()) != 0)
    abort_with(fmt::format("rename of {}", tmp_.string()), errno);
  unregister_temporary(slot_);
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

void replace_folder(const fs::path& staged, const fs::path& target, const fs::path& fallback_old) {
  auto failed = [&](const char* what, int err) {
    fail("cannot put folder {} in place of {} ({}): {}", staged.string(), target.string(), what,
         std::strerror(err));
  };
  fs::path old;
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    old = staged;
  } else if (errno == ENOENT) {  // nothing at target yet (or staged missing: the rename below says which)
    if (::rename(staged.c_str(), target.c_str()) != 0) failed("rename", errno);
  } else if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {  // no exchange on this file system
    if (::rename(target.c_str(), fallback_old.c_str()) != 0) failed("moving the old folder aside", errno);
    if (::rename(staged.c_str(), target.c_str()) != 0) {
      const int e = errno;
      ::rename(fallback_old.c_str(), target.c_str());  // the old folder back where it was
      failed("rename", e);
    }
    old = fallback_old;
  } else {
    failed("exchange", errno);
  }
  fsync_directory(target.parent_path().empty() ? fs::path(".") : target.parent_path());
  std::error_code ec;
  if (!old.empty()) fs::remove_all(old, ec);  // a leftover is only disk space: the new folder is in place
}

void write_file_atomically(const fs::path& target, std::string_view contents) {
  AtomicFile f(target);
  f.write(contents.data(), contents.size());
  f.commit();
}

}  // namespace seek
