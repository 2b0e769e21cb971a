#include "core/stderr.hpp"

namespace seek {

void write_diagnostic(std::string_view text, std::FILE* to) {
  std::fwrite(text.data(), 1, text.size(), to);
  std::fflush(to);
  std::clearerr(to);  // a failed write is not an error of the run
}

}  // namespace seek
