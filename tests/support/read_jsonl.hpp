// Reading a JSONL file a run wrote (metrics.jsonl, completions.jsonl) in tests.
#pragma once
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace seek::test {

// One parsed object per line of `path` (none when the file is missing).
inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::vector<nlohmann::json> v;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) v.push_back(nlohmann::json::parse(line));
  return v;
}

}  // namespace seek::test
