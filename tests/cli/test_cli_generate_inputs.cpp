// Inputs to the inference commands (generate, chat, logits, perplexity, tokenize) that used to be misread,
// refused with a misleading message or too late, or answered with something other than what was asked. Each
// test says what went wrong before.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/read_file.hpp"
#include "support/run_seek.hpp"
#include "support/scoped_env.hpp"
#include "support/signal_at.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_model.hpp"
#include "tokenizer/utf8.hpp"

namespace {

namespace fs = std::filesystem;
using seek::test::CmdResult;
using seek::test::count;
using seek::test::expect_error;
using seek::test::random_byte_model;
using seek::test::run;
using seek::test::ScopedEnv;
using seek::test::SignalAt;
using seek::test::TempDir;

const std::string kTinyV3 = std::string(SEEK_TEST_DIR) + "/fixtures/tiny-v3";

// Integer flags are read in decimal (as whole_number flags are) and say their range when a value is past it:
// "--samples 010" drew 8 samples (octal), 99999999999 was "could not convert", and --stop-token took
// CLI11's message.
TEST(CliGenerateInputs, IntegerFlagsAreDecimalAndInRange) {
  TempDir tmp("cli-gen-int");
  const std::string gen = "generate --model " + kTinyV3 + " --ids 1,2 -n 1 ";
  CmdResult r = run(gen + "--samples 010", "2>/dev/null");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "--- sample "), 10u) << r.output;
  for (const char* flag : {"--samples", "--max-batch", "--logprobs"}) {
    r = run(gen + flag + " 99999999999");
    EXPECT_EQ(r.code, 1) << flag << r.output;
    EXPECT_NE(r.output.find(std::string(flag) + ": must be a whole number from "), std::string::npos)
        << flag << r.output;
    EXPECT_NE(r.output.find("to 2147483647, got '99999999999'"), std::string::npos) << flag << r.output;
  }
  r = run(gen + "--samples 0");  // below the minimum: the message the README quotes
  EXPECT_NE(r.output.find("--samples: must be a whole number >= 1, got '0'"), std::string::npos) << r.output;
  for (const char* bad : {"abc", "-1", "1,2"}) {
    r = run(gen + "--stop-token " + bad);
    EXPECT_EQ(r.code, 1) << bad << r.output;
    EXPECT_NE(r.output.find(std::string("--stop-token: must be a whole number >= 0, got '") + bad + "'"),
              std::string::npos)
        << bad << r.output;
  }
  // One value per flag: a second word was taken as another stop string or id.
  for (const auto& [two, extra] : {std::pair{"--stop Q Z", "Z"}, std::pair{"--stop-token 5 9", "9"}}) {
    r = run(gen + two);
    EXPECT_EQ(r.code, 1) << two << r.output;
    EXPECT_NE(r.output.find(std::string("the following argument was not expected: ") + extra),
              std::string::npos)
        << two << r.output;
  }
  r = run(gen + "--stop Q --stop Z --stop-token 5 --stop-token 9");
  EXPECT_EQ(r.code, 0) << r.output;
  const fs::path text = tmp.path / "t.txt";
  std::ofstream(text) << "abcdefghijklmnopqrstuvwxyz";
  const std::string model = random_byte_model(tmp.path / "m").string();
  r = run("perplexity --model " + model + " --file " + text.string() + " --ctx 010 --stride 08");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("window 10, stride 8"), std::string::npos) << r.output;
}

