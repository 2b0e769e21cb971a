// A whole file mapped read-only into memory. Checkpoints are read through the page cache this way, so
// opening a multi-gigabyte shard costs nothing until a tensor is actually converted. A file cut short while
// mapped (rewritten in place during a run) ends the process with an error naming it, not a bare bus error:
// the first mapping installs a SIGBUS handler that knows every mapped range.
#pragma once
#include <sys/stat.h>

#include <cstddef>
#include <filesystem>
#include <string>

namespace seek {

class MappedFile {
 public:
  MappedFile() = default;
  // Throws seek::Error naming the path and the system error when the file cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path);
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  ~MappedFile();

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void reset();

  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  int slot_ = -1;  // in the list the SIGBUS handler reads
  std::string path_;
};

// What the SIGBUS handler says of a faulting read of the file at `path`, `mapped` being its stat when it was
// mapped (device, inode, size, modification time): the end of "seek: error: <path>...", naming a file cut
// short apart from one whose page could not be read (an I/O error raises the same signal). Exposed for its
// test.
const char* mapped_read_failure(const char* path, const struct stat& mapped);

}  // namespace seek
