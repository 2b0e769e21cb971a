// Logs of JSON lines that plots and resumed runs read back (metrics.jsonl, completions.jsonl): each line is
// written as it comes, and a failed write (a full disk, a file-size limit) is an error naming the file, where
// a plain std::ofstream would go on without a word and leave a log that silently stops. A line that cannot be
// written whole is cut off again, so the log never ends in a torn line.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>

namespace seek {

class JsonlAppender {
 public:
  // Opens `path` for appending (created if missing); throws seek::Error naming it.
  explicit JsonlAppender(std::filesystem::path path);
  ~JsonlAppender();
  JsonlAppender(const JsonlAppender&) = delete;
  JsonlAppender& operator=(const JsonlAppender&) = delete;

  // One line: `line` as compact JSON (invalid UTF-8 in strings becomes U+FFFD), then "\n". On failure the
  // file is as it was before the call, and seek::Error names it.
  void append(const nlohmann::json& line);

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace seek
