// Crash-safe file replacement: data goes to "<target>.tmp.<pid>", is fsynced, then renamed over the target
// and the folder is fsynced. A reader (or a restart after a crash) sees the old file or the complete new one,
// never a torn write; on any failure the temporary is removed and the old file is left untouched.
#pragma once
#include <cstddef>
#include <filesystem>
#include <string_view>

namespace seek {

class AtomicFile {
 public:
  // Creates the temporary; throws seek::Error naming it and strerror when that is impossible.
  explicit AtomicFile(std::filesystem::path target);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temporary unless commit() succeeded

  // Appends all n bytes (retrying short writes and EINTR) or throws; a throw removes the temporary.
  void write(const void* data, size_t n);
  // fsync, close, rename over the target, fsync the folder. Throws (and cleans up) on any failure.
  void commit();

  const std::filesystem::path& target() const { return target_; }

 private:
  [[noreturn]] void abort_with(std::string_view what, int err);

  std::filesystem::path target_, tmp_;
  int fd_ = -1;
  bool done_ = false;
};

// fsync on a folder makes a rename or unlink in it durable. Throws seek::Error naming the folder.
void fsync_directory(const std::filesystem::path& dir);

// Convenience: the whole contents at once.
void write_file_atomically(const std::filesystem::path& target, std::string_view contents);

}  // namespace seek
