#include "core/jsonl_appender.hpp"

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace seek {

JsonlAppender::JsonlAppender(std::filesystem::path path) : path_(std::move(path)) {
  errno = 0;
  out_.open(path_, std::ios::app | std::ios::binary);
  SEEK_CHECK(out_.good(), "cannot open {} for writing: {}", path_.string(),
             errno ? std::strerror(errno) : "unknown error");
}

void JsonlAppender::append(const nlohmann::json& line) {
  errno = 0;
  out_ << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out_.flush();
  SEEK_CHECK(out_.good(), "cannot write to {}: {}", path_.string(),
             errno ? std::strerror(errno) : "the write failed");
}

}  // namespace seek
