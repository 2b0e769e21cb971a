// MappedFile: open + fstat + mmap, with every failure turned into a seek::Error that names the file.
#include "io/mapped_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <utility>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/temporaries.hpp"

namespace seek {

namespace {

// A file cut short while mapped (a download or sync rewriting a checkpoint in place, a data file truncated
// during training) raises SIGBUS at the first read past its new end: the process died by a bus error with no
// word. Each mapping is listed here, so the handler can name the file and end with an error instead. Only the
// handler reads the list; a slot is written before its `begin` is published and cleared before its path is
// freed, and the slot of the mapping being read cannot be cleared meanwhile (its reader is the faulting
// thread).
constexpr int kSlots = 4096;
struct Slot {
  std::atomic<bool> claimed{false};
  std::atomic<uintptr_t> begin{0};
  std::atomic<size_t> size{0};
  std::atomic<char*> path{nullptr};
  // The mapped file as it was mapped, to tell an unreadable page from a file changed since.
  std::atomic<dev_t> dev{0};
  std::atomic<ino_t> ino{0};
  std::atomic<int64_t> mtime_sec{0}, mtime_nsec{0};
};
Slot g_slots[kSlots];

void write_all(const char* text, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(STDERR_FILENO, text, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    text += w;
    n -= size_t(w);
  }
}

}  // namespace

// Only async-signal-safe calls: the SIGBUS handler's.
const char* mapped_read_failure(const char* path, const struct stat& mapped) {
  struct stat now {};
  // The very file that was mapped, unchanged since: the page is there, but could not be read. A file
  // rewritten in place (cp, rsync --inplace) may have its old length back by now, but not its modification
  // time.
  if (::stat(path, &now) == 0 && now.st_dev == mapped.st_dev && now.st_ino == mapped.st_ino &&
      now.st_size == mapped.st_size && now.st_mtim.tv_sec == mapped.st_mtim.tv_sec &&
      now.st_mtim.tv_nsec == mapped.st_mtim.tv_nsec)
    return " could not be read while seek was reading it (an I/O error: a failing disk, or a network file "
           "system that went away?)\n";
  // Changed, or replaced by a file renamed over its path, which raises no signal: it was cut short first.
  return " became shorter while seek was reading it (was it rewritten or truncated meanwhile?)\n";
}

namespace {

void on_bus_error(int sig, siginfo_t* info, void*) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(info->si_addr);
  const char* path = nullptr;
  const Slot* slot = nullptr;
  if (info->si_code == BUS_ADRERR)
    for (const Slot& s : g_slots) {
      const uintptr_t b = s.begin.load(std::memory_order_acquire);
      if (b != 0 && addr >= b && addr - b < s.size.load(std::memory_order_relaxed)) {
        path = s.path.load(std::memory_order_relaxed);
        slot = &s;
        break;
      }
    }
  if (!path) {
    // Not a file seek mapped (or a SIGBUS sent by kill): the process ends by it, as without this handler.
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    return;
  }
  const int saved = errno;
  // On a terminal a progress line may be open: the error starts on a line of its own.
  if (::isatty(STDERR_FILENO)) write_all("\n", 1);
  constexpr const char kHead[] = "seek: error: ";
  // The file named before it is looked at: a stat() on a network file system that went away can take minutes.
  write_all(kHead, sizeof kHead - 1);
  write_all(path, std::strlen(path));
  struct stat mapped {};
  mapped.st_dev = slot->dev.load(std::memory_order_relaxed);
  mapped.st_ino = slot->ino.load(std::memory_order_relaxed);
  mapped.st_size = off_t(slot->size.load(std::memory_order_relaxed));
  mapped.st_mtim.tv_sec = time_t(slot->mtime_sec.load(std::memory_order_relaxed));
  mapped.st_mtim.tv_nsec = long(slot->mtime_nsec.load(std::memory_order_relaxed));
  const char* tail = mapped_read_failure(path, mapped);
  write_all(tail, std::strlen(tail));
  remove_registered_temporaries();
  errno = saved;
  ::_exit(1);
}

void install_bus_error_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction old {};
    // A handler the host program installed stays.
    if (::sigaction(SIGBUS, nullptr, &old) != 0 || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
      return;
    struct sigaction sa {};
    sa.sa_sigaction = on_bus_error;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, nullptr);
  });
}

int register_mapping(const std::byte* data, size_t size, const std::string& path, const struct stat& st) {
  install_bus_error_handler();
  for (int i = 0; i < kSlots; ++i) {
    Slot& s = g_slots[i];
    bool free = false;
    if (!s.claimed.compare_exchange_strong(free, true)) continue;
    char* copy = new char[path.size() + 1];
    std::memcpy(copy, path.c_str(), path.size() + 1);
    s.path.store(copy, std::memory_order_relaxed);
    s.size.store(size, std::memory_order_relaxed);
    s.dev.store(st.st_dev, std::memory_order_relaxed);
    s.ino.store(st.st_ino, std::memory_order_relaxed);
    s.mtime_sec.store(int64_t(st.st_mtim.tv_sec), std::memory_order_relaxed);
    s.mtime_nsec.store(int64_t(st.st_mtim.tv_nsec), std::memory_order_relaxed);
    s.begin.store(reinterpret_cast<uintptr_t>(data), std::memory_order_release);
    return i;
  }
  return -1;  // the list is full: this file's truncation is a plain bus error, as before
}

void unregister_mapping(int slot) {
  if (slot < 0) return;
  Slot& s = g_slots[slot];
  s.begin.store(0, std::memory_order_release);
  delete[] s.path.exchange(nullptr, std::memory_order_acq_rel);
  s.claimed.store(false, std::memory_order_release);
}

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path.string()) {
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer; it is refused below as not a regular file.
  // On a regular file the flag changes nothing.
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail("cannot open {}: {}", path_, open_error_text(path, errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail("cannot stat {}: {}", path_, std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{} is not a regular file", path_);
  }
  size_ = size_t(st.st_size);
  // mmap rejects a zero length; an empty file is still a valid (if useless) mapping for the caller to judge.
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      fail("cannot mmap {} ({} bytes): {}", path_, size_, std::strerror(e));
    }
    data_ = static_cast<const std::byte*>(p);
    slot_ = register_mapping(data_, size_, path_, st);
  }
  ::close(fd);  // the mapping keeps the file alive
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      slot_(std::exchange(o.slot_, -1)),
      path_(std::move(o.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    reset();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    slot_ = std::exchange(o.slot_, -1);
    path_ = std::move(o.path_);
  }
  return *this;
}

MappedFile::~MappedFile() {
  reset();
}

void MappedFile::reset() {
  unregister_mapping(std::exchange(slot_, -1));
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace seek