// A model folder's generation_config.json sets what the flags leave at their defaults (here do_sample false:
// greedy, whose log-probabilities are all 0) and adds its eos_token_id to the end tokens; a flag given wins
// (-n over max_new_tokens too), and --no-generation-config ignores the file. Before, the file was not read:
// Hugging Face's generate() and vLLM sample DeepSeek-V3 at its temperature 0.6 and top_p 0.95, seek at its
// own defaults.
TEST(CliGenerateInputs, GenerationConfigSetsDefaultsAndEndTokens) {
  TempDir tmp("cli-gen-config");
  const fs::path model = random_byte_model(tmp.path / "m");
  const std::string gen = "generate --model " + model.string() + " --ids 1,2 -n 6 --seed 5 --json ";
  auto completion = [](const CmdResult& r) {
    EXPECT_EQ(r.code, 0) << r.output;
    return nlohmann::json::parse(r.output)[0];
  };
  auto greedy = [](const nlohmann::json& c) {
    for (const auto& lp : c["logprobs"])
      if (lp.get<double>() != 0.0) return false;
    return true;
  };
  const nlohmann::json ref = completion(run(gen + "--temperature 0 --ignore-eos", "2>/dev/null"));
  const auto want = ref["tokens"].get<std::vector<int>>();
  ASSERT_EQ(want.size(), 6u);
  EXPECT_FALSE(greedy(completion(run(gen + "--ignore-eos", "2>/dev/null"))));  // the default: 0.8

  std::ofstream(model / "generation_config.json")
      << R"({"do_sample": false, "top_k": 3, "max_new_tokens": 2})";
  nlohmann::json c = completion(run(gen + "--ignore-eos", "2>/dev/null"));
  EXPECT_EQ(c["tokens"].get<std::vector<int>>(), want);
  EXPECT_TRUE(greedy(c)) << c.dump();
  CmdResult r = run(gen + "--ignore-eos", "2>&1 >/dev/null");
  EXPECT_NE(r.output.find("[seek] from generation_config.json: do_sample false (greedy), top_k 3, top_p off, "
                          "min_p off (flags override it; --no-generation-config ignores the file)"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(greedy(completion(run(gen + "--ignore-eos --temperature 1", "2>/dev/null"))));
  EXPECT_FALSE(greedy(completion(run(gen + "--ignore-eos --no-generation-config", "2>/dev/null"))));
  r = run(gen + "--ignore-eos --no-generation-config", "2>&1 >/dev/null");
  EXPECT_EQ(r.output.find("generation_config"), std::string::npos) << r.output;

  // Its end token ends the greedy sample at the token's first place.
  c = completion(run(gen, "2>/dev/null"));
  ASSERT_EQ(c["finish_reason"], "length") << "the model's own EOS came first; pick another seed";
  std::ofstream(model / "generation_config.json")
      << fmt::format(R"({{"do_sample": false, "eos_token_id": [{}]}})", want[3]);
  c = completion(run(gen, "2>/dev/null"));
  const auto cut = std::find(want.begin(), want.end(), want[3]) + 1;
  EXPECT_EQ(c["tokens"].get<std::vector<int>>(), std::vector<int>(want.begin(), cut));
  EXPECT_EQ(c["finish_reason"], "eos");
  r = run(gen, "2>&1 >/dev/null");
  EXPECT_NE(
      r.output.find(fmt::format("do_sample false (greedy), top_k off, top_p off, min_p off; end tokens {} "
                                "(flags",
                                want[3])),
      std::string::npos)
      << r.output;
  // The same as a list in config.json.
  fs::remove(model / "generation_config.json");
  nlohmann::json cfg = nlohmann::json::parse(seek::read_file(model / "config.json"));
  cfg["eos_token_id"] = {cfg.value("eos_token_id", 0), want[3]};
  std::ofstream(model / "config.json") << cfg.dump();
  c = completion(run(gen + "--temperature 0", "2>/dev/null"));
  EXPECT_EQ(c["tokens"].get<std::vector<int>>(), std::vector<int>(want.begin(), cut));
  EXPECT_EQ(c["finish_reason"], "eos");

  // An end token the model does not have is an error, with no note before it saying it was taken up.
  std::ofstream(model / "generation_config.json") << R"({"eos_token_id": 100000})";
  r = run(gen, "2>&1 >/dev/null");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("\"eos_token_id\" names 100000, not a token id"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("[seek] from generation_config.json"), std::string::npos) << r.output;
  fs::remove(model / "generation_config.json");

  // A value out of its range names the file and the key, before the model loads (here a folder that has no
  // model at all).
  const fs::path bare = tmp.path / "bare";
  fs::create_directories(bare);
  std::ofstream(bare / "generation_config.json") << R"({"top_p": 1.5})";
  r = run("generate --model " + bare.string() + " --ids 1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(
      r.output.find((bare / "generation_config.json").string() + ": \"top_p\" must be in (0, 1], got 1.5"),
      std::string::npos)
      << r.output;
  EXPECT_EQ(count(r.output, "config.json"), 1u) << r.output;  // the file's path, and nothing about the model

  // chat reads it too.
  std::ofstream(model / "generation_config.json")
      << R"({"do_sample": true, "temperature": 0.3, "max_new_tokens": 2})";
  std::ofstream(tmp.path / "messages.txt") << "hi\n";
  r = run("chat --model " + model.string(), "< " + (tmp.path / "messages.txt").string() + " 2>&1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("[seek] from generation_config.json: temperature 0.3, top_p off, max_new_tokens 2"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("generated 2 tokens"), std::string::npos) << r.output;
}

// An empty --prompt is BOS alone, as a Hugging Face generate() without input ids starts; with --no-bos there
// is no token to start from, and the error says so.
TEST(CliGenerateInputs, AnEmptyPromptIsBosAlone) {
  TempDir tmp("cli-gen-empty");
  const std::string model = random_byte_model(tmp.path / "m").string();
  CmdResult r = run("generate --model " + model + " --prompt '' -n 2 --ignore-eos");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("[seek] prompt 1 token,"), std::string::npos) << r.output;
  r = run("generate --model " + model + " --prompt '' --no-bos -n 2");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--prompt is empty and --no-bos leaves out BOS"), std::string::npos) << r.output;
  r = run("logits --model " + model + " --prompt '' --out " + (tmp.path / "x.npy").string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("float32 [1, 272]"), std::string::npos) << r.output;
  r = run("generate --model " + model + " -n 2");  // neither given is still an error
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("give a --prompt, --file or --ids"), std::string::npos) << r.output;
}

// --no-bos applies to the chat-formatted prompt too (BOS <User> hi <Assistant>: 5 tokens, 4 without BOS).
TEST(CliGenerateInputs, ChatPromptHonoursNoBos) {
  TempDir tmp("cli-gen-chat-bos");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const std::string gen = "generate --model " + model + " --prompt hi --chat -n 1 ";
  CmdResult r = run(gen);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("[seek] prompt 5 tokens"), std::string::npos) << r.output;
  r = run(gen + "--no-bos");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("[seek] prompt 4 tokens"), std::string::npos) << r.output;
}

