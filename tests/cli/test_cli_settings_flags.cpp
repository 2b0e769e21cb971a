// The settings of `seek train` and `seek grpo` as flags and run files: numbers past their setting's type
// (--seed -5 wrapped to 18446744073709551611, 2^64 and 20-digit --steps clamped, --lr 1e400 became inf) and
// a null or wrongly typed value in a --run-config (null meant the default; "rewards": "x" was reported
// without the file) are errors naming the flag or file; training data that is a folder or a device says so
// instead of "does not exist".
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/run_seek.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using seek::test::TempDir;

using seek::test::CmdResult;
using seek::test::run;

using seek::test::expect_error;

struct CliSettingsFlags : ::testing::Test {
  TempDir tmp{"cli-settings-flags"};
  std::string config = (tmp.path / "config.json").string(), data = (tmp.path / "corpus.txt").string();
  CliSettingsFlags() {
    std::ifstream in(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
    auto cfg = nlohmann::json::parse(in);
    cfg["vocab_size"] = 272;
    std::ofstream(config) << cfg.dump();
    std::ofstream(data) << "1+1=2\n";
  }
  // The fixture's corpus is one line: enough to fail on, too short to train a step of 2 × 32 tokens.
  void write_corpus_for_a_step() const {
    std::ofstream corpus(data);
    for (int i = 0; i < 300; ++i) corpus << i << "+" << i % 7 << "=" << i + i % 7 << "\n";
  }
  std::string train(const std::string& extra, const std::string& data_file = "") const {
    return "train --config " + config + " --data " + (data_file.empty() ? data : data_file) + " --out " +
           (tmp.path / "r").string() + " --steps 1 --seq-len 32 --batch-size 2 " + extra;
  }
};

TEST_F(CliSettingsFlags, NumbersMustFitTheirSetting) {
  for (const char* seed : {"-5", "18446744073709551616"})
    expect_error(
        train(std::string("--seed ") + seed),
        std::string("--seed: must be a whole number from 0 to 18446744073709551615, got '") + seed + "'");
  expect_error(train("--steps 99999999999999999999"), "--steps: must be a whole number from");
  expect_error(train("--lr 1e400"), "--lr: '1e400' is too large");
  expect_error(train("--lr abc"), "--lr: must be a number, got 'abc'");
  // A whole number in exponent form is read as a run file reads it; a fraction or a value past the type is
  // not.
  expect_error(train("--steps 1.5"), "--steps: must be a whole number, got '1.5'");
  expect_error(train("--steps ten"), "--steps: must be a whole number, got 'ten'");
  expect_error(train("--steps 1e19"), "--steps: must be a whole number from");
  expect_error(train("--seed -1e3"), "--seed: must be a whole number from 0 to");
  expect_error(train("--steps 1e400"), "--steps: must be a whole number from");
  EXPECT_FALSE(fs::exists(tmp.path / "r"));
}

// Whole numbers are read in decimal: CLI11 alone read --batch-size 011 as octal 9.
TEST_F(CliSettingsFlags, WholeNumbersAreDecimal) {
  write_corpus_for_a_step();
  const CmdResult r =
      run("train --config " + config + " --data " + data + " --out " + (tmp.path / "r").string() +
          " --steps 1e0 --seq-len 32 --batch-size 011 --seed +010 --log-every 2.0e1");
  ASSERT_EQ(r.code, 0) << r.output;
  std::ifstream in(tmp.path / "r" / "settings.json");
  const auto saved = nlohmann::json::parse(in);
  EXPECT_EQ(saved["batch_size"], 11);
  EXPECT_EQ(saved["seed"], 10u);
  EXPECT_EQ(saved["steps"], 1);  // 1e0, as {"steps": 1e0} in a run file
  EXPECT_EQ(saved["log_every"], 20);
}

// A boolean setting given bare is true, like a switch (it used to take the next flag as its value), and still
// takes an explicit true/false.
TEST_F(CliSettingsFlags, ABareBooleanFlagIsTrue) {
  write_corpus_for_a_step();
  const auto seq_aux_saved = [&](const std::string& flags) {
    fs::remove_all(tmp.path / "r");
    const CmdResult r = run(train(flags));
    EXPECT_EQ(r.code, 0) << flags << "\n" << r.output;
    std::ifstream in(tmp.path / "r" / "settings.json");
    const auto saved = nlohmann::json::parse(in, nullptr, false);
    return saved.is_object() && saved.value("seq_aux", false);
  };
  EXPECT_FALSE(seq_aux_saved("--seq-aux false --threads 1"));
  EXPECT_TRUE(seq_aux_saved("--seq-aux --threads 1"));
  EXPECT_FALSE(seq_aux_saved("--seq-aux=false --threads 1"));
  expect_error(train("--seq-aux maybe"), "--seq-aux: must be true or false, got 'maybe'");
  expect_error(train("--seq-aux 1"), "--seq-aux: must be true or false, got '1'");
}

// OpenMP crashes (segmentation fault) when it cannot create the threads asked for, so a thread count has a
// ceiling, in every command that takes one.
TEST_F(CliSettingsFlags, ThreadCountsHaveACeiling) {
  expect_error(train("--threads 100000"), "threads must be from 0 (all cores) to 1024, got 100000");
  expect_error("grpo --init " + (tmp.path / "m").string() + " --task arithmetic --out " +
                   (tmp.path / "g").string() + " --threads 5000",
               "threads must be from 0 (all cores) to 1024, got 5000");
  expect_error("demo --out " + (tmp.path / "d").string() + " --threads 2000",
               "--threads: must be a whole number from 0 to 1024, got '2000'");
  expect_error("demo --out " + (tmp.path / "d").string() + " --threads -1",
               "--threads: must be a whole number from 0 to 1024, got '-1'");
  for (const char* cmd :
       {"generate --ids 1", "chat", "logits --ids 1 --out x.npy", "perplexity --file x", "eval --task gcd"})
    expect_error(std::string(cmd) + " --model " + (tmp.path / "m").string() + " --threads 1025",
                 "--threads: must be a whole number from 0 to 1024, got '1025'");
  EXPECT_FALSE(fs::exists(tmp.path / "r"));
  EXPECT_FALSE(fs::exists(tmp.path / "d"));
}

TEST_F(CliSettingsFlags, RunFilesNameTheirFile) {
  const std::string file = (tmp.path / "run.json").string();
  std::ofstream(file) << R"({"lr": null})";
  expect_error(train("--run-config " + file), file + ": setting \"lr\" is null");
  std::ofstream(file) << R"({"rewards": "accuracy"})";
  expect_error("grpo --init " + (tmp.path / "m").string() + " --task arithmetic --out " +
                   (tmp.path / "g").string() + " --run-config " + file,
               file + ": setting \"rewards\" must be a JSON object or array, got \"accuracy\"");
}

// A key given twice in one JSON value (nlohmann keeps the last silently): in a run file, a JSON flag, eval's
// --rewards and --task-options.
TEST_F(CliSettingsFlags, AKeyGivenTwiceIsAnError) {
  const std::string file = (tmp.path / "twice.json").string();
  std::ofstream(file) << R"({"lr": 0.1, "lr": 0.2})";
  expect_error(train("--run-config " + file), file + ": key \"lr\" appears more than once");
  const std::string grpo =
      "grpo --init " + (tmp.path / "m").string() + " --task arithmetic --out " + (tmp.path / "g").string();
  expect_error(grpo + R"( --rewards '{"accuracy": 1, "accuracy": 2}')",
               "--rewards: key \"accuracy\" appears more than once");
  const std::string eval = "eval --model " + (tmp.path / "m").string() + " --task arithmetic";
  expect_error(eval + R"( --rewards '{"format": 1, "format": 0}')",
               "--rewards: key \"format\" appears more than once");
  expect_error(eval + R"( --task-options '{"template": "plain", "template": "r1"}')",
               "--task-options: key \"template\" appears more than once");
}

// --task-options null was read as {} by eval and refused by grpo (its settings take no null): both refuse it.
TEST_F(CliSettingsFlags, NullTaskOptionsAreRefusedByEvalAsByGrpo) {
  expect_error("grpo --init " + (tmp.path / "m").string() + " --task arithmetic --out " +
                   (tmp.path / "g").string() + " --task-options null",
               "setting \"task_options\" is null");
  expect_error("eval --model " + (tmp.path / "m").string() + " --task arithmetic --task-options null",
               "--task-options is null; give a JSON object, or leave the flag out for the task's defaults");
  // A template that is not a string was read (for the chat-format note) before the task checked it:
  // "internal error", exit 2.
  for (const char* value : {"5", "null", "[\"instruction\"]"})
    expect_error("eval --model " + (tmp.path / "m").string() +
                     " --task arithmetic --task-options '{\"template\": " + value + "}'",
                 "option 'template' must be a string");
}

TEST_F(CliSettingsFlags, DataThatIsNoFileSaysWhatItIs) {
  expect_error(train("", tmp.path.string()), "is a folder; give the .txt or .jsonl files in it");
  expect_error(train("", "/dev/null"), "training data /dev/null is not a regular file");
}

// aux_alpha follows the model's config unless given; seq_aux is the run's own setting, and a config that says
// otherwise gets a note instead of being overruled silently.
TEST_F(CliSettingsFlags, AConfigsSeqAuxThatTheRunOverrulesIsNoted) {
  auto cfg = nlohmann::json::parse(std::ifstream(config));
  cfg["seq_aux"] = false;
  cfg["aux_loss_alpha"] = 0.01;
  std::ofstream(config) << cfg.dump();
  write_corpus_for_a_step();
  CmdResult r = run(train(""));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("note: " + config +
                          " has seq_aux false, but the balance loss follows the run's seq_aux (true); give "
                          "--seq-aux false to follow the config"),
            std::string::npos)
      << r.output;
  fs::remove_all(tmp.path / "r");
  r = run(train("--seq-aux false"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("has seq_aux"), std::string::npos) << r.output;
}

// A model or tokenizer folder that does not exist is named before the run folder is made: a mistyped --init
// left an --out holding settings.json behind.
TEST_F(CliSettingsFlags, AMissingFolderIsNamedBeforeTheRunFolderIsMade) {
  const std::string nope = (tmp.path / "nope").string();
  expect_error(train("--tokenizer " + nope), "tokenizer " + nope + ": no such folder");
  expect_error("train --init " + nope + " --data " + data + " --out " + (tmp.path / "r").string(),
               "--init " + nope + ": no such file or folder");
  expect_error("grpo --init " + nope + " --task countdown --out " + (tmp.path / "g").string(),
               "--init " + nope + ": no such file or folder");
  EXPECT_FALSE(fs::exists(tmp.path / "r"));
  EXPECT_FALSE(fs::exists(tmp.path / "g"));
}

}  // namespace
