// `seek eval` (and `seek grpo`) inputs that used to run on something other than what was asked, or report
// numbers about nothing: a --tokenizer folder that does not exist (or the tokenizer.json file itself)
// silently meant the byte tokenizer, a tokenizer larger than the model was not checked up front, a reward
// that applies to no problem reported a mean of 0, --k 0 and --max-new-tokens 0 gave meaningless scores,
// --k 1 1 printed pass@1 twice, and --temperature 1e300 was reported as "inf".
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/read_file.hpp"
#include "model/model_dir.hpp"
#include "support/run_seek.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_model.hpp"

namespace {

namespace fs = std::filesystem;
using seek::test::TempDir;

using seek::test::CmdResult;
using seek::test::run;

using seek::test::count;

using seek::test::random_byte_model;

using seek::test::expect_error;

struct CliEvalInputs : ::testing::Test {
  TempDir tmp{"cli-eval-inputs"};
  std::string model = random_byte_model(tmp.path / "m").string();
  std::string maths = (tmp.path / "maths.jsonl").string();
  CliEvalInputs() {
    std::ofstream(maths) << R"({"prompt": "What is 2+2?", "answer": "4"})"
                         << "\n";
  }
  std::string eval(const std::string& extra) const {
    return "eval --model " + model + " --data " + maths + " --max-new-tokens 2 " + extra;
  }
};

// Empty names: --out "" ran and wrote nothing, --model "" said "model directory  does not exist", and a
// problems file that cannot be read said "cannot open" without the reason.
TEST_F(CliEvalInputs, EmptyNamesAndUnreadableFilesSayWhatIsWrong) {
  expect_error(eval("--out ''"), "--out is empty");
  expect_error(eval("--tokenizer ''"), "--tokenizer: needs a folder name");
  expect_error("eval --model '' --data " + maths, "the model directory is an empty name");
  const std::string missing = (tmp.path / "missing.jsonl").string();
  expect_error("eval --model " + model + " --data " + missing,
               "cannot read " + missing + ": No such file or directory");
}

TEST_F(CliEvalInputs, TokenizerFolderMustExist) {
  const std::string typo = (tmp.path / "typo").string();
  expect_error(eval("--tokenizer " + typo), "--tokenizer " + typo + ": no such folder");
  expect_error(eval("--tokenizer " + maths), "--tokenizer " + maths + " is a file; give the folder");
  // seek grpo checks its tokenizer with its settings, before anything loads.
  expect_error("grpo --init " + model + " --data " + maths + " --out " + (tmp.path / "g").string() +
                   " --tokenizer " + typo,
               typo + ": no such folder");
  EXPECT_FALSE(fs::exists(tmp.path / "g"));
  // An existing folder without tokenizer.json still means the byte tokenizer.
  fs::create_directories(tmp.path / "bytes");
  const CmdResult r = run(eval("--tokenizer " + (tmp.path / "bytes").string()));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("pass@1"), std::string::npos) << r.output;
}

// A run folder given where a model folder goes names the model inside it (it said only "has no config.json",
// or "cannot read .../config.json").
TEST_F(CliEvalInputs, ARunFolderForAModelNamesItsModel) {
  const fs::path run_dir = tmp.path / "run";
  fs::create_directories(run_dir);
  fs::copy(model, run_dir / "model", fs::copy_options::recursive);
  const std::string hint = "it is a run folder, whose trained model is " + (run_dir / "model").string();
  expect_error("eval --model " + run_dir.string() + " --data " + maths, hint);
  expect_error("grpo --init " + run_dir.string() + " --data " + maths + " --out " + (tmp.path / "g").string(),
               hint);
  expect_error("train --init " + run_dir.string() + " --data " + maths + " --objective sft --out " +
                   (tmp.path / "t").string(),
               hint);
}

