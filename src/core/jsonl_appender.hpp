// Logs of JSON lines that plots and resumed runs read back (metrics.jsonl, completions.jsonl): each line is
// flushed as it is written, and a failed write (a full disk) is an error naming the file, where a plain
// std::ofstream would go on without a word and leave a log that silently stops.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace seek {

class JsonlAppender {
 public:
  // Opens `path` for appending (created if missing); throws seek::Error naming it.
  explicit JsonlAppender(std::filesystem::path path);

  // One line: `line` as compact JSON (invalid UTF-8 in strings becomes U+FFFD), then "\n", flushed.
  void append(const nlohmann::json& line);

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace seek
