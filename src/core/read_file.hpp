// Whole-file reads of inputs a user names (text to score, JSON settings), with errors that say why. An
// std::ifstream says nothing useful: "cannot read x" without the reason, and on a folder its first read
// throws std::ios_base::failure ("basic_filebuf::underflow ... Is a directory"), which the CLI can only
// print as an internal error.
#pragma once
#include <filesystem>
#include <string>

namespace seek {

// The bytes of `path`. Throws seek::Error: "cannot read X: No such file or directory" (or any other
// strerror), "X is a folder, not a file", "X is a device, not a text file" (a character or block device
// other than a terminal or /dev/null: /dev/zero would be read for minutes), and for an empty path "an empty
// file name". Reads until end of file, so a FIFO, a pipe or /dev/stdin works too, but not past `limit`
// bytes; 0: the memory available as check_memory_for counts it (no limit with SEEK_NO_MEMORY_CHECK=1), so a
// stream that cannot fit (`yes`) is an error and not the OOM killer. With limit_reason, limit is a cap of the
// caller's, and passing it is an error that ends with that reason.
std::string read_file(const std::filesystem::path& path, long long limit = 0,
                      const char* limit_reason = nullptr);

// read_file, where "-" is standard input (read from descriptor 0: one the caller closed is an error, where
// reopening /dev/stdin would read the /dev/null that main puts in its place as an empty input).
std::string read_input(const std::string& path, long long limit = 0, const char* limit_reason = nullptr);

// strerror(err) for a failed open of `path`, and when `path` is a symbolic link whose target is missing
// ("No such file or directory (a link to /gone/x, which does not exist)"): the name alone looked present.
std::string open_error_text(const std::filesystem::path& path, int err);

// Throws seek::Error naming `path` when it is a FIFO, socket or device, for files that must hold their bytes
// (a model's config.json, a safetensors index): read_file would wait on a FIFO for a writer, and take the
// endless stream of a device such as /dev/zero for the file's text. A folder, a missing file or a symlink
// loop is left to the read that follows, which names it.
void refuse_special_file(const std::filesystem::path& path);

// Throws seek::Error "X is a device, not a text file" for a character or block device other than /dev/null
// (an empty text, as read_file takes it): a text read to its end (training text, a file to score) that
// /dev/zero would fill memory with for minutes before the limit stops it. FIFOs pass: `<(zcat corpus.gz)` is
// text.
void refuse_device(const std::filesystem::path& path);

}  // namespace seek