// generate checks its sampling flags before the model loads (here a folder that does not exist), as chat
// does; an infinite temperature is not called "not >= 0".
TEST(CliGenerateInputs, SamplingFlagsAreCheckedBeforeTheModelLoads) {
  TempDir tmp("cli-gen-sampling");
  const std::string gen = "generate --model " + (tmp.path / "nope").string() + " --ids 1 ";
  CmdResult r = run(gen + "--temperature inf");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--temperature: must be a finite number >= 0, got 'inf'"), std::string::npos)
      << r.output;
  // Each range names its flag and ends with the usage line, as the integer flags' do (they said "top-p must
  // be ..." with neither).
  for (const auto& [flag, says] :
       {std::pair{"--top-p 0", "--top-p: must be in (0, 1], got '0'"},
        std::pair{"--min-p 2", "--min-p: must be in [0, 1], got '2'"},
        std::pair{"--repetition-penalty 0", "--repetition-penalty: must be a finite number > 0, got '0'"},
        std::pair{"--presence-penalty nan", "--presence-penalty: must be a finite number, got 'nan'"},
        std::pair{"--frequency-penalty -inf", "--frequency-penalty: must be a finite number, got '-inf'"},
        std::pair{"-t -1", "--temperature: must be a finite number >= 0, got '-1'"},
        std::pair{"--stop ''", "--stop: a stop string must not be empty"}}) {
    r = run(gen + flag);
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find(std::string(says) + "\nRun 'seek generate --help' for usage."), std::string::npos)
        << r.output;
    EXPECT_EQ(r.output.find("nope"), std::string::npos) << r.output;
  }
}

// chat refuses before the first message what would refuse every message: a --stop-token the model does not
// have, a --system prompt that fills the context (64 tokens here). generate names the flag too.
TEST(CliGenerateInputs, ChatChecksStopTokensAndSystemPromptFirst) {
  TempDir tmp("cli-gen-chat-first");
  const std::string model = random_byte_model(tmp.path / "m").string();
  CmdResult r = run("chat --model " + model + " --stop-token 272", "< /dev/null 2>&1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--stop-token 272 is not a token id: the vocabulary has 272 tokens"),
            std::string::npos)
      << r.output;
  r = run("generate --model " + model + " --ids 1 --stop-token 272");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--stop-token 272 is not a token id"), std::string::npos) << r.output;
  // A padding row (past the byte tokenizer's 265 tokens) is a token id, but sampling never draws it.
  r = run("generate --model " + model + " --ids 1 -n 1 --stop-token 270");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("[seek] --stop-token 270 is past the tokenizer's 265 tokens, so it is never "
                          "generated"),
            std::string::npos)
      << r.output;
  r = run("generate --model " + model + " --ids 1 -n 1 --stop-token 264");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("is past the tokenizer's"), std::string::npos) << r.output;
  r = run("chat --model " + model + " --system " + std::string(70, 's'), "< /dev/null 2>&1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--system takes the whole context"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("or raise --ctx"), std::string::npos) << r.output;  // 64 is the model's limit
  // Without --system too: BOS <User> <Assistant> fill 3 of --ctx 4, and a message (a token at least) and
  // its reply (one more) do not fit. Every message was refused in turn.
  r = run("chat --model " + model + " --ctx 4", "< /dev/null 2>&1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("seek: error: the chat format alone takes 3 tokens with an empty message, which "
                          "leaves no room for a message in the context of 4 tokens; raise --ctx"),
            std::string::npos)
      << r.output;
  std::ofstream(tmp.path / "a.txt") << "a\n";
  r = run("chat --model " + model + " --ctx 5 -n 1", "< " + (tmp.path / "a.txt").string() + " 2>&1");
  EXPECT_EQ(r.code, 0) << r.output;
  // A --system that is not UTF-8 is refused before the model loads (a typo cost a V3 checkpoint's load): a
  // budget no weights fit would be the error otherwise.
  ::setenv("SEEK_MEMORY_AVAILABLE", "10K", 1);
  r = run("chat --model " + model + " --system \"$(printf 'bad\\377')\"", "< /dev/null 2>&1");
  ::unsetenv("SEEK_MEMORY_AVAILABLE");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--system"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("UTF-8"), std::string::npos) << r.output;
  // A closed standard input ended the chat at once, exit 0, as an empty one does.
  r = run("chat --model " + model, "<&- 2>&1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("standard input is closed: seek chat reads the messages from it"),
            std::string::npos)
      << r.output;
  // A folder read as the end of the input, too: no message, exit 0.
  r = run("chat --model " + model, "< " + tmp.path.string() + " 2>&1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("standard input is a folder, not a file: seek chat reads the messages from it"),
            std::string::npos)
      << r.output;
  r = run("chat --model " + model + " --ctx 16 --system " + std::string(20, 's'), "< /dev/null 2>&1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("shorten it or raise --ctx"), std::string::npos) << r.output;
  std::ofstream(tmp.path / "in.txt") << "hi\n";
  r = run("chat --model " + model + " -n 1 --system short", "< " + (tmp.path / "in.txt").string() + " 2>&1");
  EXPECT_EQ(r.code, 0) << r.output;
}

// A reply stopped by Ctrl-C stays in the conversation as far as it got, so all of it is shown, also what
// the engine was still holding back in case it became the stop string that ends a turn (<｜User｜>): the
// stopped reply prints what the same reply cut by -n prints.
TEST(CliGenerateInputs, AStoppedChatReplyShowsAllItKeeps) {
  TempDir tmp("cli-gen-chat-stop");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const std::string in = "< " + (tmp.path / "in.txt").string() + " 2>/dev/null";
  std::ofstream(tmp.path / "in.txt") << "first\n";
  const CmdResult whole = run("chat --model " + model + " -n 3 --temperature 0 --ignore-eos", in);
  ASSERT_EQ(whole.code, 0) << whole.output;
  ASSERT_GT(whole.output.size(), 1u);  // more than the newline
  CmdResult stopped;
  {
    const SignalAt at("reply:3");  // after the third token
    stopped = run("chat --model " + model + " -n 10 --temperature 0 --ignore-eos", in);
  }
  EXPECT_EQ(stopped.code, 0) << stopped.output;
  EXPECT_EQ(stopped.output, whole.output);
}

