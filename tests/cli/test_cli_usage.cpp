// Command lines CLI11 cannot parse (an unknown flag or command, a missing or malformed value, no command)
// are bad input like any other: `seek: error: ...` on stderr, where to look up the usage, exit status 1
// (CLI11's own report had no prefix and exit codes 104-114). --help still prints to stdout and exits 0.
// Also runs that used to "succeed" without doing anything: an evaluation of 0 problems, a reward spec whose
// weights are all 0, and SFT data without an answer to train on.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "model/model_dir.hpp"
#include "support/run_seek.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_model.hpp"

namespace {

namespace fs = std::filesystem;
using seek::test::TempDir;

using seek::test::CmdResult;
using seek::test::run;

const std::string kTinyV3 = std::string(SEEK_TEST_DIR) + "/fixtures/tiny-v3";

// `seek --version` names the build for a bug report: the commit (known when built from a git checkout, as
// this test's build is), the compiler and oneDNN, and the vector instructions the kernels use and the CPU
// has.
TEST(CliUsage, VersionNamesTheCommitCompilerAndKernels) {
  const CmdResult r = run("--version", "2>/dev/null");
  EXPECT_EQ(r.code, 0) << r.output;
  const std::regex want(
      "seek ([0-9a-f]{12}(-dirty)?|unknown) \\(([0-9]{4}-[0-9]{2}-[0-9]{2}|unknown)\\)\n"
      "built with (g\\+\\+|clang) [^\n]+, oneDNN [0-9]+\\.[0-9]+\\.[0-9]+[^\n]*\n"
      "kernels: AVX-512 (yes|no), AVX512-BF16 (yes|no); this CPU: AVX-512 (yes|no), AVX512-BF16 (yes|no)\n");
  EXPECT_TRUE(std::regex_match(r.output, want)) << r.output;
  if (fs::exists(fs::path(SEEK_SOURCE_DIR) / ".git")) {
    EXPECT_EQ(r.output.find("unknown"), std::string::npos) << r.output;
  }
  // It is the whole program's flag: after a command it is that command's unexpected argument.
  const CmdResult after = run("generate --model x --version");
  EXPECT_EQ(after.code, 1) << after.output;
  EXPECT_NE(after.output.find("seek: error: the following argument was not expected: --version"),
            std::string::npos)
      << after.output;
}

TEST(CliUsage, ParseErrorsAreSeekErrorsWithAHint) {
  struct Case {
    std::string args, message, command;
  };
  const std::vector<Case> cases = {
      {"", "seek needs a command", "seek"},
      {"nosuch --model x", "unknown command 'nosuch'", "seek"},
      {"generat --model x", "unknown command 'generat': did you mean 'generate'?", "seek"},
      // The completion length is named per command: grpo's name in eval, eval's in grpo.
      {"eval --model x --max-completion-length 8",
       "the following arguments were not expected: --max-completion-length 8 (seek eval calls the completion "
       "length --max-new-tokens)",
       "seek eval"},
      {"grpo --init x --max-new-tokens 8",
       "the following arguments were not expected: --max-new-tokens 8 (seek grpo calls the completion length "
       "--max-completion-length)",
       "seek grpo"},
      {"--bogus", "unknown option --bogus: seek needs a command first", "seek"},
      {"train --bogus", "the following argument was not expected: --bogus", "seek train"},
      {"generate", "--model is required", "seek generate"},
      {"generate --model x --temperature abc", "--temperature: must be a number, got 'abc'", "seek generate"},
      {"generate --model x extra", "the following argument was not expected: extra", "seek generate"},
      {"generate --model x --ctx 1", "--ctx: must be a whole number >= 2, got '1'", "seek generate"},
      {"eval --model x --problems", "--problems: 1 required INT missing", "seek eval"},
      // A misspelt required flag: named next to the requirement it fails.
      {"generate --modle x",
       "--model is required (not understood: --modle x; did you mean --model for --modle?)", "seek generate"},
      // Unplaced arguments in the command line's order (CLI11 put the last first: "1 --temprature"), and the
      // flag a misspelt one is nearest to.
      {"generate --model x --temprature 1",
       "the following arguments were not expected: --temprature 1 (did you mean --temperature for "
       "--temprature?)",
       "seek generate"},
      {"generate --model x --top_k=4",
       "the following argument was not expected: --top_k=4 (did you mean --top-k for --top_k?)",
       "seek generate"},
      {"generate --model x a b c", "the following arguments were not expected: a b c", "seek generate"},
      {"generate --model x -n 1 --temprature 1",
       "the following arguments were not expected: --temprature 1 (did you mean --temperature for "
       "--temprature?)",
       "seek generate"},
      {"generate --model x --temprature 0.5 --top_p 0.5",
       "the following arguments were not expected: --temprature 0.5 --top_p 0.5 (did you mean --temperature "
       "for "
       "--temprature?)",
       "seek generate"},
      {"generate --model x a b a", "the following arguments were not expected: a b a", "seek generate"},
      {"generate --model x --zzzzzzz 1", "the following arguments were not expected: --zzzzzzz 1",
       "seek generate"},
      {"train --lr 1 --lr 2", "--lr is given 2 times; give it once", "seek train"},
      // An on/off flag given twice passed; -h with more letters behind it printed the usage and exited 0.
      {"tokenize --tokenizer x --show --show hi", "--show is given 2 times; give it once", "seek tokenize"},
      {"train --resume --resume", "--resume is given 2 times; give it once", "seek train"},
      // An option before a required one took it as a value.
      {"tokenizer train --vocab-size 300 --input --out d",
       "--out is required (the --out given was read as a value of --input, which needs its own first)",
       "seek tokenizer train"},
      {"tokenize --tokenizer x -hi",
       "the following argument was not expected: -hi (-h asks for help; text that starts with '-' goes after "
       "'--')",
       "seek tokenize"},
      {"tokenizer", "seek tokenizer needs a command", "seek tokenizer"},
      {"tokenizer bogus", "unknown command 'bogus'", "seek tokenizer"},
      {"tokenizer trian", "unknown command 'trian': did you mean 'train'?", "seek tokenizer"},
      {"tokenizer train --input a.txt --out t", "--vocab-size is required", "seek tokenizer train"},
  };
  for (const Case& c : cases) {
    const CmdResult err = run(c.args, "2>&1 >/dev/null");
    EXPECT_EQ(err.code, 1) << c.args << ": " << err.output;
    EXPECT_EQ(err.output, "seek: error: " + c.message + "\nRun '" + c.command + " --help' for usage.\n")
        << c.args;
    EXPECT_EQ(run(c.args, "2>/dev/null").output, "") << c.args << ": nothing on stdout";
  }
}

TEST(CliUsage, HelpExitsZeroOnStdout) {
  for (const char* args : {"--help", "-h", "train --help", "tokenizer --help", "tokenizer train --help",
                           "generate --model x --bogus --help",
                           // A bad value next to --help: the usage wins (CLI11 checks values first).
                           "generate --threads 5000 --help", "generate -h --temperature abc",
                           "tokenizer train --vocab-size x -h"}) {
    const CmdResult out = run(args, "2>/dev/null");
    EXPECT_EQ(out.code, 0) << args;
    EXPECT_NE(out.output.find("Usage:"), std::string::npos) << args << ": " << out.output;
    // The help of the command on the line, not of `seek`.
    const std::string args_s = args;
    const std::string command = args_s.starts_with("tokenizer train") ? "tokenizer train"
                                : args_s.starts_with("-")             ? ""
                                                                      : args_s.substr(0, args_s.find(' '));
    if (!command.empty()) {
      EXPECT_NE(out.output.find("seek " + command + " [OPTIONS]"), std::string::npos)
          << args << ": " << out.output;
    }
    EXPECT_EQ(run(args, "2>&1 >/dev/null").output, "") << args << ": nothing on stderr";
  }
}

using seek::test::random_byte_model;

TEST(CliUsage, EvalOfNoProblemsIsAnError) {
  TempDir tmp("cli-usage-eval");
  const std::string eval = "eval --model " + kTinyV3 + " --max-new-tokens 1 ";
  // A task's held-out set has no end either: a count beyond any evaluation (each problem is built before the
  // first is scored) is refused rather than filling memory without a word.
  for (const char* n : {"0", "-2", "9223372036854775807"}) {
    const CmdResult r = run(eval + "--task arithmetic --problems " + n);
    EXPECT_EQ(r.code, 1) << n << ": " << r.output;
    EXPECT_NE(
        r.output.find(std::string("seek: error: --problems must be between 1 and 10000000 for a task (got ") +
                      n + ")"),
        std::string::npos)
        << r.output;
  }
  // Read as every other count is: "010" was octal 8 problems, "0x3" hexadecimal 3.
  const std::string byte_eval =
      "eval --model " + random_byte_model(tmp.path / "m10").string() +
      " --max-new-tokens 1 --task arithmetic --task-options '{\"template\": \"plain\"}' ";
  CmdResult r10 = run(byte_eval + "--problems 010");
  EXPECT_EQ(r10.code, 0) << r10.output;
  EXPECT_NE(r10.output.find("on 10 problems of"), std::string::npos) << r10.output;
  r10 = run(byte_eval + "--problems 0x3");
  EXPECT_EQ(r10.code, 1) << r10.output;
  EXPECT_NE(r10.output.find("--problems: must be a whole number, got '0x3'"), std::string::npos)
      << r10.output;
  // A dataset has an end: 0 takes all of it, a negative count is still an error.
  const fs::path data = tmp.path / "p.jsonl";
  std::ofstream(data) << R"({"prompt": "1+1=", "answer": "2"})"
                      << "\n";
  CmdResult r = run(eval + "--data " + data.string() + " --problems -1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--problems must be at least 1, or 0 for all of --data (got -1)"),
            std::string::npos)
      << r.output;
  r = run("eval --model " + random_byte_model(tmp.path / "m").string() + " --max-new-tokens 1 --data " +
          data.string() + " --problems 0");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("on 1 problem of"), std::string::npos) << r.output;
}