// A chat problem's completions name its messages: they were logged with the empty prompt text.
TEST_F(CliEvalInputs, ChatProblemsAreLoggedWithTheirMessages) {
  const std::string chats = (tmp.path / "chats.jsonl").string();
  std::ofstream(chats) << R"({"messages": [{"role": "user", "content": "What is 2+2?"}], "answer": "4"})"
                       << "\n";
  const std::string out = (tmp.path / "ev.jsonl").string();
  const CmdResult r = run("eval --model " + model + " --data " + chats + " --max-new-tokens 2 --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  const nlohmann::json line =
      nlohmann::json::parse(seek::read_file(out).substr(0, seek::read_file(out).find('\n')));
  EXPECT_EQ(line["messages"][0]["content"], "What is 2+2?") << line.dump();
  EXPECT_FALSE(line.contains("prompt")) << line.dump();
}

// --think (eval) and think (grpo) open the thinking of a DeepSeek-V3.1 model's chat prompts; on a model whose
// format has no such switch they are refused before the model loads.
TEST_F(CliEvalInputs, ThinkNeedsAModelThatCanSwitchItsThinking) {
  expect_error(eval("--think"), "--think: the DeepSeek-V3 chat format has no thinking to turn on");
  expect_error(
      "grpo --init " + model + " --data " + maths + " --out " + (tmp.path / "g").string() + " --think",
      "think: the DeepSeek-V3 chat format has no thinking to turn on");
  EXPECT_FALSE(fs::exists(tmp.path / "g"));  // refused with the settings, before the run folder is made
  std::ifstream f(std::string(SEEK_TEST_DIR) + "/tokenizer/fixtures/deepseek_v31_chat_template.jinja");
  const std::string v31((std::istreambuf_iterator<char>(f)), {});
  std::ofstream(fs::path(model) / "tokenizer_config.json") << nlohmann::json{{"chat_template", v31}}.dump();
  CmdResult r = run(eval("--think"));
  EXPECT_EQ(r.code, 0) << r.output;
  // GRPO on chat problems, in the thinking mode and without, and on plain prompts in it (the rewards follow
  // each prompt: tests/reward/test_reward_review.cpp).
  const std::string chats = (tmp.path / "chats.jsonl").string();
  std::ofstream(chats) << R"({"messages": [{"role": "user", "content": "2+2?"}], "answer": "4"})"
                       << "\n";
  for (const std::string& extra : {std::string(" --think"), std::string()}) {
    const fs::path out = tmp.path / (extra.empty() ? "plain-run" : "think-run");
    r = run("grpo --init " + model + " --data " + chats + " --out " + out.string() +
            " --steps 1 --prompts-per-step 1 --group-size 2 --max-completion-length 4" + extra);
    EXPECT_EQ(r.code, 0) << extra << r.output;
  }
  r = run("grpo --init " + model + " --data " + maths + " --out " + (tmp.path / "gp").string() +
          " --steps 1 --prompts-per-step 1 --group-size 2 --max-completion-length 4 --think");
  EXPECT_EQ(r.code, 0) << r.output;
}

// word_reversal's default held-out set has three words: 10 problems were mostly copies (later noted as
// such); now each distinct one is evaluated once, and eval says there are fewer than asked.
TEST_F(CliEvalInputs, RepeatedHeldOutProblemsAreNoted) {
  const CmdResult r = run("eval --model " + model +
                          " --task word_reversal --task-options '{\"template\": \"plain\"}' --problems 10 "
                          "--max-new-tokens 1");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(
      r.output.find("note: task 'word_reversal' has only 3 distinct held-out problems with these options, "
                    "fewer than the 10 asked for: each is evaluated once"),
      std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("3 problems"), std::string::npos) << r.output;
}

// A prompt longer than the context is refused naming the problem (the message said only "the prompt").
TEST_F(CliEvalInputs, APromptTooLongNamesItsProblem) {
  const std::string data = (tmp.path / "long.jsonl").string();
  std::ofstream(data) << R"({"prompt": "hi", "answer": "1"})"
                      << "\n"
                      << nlohmann::json{{"prompt", std::string(100, 'x')}, {"answer", "1"}}.dump() << "\n";
  expect_error("eval --model " + model + " --data " + data + " --max-new-tokens 2",
               "problem long.jsonl:2: the prompt has 101 tokens and the context holds 64");
}

// A prompt near the end of the context leaves less room than --max-new-tokens: those completions were
// measured with a smaller budget than asked, with nothing said.
TEST_F(CliEvalInputs, CompletionsCutByTheContextAreNoted) {
  const std::string data = (tmp.path / "near.jsonl").string();
  std::ofstream(data) << nlohmann::json{{"prompt", std::string(54, 'x')}, {"answer", "1"}}.dump() << "\n";
  CmdResult r =
      run("eval --model " + model + " --data " + data + " --max-new-tokens 20 --samples 4 --temperature 1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(" of 4 completions ended at the end of the model's context (64 tokens) before "
                          "--max-new-tokens 20: their prompts left less room"),
            std::string::npos)
      << r.output;
  // A budget the context cannot hold whatever the prompt: said as such, not blamed on the prompts.
  std::ofstream(data) << R"({"prompt": "hi", "answer": "1"})"
                      << "\n";
  r = run("eval --model " + model + " --data " + data + " --max-new-tokens 100 --samples 4 --temperature 1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(
      r.output.find("before --max-new-tokens 100: the context holds fewer tokens than that with any prompt"),
      std::string::npos)
      << r.output;
  r = run("eval --model " + model + " --data " + data + " --max-new-tokens 2 --samples 4 --temperature 1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("end of the model's context"), std::string::npos) << r.output;
}

TEST_F(CliEvalInputs, ATokenizerLargerThanTheModelIsRefused) {
  {
    std::ofstream corpus(tmp.path / "corpus.txt");
    for (int i = 0; i < 200; ++i) corpus << "the quick brown fox " << i << " jumps over the lazy dog\n";
  }
  const std::string tok = (tmp.path / "tok").string();
  CmdResult r =
      run("tokenizer train --vocab-size 300 --input " + (tmp.path / "corpus.txt").string() + " --out " + tok);
  ASSERT_EQ(r.code, 0) << r.output;
  expect_error(eval("--tokenizer " + tok), "has 300 tokens but the model's vocab_size is 272");
}

TEST_F(CliEvalInputs, ARewardThatAppliesToNoProblemIsRefused) {
  expect_error(eval("--rewards '{\"code\": 1}'"),
               "none of the --rewards {\"code\":1} applies to the 1 problem");
  const CmdResult r = run(eval("--rewards '{\"accuracy\": 1}'"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("mean reward"), std::string::npos) << r.output;
}

TEST_F(CliEvalInputs, FlagsThatWouldScoreNothing) {
  for (const char* k : {"0", "-1"})
    expect_error(eval(std::string("--k ") + k), "--k: must be a whole number >= 1");
  expect_error(eval("--max-new-tokens 0"), "--max-new-tokens: must be a whole number >= 1");
  expect_error(eval("--samples 2 --temperature 1 --k 3"), "pass@3 needs at least 3 samples per problem");
  for (const char* t : {"1e300", "-1e300"}) {
    const CmdResult r = run(eval(std::string("--temperature ") + t));
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find(std::string("--temperature: '") + t + "' is too large"), std::string::npos)
        << r.output;
    EXPECT_EQ(r.output.find("inf"), std::string::npos) << r.output;
  }
  // The same range as generate's, named with the flag before anything loads.
  expect_error(eval("--temperature -0.5"), "--temperature: must be a finite number >= 0, got '-0.5'");
  // A k given twice is reported once.
  const CmdResult r = run(eval("--k 1 1"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "pass@1:"), 1u) << r.output;
  // A comma list, as --ids takes one (it was refused: "must be a whole number >= 1, got '1,2'").
  const CmdResult listed = run(eval("--samples 2 --temperature 1 --k 1,2"));
  EXPECT_EQ(listed.code, 0) << listed.output;
  EXPECT_EQ(count(listed.output, "pass@1:"), 1u) << listed.output;
  EXPECT_EQ(count(listed.output, "pass@2:"), 1u) << listed.output;
  expect_error(eval("--k 1,0"), "--k: must be a whole number >= 1");
}

}  // namespace