// Ctrl-C during `seek generate` ended the process by the signal with nothing printed: no text of a --json
// or multi-sample run, no timing line. Now the samples end where they are, print as usual with finish
// "cancelled", and the process then ends by the signal (130).
TEST(CliGenerateInputs, AStoppedGenerationPrintsWhatItMade) {
  TempDir tmp("cli-gen-stop");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const std::string args = "generate --model " + model + " --prompt hi --temperature 0 --ignore-eos";
  const CmdResult whole = run(args + " -n 3", "2>/dev/null");
  ASSERT_EQ(whole.code, 0) << whole.output;
  CmdResult stopped, json, samples;
  {
    const SignalAt at("generate:3");  // after the third step: the prompt's with the first token, then two
    stopped = run(args + " -n 50", "2>&1");
    json = run(args + " -n 50 --json", "2>/dev/null");
    samples = run(args + " -n 50 --samples 2", "2>/dev/null");
  }
  EXPECT_EQ(stopped.code, 130) << stopped.output;
  // The text (its newline flushed before stderr's lines), then the timing line.
  EXPECT_NE(stopped.output.find(whole.output + "[seek] stopped by a signal\n[seek] prompt "),
            std::string::npos)
      << stopped.output;
  EXPECT_NE(stopped.output.find("| finish: cancelled\n"), std::string::npos) << stopped.output;
  EXPECT_EQ(json.code, 130) << json.output;
  const auto j = nlohmann::json::parse(json.output);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["finish_reason"], "cancelled");
  EXPECT_EQ(j[0]["tokens"].size(), 3u) << json.output;
  EXPECT_EQ(samples.code, 130) << samples.output;
  EXPECT_EQ(count(samples.output, " (cancelled) ---\n"), 2) << samples.output;
  // With a stop string the engine holds text back while it could still become one; a stopped sample prints
  // that tail too, once.
  CmdResult held, held_whole = run(args + " -n 3 --stop zzzz", "2>/dev/null");
  {
    const SignalAt at("generate:3");
    held = run(args + " -n 50 --stop zzzz", "2>/dev/null");
  }
  EXPECT_EQ(held.code, 130) << held.output;
  EXPECT_EQ(held.output, held_whole.output);
  // A signal in the step that finished every sample cut nothing: no note, and the run ends as usual.
  CmdResult last;
  {
    const SignalAt at("generate:1");
    last = run(args + " -n 1", "2>&1");
  }
  EXPECT_EQ(last.code, 0) << last.output;
  EXPECT_EQ(last.output.find("stopped by a signal"), std::string::npos) << last.output;
  EXPECT_NE(last.output.find("| finish: length\n"), std::string::npos) << last.output;
}

// Special-token text in a prompt is read as that token (as Hugging Face tokenizers do); --no-parse-special
// reads it as plain text, as `seek tokenize --no-parse-special` does. Only prompt text has such a choice.
TEST(CliGenerateInputs, NoParseSpecialReadsSpecialTokenTextAsText) {
  TempDir tmp("cli-gen-special");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const std::string out = (tmp.path / "l.npy").string();
  CmdResult r = run("logits --model " + model + " --prompt '<think>' --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("float32 [2, 272]"), std::string::npos) << r.output;  // BOS, <think>
  r = run("logits --model " + model + " --prompt '<think>' --no-parse-special --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("float32 [8, 272]"), std::string::npos) << r.output;  // BOS and 7 bytes
  r = run("generate --model " + model + " --prompt '<think>' -n 1 --no-parse-special");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("[seek] prompt 8 tokens"), std::string::npos) << r.output;
  expect_error("generate --model " + model + " --prompt hi --chat --no-parse-special",
               "with --chat the format's markers are such tokens");
  expect_error("generate --model " + model + " --ids 1 --no-parse-special", "drop --no-parse-special");
  expect_error("logits --model " + model + " --ids 1 --no-parse-special --out " + out,
               "--ids go to the model as given, so drop it");
}

// With stdout and stderr on one pipe, the samples' text came after the log-probability lines of stderr.
TEST(CliGenerateInputs, TextComesBeforeStderrLinesOnASharedPipe) {
  TempDir tmp("cli-gen-order");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const CmdResult r = run("generate --model " + model + " --prompt hi -n 3 --samples 2 --logprobs 1", "2>&1");
  ASSERT_EQ(r.code, 0) << r.output;
  const size_t text = r.output.find("--- sample 1 ("), logprobs = r.output.find("log-probabilities ---");
  ASSERT_NE(text, std::string::npos) << r.output;
  ASSERT_NE(logprobs, std::string::npos) << r.output;
  EXPECT_LT(text, logprobs) << r.output;
}

// The timing line listed every sample's finish reason: 100000 samples made one line of 700 kB. Past 8 it
// counts them.
TEST(CliGenerateInputs, ManySamplesCountTheirFinishReasons) {
  TempDir tmp("cli-gen-finish");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const std::string args = "generate --model " + model + " --prompt hi --ignore-eos -n 2 --samples ";
  CmdResult r = run(args + "8", "2>&1 >/dev/null");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("| finish: length, length, length, length, length, length, length, length\n"),
            std::string::npos)
      << r.output;
  r = run(args + "9", "2>&1 >/dev/null");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("| finish: length ×9\n"), std::string::npos) << r.output;
}

