// Crash-safe file replacement: data goes to "<target>.tmp.<pid>" (with the permissions of the file it will
// replace, if any), is fsynced, then renamed over the target and the folder is fsynced. A reader (or a
// restart after a crash) sees the old file or the complete new one, never a torn write; on any failure the
// temporary is removed and the old file is left untouched. The temporaries of earlier writers of the same
// target that were killed outright (SIGKILL: nothing could remove them) are removed when it is written again
// (at least a minute old, and not locked: each writer holds an flock on its temporary).
// Only a missing target or a writable regular file is replaced (check_replaceable): a rename would otherwise
// turn a device into a plain file (/dev/null as root), swap a symlink for a file, or drop a read-only file.
#pragma once
#include <cstddef>
#include <filesystem>
#include <string_view>

namespace seek {

class AtomicFile {
 public:
  // check_replaceable(target), then creates the temporary; throws seek::Error naming it and strerror when
  // that is impossible.
  explicit AtomicFile(std::filesystem::path target);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();  // removes the temporary unless commit() succeeded

  // Appends all n bytes (retrying short writes and EINTR) or throws; a throw removes the temporary.
  void write(const void* data, size_t n);
  // fsync, close, check_replaceable once more (something may have appeared at the target during a long
  // write), rename over the target, fsync the folder. Throws (and cleans up) on any failure.
  void commit();

  const std::filesystem::path& target() const { return target_; }

 private:
  [[noreturn]] void abort_with(std::string_view what, int err);

  std::filesystem::path target_, tmp_;
  int fd_ = -1;
  int slot_ = -1;  // in the list of temporaries a signal removes (core/temporaries.hpp)
  bool done_ = false;
};

// Throws seek::Error ("cannot write T: it is ...") unless there is nothing at `target` or a regular file this
// process may write; the parent folder is not checked (creating the temporary names it). Refused:
//  - a folder, device, FIFO or socket: renaming over it would replace it with a plain file;
//  - a file without write permission (mode 444), also for root, whom access() lets through: the user marked
//  it
//    as not to be changed;
//  - a symbolic link, even to a regular file. Writing through it would change the file it points to, which is
//    often shared (a Hugging Face cache blob linked from several snapshots); renaming over it would silently
//    turn the link into a file. The error names the link's target so the user can give that path instead.
void check_replaceable(const std::filesystem::path& target);

// fsync on a folder makes a rename or unlink in it durable. Throws seek::Error naming the folder.
void fsync_directory(const std::filesystem::path& dir);

// Puts the complete folder `staged` at `target` so that a reader, or a restart after a crash, finds the old
// folder or the new one whole, never files of both (a model re-saved over an earlier save with as many
// shards loaded a mix). Where the file system swaps two names at once (renameat2 RENAME_EXCHANGE: ext4, xfs,
// btrfs, tmpfs) the old folder ends up at `staged`; elsewhere the old folder is renamed to `fallback_old`
// first, so a crash between the two renames leaves it there. Either way the old folder is then removed.
// Both paths must be in target's parent folder. Throws seek::Error naming the folders.
void replace_folder(const std::filesystem::path& staged, const std::filesystem::path& target,
                    const std::filesystem::path& fallback_old);

// Convenience: the whole contents at once.
void write_file_atomically(const std::filesystem::path& target, std::string_view contents);

}  // namespace seek