TEST(CliUsage, RewardSpecWithEveryWeightZeroIsAnError) {
  const CmdResult r = run("eval --model " + kTinyV3 +
                          " --task arithmetic --problems 1 --max-new-tokens 1 --rewards '{\"accuracy\": 0}'");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("seek: error: --rewards: every reward weight is 0"), std::string::npos) << r.output;
}

TEST(CliUsage, SftDataWithoutAnswersIsAnError) {
  TempDir tmp("cli-usage-sft");
  std::ifstream in(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  auto cfg = nlohmann::json::parse(in);
  cfg["vocab_size"] = 272;  // the byte tokenizer's 265 tokens
  std::ofstream(tmp.path / "config.json") << cfg.dump();
  const fs::path data = tmp.path / "questions.jsonl";
  std::ofstream(data) << R"({"messages": [{"role": "user", "content": "What is 2+2? Say it twice."}]})"
                      << "\n"
                      << R"({"messages": [{"role": "system", "content": "Be brief."}, )"
                      << R"({"role": "user", "content": "And 3+3?"}]})"
                      << "\n";
  const CmdResult r = run(
      "train --config " + (tmp.path / "config.json").string() + " --objective sft --data " + data.string() +
      " --out " + (tmp.path / "run").string() + " --steps 1 --batch-size 1 --seq-len 8 --val-fraction 0");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("seek: error: training data " + data.string() + ": no record has an answer"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(tmp.path / "run" / "model")) << r.output;
}

// SFT moves a conversation that would cross into the next sequence to that sequence's start, after padding
// without loss; the start-up line shows the padding's share, which is time spent on no loss.
TEST(CliUsage, SftShowsItsPaddingShare) {
  TempDir tmp("cli-sft-padding");
  auto cfg = nlohmann::json::parse(std::ifstream(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json"));
  cfg["vocab_size"] = 272;
  std::ofstream(tmp.path / "config.json") << cfg.dump();
  {
    std::ofstream data(tmp.path / "qa.jsonl");
    for (int i = 0; i < 60; ++i)
      data << nlohmann::json{{"prompt", std::string(size_t(5 + i % 40), 'Q')},
                             {"completion", std::string(size_t(3 + i % 20), 'A')}}
                  .dump()
           << "\n";
  }
  const CmdResult r = run("train --config " + (tmp.path / "config.json").string() +
                          " --objective sft --data " + (tmp.path / "qa.jsonl").string() + " --out " +
                          (tmp.path / "run").string() + " --steps 1 --batch-size 1 --seq-len 64 --threads 1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("(tokenized, "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("% padding) | 1 step"), std::string::npos) << r.output;
}

// Saving a large checkpoint takes seconds, which passed in silence after the last step line: a line on stderr
// says what is being written (small models save at once and say nothing).
TEST(CliUsage, SavingALargeCheckpointSaysSo) {
  TempDir tmp("cli-saving");
  {
    std::ofstream corpus(tmp.path / "d.txt");
    for (int i = 0; i < 100; ++i) corpus << i << "+" << i % 7 << "=" << i + i % 7 << "\n";
  }
  const std::string args = " --data " + (tmp.path / "d.txt").string() +
                           " --steps 1 --seq-len 16 --batch-size 1 --threads 2 --out ";
  CmdResult r = run("train --config " + std::string(SEEK_SOURCE_DIR) + "/configs/small.json" + args +
                    (tmp.path / "big").string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("seek: saving the checkpoint to " +
                          (tmp.path / "big" / "checkpoints" / "step-00000001").string() + " ("),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("saving the model"), std::string::npos)
      << r.output;  // 87 MB: below the line's floor
}

}  // namespace