// A long prompt from a file or a pipe, as llama.cpp's -f takes one: the same tokens as --prompt with the
// text, less the newline an editor ends the file with.
TEST(CliGenerateInputs, PromptFromAFileOrStandardInput) {
  TempDir tmp("cli-gen-file");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const std::string gen = "generate --model " + model + " -n 4 --temperature 0 --ignore-eos --json ";
  const CmdResult want = run(gen + "--prompt 'two lines,\nsecond'", "2>/dev/null");
  ASSERT_EQ(want.code, 0) << want.output;
  const fs::path file = tmp.path / "prompt.txt";
  std::ofstream(file) << "two lines,\nsecond\n";
  CmdResult r = run(gen + "--file " + file.string(), "2>/dev/null");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, want.output);
  r = run(gen + "-f - < " + file.string(), "2>/dev/null");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, want.output);
  std::ofstream(file) << "two lines,\r\nsecond\r\n";  // only the final line break goes
  r = run(gen + "--file " + file.string() + " 2>&1 >/dev/null | grep -c 'prompt 19 tokens'", "");
  EXPECT_EQ(r.output, "1\n") << "BOS + 18 bytes";
  // Mistakes are named before the model loads.
  std::ofstream(file) << "caf\xE9\n";
  expect_error(gen + "--file " + file.string(),
               file.string() + " is not UTF-8 text: invalid UTF-8 at byte 3 (line 1: 0xE9)");
  expect_error(gen + "-f - < " + file.string(), "standard input is not UTF-8 text");
  expect_error(gen + "--file " + file.string(), "convert the file first (e.g. iconv -f latin1 -t utf-8)");
  // UTF-16 converted as Latin-1 would be garbage: the advice names UTF-16 where the file looks like it.
  std::ofstream(file, std::ios::binary) << std::string("\xFF\xFEh\0i\0", 6);
  expect_error(
      gen + "--file " + file.string(),
      "it looks like UTF-16 (a byte-order mark or NUL bytes): convert it first (e.g. iconv -f utf-16 -t "
      "utf-8)");
  expect_error(gen + "--file " + (tmp.path / "none.txt").string(),
               "cannot read " + (tmp.path / "none.txt").string() + ": No such file or directory");
  expect_error(gen + "--file " + tmp.path.string(), "is a folder, not a file");
  expect_error(gen + "--file ''", "--file is empty");
  expect_error(gen + "--file " + file.string() + " --prompt hi", "not both --prompt and --file");
  expect_error(gen + "--file " + file.string() + " --ids 1", "not both --file and --ids");
  expect_error(gen + "--file x --prompt hi --ids 1", "not all three");
  // seek logits reads the same prompt: the same logits as --prompt gives.
  std::ofstream(file) << "two lines,\nsecond\n";
  const std::string logits = "logits --model " + model + " --out ";
  r = run(logits + (tmp.path / "a.npy").string() + " --prompt 'two lines,\nsecond'");
  ASSERT_EQ(r.code, 0) << r.output;
  r = run(logits + (tmp.path / "b.npy").string() + " -f - < " + file.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("float32 [18, 272]"), std::string::npos) << r.output;
  EXPECT_EQ(seek::read_file(tmp.path / "a.npy"), seek::read_file(tmp.path / "b.npy"));
  expect_error(logits + "x.npy --file " + file.string() + " --ids 1", "not both --file and --ids");
  // An empty file (or one holding a line break alone) is most often a mistake: it used to run on BOS alone,
  // which --prompt '' asks for.
  std::ofstream(tmp.path / "empty.txt").flush();
  std::ofstream(tmp.path / "newline.txt") << "\n";
  for (const char* name : {"empty.txt", "newline.txt"})
    expect_error(gen + "--file " + (tmp.path / name).string(),
                 "the prompt in " + (tmp.path / name).string() + " is empty (use --prompt '' to start");
  r = run(gen + "--prompt '' 2>&1 >/dev/null | grep -c 'prompt 1 token,'", "");
  EXPECT_EQ(r.output, "1\n");
  expect_error(gen + "--no-bos --prompt ''", "--prompt is empty and --no-bos leaves out BOS");
}

