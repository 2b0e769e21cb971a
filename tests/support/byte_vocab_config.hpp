// A config file for the training tests: tiny-v3 with a vocabulary that holds the byte tokenizer's 265 tokens.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace seek::test {

// Writes dir/tiny-v3-bytes.json and returns its path.
inline std::filesystem::path byte_vocab_config(const std::filesystem::path& dir) {
  std::ifstream in(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  auto j = nlohmann::json::parse(in);
  j["vocab_size"] = 272;
  std::filesystem::path p = dir / "tiny-v3-bytes.json";
  std::ofstream(p) << j.dump(2);
  return p;
}

}  // namespace seek::test
