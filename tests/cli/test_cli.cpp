// The `seek` binary end to end, as a user runs it: every documented subcommand exists, bad input gives a
// one-line error naming the problem (exit code 1, no crash), and a tiny pipeline train → generate → eval →
// grpo → tokenize works from the command line.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

struct CmdResult {
  int code = -1;
  std::string output;  // stdout and stderr together
};

CmdResult run(const std::string& args) {
  std::string cmd = std::string(SEEK_BINARY) + " " + args + " 2>&1";
  CmdResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

using seek::test::TempDir;

TEST(Cli, HelpListsEveryCommand) {
  CmdResult r = run("--help");
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* cmd : {"demo", "train", "grpo", "eval", "generate", "chat", "logits", "perplexity",
                          "tokenize", "detokenize", "tokenizer"})
    EXPECT_NE(r.output.find(cmd), std::string::npos) << cmd;
}

// tiny-v3 with room for the byte tokenizer's 265 tokens
fs::path byte_config(const fs::path& dir) {
  std::ifstream in(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  auto cfg = nlohmann::json::parse(in);
  cfg["vocab_size"] = 272;
  std::ofstream(dir / "config.json") << cfg.dump();
  return dir / "config.json";
}

TEST(Cli, BadInputIsAClearErrorNotACrash) {
  TempDir tmp("cli");
  CmdResult r =
      run("train --config " + byte_config(tmp.path).string() + " --data " +
          (tmp.path / "missing.txt").string() + " --out " + (tmp.path / "run").string() + " --seq-len 32");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("missing.txt"), std::string::npos) << r.output;
  r = run("generate --model " + (tmp.path / "nope").string() + " --prompt hi");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("nope"), std::string::npos) << r.output;
  r = run("train --config " + std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json --data " +
          byte_config(tmp.path).string() + " --out " + (tmp.path / "r").string() + " --schedule sometimes");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("sometimes"), std::string::npos) << r.output;
  r = run("grpo --init " + (tmp.path / "nope").string() + " --out " + (tmp.path / "g").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--task"), std::string::npos) << r.output;
  r = run("train --steps banana");
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
}

TEST(Cli, TinyPipelineTrainGenerateEvalGrpo) {
  TempDir tmp("cli");
  byte_config(tmp.path);
  {
    std::ofstream corpus(tmp.path / "corpus.txt");
    for (int i = 0; i < 400; ++i) corpus << i << "+" << i % 7 << "=" << i + i % 7 << "\n";
  }
  const std::string run_dir = (tmp.path / "run").string();
  CmdResult r = run("train --config " + (tmp.path / "config.json").string() + " --data " +
                    (tmp.path / "corpus.txt").string() + " --out " + run_dir +
                    " --steps 4 --batch-size 2 --seq-len 32 --eval-every 2 --threads 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("step      4/4"), std::string::npos) << r.output;
  r = run("generate --model " + run_dir + "/model --prompt 12+ -n 5 --seed 3");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("tokens/s"), std::string::npos) << r.output;
  // 3 layers x (16 latent + 4 rope) values: fp32 240 bytes/token; fp8 per layer: 16 latent bytes, one group
  // scale (4) and the rope part in bf16 (8).
  EXPECT_NE(r.output.find("KV cache 240 bytes/token (absorbed latent f32)"), std::string::npos) << r.output;
  r = run("generate --model " + run_dir + "/model --prompt 12+ -n 5 --seed 3 --kv-cache fp8");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("KV cache 84 bytes/token (absorbed latent fp8)"), std::string::npos) << r.output;
  r = run("generate --model " + run_dir + "/model --prompt 12+ -n 5 --kv-cache fp16");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("fp16"), std::string::npos) << r.output;
  r = run("perplexity --model " + run_dir + "/model --file " + (tmp.path / "corpus.txt").string() +
          " --ctx 32 --kv-cache bf16");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("perplexity"), std::string::npos) << r.output;
  r = run("eval --model " + run_dir +
          "/model --task arithmetic --task-options '{\"template\": \"plain\"}' "
          "--problems 3 --max-new-tokens 8");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("pass@1"), std::string::npos) << r.output;
  r = run("grpo --init " + run_dir +
          "/model --task arithmetic --task-options '{\"template\": \"plain\"}' --out " +
          (tmp.path / "grpo").string() +
          " --steps 1 --prompts-per-step 2 --group-size 2 --max-completion-length 8");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(tmp.path / "grpo" / "metrics.jsonl"));
  r = run("tokenize --tokenizer " + run_dir + "/model --show hello");
  EXPECT_EQ(r.code, 0) << r.output;
}

}  // namespace