// perplexity scores the file's text: a file that is not UTF-8 would be scored as U+FFFD characters.
TEST(CliGenerateInputs, PerplexityRefusesFilesThatAreNotText) {
  TempDir tmp("cli-gen-ppl");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const fs::path latin1 = tmp.path / "latin1.txt";
  std::ofstream(latin1) << "caf\xE9 ok\nna\xEFve\n";
  CmdResult r = run("perplexity --model " + model + " --file " + latin1.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find(latin1.string() + " is not UTF-8 text: invalid UTF-8 at byte 3 (line 1: 0xE9)"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("perplexity "), std::string::npos) << r.output;
  std::ofstream(tmp.path / "empty.txt").flush();
  r = run("perplexity --model " + model + " --file " + (tmp.path / "empty.txt").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("empty.txt is empty; nothing to score"), std::string::npos) << r.output;
  std::ofstream(tmp.path / "utf8.txt") << "caf\xC3\xA9 ok\n";
  r = run("perplexity --model " + model + " --file " + (tmp.path / "utf8.txt").string());
  EXPECT_EQ(r.code, 0) << r.output;
}

// Slips that were misnamed: "--out x.npy/" was "the folder x.npy does not exist", tokenize without text
// printed an empty line, and a flag given twice was "At Most 1 required but received 2".
TEST(CliGenerateInputs, SmallSlipsAreNamed) {
  TempDir tmp("cli-gen-slips");
  CmdResult r = run("logits --model " + kTinyV3 + " --ids 1 --out " + (tmp.path / "x.npy").string() + "/");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("x.npy/ ends with '/', so it names a folder; give a file name"), std::string::npos)
      << r.output;
  r = run("logits --model " + kTinyV3 + " --ids 1 --out /");
  EXPECT_NE(r.output.find("--out / is a folder; give the name of a file in it"), std::string::npos)
      << r.output;
  // A folder that cannot be looked at was an internal error (exit 2) from a throwing filesystem call.
  fs::create_symlink("loop-a", tmp.path / "loop-b");
  fs::create_symlink("loop-b", tmp.path / "loop-a");
  r = run("logits --model " + kTinyV3 + " --ids 1 --out " + (tmp.path / "loop-a" / "x.npy").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("loop-a: Too many levels of symbolic links"), std::string::npos) << r.output;
  // A name that fits, but not with the temporary's suffix: refused before the model runs, not after.
  r = run("logits --model " + kTinyV3 + " --ids 1 --out " +
          (tmp.path / (std::string(248, 'a') + ".npy")).string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("its name is 252 bytes long, and the temporary file written first"),
            std::string::npos)
      << r.output;
  r = run("logits --model " + kTinyV3 + " --ids 1 --out " +
          (tmp.path / (std::string(239, 'a') + ".npy")).string());
  EXPECT_EQ(r.code, 0) << r.output;
  // logits of a text past the context count its tokens (not "ids"), and point to perplexity's windows.
  const std::string byte_model = random_byte_model(tmp.path / "m").string();
  r = run("logits --model " + byte_model + " --prompt " + std::string(100, 'a') + " --out " +
          (tmp.path / "l.npy").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find(
                "101 tokens (BOS included) are longer than the context of 64 tokens (max_position_embeddings "
                "in config.json); seek perplexity "
                "scores a longer text in windows"),
            std::string::npos)
      << r.output;
  // A prompt that fills the context names the limit the user set, and what would fix it.
  r = run("generate --model " + kTinyV3 + " --ids 1,2,3,4 --ctx 4");
  EXPECT_NE(r.output.find("the prompt has 4 tokens and the context holds 4 (--ctx), so there is no room to "
                          "generate: raise --ctx (the model allows up to 64) or shorten the prompt"),
            std::string::npos)
      << r.output;
  r = run("tokenize --tokenizer " + kTinyV3, "< /dev/null 2>&1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("standard input is empty: give the text to encode as arguments, with --file, or on "
                          "standard input"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(run("tokenize --tokenizer " + kTinyV3 + " ''").code, 0);
  // A piped text is read as detokenize reads piped ids (it was an error), and the byte fallback of a folder
  // without tokenizer.json is announced as generate announces it (it printed byte ids without a word).
  std::ofstream(tmp.path / "hi.txt") << "hi\n";
  r = run("tokenize --tokenizer " + kTinyV3, "< " + (tmp.path / "hi.txt").string() + " 2>&1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("has no tokenizer.json; using the byte-level tokenizer (265 tokens)\n"),
            std::string::npos)
      << r.output;
  EXPECT_TRUE(r.output.ends_with("104 105 10\n")) << r.output;
  EXPECT_EQ(run("tokenize --tokenizer " + kTinyV3 + " hi", "< /dev/null 2>/dev/null").output, "104 105\n");
  r = run("generate --model " + kTinyV3 + " --ids 1 -n 2 -n 3");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("seek: error: --max-new-tokens is given 2 times; give it once"), std::string::npos)
      << r.output;
}

// logits holds all T × vocab values to write them in one piece; more than memory holds was an allocation
// failure ("internal error: std::bad_alloc"), and is now refused up front with the figures.
TEST(CliGenerateInputs, LogitsThatCannotFitInMemoryAreRefused) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the budget is sized for a plain build's resident memory, not AddressSanitizer's";
#endif
  TempDir tmp("cli-logits-memory");
  const fs::path model = random_byte_model(tmp.path / "m");
  auto cfg = nlohmann::json::parse(std::ifstream(model / "config.json"));
  cfg["max_position_embeddings"] = 32768;
  std::ofstream(model / "config.json") << cfg.dump();
  const auto logits = [&](int T) {
    std::string ids = "1";
    for (int i = 1; i < T; ++i) ids += ",1";
    return run("logits --model " + model.string() + " --ids " + ids + " --out " +
               (tmp.path / "l.npy").string());
  };
  // A budget the process's ~14 MB and the model fit in, and 20,000 × 272 float32 logits (21.8 MB) do not.
  ScopedEnv budget("SEEK_MEMORY_AVAILABLE", "24M");
  CmdResult r = logits(20000);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(
      r.output.find("seek: error: the float32 [20000, 272] logits of 20000 ids need 21.8 MB of memory, and "),
      std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("; give a shorter input"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp.path / "l.npy"));
  r = logits(100);
  EXPECT_EQ(r.code, 0) << r.output;
}

// The samples of one request decode together, a logits row each: more than memory holds is refused when the
// request is made, with the figures, not an allocation failure during decoding.
TEST(CliGenerateInputs, SamplesWhoseLogitsCannotFitAreRefused) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the budget is sized for a plain build's resident memory, not AddressSanitizer's";
#endif
  TempDir tmp("cli-samples-memory");
  const fs::path model = random_byte_model(tmp.path / "m");
  ScopedEnv budget("SEEK_MEMORY_AVAILABLE", "24M");  // 20,000 × 272 float32 logits are 21.8 MB
  const CmdResult r = run("generate --model " + model.string() + " --ids 1 -n 1 --samples 20000");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("seek: error: the float32 logits of 20000 samples over a vocabulary of 272 tokens "
                          "need 21.8 MB of memory, and "),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("; fewer samples per prompt need less"), std::string::npos) << r.output;
}

