#include "core/stderr.hpp"

#include "core/sigpipe_blocked.hpp"

namespace seek {

void write_diagnostic(std::string_view text, std::FILE* to) {
  // A pipe whose reader has gone (`2> >(true)`) raised SIGPIPE, which ended the run at its first note.
  const SigpipeBlocked no_sigpipe;
  std::fwrite(text.data(), 1, text.size(), to);
  std::fflush(to);
  std::clearerr(to);  // a failed write is not an error of the run
}

}  // namespace seek