// Under an address-space limit (`ulimit -v`) too small for the run, seek stops with a message that says so:
// the loader's, when the shared libraries do not fit, else the memory check's, which sets aside room for
// threads and oneDNN's generated code (oneDNN crashed when it ran out there), or "out of memory" should an
// allocation fail after the checks. Never an internal error or a crash. The limits step from too small to
// load up to enough, at 2 threads, 3 times over (the crash was 1 run in ~30 at one limit).
TEST(CliGenerateInputs, AddressSpaceLimitsEndInAClearMessage) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer needs an unlimited address space";
#endif
  int succeeded = 0, refused = 0;
  for (int round = 0; round < 3; ++round)
    for (int mb = 30; mb <= 600; mb += 10) {
      const std::string cmd =
          fmt::format("ulimit -v {} && OMP_NUM_THREADS=2 exec {} generate --model {} --ids 1,2 -n 3 2>&1",
                      mb * 1024, SEEK_BINARY, kTinyV3);
      CmdResult r;
      FILE* p = popen(cmd.c_str(), "r");
      ASSERT_NE(p, nullptr);
      char buf[4096];
      for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
      const int status = pclose(p);
      ASSERT_TRUE(WIFEXITED(status)) << mb << " MB: ended by signal " << WTERMSIG(status) << "\n" << r.output;
      r.code = WEXITSTATUS(status);
      SCOPED_TRACE(fmt::format("{} MB: exit {}\n{}", mb, r.code, r.output));
      EXPECT_EQ(r.output.find("internal error"), std::string::npos);
      if (r.code == 0) {
        ++succeeded;
      } else if (r.code == 127) {
        EXPECT_NE(r.output.find("error while loading shared libraries"), std::string::npos);
      } else {
        EXPECT_EQ(r.code, 1);
        EXPECT_NE(r.output.find("seek: error: "), std::string::npos);
        refused += r.output.find("memory is available") != std::string::npos ||
                   r.output.find("of memory available") != std::string::npos ||
                   r.output.find(" of memory, and ") != std::string::npos;
      }
    }
  EXPECT_GT(refused, 0) << "no limit reached the memory check";
  EXPECT_GT(succeeded, 0) << "even 600 MB was too little: the test no longer reaches a run that fits";
}

// seek chat reserved each turn's cache (conversation + -n) without regard to the KV cache budget: once the
// conversation outgrew it, the next message was refused by the engine and the whole chat ended (exit 1).
// Now a budget that holds fewer tokens than the context bounds the conversation as the context does: the
// oldest turns go.
TEST(CliGenerateInputs, ChatFitsTheConversationToTheCacheBudget) {
  TempDir tmp("cli-gen-chat-budget");
  const fs::path model = random_byte_model(tmp.path / "m");
  {
    // A context of 512 tokens (the budget below holds 128 of them).
    auto cfg = nlohmann::json::parse(seek::read_file(model / "config.json"));
    cfg["max_position_embeddings"] = 512;
    std::ofstream(model / "config.json") << cfg.dump();
  }
  const CmdResult probe = run("generate --model " + model.string() + " --ids 1 -n 1");
  ASSERT_EQ(probe.code, 0) << probe.output;
  const size_t at = probe.output.find("KV cache ");
  ASSERT_NE(at, std::string::npos) << probe.output;
  const long bytes_per_token = std::stol(probe.output.substr(at + 9));
  ASSERT_GT(bytes_per_token, 0);
  const double two_blocks_gib = double(2 * 64 * bytes_per_token) / double(1 << 30);
  {
    std::ofstream in(tmp.path / "in.txt");
    for (int i = 0; i < 8; ++i) in << "message number " << i << ", some twenty\n";
  }
  const std::string chat =
      fmt::format("chat --model {} -n 8 --temperature 0 --ignore-eos --cache-mem {:.17g}", model.string(),
                  two_blocks_gib);
  const CmdResult r = run(chat, "< " + (tmp.path / "in.txt").string() + " 2>&1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "[seek] prompt"), 8u) << r.output;  // every message answered
  EXPECT_NE(r.output.find("to fit the 128 tokens the KV cache budget of "), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("seek: error"), std::string::npos) << r.output;
  // A budget without room for one block of the cache is refused before the first message.
  const CmdResult tiny =
      run(fmt::format("chat --model {} --cache-mem {:.17g}", model.string(), two_blocks_gib / 4),
          "< /dev/null 2>&1");
  EXPECT_EQ(tiny.code, 1) << tiny.output;
  EXPECT_NE(tiny.output.find("holds no block of 64 tokens"), std::string::npos) << tiny.output;
}

// A line chat refuses (not UTF-8) took a turn's seed, so every reply after it changed.
TEST(CliGenerateInputs, ARefusedChatLineLeavesTheRepliesAsTheyWere) {
  TempDir tmp("cli-gen-chat-seed");
  const std::string model = random_byte_model(tmp.path / "m").string();
  std::ofstream(tmp.path / "plain.txt") << "hi\nthere\n";
  std::ofstream(tmp.path / "refused.txt") << "a\xff"
                                             "b\nhi\nthere\n";
  const std::string chat = "chat --model " + model + " -n 6 --temperature 1 --seed 5 --ignore-eos";
  const CmdResult plain = run(chat, "< " + (tmp.path / "plain.txt").string() + " 2>/dev/null");
  const CmdResult refused = run(chat, "< " + (tmp.path / "refused.txt").string() + " 2>/dev/null");
  ASSERT_EQ(plain.code, 0) << plain.output;
  ASSERT_EQ(refused.code, 1) << refused.output;  // the refusal shows in the exit status only
  EXPECT_EQ(refused.output, plain.output);
}

// --logprobs without --json prints the log-probabilities on stderr: output asked for, which was lost with
// exit 0 when stderr could not be written. An alternative far below a tiny temperature's peak printed as
// -inf (null in --json): its log-probability is finite only in double.
TEST(CliGenerateInputs, LogprobsAreFiniteAndTheirLossIsAnError) {
  TempDir tmp("cli-gen-logprobs");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const std::string args = "generate --model " + model + " --prompt hi -n 2 --logprobs 3";
  CmdResult r = run(args, "2>/dev/full");
  EXPECT_EQ(r.code, 1) << r.output;
  r = run(args, "2>&1 >/dev/null");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, " | top "), 2u) << r.output;
  r = run(args + " --temperature 1e-45 --top-k 0 --top-p 1 --min-p 0 --json", "2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  for (const auto& alts : j[0]["top_logprobs"]) {
    ASSERT_EQ(alts.size(), 3u) << r.output;
    EXPECT_EQ(alts[0]["logprob"], 0.0) << r.output;
    for (size_t i = 1; i < 3; ++i) {
      ASSERT_TRUE(alts[i]["logprob"].is_number_float()) << r.output;
      EXPECT_LT(alts[i]["logprob"].get<double>(), -1e38) << r.output;  // past float's range
    }
  }
  r = run(args + " --temperature 1e-45 --top-k 0 --top-p 1 --min-p 0", "2>&1 >/dev/null");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("inf"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("e+"), std::string::npos) << r.output;
  // Not asked for, the alternatives are null, not an empty list (which read as tokens without any).
  r = run("generate --model " + model + " --prompt hi -n 2 --json", "2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(nlohmann::json::parse(r.output)[0]["top_logprobs"].is_null()) << r.output;
}

// A penalty that overflows a logit after some tokens were streamed: the error came right after the text,
// which had no newline.
TEST(CliGenerateInputs, AnErrorMidStreamEndsTheLineFirst) {
  TempDir tmp("cli-gen-midstream");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const CmdResult r = run("generate --model " + model +
                              " --prompt hi -n 8 --frequency-penalty -1e38 "
                              "--temperature 0 --ignore-eos",
                          "2>/dev/null");
  EXPECT_EQ(r.code, 1) << r.output;
  ASSERT_GT(r.output.size(), 1u) << "no token was streamed before the error";
  EXPECT_EQ(r.output.back(), '\n') << r.output;
}

// What the model wrote that is not UTF-8 (a sample cut by -n right after a lead byte, bytes that start no
// character) prints as U+FFFD, as --json writes it: the text output, streamed or not, ended in raw broken
// UTF-8 (the engine holds a character's first bytes back only while the sample runs).
TEST(CliGenerateInputs, TextOutputIsValidUtf8) {
  TempDir tmp("cli-gen-utf8");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const std::string gen = "generate --model " + model + " -p hi -n 1 -t 2 --top-k 0 --top-p 1 --min-p 0 ";
  const std::string fffd = "\xEF\xBF\xBD";
  const CmdResult j = run(gen + "--samples 64 --json", "2>/dev/null");
  ASSERT_EQ(j.code, 0) << j.output;
  size_t broken = 0;
  for (const auto& c : nlohmann::json::parse(j.output)) broken += count(c["text"].get<std::string>(), fffd);
  ASSERT_GT(broken, 0u) << "no sample ended inside a character: this would test nothing";
  const CmdResult t = run(gen + "--samples 64", "2>/dev/null");
  ASSERT_EQ(t.code, 0) << t.output;
  EXPECT_TRUE(seek::tok::utf8_is_valid(t.output)) << t.output;
  EXPECT_EQ(count(t.output, fffd), broken) << t.output;
  // Streamed (one sample): seeds until one ends inside a character.
  size_t streamed_broken = 0;
  for (int seed = 1; seed <= 30 && streamed_broken == 0; ++seed) {
    const CmdResult one = run(gen + "--seed " + std::to_string(seed), "2>/dev/null");
    ASSERT_EQ(one.code, 0) << one.output;
    EXPECT_TRUE(seek::tok::utf8_is_valid(one.output)) << seed << " " << one.output;
    streamed_broken += count(one.output, fffd);
  }
  EXPECT_GT(streamed_broken, 0u);
  // So do chat's replies.
  size_t chat_broken = 0;
  for (int seed = 1; seed <= 30 && chat_broken == 0; ++seed) {
    const CmdResult one = seek::test::run_fed(
        "printf 'hi\\n'",
        "chat --model " + model + " -n 1 -t 2 --top-k 0 --top-p 1 --min-p 0 --seed " + std::to_string(seed),
        "2>/dev/null");
    ASSERT_EQ(one.code, 0) << one.output;
    EXPECT_TRUE(seek::tok::utf8_is_valid(one.output)) << seed << " " << one.output;
    chat_broken += count(one.output, fffd);
  }
  EXPECT_GT(chat_broken, 0u);
}

}  // namespace
