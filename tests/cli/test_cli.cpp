// The `seek` binary end to end, as a user runs it: every documented subcommand exists, bad input gives a
// one-line error naming the problem (exit code 1, no crash), and a tiny pipeline train → generate → eval →
// grpo → tokenize works from the command line.
#include <gtest/gtest.h>
#include <omp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/read_file.hpp"
#include "model/model_dir.hpp"
#include "support/run_seek.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_model.hpp"

namespace {

namespace fs = std::filesystem;

using seek::test::CmdResult;
using seek::test::run;

using seek::test::TempDir;

using seek::test::count;

const std::string kTinyV3 = std::string(SEEK_TEST_DIR) + "/fixtures/tiny-v3";

using seek::test::random_byte_model;

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
  // A JSON flag nested 20,000 deep (merging it with --run-config copies it, recursively): an error, no crash.
  r = run("grpo --task countdown --out " + (tmp.path / "g").string() + " --task-options '" +
          std::string(20000, '[') + std::string(20000, ']') + "'");
  EXPECT_EQ(r.code, 1) << r.output.substr(0, 300);
  EXPECT_NE(r.output.find("--task-options: the value at"), std::string::npos) << r.output.substr(0, 300);
  // A negative vocabulary size must not wrap around to 2^64 - 1.
  r = run("tokenizer train --vocab-size -1 --input " + byte_config(tmp.path).string() + " --out " +
          (tmp.path / "tok").string());
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("--vocab-size: must be a whole number >= 1, got '-1'"), std::string::npos)
      << r.output;
  // A run config that is not an object of settings is named, not an internal error.
  std::ofstream(tmp.path / "array.json") << "[1]";
  r = run("grpo --task countdown --out " + (tmp.path / "g").string() + " --run-config " +
          (tmp.path / "array.json").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("a run config is a JSON object of settings"), std::string::npos) << r.output;
  // A file where a folder's config.json should be is named as such.
  fs::create_directories(tmp.path / "m" / "config.json");
  r = run("generate --model " + (tmp.path / "m").string() + " --ids 1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("config.json is a folder, not a file"), std::string::npos) << r.output;
  // A name holding terminal escapes or a carriage return is quoted escaped, not written to the terminal raw.
  r = run("generate --model \"$(printf 'x\\033[31mRED\\rfake')\" --prompt hi");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("x\\x1b[31mRED\\x0dfake"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\x1b'), std::string::npos) << r.output;
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
  // --model names the same folder, as the other inference commands take it.
  const CmdResult ids = run("tokenize --model " + run_dir + "/model hello", "2>/dev/null");
  EXPECT_EQ(ids.code, 0) << ids.output;
  const std::string id_list = ids.output.substr(0, ids.output.find('\n'));
  EXPECT_EQ(run("detokenize --model " + run_dir + "/model " + id_list, "2>/dev/null").output, "hello");
}

// A folder without tokenizer.json means the byte tokenizer, but a --tokenizer folder that does not exist is a
// typo, not a request for bytes.
// A text over 1 MB is encoded and printed in parts cut at line starts: the output is the whole text's ids on
// one line, as before (the parts are joined by single spaces).
TEST(Cli, ALargeTextTokenizesInPartsAsAWhole) {
  TempDir tmp("cli-tok-large");
  fs::create_directories(tmp.path / "bytes");
  std::string text, want;
  while (text.size() < (size_t(5) << 19)) {
    text += "ab\n";
    want += want.empty() ? "97 98 10" : " 97 98 10";
  }
  std::ofstream(tmp.path / "big.txt") << text;
  const CmdResult r =
      run("tokenize --tokenizer " + (tmp.path / "bytes").string() + " -f " + (tmp.path / "big.txt").string(),
          "2>/dev/null");
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(r.output == want + "\n") << r.output.size() << " bytes against " << want.size() + 1;
}

// Text and ids are taken as typed: CLI11 read a word "[1,2]" of a list as the two words "1" and "2"
// (tokenize encoded "1 2", wrong ids with exit 0) and dropped "[]".
TEST(Cli, TokenizeTakesBracketedWordsAsTyped) {
  TempDir tmp("cli-tok-brackets");
  fs::create_directories(tmp.path / "bytes");
  const std::string tok = "tokenize --tokenizer " + (tmp.path / "bytes").string();
  EXPECT_EQ(run(tok + " '[1,2]'", "2>/dev/null").output, "91 49 44 50 93\n");
  EXPECT_EQ(run(tok + " '[]' x", "2>/dev/null").output, "91 93 32 120\n");
  EXPECT_EQ(run("detokenize --tokenizer " + (tmp.path / "bytes").string() + " '[104,' '105]'", "2>/dev/null")
                .output,
            "hi");
}

TEST(Cli, TokenizeNeedsAnExistingTokenizerFolder) {
  TempDir tmp("cli-tok-dir");
  for (const std::string& cmd : {"tokenize --tokenizer " + (tmp.path / "typo").string() + " Hi",
                                 "detokenize --tokenizer " + (tmp.path / "typo").string() + " 72 105"}) {
    CmdResult r = run(cmd);
    EXPECT_EQ(r.code, 1) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find("typo: no such folder"), std::string::npos) << r.output;
  }
  std::ofstream(tmp.path / "tokenizer.json") << "{}";
  CmdResult r = run("tokenize --tokenizer " + (tmp.path / "tokenizer.json").string() + " Hi");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("is a file; give the folder"), std::string::npos) << r.output;
  fs::create_directories(tmp.path / "empty");
  // A folder without tokenizer.json is the byte tokenizer, which a note on stderr says.
  r = run("tokenize --tokenizer " + (tmp.path / "empty").string() + " Hi", "2>/dev/null");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "72 105\n");
  r = run("detokenize --tokenizer " + (tmp.path / "empty").string() + " 72 105");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "[seek] note: " + (tmp.path / "empty").string() +
                          " has no tokenizer.json; using the byte-level tokenizer (265 tokens)\nHi");
  // --show escapes the bytes of a character split across tokens, so its output stays UTF-8 (é is C3 A9 in
  // two byte tokens).
  r = run("tokenize --tokenizer " + (tmp.path / "empty").string() + " --show é", "2>/dev/null");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "195\t\\xC3\n169\t\\xA9\n");
  // A backslash is escaped too: the two characters "\n" and a newline showed alike. A space at the end of a
  // token is \x20: " " and "   " looked alike, and like an empty token.
  r = run("tokenize --tokenizer " + (tmp.path / "empty").string() + " --show 'a\\n' \"$(printf 'b\\nc')\"",
          "2>/dev/null");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "97\ta\n92\t\\\\\n110\tn\n32\t\\x20\n98\tb\n10\t\\n\n99\tc\n");
  // -f "" read standard input as if no --file had been given.
  r = run("tokenize --tokenizer " + (tmp.path / "empty").string() + " -f ''", "< /dev/null 2>&1");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("--file: needs a file name"), std::string::npos) << r.output;
}

// A corpus too small for the vocabulary asked for gives a smaller tokenizer and says so.
TEST(Cli, TokenizerTrainSaysWhenTheVocabularyIsSmallerThanAsked) {
  TempDir tmp("cli-tok-train");
  std::ofstream(tmp.path / "small.txt") << "the cat sat on the mat, the cat sat on the hat\n";
  CmdResult r = run("tokenizer train --vocab-size 32000 --input " + (tmp.path / "small.txt").string() +
                    " --out " + (tmp.path / "tok").string() + " --threads 1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("not the 32000 asked for"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("occurs 2 or more times"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("or a lower --min-frequency"), std::string::npos) << r.output;
  // A note, on stderr with the others: stdout keeps only results.
  r = run("tokenizer train --vocab-size 32000 --input " + (tmp.path / "small.txt").string() + " --out " +
              (tmp.path / "tok2").string() + " --threads 1",
          "2>/dev/null");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("note:"), std::string::npos) << r.output;
  r = run("tokenizer train --vocab-size 270 --input " + (tmp.path / "small.txt").string() + " --out " +
          (tmp.path / "tok3").string() + " --threads 1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("trained 270 tokens"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("note:"), std::string::npos) << r.output;
}

// A completion cut inside a multi-byte character is still printed as JSON (invalid bytes as U+FFFD), not an
// exception. Lone bytes >= 0x80 are invalid UTF-8, and a random model draws one in about every other sample.
TEST(Cli, GenerateJsonSurvivesInvalidUtf8) {
  TempDir tmp("cli-utf8");
  const std::string model = random_byte_model(tmp.path / "m").string();
  CmdResult r = run("generate --model " + model +
                        " --ids 1,2 -n 1 --samples 16 --temperature 1 --top-k 0 --top-p 1 --min-p 0 --seed 1 "
                        "--ignore-eos --json",
                    "2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j.size(), 16u);
  bool replaced = false;
  for (const auto& c : j) replaced |= c["text"].get<std::string>().find("\xEF\xBF\xBD") != std::string::npos;
  EXPECT_TRUE(replaced) << r.output;
}

TEST(Cli, LogitsRefuseNonFiniteValues) {
  TempDir tmp("cli-nan");
  const std::string model = random_byte_model(tmp.path / "m", 5).string();
  const fs::path out = tmp.path / "x.npy";
  CmdResult r = run("logits --model " + model + " --ids 1,2,5,3 --out " + out.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("not finite"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("token position 0 (input id 1), vocab id 5"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
  std::ofstream(tmp.path / "t.txt") << "ab\x05"
                                       "cd";
  r = run("perplexity --model " + model + " --file " + (tmp.path / "t.txt").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("not finite"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("perplexity -nan"), std::string::npos) << r.output;
}

// Model folders that used to crash or be read wrong: 2^62 + 4 heads wrapped to tiny-v3's real tensor sizes
// and passed every shape check (SIGSEGV in the forward pass); a NaN router bias routed tokens to arbitrary
// experts with finite logits (exit 0, wrong numbers).
// A config may claim a context of 2^31 − 1 positions: the RoPE tables grow with the positions run instead
// of covering it up front (logits used 5.8 GB in 8 s, then hung).
TEST(Cli, AHugeClaimedContextCostsOnlyWhatIsRun) {
  TempDir tmp("cli-huge-context");
  const fs::path model = random_byte_model(tmp.path / "m");
  auto cfg = nlohmann::json::parse(std::ifstream(model / "config.json"));
  cfg["max_position_embeddings"] = 2147483647;
  std::ofstream(model / "config.json") << cfg.dump();
  std::ofstream(tmp.path / "t.txt") << "hello world, hello world";
  for (const std::string& cmd :
       {"logits --model " + model.string() + " --ids 1,2,3 --out " + (tmp.path / "x.npy").string(),
        "generate --model " + model.string() + " --ids 1,2 -n 3 --cache-mem 0.01",
        "perplexity --model " + model.string() + " --file " + (tmp.path / "t.txt").string()}) {
    const CmdResult r = run(cmd);
    EXPECT_EQ(r.code, 0) << cmd << ": " << r.output;
  }
}

// --model naming a symlink loop is named as such (it was "internal error: filesystem error").
TEST(Cli, AModelFolderThatIsASymlinkLoopIsNamed) {
  TempDir tmp("cli-model-loop");
  fs::create_symlink(tmp.path / "loop", tmp.path / "loop");
  for (const std::string cmd : {"generate --ids 1", "logits --ids 1 --out x.npy", "chat"}) {
    const CmdResult r = run(cmd + " --model " + (tmp.path / "loop").string());
    EXPECT_EQ(r.code, 1) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find("cannot open --model " + (tmp.path / "loop").string() +
                            ": Too many levels of symbolic links"),
              std::string::npos)
        << cmd << ": " << r.output;
  }
}

// A model folder whose tokenizer.json is a symlink loop: named, not "internal error: filesystem error".
TEST(Cli, ATokenizerThatIsASymlinkLoopIsNamed) {
  TempDir tmp("cli-tokenizer-loop");
  const fs::path model = random_byte_model(tmp.path / "m");
  fs::create_symlink(model / "tokenizer.json", model / "tokenizer.json");
  const CmdResult r = run("generate --model " + model.string() + " --prompt hi -n 1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("Too many levels of symbolic links"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
}

TEST(Cli, HostileModelFoldersAreClearErrors) {
  TempDir tmp("cli-hostile");
  const fs::path model = random_byte_model(tmp.path / "m");
  const std::string logits =
      "logits --model " + model.string() + " --ids 1,2 --out " + (tmp.path / "x.npy").string();
  std::ifstream in(model / "config.json");
  const auto cfg = nlohmann::json::parse(in);
  auto heads = cfg;
  heads["num_attention_heads"] = (int64_t(1) << 62) + 4;
  std::ofstream(model / "config.json") << heads.dump();
  CmdResult r = run(logits);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("num_attention_heads × (qk_nope_head_dim + qk_rope_head_dim) is 5.534e+19"),
            std::string::npos)
      << r.output;
  std::ofstream(model / "config.json") << cfg.dump();
  // A router's weights or bias: NaN there chose experts arbitrarily with finite logits. With --bf16 the
  // router is held as bf16, so the check happens as it is read.
  for (const std::string name :
       {"model.layers.2.mlp.gate.e_score_correction_bias", "model.layers.1.mlp.gate.weight"}) {
    seek::Transformer<float> m(seek::ModelConfig::load((model / "config.json").string()));
    m.init_weights(7);
    auto& ps = m.params();
    ps.value[size_t(ps.layout[ps.layout.find(name)].offset + 3)] = std::numeric_limits<float>::quiet_NaN();
    seek::save_model_dir(m, model);
    for (const std::string& cmd :
         {logits, logits + " --bf16", "generate --model " + model.string() + " --ids 1,2 -n 2"}) {
      r = run(cmd);
      EXPECT_EQ(r.code, 1) << cmd << ": " << r.output;
      EXPECT_NE(r.output.find("tensor '" + name + "' in " + (model / "model.safetensors").string() +
                              " holds nan at index 3; a router's weights and bias must be finite"),
                std::string::npos)
          << cmd << ": " << r.output;
    }
  }
  // Any other weight: a NaN made `train --init` fail at step 1 with advice to lower the learning rate, and
  // logits/generate fail with no tensor named (or not at all, in an expert no prompt reached).
  std::ofstream(tmp.path / "corpus.txt") << "one two three four five six seven eight nine ten\n";
  const std::string train = "train --init " + model.string() + " --data " +
                            (tmp.path / "corpus.txt").string() + " --out " + (tmp.path / "run").string() +
                            " --steps 1 --seq-len 4 --batch-size 1 --eval-every 0 --val-fraction 0";
  for (const std::string name :
       {"model.layers.0.self_attn.kv_b_proj.weight", "model.layers.2.mlp.experts.3.down_proj.weight"}) {
    seek::Transformer<float> m(seek::ModelConfig::load((model / "config.json").string()));
    m.init_weights(7);
    auto& ps = m.params();
    ps.value[size_t(ps.layout[ps.layout.find(name)].offset + 5)] = -std::numeric_limits<float>::infinity();
    seek::save_model_dir(m, model);
    for (const std::string& cmd :
         {logits, logits + " --bf16", "generate --model " + model.string() + " --ids 1,2 -n 2", train}) {
      r = run(cmd);
      EXPECT_EQ(r.code, 1) << cmd << ": " << r.output;
      EXPECT_NE(r.output.find("tensor '" + name + "' in " + (model / "model.safetensors").string() +
                              " holds -inf at index 5; a model's weights must be finite"),
                std::string::npos)
          << cmd << ": " << r.output;
    }
  }
  // Finite, but past bf16's range: --bf16 rounded it to inf after the check, and generation failed later on
  // a non-finite logit with no tensor named. fp32 loads it.
  {
    const std::string name = "model.layers.2.mlp.experts.3.down_proj.weight";
    seek::Transformer<float> m(seek::ModelConfig::load((model / "config.json").string()));
    m.init_weights(7);
    auto& ps = m.params();
    ps.value[size_t(ps.layout[ps.layout.find(name)].offset + 6)] = 3.4e38f;
    seek::save_model_dir(m, model);
    r = run(logits);
    EXPECT_EQ(r.code, 0) << r.output;
    r = run(logits + " --bf16");
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("tensor '" + name + "' in " + (model / "model.safetensors").string() +
                            " holds 3.4e+38 at index 6, beyond bf16's range (about 3.39e38): it cannot be "
                            "held as bf16; load it without --bf16"),
              std::string::npos)
        << r.output;
  }
}

// --out is checked before the model loads: with a model folder that does not exist, the error is about --out.
TEST(Cli, LogitsCheckTheOutputPathFirst) {
  TempDir tmp("cli-out");
  const std::string missing_model = (tmp.path / "no-model").string();
  CmdResult r =
      run("logits --model " + missing_model + " --ids 1 --out " + (tmp.path / "typo/x.npy").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("does not exist; create it first"), std::string::npos) << r.output;
  r = run("logits --model " + missing_model + " --ids 1 --out " + tmp.path.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("is a folder"), std::string::npos) << r.output;
  r = run("logits --model " + kTinyV3 + " --ids 1,2 --out " + (tmp.path / "x.npy").string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(tmp.path / "x.npy"));
}

std::string file_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

// --out never replaces what is not a writable regular file, nor a file the command reads; each is refused
// before the model loads (the model folder named with it does not exist) and the thing there is untouched.
TEST(Cli, LogitsRefuseOutputsThatWouldBeLost) {
  TempDir tmp("cli-out-refuse");
  const std::string missing_model = (tmp.path / "no-model").string();
  auto logits = [&](const std::string& model, const fs::path& out) {
    return run("logits --model " + model + " --ids 1,2 --out " + out.string());
  };
  const fs::path fifo = tmp.path / "fifo.npy";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  CmdResult r = logits(missing_model, fifo);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("it is a named pipe (FIFO), not a regular file"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(fifo)));

  // A folder where no file can be made even by root, whom access() lets through: refused before the model
  // loads (the run failed only when the file was written).
  if (fs::is_directory("/proc")) {
    r = logits(missing_model, "/proc/logits.npy");
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_TRUE(r.output.find("cannot create a file in the folder /proc: ") != std::string::npos ||
                r.output.find("the folder /proc is not writable") != std::string::npos)
        << r.output;
  }

  std::ofstream(tmp.path / "ro.npy") << "keep";
  fs::permissions(tmp.path / "ro.npy",
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  r = logits(missing_model, tmp.path / "ro.npy");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("it is read-only"), std::string::npos) << r.output;
  EXPECT_EQ(file_text(tmp.path / "ro.npy"), "keep");

  std::ofstream(tmp.path / "real.npy") << "keep";
  fs::create_symlink(tmp.path / "real.npy", tmp.path / "link.npy");
  r = logits(missing_model, tmp.path / "link.npy");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("it is a symbolic link to " + (tmp.path / "real.npy").string()), std::string::npos)
      << r.output;
  EXPECT_TRUE(fs::is_symlink(tmp.path / "link.npy"));
  EXPECT_EQ(file_text(tmp.path / "real.npy"), "keep");

  // The model's own files, also under another spelling and through a hard link.
  const fs::path model = random_byte_model(tmp.path / "m");
  const std::string weights = file_text(model / "model.safetensors");
  for (const fs::path& out : {model / "model.safetensors", model / ".." / "m" / "config.json"}) {
    r = logits(model.string(), out);
    EXPECT_EQ(r.code, 1) << out << r.output;
    EXPECT_NE(r.output.find("which this command reads; writing it would destroy the model"),
              std::string::npos)
        << out << r.output;
  }
  fs::create_hard_link(model / "model.safetensors", tmp.path / "weights.npy");
  r = logits(model.string(), tmp.path / "weights.npy");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("model.safetensors, which this command reads"), std::string::npos) << r.output;
  EXPECT_EQ(file_text(model / "model.safetensors"), weights);
  r = logits(model.string(), model / "logits.npy");  // a new file in the model folder is fine
  EXPECT_EQ(r.code, 0) << r.output;
  // But not a new one at a name the next load reads there (a generation_config.json of logits broke it).
  for (const char* name : {"generation_config.json", "tokenizer.json", "model.safetensors.index.json",
                           "tokenizer.model", "vocab.json", "merges.txt"}) {
    r = logits(model.string(), tmp.path / "m" / "." / name);
    EXPECT_EQ(r.code, 1) << name << r.output;
    EXPECT_NE(r.output.find((model / name).string() + ", which loading the model in " + model.string() +
                            " reads; writing it there would break the model"),
              std::string::npos)
        << r.output;
    EXPECT_FALSE(fs::exists(model / name)) << name;
  }
  // Other names are not read by any load: results kept beside the model are fine.
  for (const char* name : {"eval.json", "extra.safetensors"}) {
    r = logits(model.string(), model / name);
    EXPECT_EQ(r.code, 0) << name << r.output;
  }
  // Shards are where the index says, in a subfolder or without the .safetensors extension (checked before
  // the model loads, so these need not hold weights).
  const fs::path sharded = tmp.path / "sharded";
  fs::create_directories(sharded / "sub");
  fs::copy_file(model / "config.json", sharded / "config.json");
  std::ofstream(sharded / "model.safetensors.index.json")
      << R"({"weight_map": {"a": "sub/a.safetensors", "b": "part2", "c": "part2"}})";
  for (const fs::path& shard : {sharded / "sub" / "a.safetensors", sharded / "part2"}) {
    // Missing, a shard the index names is still what the next load reads.
    r = logits(sharded.string(), shard);
    EXPECT_EQ(r.code, 1) << shard << r.output;
    EXPECT_NE(r.output.find(" would be " + shard.string() + ", which loading the model"), std::string::npos)
        << r.output;
    EXPECT_FALSE(fs::exists(shard));
    std::ofstream(shard) << "keep";
    r = logits(sharded.string(), shard);
    EXPECT_EQ(r.code, 1) << shard << r.output;
    EXPECT_NE(r.output.find(shard.string() + ", which this command reads"), std::string::npos) << r.output;
    EXPECT_EQ(file_text(shard), "keep");
  }
  // --file's text is an input too (it was overwritten with the logits).
  std::ofstream(tmp.path / "text.txt") << "hi\n";
  r = run("logits --model " + model.string() + " --file " + (tmp.path / "text.txt").string() + " --out " +
          (tmp.path / "text.txt").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("is the input file " + (tmp.path / "text.txt").string()), std::string::npos)
      << r.output;
  EXPECT_EQ(file_text(tmp.path / "text.txt"), "hi\n");

  // eval --out gets the same checks before it loads anything.
  r = run("eval --model " + missing_model + " --task arithmetic --out " + fifo.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("it is a named pipe (FIFO)"), std::string::npos) << r.output;
  r = run("eval --model " + model.string() + " --task arithmetic --out " + (model / "config.json").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("which this command reads"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(fifo)));
}

// More threads than cores runs (a run's results are its thread count's), with a note: 1000 threads on 2
// cores ran 50-100x slower in silence.
TEST(Cli, MoreThreadsThanCoresIsNoted) {
  const int over = omp_get_num_procs() + 1;
  const std::string gen = "generate --model " + kTinyV3 + " --ids 1,2 -n 2 --threads ";
  CmdResult r = run(gen + std::to_string(over));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(fmt::format("note: --threads {} is more than the {} cores", over, over - 1)),
            std::string::npos)
      << r.output;
  r = run(gen + std::to_string(over - 1));
  EXPECT_EQ(r.output.find("cores this process may use"), std::string::npos) << r.output;
  // Bound threads: libgomp binds the initial thread to its first place when it loads, and seek's start-up
  // exec (openmp_wait.hpp) kept that affinity, so the new image had one place and every thread ran on one
  // core. libgomp's OMP_DISPLAY_ENV shows the places each image sees: the second, the same as the first.
  for (const char* bind : {"OMP_PROC_BIND=true", "OMP_PLACES=cores OMP_PROC_BIND=close"}) {
    r = seek::test::run_command("env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT " + std::string(bind) +
                                " OMP_DISPLAY_ENV=true " + SEEK_BINARY + " " + gen +
                                std::to_string(over - 1) + " 2>&1");
    EXPECT_EQ(r.code, 0) << r.output;
    const size_t first = r.output.find("OMP_PLACES = "), second = r.output.rfind("OMP_PLACES = ");
    ASSERT_NE(first, second) << bind << ": " << r.output;  // two images: the exec happened
    const auto places = [&](size_t at) { return r.output.substr(at, r.output.find('\n', at) - at); };
    EXPECT_EQ(places(second), places(first)) << bind;
    EXPECT_EQ(r.output.find("cores this process may use"), std::string::npos) << bind << ": " << r.output;
  }
}

// oneDNN splits a GEMM for the thread count it was made with, and leaves undone the share of a thread its
// region did not start: a team OpenMP shrank (OMP_DYNAMIC=true, OMP_THREAD_LIMIT) gave logits off by 0.4 in
// silence. The limit caps the count, with a note; dynamic teams are off.
TEST(Cli, OpenmpTeamsAreNeverShortOfThreads) {
  TempDir tmp("cli-omp-team");
  const std::string ids = " --ids 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24 --out ";
  const auto logits = [&](const std::string& env, int threads, const std::string& name) {
    const fs::path out = tmp.path / name;
    const CmdResult r =
        seek::test::run_command(env + " " + SEEK_BINARY + " logits --model " + kTinyV3 + ids + out.string() +
                                " --threads " + std::to_string(threads) + " 2>&1");
    EXPECT_EQ(r.code, 0) << r.output;
    return std::pair{r.output, seek::read_file(out)};
  };
  const auto [out1, one] = logits("", 1, "one.npy");
  const auto [out2, two] = logits("", 2, "two.npy");
  const auto [limited_out, limited] = logits("OMP_THREAD_LIMIT=1", 2, "limited.npy");
  EXPECT_EQ(limited, one);
  EXPECT_NE(limited_out.find("note: OMP_THREAD_LIMIT allows 1 thread, so --threads 2 runs on 1"),
            std::string::npos)
      << limited_out;
  EXPECT_EQ(out2.find("OMP_THREAD_LIMIT"), std::string::npos) << out2;
  // Dynamic teams shrink under load, which a test cannot make for sure; a team of 2 must give the same bytes.
  EXPECT_EQ(logits("OMP_DYNAMIC=true", 2, "dynamic.npy").second, two);
  EXPECT_EQ(logits("OMP_THREAD_LIMIT=1", 0, "default.npy").second, one);
}

// oneDNN's kernels crashed in silence (a segmentation fault in JIT code) on the 16 KiB worker stacks that
// OMP_STACKSIZE=16K asks for; seek refuses such stacks before a command runs, and runs on enough of them.
TEST(Cli, TooSmallOpenmpStacksAreRefused) {
  TempDir tmp("cli-omp-stack");
  const auto logits = [&](const std::string& env) {
    return seek::test::run_command(env + " " + SEEK_BINARY + " logits --model " + kTinyV3 +
                                   " --ids 1,2,3 --threads 2 --out " + (tmp.path / "x.npy").string() +
                                   " 2>&1");
  };
  // Read as libgomp reads them: K when no unit, OMP_STACKSIZE before GOMP_STACKSIZE, and a value libgomp
  // rejects (or cannot set, under 16 KiB) left to its default.
  for (const char* small : {"OMP_STACKSIZE=16K", "OMP_STACKSIZE=' 100000 b '", "GOMP_STACKSIZE=64",
                            "OMP_STACKSIZE=16KB GOMP_STACKSIZE=32", "OMP_STACKSIZE=+16k"}) {
    const CmdResult r = logits(small);
    EXPECT_EQ(r.code, 1) << small << ": " << r.output;
    EXPECT_NE(r.output.find("seek: error: OpenMP's threads get a stack of"), std::string::npos)
        << small << ": " << r.output;
    EXPECT_NE(r.output.find("at least 256 KiB (OMP_STACKSIZE=256K)"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(tmp.path / "x.npy"));
  }
  for (const char* enough :
       {"OMP_STACKSIZE=256K", "OMP_STACKSIZE=4m", "OMP_STACKSIZE=16K OMP_THREAD_LIMIT=1", "OMP_STACKSIZE=8K",
        "OMP_STACKSIZE=1G GOMP_STACKSIZE=16", "OMP_STACKSIZE=0 GOMP_STACKSIZE=16K"}) {
    const CmdResult r = logits(enough);
    EXPECT_EQ(r.code, 0) << enough << ": " << r.output;
    EXPECT_TRUE(fs::exists(tmp.path / "x.npy")) << enough;
    fs::remove(tmp.path / "x.npy");
  }
}

// ONEDNN_DEFAULT_FPMATH_MODE=BF16 goes into every oneDNN primitive made without a mode of its own; where it
// is honoured (CPUs with bf16 or tf32 units, newer oneDNN) every fp32 GEMM would round its inputs. Seek's are
// strict: oneDNN's trace of each primitive shows no other mode.
TEST(Cli, Fp32GemmsIgnoreOnednnsDefaultFpmathMode) {
  TempDir tmp("cli-fpmath");
  const CmdResult r = seek::test::run_command(
      "ONEDNN_VERBOSE=1 ONEDNN_DEFAULT_FPMATH_MODE=BF16 " + std::string(SEEK_BINARY) + " logits --model " +
      kTinyV3 + " --ids 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20 --threads 1 --out " +
      (tmp.path / "x.npy").string() + " 2>&1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("onednn_verbose,exec,cpu,matmul"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("fpmath_mode_bf16"), std::string::npos) << r.output;
}

// Output that cannot be written is an error (exit 1, the reason on stderr), not a silent exit 0 with the
// output lost. Redirecting stdout to /dev/full is safe: the shell opens it, seek only writes to it.
TEST(Cli, StdoutWriteErrorsAreReported) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  const std::string gen = "generate --model " + kTinyV3 + " --ids 1,2 -n 3 --ignore-eos ";
  for (const std::string& cmd :
       {gen + "--json", gen, "tokenize --tokenizer " + kTinyV3 + " hello", std::string("--help")}) {
    CmdResult r = run(cmd, "2>&1 >/dev/full");
    EXPECT_EQ(r.code, 1) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find("seek: error: cannot write to standard output: No space left on device"),
              std::string::npos)
        << cmd << ": " << r.output;
  }
  // Streamed text stops at the first failed write (it generated its whole budget, then said so).
  {
    const CmdResult r = run(gen + "-n 200", "2>&1 >/dev/full");
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_EQ(r.output.find("generated"), std::string::npos) << r.output;  // no timing line: it stopped
    TempDir tmp("cli-full");
    const fs::path messages = tmp.path / "messages.txt";
    std::ofstream(messages) << "hi\nagain\n";
    const std::string model = random_byte_model(tmp.path / "m").string();
    const CmdResult c =
        run("chat --model " + model + " -n 8 --ignore-eos", "2>&1 >/dev/full < " + messages.string());
    EXPECT_EQ(c.code, 1) << c.output;
    EXPECT_EQ(c.output.find("generated"), std::string::npos) << c.output;
    EXPECT_NE(c.output.find("cannot write to standard output"), std::string::npos) << c.output;
  }
  // A closed stdout: its descriptor must not be handed to a file seek opens, and the writes fail.
  const std::string tokenize = "tokenize --tokenizer " + kTinyV3 + " hello";
  CmdResult r = run(tokenize, "2>&1 >&-");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot write to standard output: Bad file descriptor"), std::string::npos)
      << r.output;
  EXPECT_EQ(run(tokenize).code, 0);
}

// An empty prompt under a tokenizer that has a BOS but does not add it (add_bos_token false) was refused as
// "the tokenizer has no BOS token", which sent the user looking for one that is there.
TEST(Cli, AnEmptyPromptWithoutBosSaysWhy) {
  TempDir tmp("cli-no-bos");
  const fs::path model = random_byte_model(tmp.path / "m");
  std::ofstream(tmp.path / "text.txt") << "the cat sat on the mat, the cat sat on the hat\n";
  CmdResult r = run("tokenizer train --vocab-size 270 --input " + (tmp.path / "text.txt").string() +
                    " --out " + (tmp.path / "tok").string());
  ASSERT_EQ(r.code, 0) << r.output;
  fs::copy_file(tmp.path / "tok" / "tokenizer.json", model / "tokenizer.json");
  auto config = nlohmann::json::parse(seek::read_file(tmp.path / "tok" / "tokenizer_config.json"));
  config["add_bos_token"] = false;
  std::ofstream(model / "tokenizer_config.json") << config.dump();
  for (const std::string& command : {"logits --prompt '' --out " + (tmp.path / "x.npy").string(),
                                     std::string("generate --prompt '' -n 1")}) {
    r = run(command.substr(0, command.find(' ')) + " --model " + model.string() +
            command.substr(command.find(' ')));
    EXPECT_EQ(r.code, 1) << command << r.output;
    EXPECT_NE(
        r.output.find("--prompt is empty and the tokenizer does not add its BOS token (add_bos_token is "
                      "false in tokenizer_config.json; --ids 0 starts from it)"),
        std::string::npos)
        << command << r.output;
  }
  // Perplexity shows six significant digits: a mean NLL of 2e-6 printed as 0.0000 and the perplexity as 1.
  std::ofstream(tmp.path / "score.txt") << "the cat sat on the mat";
  r = run("perplexity --model " + model.string() + " --file " + (tmp.path / "score.txt").string() +
          " --ctx 8");
  ASSERT_EQ(r.code, 0) << r.output;
  const size_t at = r.output.find("(mean NLL ");
  ASSERT_NE(at, std::string::npos) << r.output;
  const std::string nll = r.output.substr(at + 10, r.output.find(' ', at + 10) - at - 10);
  EXPECT_EQ(std::count_if(nll.begin(), nll.end(),
                          [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }),
            6)
      << r.output;
}

TEST(Cli, UnreadableInputFilesSayWhy) {
  TempDir tmp("cli-read");
  const std::string ppl = "perplexity --model " + kTinyV3 + " --file ";
  CmdResult r = run(ppl + "''");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--file is empty"), std::string::npos) << r.output;
  r = run(ppl + (tmp.path / "missing.txt").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(
      r.output.find("cannot read " + (tmp.path / "missing.txt").string() + ": No such file or directory"),
      std::string::npos)
      << r.output;
  // A device has no end of text: read until the memory limit (minutes), it is now refused at once.
  r = run(ppl + "/dev/zero");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("/dev/zero is a device, not a text file"), std::string::npos) << r.output;
  r = run(ppl + "/dev/null");  // the empty text it is, not "a device"
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("/dev/null is empty; nothing to score"), std::string::npos) << r.output;
  r = run("tokenize --tokenizer " + kTinyV3 + " --file " + tmp.path.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find(tmp.path.string() + " is a folder, not a file"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
}

// --ids and detokenize read ids alike: commas and/or whitespace (what seek tokenize prints, one per line, a
// CRLF file's lines), a JSON list. An empty item is named by position, a bad one by position and value, and
// the list itself is not repeated (a 20,000-id list with one slip made a 109 KB message). tokenize's ids
// were refused by --ids; detokenize took "+5" and "1,,2".
TEST(Cli, TokenIdListsAreParsedConsistently) {
  TempDir tmp("cli-ids");
  const std::string out = (tmp.path / "x.npy").string();
  for (const char* ids : {"'1, 2 '", "' 1 ,2'", "'1 2'", "\"$(printf '1\\n2\\r')\"", "'[1, 2]'"}) {
    CmdResult r = run("logits --model " + kTinyV3 + " --ids " + ids + " --out " + out);
    EXPECT_EQ(r.code, 0) << ids << ": " << r.output;
  }
  const std::string byte_model = random_byte_model(tmp.path / "m").string();  // the byte tokenizer's ids
  const CmdResult tokens = run("tokenize --tokenizer " + byte_model + " --add-special hi", "2>/dev/null");
  ASSERT_EQ(tokens.code, 0) << tokens.output;
  const CmdResult piped = run("logits --model " + byte_model + " --ids '" + tokens.output + "' --out " + out);
  EXPECT_EQ(piped.code, 0) << piped.output;
  std::string many = "1,";
  for (int i = 0; i < 5000; ++i) many += "7,";
  many += "x";
  for (auto [ids, needle] :
       {std::pair<std::string, std::string>{"1,2,", "--ids: item 3 is empty (a comma ends the list)"},
        {"1,,2", "--ids: item 2 is empty"},
        {"''", "--ids holds no token id"},
        {"1,+2", "--ids: item 2 ('+2') is not a token id, a non-negative integer"},
        {"1,-2", "--ids: item 2 ('-2') is not a token id, a non-negative integer"},
        {"2147483648", "--ids: item 1 (2147483648) is past the largest token id 2147483647"},
        {"99999999999999999999", "item 1 (99999999999999999999) is past the largest token id"},
        {many, "--ids: item 5002 ('x') is not a token id, a non-negative integer"},
        // Bytes that are not UTF-8 are shown escaped, and a long item shortened (a binary file's line was
        // quoted raw and whole).
        {"\"$(printf 'ab\\377cd')\"", "--ids: item 1 ('ab\\xffcd') is not a token id"},
        {"\"$(head -c 3000 /dev/zero | tr '\\0' y)\"",
         "--ids: item 1 ('" + std::string(40, 'y') + "… (3000 bytes)') is not a token id"}}) {
    CmdResult r = run("logits --model " + kTinyV3 + " --ids " + ids + " --out " + out);
    EXPECT_EQ(r.code, 1) << ids << ": " << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << ids << ": " << r.output;
    EXPECT_LT(r.output.size(), 400u) << r.output;
  }
  EXPECT_EQ(run("detokenize --tokenizer " + kTinyV3 + " '[104, 105]'", "2>/dev/null").output, "hi");
  std::ofstream(tmp.path / "ids.txt") << "104\r\n105\r\n";
  EXPECT_EQ(run("detokenize --tokenizer " + kTinyV3, "< " + (tmp.path / "ids.txt").string() + " 2>/dev/null")
                .output,
            "hi");
  EXPECT_EQ(run("detokenize --tokenizer " + kTinyV3, "< /dev/null").code, 0);  // no ids: the empty text
  // So is an empty list, on standard input as in arguments (it was an error on standard input alone).
  std::ofstream(tmp.path / "empty-list.txt") << "[ ]\n";
  for (const auto& [args, in] :
       {std::pair<std::string, std::string>{"", "< " + (tmp.path / "empty-list.txt").string()},
        // Given as arguments, standard input is not read (it was, for '[]': CLI11 drops it).
        {" '[]'", "< " + (tmp.path / "ids.txt").string()},
        {" '[' ']'", "< " + (tmp.path / "ids.txt").string()}}) {
    const CmdResult r = run("detokenize --tokenizer " + kTinyV3 + args, in + " 2>/dev/null");
    EXPECT_EQ(r.code, 0) << args;
    EXPECT_EQ(r.output, "") << args;
  }
  for (const char* bad : {"+104", "104,,105", "-1"}) {
    const CmdResult r = run("detokenize --tokenizer " + kTinyV3 + " -- " + bad);
    EXPECT_EQ(r.code, 1) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("the ids: item "), std::string::npos) << bad << ": " << r.output;
  }
}

TEST(Cli, PerplexityRejectsWindowsThatScoreNothing) {
  TempDir tmp("cli-ppl");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const std::string file = (tmp.path / "t.txt").string();
  std::ofstream(file) << "some text to score, long enough for a few windows";
  const std::string base = "perplexity --model " + model + " --file " + file;
  CmdResult r = run(base + " --ctx 1");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("--ctx: must be a whole number >= 2"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("nan"), std::string::npos) << r.output;
  for (const char* stride : {"0", "-4"}) {
    r = run(base + " --stride " + stride);
    EXPECT_NE(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("--stride: must be a whole number >= 1"), std::string::npos) << r.output;
  }
  r = run(base + " --ctx 8 --stride 9");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--stride 9 is longer than the window"), std::string::npos) << r.output;
  // Given both, before anything is read or loaded.
  r = run("perplexity --model " + (tmp.path / "none").string() + " --file - --ctx 8 --stride 9",
          "< /dev/zero 2>&1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--stride 9 is longer than the window of 8 tokens"), std::string::npos) << r.output;
  r = run(base + " --ctx 65");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("context of 64 tokens"), std::string::npos) << r.output;
  r = run("perplexity --model " + model + " --file " + tmp.path.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("is a folder"), std::string::npos) << r.output;
  r = run(base + " --ctx 8 --stride 4");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("window 8, stride 4"), std::string::npos) << r.output;
  // Every token after the first is scored once, also when a window ends one token before the file does;
  // without overlap each window's first token has no context and is not scored.
  const std::string nine = (tmp.path / "nine.txt").string();
  std::ofstream(nine) << "abcdefghi";  // 9 byte tokens (with --no-bos)
  for (auto [window, scored] : {std::pair{"--ctx 5 --stride 3", "over 8 tokens"},
                                {"--ctx 4 --stride 2", "over 8 tokens"},
                                {"--ctx 5 --stride 5", "over 7 tokens"},
                                {"--ctx 9 --stride 9", "over 8 tokens"}}) {
    r = run("perplexity --no-bos --model " + model + " --file " + nine + " " + window);
    EXPECT_EQ(r.code, 0) << window << r.output;
    EXPECT_NE(r.output.find(scored), std::string::npos) << window << ": " << r.output;
  }
  // By default BOS goes first (as Hugging Face encodes DeepSeek text), so the first byte is scored too.
  r = run("perplexity --model " + model + " --file " + nine + " --ctx 10");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("over 9 tokens"), std::string::npos) << r.output;
}

// The fixtures have 64 ids and no tokenizer.json: text would need the byte tokenizer's 265.
TEST(Cli, TextWithoutATokenizerNamesTheByteFallback) {
  for (const std::string& cmd :
       {"generate --model " + kTinyV3 + " --prompt hi",
        "logits --model " + kTinyV3 + " --prompt hi --out /tmp/seek-never-written.npy"}) {
    CmdResult r = run(cmd);
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("no tokenizer.json"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("at least 265 tokens; this model has 64"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("--ids"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("unknown token id"), std::string::npos) << r.output;
  }
  CmdResult r = run("generate --model " + kTinyV3 + " --ids 1,2 -n 2");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "using the byte-level tokenizer"), 1u) << r.output;
}

// chat's format: from the model folder's chat template unless --style names one.
TEST(Cli, ChatStyleFollowsTheModelsTemplate) {
  TempDir tmp("cli-chat-style");
  const std::string model = random_byte_model(tmp.path / "m").string();
  std::ofstream(tmp.path / "in.txt") << "hello\n";
  auto chat = [&](const std::string& flags) {
    return run("chat --model " + model + " -n 2 --temperature 0 " + flags,
               "< " + (tmp.path / "in.txt").string() + " 2>&1");
  };
  CmdResult r = chat("");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("(v3 style)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[seek] prompt 8 tokens"), std::string::npos)
      << r.output;  // BOS <User> hello <Assistant>
  std::ifstream f(std::string(SEEK_TEST_DIR) + "/tokenizer/fixtures/deepseek_v2_chat_template.jinja");
  const std::string v2((std::istreambuf_iterator<char>(f)), {});
  std::ofstream(fs::path(model) / "tokenizer_config.json") << nlohmann::json{{"chat_template", v2}}.dump();
  r = chat("");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("(v2 style)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[seek] prompt 24 tokens"), std::string::npos)
      << r.output;  // BOS "User: hello\n\nAssistant:"
  r = chat("--style r1");
  EXPECT_NE(r.output.find("(r1 style)"), std::string::npos) << r.output;
  r = chat("--style v4");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--style must be auto, v2, v3, r1, v3.1 or v3.1-think, not 'v4'"),
            std::string::npos)
      << r.output;
  // V2's format has no thinking to open: refused before the model loads.
  r = chat("--think");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--think: the DeepSeek-V2 chat format has no thinking to turn on"),
            std::string::npos)
      << r.output;
  // V3.1's template: its non-thinking prompt by default, the thinking one with --think.
  std::ifstream f31(std::string(SEEK_TEST_DIR) + "/tokenizer/fixtures/deepseek_v31_chat_template.jinja");
  const std::string v31((std::istreambuf_iterator<char>(f31)), {});
  std::ofstream(fs::path(model) / "tokenizer_config.json") << nlohmann::json{{"chat_template", v31}}.dump();
  r = chat("");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("(v3.1 style)"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("is none seek renders"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[seek] prompt 9 tokens"), std::string::npos)
      << r.output;  // BOS <User> hello <Assistant> </think>
  r = chat("--think");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("(v3.1-think style)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[thinking]"), std::string::npos) << r.output;  // the reply starts inside <think>
  r = run("generate --model " + model + " -p hello -n 1 --think");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--think opens the thinking of a --chat prompt; add --chat"), std::string::npos)
      << r.output;
  r = run("generate --model " + model + " -p hello -n 1 --temperature 0 --chat --think");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("[seek] prompt 9 tokens"), std::string::npos) << r.output;
  // Another family's template is rendered as V3, with a note (it was silent).
  std::ofstream(fs::path(model) / "tokenizer_config.json")
      << nlohmann::json{{"chat_template", "{% for m in messages %}<|im_start|>{{ m.content }}{% endfor %}"}}
             .dump();
  r = chat("");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("tokenizer_config.json is none seek renders (DeepSeek V2, V3, R1 or V3.1): "
                          "rendering the DeepSeek-V3 chat format"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("(v3 style)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(--style picks another)"), std::string::npos) << r.output;
  r = chat("--style v3");
  EXPECT_EQ(r.output.find("is none seek renders"), std::string::npos) << r.output;
  // generate --chat has no --style to suggest; seek eval on chat problems rendered V3 without a word.
  r = run("generate --model " + model + " -p hello -n 1 --temperature 0 --chat");
  EXPECT_NE(r.output.find("rendering the DeepSeek-V3 chat format\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("--style"), std::string::npos) << r.output;
  const fs::path data = tmp.path / "chat.jsonl";
  std::ofstream(data) << R"({"messages": [{"role": "user", "content": "hi"}], "answer": "1"})"
                      << "\n";
  r = run("eval --model " + model + " --data " + data.string() + " --max-new-tokens 1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("tokenizer_config.json is none seek renders"), std::string::npos) << r.output;
  r = run("eval --model " + model + " --task gcd --problems 1 --max-new-tokens 1");  // plain prompts only
  EXPECT_EQ(r.output.find("is none seek renders"), std::string::npos) << r.output;
}

TEST(Cli, ChatDropsOldTurnsInsteadOfEnding) {
  TempDir tmp("cli-chat");
  const std::string model = random_byte_model(tmp.path / "m").string();
  const std::string chat = "chat --model " + model + " -n 4 --temperature 0 --system S";
  {
    // Each turn is ~25 tokens of the 64-token context; the third message is longer than the context.
    std::ofstream in(tmp.path / "in.txt");
    in << "first message, twenty\nsecond message, twenty\n"
       << std::string(80, 'x') << "\nthird message, twenty\nfourth message, twenty\n";
  }
  CmdResult r = run(chat, "< " + (tmp.path / "in.txt").string() + " 2>&1");
  // The chat goes on after the long one; its exit status says that one was not answered.
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(
      r.output.find("seek: error: a message was refused (the errors above); the chat answered 4 messages"),
      std::string::npos)
      << r.output;
  EXPECT_EQ(count(r.output, "[seek] prompt"), 4u) << r.output;  // every message but the long one answered
  EXPECT_EQ(count(r.output, "| finish: "), 4u) << r.output;
  EXPECT_NE(r.output.find("dropped the 2 oldest messages to fit the context of 64 tokens"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("this message with the system prompt takes all of the context of 64 tokens"),
            std::string::npos)
      << r.output;
  // With none answered, the message does not speak of others.
  std::ofstream(tmp.path / "long.txt") << std::string(80, 'x') << "\n";
  r = run(chat, "< " + (tmp.path / "long.txt").string() + " 2>&1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("a message was refused (the errors above); the chat answered none"),
            std::string::npos)
      << r.output;
  // A CRLF line is the same message as an LF one: the same prompt length.
  std::ofstream(tmp.path / "lf.txt") << "hello\n";
  std::ofstream(tmp.path / "crlf.txt") << "hello\r\n";
  const CmdResult lf = run(chat, "< " + (tmp.path / "lf.txt").string() + " 2>&1");
  const CmdResult crlf = run(chat, "< " + (tmp.path / "crlf.txt").string() + " 2>&1");
  ASSERT_EQ(lf.code, 0) << lf.output;
  ASSERT_EQ(crlf.code, 0) << crlf.output;
  const size_t at = lf.output.find("[seek] prompt");
  ASSERT_NE(at, std::string::npos) << lf.output;
  const std::string prompt_part = lf.output.substr(at, lf.output.find(',', at) - at);
  EXPECT_NE(crlf.output.find(prompt_part), std::string::npos) << prompt_part << "\n" << crlf.output;
}

// A tokenizer with ids the model has no row for belongs to another model: refused when the model loads, not
// when some prompt happens to produce such an id (chat would end there).
TEST(Cli, ATokenizerLargerThanTheModelIsRefused) {
  TempDir tmp("cli-tok-size");
  const std::string model = random_byte_model(tmp.path / "m").string();  // 272 ids
  {
    std::ofstream corpus(tmp.path / "corpus.txt");
    for (int i = 0; i < 200; ++i) corpus << "the quick brown fox " << i << " jumps over the lazy dog\n";
  }
  // (tokenizer train refuses a model's folder; the files are copied in, as a user would by hand.)
  CmdResult r = run("tokenizer train --vocab-size 300 --input " + (tmp.path / "corpus.txt").string() +
                    " --out " + (tmp.path / "tok").string());
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(tmp.path / "tok" / file, fs::path(model) / file, fs::copy_options::overwrite_existing);
  std::ofstream(tmp.path / "in.txt") << "hello\n";
  for (const std::string& cmd : {"generate --model " + model + " --prompt hi -n 1",
                                 "chat --model " + model + " -n 1 < " + (tmp.path / "in.txt").string()}) {
    r = run(cmd);
    EXPECT_EQ(r.code, 1) << cmd << r.output;
    EXPECT_NE(r.output.find("has 300 tokens but the model's vocab_size is 272"), std::string::npos)
        << cmd << r.output;
  }
}

// chat checks its sampling flags before waiting for the first message.
TEST(Cli, ChatChecksItsFlagsFirst) {
  const CmdResult r = run("chat --model " + kTinyV3 + " --temperature -1", "< /dev/null 2>&1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("temperature"), std::string::npos) << r.output;
}

TEST(Cli, InferenceFlagErrorsAreReadable) {
  TempDir tmp("cli-flags");
  const std::string gen = "generate --model " + kTinyV3 + " --ids 1,2 -n 2 ";
  for (const auto& [bad, least] : {std::pair{"--samples 0", 1}, std::pair{"--max-batch 0", 1},
                                   std::pair{"--ctx 1", 2}, std::pair{"--ctx -5", 2}}) {
    CmdResult r = run(gen + bad);
    EXPECT_NE(r.code, 0) << bad << r.output;
    EXPECT_NE(r.output.find(fmt::format("must be a whole number >= {}", least)), std::string::npos)
        << bad << r.output;
    EXPECT_EQ(r.output.find("179769"), std::string::npos) << bad << r.output;
  }
  for (const char* bad : {"--seed -1", "--seed 18446744073709551616"}) {
    CmdResult r = run(gen + bad);
    EXPECT_NE(r.code, 0) << bad << r.output;
    EXPECT_NE(r.output.find("--seed: must be a whole number from 0 to 18446744073709551615"),
              std::string::npos)
        << bad << r.output;
  }
  EXPECT_EQ(run(gen + "--seed 18446744073709551615").code, 0);
  for (const char* bad : {"--cache-mem 0", "--cache-mem -1", "--cache-mem lots"}) {
    CmdResult r = run(gen + bad);
    EXPECT_NE(r.code, 0) << bad << r.output;
    EXPECT_NE(r.output.find("--cache-mem: must be a number of GiB above 0"), std::string::npos)
        << bad << r.output;
  }
  {
    CmdResult r = run(gen + "--cache-mem 0.000001");  // ~1 KB: not one cache block
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("more than the budget"), std::string::npos) << r.output;
    EXPECT_EQ(run(gen + "--cache-mem 0.5").code, 0);
  }
  CmdResult r = run(gen + "--ctx 65");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(
      r.output.find("--ctx 65 is longer than the model's context of 64 tokens (max_position_embeddings in "
                    "config.json)"),
      std::string::npos)
      << r.output;
  r = run("generate --model " + kTinyV3 + "/config.json --ids 1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("config.json is a file; --model takes the model's folder"), std::string::npos)
      << r.output;
  for (const char* cache : {"1", "fp16"}) {
    r = run(gen + "--kv-cache " + cache);
    EXPECT_NE(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("--kv-cache: must be f32, bf16 or fp8"), std::string::npos) << r.output;
  }
  r = run("generate --help");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("--kv-cache f32|bf16|fp8"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("->"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--temperature FLOAT=0.8"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--top-k INT=40"), std::string::npos) << r.output;
  r = run("chat --help");
  EXPECT_NE(r.output.find("--temperature FLOAT=0.6"), std::string::npos) << r.output;
  // --ids with text-only flags is a contradiction, not a silent choice.
  for (const char* extra : {"--prompt hi", "--chat", "--no-bos"}) {
    r = run(gen + extra);
    EXPECT_EQ(r.code, 1) << extra << r.output;
    EXPECT_NE(r.output.find("--ids"), std::string::npos) << extra << r.output;
  }
  r = run("logits --model " + kTinyV3 + " --ids 1 --prompt hi --out " + (tmp.path / "x.npy").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("give one of --prompt, --file and --ids, not both --prompt and --ids"),
            std::string::npos)
      << r.output;
}

TEST(Cli, GenerateReportsEverySample) {
  const std::string gen = "generate --model " + kTinyV3 + " --ids 1,2 --ignore-eos --seed 3 ";
  // One new token comes from the prefill step: there is no decode-only time to divide by.
  CmdResult r = run(gen + "-n 1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("generated 1 token, n/a tokens/s (no decode-only steps)"), std::string::npos)
      << r.output;
  r = run(gen + "-n 3");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("n/a"), std::string::npos) << r.output;
  r = run(gen + "-n 2 --samples 3 --logprobs 1");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("finish: length, length, length\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--- sample 2 log-probabilities ---"), std::string::npos) << r.output;
  EXPECT_EQ(count(r.output, "logprob "), 6u) << r.output;  // 3 samples x 2 tokens
}

// A run stopped by SIGINT (here raised by the test hook of core/stop_signal.hpp at the end of step 1,
// through the real handler) says where it stands and exits 130; --resume then finishes it.
TEST(Cli, InterruptedTrainingExits130AndResumes) {
  TempDir tmp("cli-interrupt");
  byte_config(tmp.path);
  {
    std::ofstream corpus(tmp.path / "corpus.txt");
    for (int i = 0; i < 200; ++i) corpus << i << "+" << i % 7 << "=" << i + i % 7 << "\n";
  }
  const std::string args = "train --config " + (tmp.path / "config.json").string() + " --data " +
                           (tmp.path / "corpus.txt").string() + " --out " + (tmp.path / "run").string() +
                           " --steps 3 --batch-size 2 --seq-len 32 --threads 1";
  CmdResult r = run(args);
  ASSERT_EQ(r.code, 0) << r.output;  // the same run, uninterrupted
  fs::remove_all(tmp.path / "run");
  ::setenv("SEEK_TEST_SIGNAL_AT", "step:1", 1);  // inherited by the command run next
  r = run(args, "2>&1 >/dev/null");              // what it says about stopping is on stderr
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 130) << r.output;
  EXPECT_NE(r.output.find("stopping at the next safe point"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("interrupted: the checkpoint of step 1 holds the run; continue it with --resume"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(tmp.path / "run" / "model"));
  r = run(args + " --resume");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("step      3/3"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(tmp.path / "run" / "model" / "model.safetensors"));
  // A signal during the last step: the run finishes and saves its model, and the command still ends by the
  // signal (it exited 0, so `seek train ... && next` went on after the user's Ctrl-C).
  fs::remove_all(tmp.path / "run");
  ::setenv("SEEK_TEST_SIGNAL_AT", "step:3", 1);
  r = run(args);
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 130) << r.output;
  EXPECT_NE(r.output.find("the signal came during the last step: the run is complete and its model saved"),
            std::string::npos)
      << r.output;
  EXPECT_TRUE(fs::exists(tmp.path / "run" / "model" / "model.safetensors"));
  // A stop inside a validation: the closing line says that --resume runs it first (the trainer said so
  // itself, which a run inside `seek demo`, never resumed, then also printed).
  // Documents of their own, so that some are held out for validation.
  fs::remove_all(tmp.path / "run");
  {
    std::ofstream docs(tmp.path / "docs.jsonl");
    for (int i = 0; i < 200; ++i)
      docs << nlohmann::json{{"text", fmt::format("{}+{}={}", i, i % 7, i + i % 7)}}.dump() << "\n";
  }
  std::string with_docs = args;
  with_docs.replace(with_docs.find("corpus.txt"), 10, "docs.jsonl");
  ::setenv("SEEK_TEST_SIGNAL_AT", "validation:1", 1);
  r = run(with_docs + " --eval-every 2", "2>&1 >/dev/null");
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 130) << r.output;
  EXPECT_NE(r.output.find("interrupted: the checkpoint of step 2 holds the run; continue it with --resume, "
                          "which first runs step 2's validation (the stop cut it short)"),
            std::string::npos)
      << r.output;
  // SIGHUP (the terminal or SSH session closed) stops and saves as SIGTERM does: it ended the run with
  // nothing saved since its last checkpoint.
  // A real signal, sent once the first step is logged: the handler must be installed for it.
  fs::remove_all(tmp.path / "run");
  const fs::path run_dir = tmp.path / "run", err = tmp.path / "err.txt";
  const std::string long_run = "train --config " + (tmp.path / "config.json").string() + " --data " +
                               (tmp.path / "corpus.txt").string() + " --out " + run_dir.string() +
                               " --steps 1000000 --batch-size 2 --seq-len 32 --threads 1";
  r = seek::test::run_command(
      std::string(SEEK_BINARY) + " " + long_run + " >/dev/null 2>" + err.string() +
      " & p=$!; i=0; while [ ! -s " + (run_dir / "metrics.jsonl").string() +
      " ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; kill -HUP $p; wait $p; echo rc=$?");
  EXPECT_NE(r.output.find("rc=" + std::to_string(128 + SIGHUP)), std::string::npos) << r.output;
  const std::string said = seek::read_file(err);
  EXPECT_NE(said.find("holds the run; continue it with --resume"), std::string::npos) << said;
  EXPECT_TRUE(fs::is_directory(run_dir / "checkpoints") && !fs::is_empty(run_dir / "checkpoints"));
}

// The demo checks every flag before it replaces the previous demo's runs or starts pretraining; stopped by a
// signal, it says that it starts over next time (its runs are not resumed) and exits 130.
TEST(Cli, DemoChecksFlagsFirstAndStopsOnASignal) {
  TempDir tmp("cli-demo");
  const fs::path previous = tmp.path / "demo" / "base" / "keep.txt";
  fs::create_directories(previous.parent_path());
  std::ofstream(previous) << "the previous demo's run";
  const std::string out = " --out " + (tmp.path / "demo").string();
  for (const auto& [flags, message] :
       {std::pair{" --wrong-fraction 1.5", "--wrong-fraction must be a fraction in [0, 1], got 1.5"},
        std::pair{" --untagged-fraction nan", "--untagged-fraction must be a fraction in [0, 1], got nan"},
        std::pair{" --grpo-steps 0", "--grpo-steps must be positive, got 0"},
        std::pair{" --group-size 1", "--group-size must be at least 2"},
        std::pair{" --eval-samples 0", "--eval-samples must be positive, got 0"},
        // Bounds of the GRPO phase's own settings, checked before the pretraining too.
        std::pair{" --eval-problems 100000000", "--eval-problems must be at most 10000000 (got 100000000)"},
        std::pair{" --group-size 4294967297", "--group-size must be at most 1048576 (got 4294967297)"},
        std::pair{" --prompts-per-step 2000000", "--prompts-per-step must be at most 1048576 (got 2000000)"},
        // CLI11 alone wrapped -1 to 2^64 - 1 and clamped 20 digits to 2^63 - 1.
        std::pair{" --seed -1", "--seed: must be a whole number from 0 to 18446744073709551615, got '-1'"},
        std::pair{" --pretrain-steps 99999999999999999999", "--pretrain-steps: must be a whole number from"},
        std::pair{" --grpo-lr 1e39", "lr 1e+39 is beyond the largest fp32 number"},
        std::pair{" --grpo-lr 1e-50", "lr 1e-50 is below the smallest fp32 number"},
        std::pair{" --config /nonexistent/demo.json", "/nonexistent/demo.json"},
        std::pair{" --config ''", "--config must name a model config file"}}) {
    CmdResult r = run("demo" + out + flags);
    EXPECT_EQ(r.code, 1) << flags << ": " << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << flags << ": " << r.output;
    EXPECT_EQ(r.output.find("pretraining"), std::string::npos) << flags << ": " << r.output;
    EXPECT_TRUE(fs::exists(previous)) << flags;
  }
  // A folder no demo wrote is not replaced: the user's runs/base/model must survive `seek demo --out runs`.
  const std::string small = " --pretrain-steps 3 --pretrain-examples 64 --grpo-steps 2 --eval-problems 2";
  CmdResult r = run("demo" + out + small);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("holds base, which no seek demo wrote"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(previous));
  std::ofstream(tmp.path / "file") << "x";
  r = run("demo --out " + (tmp.path / "file").string() + small);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("is a file; give a folder"), std::string::npos) << r.output;
  fs::remove_all(tmp.path / "demo");

  ::setenv("SEEK_TEST_SIGNAL_AT", "step:1", 1);
  r = run("demo" + out + small);
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 130) << r.output;
  EXPECT_NE(r.output.find("the demo stopped; `seek demo` starts it again from the beginning"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("--resume"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("2/4"), std::string::npos) << r.output;  // nothing after the stopped pretraining
  // The stopped demo left none of its runs: they are not a previous demo to keep.
  EXPECT_FALSE(fs::exists(tmp.path / "demo" / "base"));
  // A signal in the pretraining's last step, which that run completes, still stops the demo before step 2/4.
  ::setenv("SEEK_TEST_SIGNAL_AT", "phase:1", 1);
  r = run("demo" + out + " --pretrain-steps 2 --pretrain-examples 64 --grpo-steps 2 --eval-problems 2");
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 130) << r.output;
  EXPECT_NE(r.output.find("done: 2 steps"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("moving the previous demo's runs to"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("2/4"), std::string::npos) << r.output;
  // A signal during an evaluation ends it at once (it ran to its end) and the demo stops there.
  ::setenv("SEEK_TEST_SIGNAL_AT", "eval:1", 1);
  r = run("demo" + out + " --pretrain-steps 2 --pretrain-examples 64 --grpo-steps 2 --eval-problems 2");
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 130) << r.output;
  EXPECT_NE(r.output.find("2/4"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("3/4"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp.path / "demo" / "base-eval.jsonl"));
  // A config too short for the demo's sequences is named as such.
  r = run("demo" + out + " --config " + std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("the demo trains on sequences of 128 tokens"), std::string::npos) << r.output;
}

// A demo that fails keeps the previous one: a --config whose vocabulary is too small for the demo's tokenizer
// is found by the trainer once it starts, and the previous demo's runs used to be deleted by then (base/ held
// only settings.json, grpo/ was gone). Its outputs are moved aside and put back; a stash that a killed demo
// left behind is put back before anything else.
TEST(Cli, AFailedDemoKeepsThePreviousOne) {
  TempDir tmp("cli-demo-keep");
  const fs::path out = tmp.path / "demo";
  const std::string tiny =
      " --pretrain-steps 2 --pretrain-examples 64 --grpo-steps 1 --prompts-per-step 2 --group-size 2 "
      "--eval-problems 2 --threads 1 --out " +
      out.string();
  const CmdResult first = run("demo" + tiny);
  ASSERT_EQ(first.code, 0) << first.output;
  // Warm-up is at most a tenth of a run: the default 50 steps were a 2-step run's whole length, noted as
  // such about a setting the demo's user cannot give.
  EXPECT_EQ(first.output.find("note: warmup_steps"), std::string::npos) << first.output;
  for (const char* run_dir : {"base", "grpo"})
    EXPECT_EQ(nlohmann::json::parse(seek::read_file(out / run_dir / "settings.json")).at("warmup_steps"), 0)
        << run_dir;
  // Without --config the demo trains its built-in config, configs/demo.json compiled in (so it runs wherever
  // the binary is), and leaves a copy of it beside its runs.
  EXPECT_EQ(nlohmann::json::parse(seek::read_file(out / "base-config.json")),
            nlohmann::json::parse(std::ifstream(std::string(SEEK_SOURCE_DIR) + "/configs/demo.json")));
  EXPECT_EQ(run("demo --help").output.find(std::string(SEEK_SOURCE_DIR) + "/configs"), std::string::npos);
  // Its runs' settings.json hold the thread count they ran with (0, "the process's", read as all cores on a
  // resume or --run-config elsewhere).
  for (const char* run_dir : {"base", "grpo"})
    EXPECT_EQ(nlohmann::json::parse(seek::read_file(out / run_dir / "settings.json")).at("threads"), 1)
        << run_dir;
  // Its GRPO run drops groups all right or all wrong (DAPO's dynamic sampling) and evaluates held-out
  // problems along the way, which the accuracy plot draws beside the kept groups' training accuracy.
  const auto grpo = nlohmann::json::parse(seek::read_file(out / "grpo" / "settings.json"));
  EXPECT_EQ(grpo.at("dynamic_sampling"), true);
  EXPECT_EQ(grpo.at("dynamic_sampling_metric"), "accuracy");
  EXPECT_EQ(grpo.at("eval_every"), 1);     // a tenth of the run (rounded up)
  EXPECT_EQ(grpo.at("eval_problems"), 2);  // no more than the demo's held-out problems
  const std::string grpo_metrics = seek::read_file(out / "grpo" / "metrics.jsonl");
  EXPECT_NE(grpo_metrics.find("\"eval\":{"), std::string::npos) << grpo_metrics;
  EXPECT_NE(seek::read_file(out / "plots" / "accuracy.svg").find("held-out, greedy"), std::string::npos);
  const std::string summary = seek::read_file(out / "summary.json");
  const std::string model = seek::read_file(out / "grpo" / "model" / "model.safetensors");
  // A vocabulary too small for the demo's byte tokenizer is named before anything is written (the trainer
  // found it, and advised a --tokenizer, which the demo has not).
  auto cfg = nlohmann::json::parse(std::ifstream(std::string(SEEK_SOURCE_DIR) + "/configs/demo.json"));
  cfg["vocab_size"] = 100;
  std::ofstream(tmp.path / "small-vocab.json") << cfg.dump();
  CmdResult r = run("demo" + tiny + " --config " + (tmp.path / "small-vocab.json").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("the demo trains with the byte-level tokenizer (265 ids), and --config " +
                          (tmp.path / "small-vocab.json").string() +
                          " has vocab_size 100; raise it to at "
                          "least 265"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("moving the previous demo"), std::string::npos) << r.output;
  // A failure once the demo has started: a file-size limit far below the model's size stops the pretraining
  // at its checkpoint.
  const auto run_failing = [&] {
    return seek::test::run_command("ulimit -f 1024; " + std::string(SEEK_BINARY) + " demo" + tiny + " 2>&1");
  };
  r = run_failing();
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("pretraining the base model: cannot write"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("the previous demo's runs in " + out.string() + " are kept"), std::string::npos)
      << r.output;
  EXPECT_EQ(seek::read_file(out / "summary.json"), summary);
  EXPECT_EQ(seek::read_file(out / "grpo" / "model" / "model.safetensors"), model);
  EXPECT_TRUE(fs::exists(out / "base" / "model" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(out / ".previous-demo"));

  // A demo killed midway (its outputs partial, the previous ones in the stash, summary.json among them): the
  // stash is put back first, and nothing of the killed demo stays beside it.
  const char* outputs[] = {"base",
                           "grpo",
                           "plots",
                           "base-config.json",
                           "base-data.jsonl",
                           "base-eval.jsonl",
                           "grpo-eval.jsonl",
                           "summary.json"};
  fs::create_directories(out / ".previous-demo");
  for (const char* name : outputs) fs::rename(out / name, out / ".previous-demo" / name);
  fs::create_directories(out / "grpo");
  std::ofstream(out / "base-data.jsonl") << "partial\n";
  r = run_failing();
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("putting back the previous demo's runs from"), std::string::npos) << r.output;
  EXPECT_EQ(seek::read_file(out / "summary.json"), summary);
  EXPECT_EQ(seek::read_file(out / "grpo" / "model" / "model.safetensors"), model);
  EXPECT_NE(seek::read_file(out / "base-data.jsonl"), "partial\n");
  EXPECT_FALSE(fs::exists(out / ".previous-demo"));
  // A demo killed after it finished, before it removed the stash: its summary.json says so, and the stash
  // (older) goes.
  fs::create_directories(out / ".previous-demo" / "grpo");
  std::ofstream(out / ".previous-demo" / "summary.json") << "{}";
  r = run_failing();
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_EQ(seek::read_file(out / "summary.json"), summary);
  EXPECT_EQ(seek::read_file(out / "grpo" / "model" / "model.safetensors"), model);
  EXPECT_FALSE(fs::exists(out / ".previous-demo"));
  // A demo that finishes replaces the previous one and leaves no stash.
  ASSERT_EQ(run("demo" + tiny + " --seed 9").code, 0);
  EXPECT_NE(seek::read_file(out / "grpo" / "model" / "model.safetensors"), model);
  EXPECT_FALSE(fs::exists(out / ".previous-demo"));
  // --config is copied beside the runs too, as the built-in config is.
  r = run("demo" + tiny + " --seed 9 --config " + std::string(SEEK_SOURCE_DIR) + "/configs/demo.json");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(seek::read_file(out / "base-config.json"),
            seek::read_file(std::string(SEEK_SOURCE_DIR) + "/configs/demo.json"));
}

// A demo that fails or is stopped where no previous demo was leaves nothing of its own behind (it left its
// half-built runs, which the next stopped demo then put back as "the previous demo"), and the partial runs
// of a killed one go at the next start.
TEST(Cli, AStoppedFirstDemoLeavesNothingBehind) {
  TempDir tmp("cli-demo-first");
  const fs::path out = tmp.path / "demo";
  const std::string flags =
      " --pretrain-steps 2 --pretrain-examples 64 --grpo-steps 1 --prompts-per-step 2 --group-size 2 "
      "--eval-problems 2 --threads 1 --out " +
      out.string();
  auto outputs_left = [&] {
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(out))
      if (e.path().filename().string()[0] != '.') left.push_back(e.path().filename().string());
    return left;
  };
  ::setenv("SEEK_TEST_SIGNAL_AT", "rollout:1", 1);
  CmdResult r = run("demo" + flags);
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 130) << r.output;
  EXPECT_EQ(outputs_left(), std::vector<std::string>{}) << r.output;
  EXPECT_NE(r.output.find("this demo's unfinished runs in " + out.string() + " are removed"),
            std::string::npos)
      << r.output;
  // Stopped in the GRPO run's own evaluation (the 80th check of an evaluation falls after the base model's,
  // about 45 checks of these flags, and inside step 1's), the demo says nothing of --resume: it printed the
  // trainer's "--resume runs it" above its own "starts it again".
  ::setenv("SEEK_TEST_SIGNAL_AT", "eval:80", 1);
  r = run("demo" + flags);
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 130) << r.output;
  EXPECT_NE(r.output.find("the evaluation of step 1 was stopped"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("4/4"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("--resume"), std::string::npos) << r.output;
  EXPECT_EQ(outputs_left(), std::vector<std::string>{}) << r.output;
  r = seek::test::run_command("ulimit -f 1024; " + std::string(SEEK_BINARY) + " demo" + flags + " 2>&1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("File too large"), std::string::npos) << r.output;
  EXPECT_EQ(outputs_left(), std::vector<std::string>{}) << r.output;
  // A GRPO evaluation that fails: the trainer's "--resume runs its evaluation" does not apply to the demo's
  // runs, which go.
  ::setenv("SEEK_TEST_FAIL_AT", "grpo-eval:1", 1);
  r = run("demo" + flags);
  ::unsetenv("SEEK_TEST_FAIL_AT");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("GRPO on the base model: the evaluation after step 1 failed: injected failure at "
                          "grpo-eval (SEEK_TEST_FAIL_AT)\n"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("--resume"), std::string::npos) << r.output;
  EXPECT_EQ(outputs_left(), std::vector<std::string>{}) << r.output;
  // A pretraining that goes non-finite: the trainer's advice names flags the demo does not have.
  auto huge = nlohmann::json::parse(std::ifstream(std::string(SEEK_SOURCE_DIR) + "/configs/demo.json"));
  huge["initializer_range"] = 1e30;
  std::ofstream(tmp.path / "huge-init.json") << huge.dump();
  r = run("demo" + flags + " --config " + (tmp.path / "huge-init.json").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("pretraining the base model: non-finite "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("; stopping without saving\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("--on-nonfinite"), std::string::npos) << r.output;
  EXPECT_EQ(outputs_left(), std::vector<std::string>{}) << r.output;
  // What a killed demo had made (no summary.json, no stash) is removed, not kept as a previous demo.
  fs::create_directories(out / "base" / "checkpoints");
  std::ofstream(out / "base-data.jsonl") << "partial\n";
  ::setenv("SEEK_TEST_SIGNAL_AT", "phase:1", 1);
  r = run("demo" + flags);
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 130) << r.output;
  EXPECT_NE(r.output.find("removing the runs of an unfinished demo from " + out.string()), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("moving the previous demo"), std::string::npos) << r.output;
  EXPECT_EQ(outputs_left(), std::vector<std::string>{}) << r.output;
  // What the later phases need at once is checked before the pretraining.
  ::setenv("SEEK_MEMORY_AVAILABLE", "1G", 1);
  r = run("demo --group-size 100000" + flags.substr(0, flags.find(" --group-size")) +
          flags.substr(flags.find(" --eval-problems")));
  ::unsetenv("SEEK_MEMORY_AVAILABLE");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("the KV cache and logits of 100000 samples"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("lower --group-size or --eval-samples"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("pretraining"), std::string::npos) << r.output;
}

// The demo's table has a pass@k row only when there are several samples per problem (with one it printed
// pass@1 twice), and its counts read as English ("1 step", not "1 steps").
TEST(Cli, DemoTableListsPassAtKOnlyForSeveralSamples) {
  TempDir tmp("cli-demo-table");
  const std::string tiny =
      " --pretrain-steps 2 --pretrain-examples 64 --grpo-steps 1 --prompts-per-step 2 "
      "--group-size 2 --eval-problems 2 --threads 1 --out " +
      (tmp.path / "demo").string();
  CmdResult r = run("demo --eval-samples 1" + tiny);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "\npass@1 "), 1u) << r.output;
  EXPECT_EQ(count(r.output, "\npass@"), 1u) << r.output;
  EXPECT_NE(r.output.find("on 2 held-out problems × 1 sample\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 step × 2 prompts × 2 samples"), std::string::npos) << r.output;
  r = run("demo --eval-samples 2" + tiny);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "\npass@1 "), 1u) << r.output;
  EXPECT_EQ(count(r.output, "\npass@2 "), 1u) << r.output;
}

// A model bigger than the machine's memory is refused before it is allocated, with what it needs (it used to
// end in "internal error: std::bad_alloc", or in the OOM killer).
TEST(Cli, AModelTooBigForMemoryIsAClearError) {
  TempDir tmp("cli-too-big");
  std::ifstream in(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  auto cfg = nlohmann::json::parse(in);
  cfg["vocab_size"] = 4000000000LL;
  cfg["hidden_size"] = 65536;  // 524T parameters: 8.4 PB to train, more than any machine has
  std::ofstream(tmp.path / "huge.json") << cfg.dump();
  std::ofstream(tmp.path / "corpus.txt") << "hello world\n";
  CmdResult r =
      run("train --config " + (tmp.path / "huge.json").string() + " --data " +
          (tmp.path / "corpus.txt").string() + " --seq-len 32 --out " + (tmp.path / "run").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("seek: error: the f32 weights, gradients and AdamW moments of "), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(" need 8.4 PB of memory, and "), std::string::npos) << r.output;
}

// `seek train | head`: the closed pipe stops the run at its next step with a checkpoint, as a first Ctrl-C
// does, and it resumes. It used to end the process at once (SIGPIPE) with nothing saved.
TEST(Cli, AClosedStdoutStopsTrainingWithACheckpoint) {
  TempDir tmp("cli-train-pipe");
  auto cfg = nlohmann::json::parse(std::ifstream(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json"));
  cfg["vocab_size"] = 272;
  std::ofstream(tmp.path / "cfg.json") << cfg.dump();
  {
    std::ofstream corpus(tmp.path / "c.txt");
    for (int i = 0; i < 300; ++i) corpus << i << "+" << i << "=" << 2 * i << "\n";
  }
  const fs::path out = tmp.path / "run", err = tmp.path / "err.txt";
  run("train --config " + (tmp.path / "cfg.json").string() + " --data " + (tmp.path / "c.txt").string() +
          " --out " + out.string() + " --steps 100000 --log-every 1 --seq-len 32 --batch-size 2 --threads 1",
      "2>" + err.string() + " | head -n 3");
  EXPECT_NE(seek::read_file(err).find("standard output was closed; stopping at the next safe point"),
            std::string::npos)
      << seek::read_file(err);
  ASSERT_TRUE(fs::exists(out / "checkpoints"));
  EXPECT_FALSE(fs::is_empty(out / "checkpoints"));
  CmdResult r = run("train --out " + out.string() + " --resume --steps 5");
  EXPECT_EQ(r.code, 0) << r.output;
}

// A batch too large for the machine is refused before the run allocates it, naming its parts: a --batch-size
// of 10^8 grew to gigabytes and ended in a bare "out of memory" (or the OOM killer).
TEST(Cli, ABatchTooBigForMemoryIsAClearError) {
  TempDir tmp("cli-batch-too-big");
  std::ofstream(tmp.path / "corpus.txt") << "hello world\n";
  CmdResult r = run("train --config " + std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json --data " +
                    (tmp.path / "corpus.txt").string() + " --out " + (tmp.path / "run").string() +
                    " --batch-size 10000000000 --seq-len 32");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("a step's token ids and targets (2.6 TB: grad_accum 1 × batch_size 10000000000 × "
                          "seq_len 32)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(" is available; lower --batch-size"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp.path / "run" / "metrics.jsonl"));
  // Token ids of half a gigabyte fit; the activations of 64 million tokens (~1.5 TB) do not. Only the ids
  // were counted before, and a --batch-size of 10^5 met the OOM killer.
  r = run("train --config " + std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json --data " +
          (tmp.path / "corpus.txt").string() + " --out " + (tmp.path / "run2").string() +
          " --batch-size 2000000 --seq-len 32");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("a micro-batch's activations (1.5 TB: batch_size × seq_len × 24.0 kB per token)"),
            std::string::npos)
      << r.output;
  // Where the step's token ids are the bulk, from micro-batches, more of them is the wrong advice.
  r = run("train --config " + std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json --data " +
          (tmp.path / "corpus.txt").string() + " --out " + (tmp.path / "run3").string() +
          " --batch-size 1 --grad-accum 10000000000 --seq-len 32");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("; lower --grad-accum or --batch-size (a step's token ids are held at once)"),
            std::string::npos)
      << r.output;
}

// Ctrl-C during a chat reply ends that reply (what it wrote so far stays in the conversation), not the chat;
// the next turn starts from the cache the stopped reply left.
TEST(Cli, CtrlCStopsAChatReplyNotTheChat) {
  TempDir tmp("cli-chat-stop");
  const std::string model = random_byte_model(tmp.path / "m").string();
  std::ofstream(tmp.path / "in.txt") << "first\nsecond\n";
  ::setenv("SEEK_TEST_SIGNAL_AT", "reply:3", 1);  // SIGINT after each reply's third step
  CmdResult r = run("chat --model " + model + " -n 10 --temperature 0 --ignore-eos",
                    "< " + (tmp.path / "in.txt").string() + " 2>&1");
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "[seek] reply stopped by Ctrl-C"), 2u) << r.output;
  EXPECT_EQ(count(r.output, "generated 3 tokens"), 2u) << r.output;
  EXPECT_EQ(count(r.output, "| finish: cancelled"), 2u) << r.output;
  EXPECT_EQ(count(r.output, " cached), "), 1u) << r.output;
}

// SIGTERM (kill, timeout) ends the chat, as it ends every other command; it was taken for a Ctrl-C, and the
// chat read the next message.
TEST(Cli, SigtermEndsTheChat) {
  TempDir tmp("cli-chat-term");
  const std::string model = random_byte_model(tmp.path / "m").string();
  std::ofstream(tmp.path / "in.txt") << "first\nsecond\n";
  ::setenv("SEEK_TEST_SIGNAL_AT", "reply:3:TERM", 1);
  CmdResult r = run("chat --model " + model + " -n 10 --temperature 0 --ignore-eos",
                    "< " + (tmp.path / "in.txt").string() + " 2>&1");
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 128 + SIGTERM) << r.output;
  EXPECT_EQ(count(r.output, "[seek] prompt"), 1u) << r.output;  // the first reply's timing line, no second
  EXPECT_EQ(count(r.output, "| finish: cancelled"), 1u) << r.output;
  EXPECT_EQ(r.output.find("stopped by Ctrl-C"), std::string::npos) << r.output;
  // So does SIGHUP (the terminal closed).
  ::setenv("SEEK_TEST_SIGNAL_AT", "reply:3:HUP", 1);
  r = run("chat --model " + model + " -n 10 --temperature 0 --ignore-eos",
          "< " + (tmp.path / "in.txt").string() + " 2>&1");
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 128 + SIGHUP) << r.output;
  EXPECT_EQ(count(r.output, "[seek] prompt"), 1u) << r.output;
}

// Stopped before its first token, a reply leaves nothing in the conversation: the message goes too (an empty
// assistant turn told the model it had answered with nothing).
TEST(Cli, ChatStoppedInThePrefillDropsTheMessage) {
  TempDir tmp("cli-chat-prefill-stop");
  const std::string model = random_byte_model(tmp.path / "m").string();
  // A context that holds a message longer than one prefill chunk (512 tokens).
  nlohmann::json cfg = nlohmann::json::parse(file_text(fs::path(model) / "config.json"));
  cfg["max_position_embeddings"] = 1024;
  std::ofstream(fs::path(model) / "config.json") << cfg.dump();
  std::ofstream(tmp.path / "in.txt") << std::string(600, 'x') << "\nsecond\n";
  ::setenv("SEEK_TEST_SIGNAL_AT", "reply:1", 1);  // SIGINT after the first chunk of the first prefill
  CmdResult r = run("chat --model " + model + " -n 4 --temperature 0 --ignore-eos",
                    "< " + (tmp.path / "in.txt").string() + " 2>&1");
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "stopped before the reply began: this message is left out of the conversation"),
            1u)
      << r.output;
  // The second turn's prompt is BOS <User> second <Assistant>, 9 tokens (BOS <User> still cached from the
  // stopped prefill), not the first exchange too.
  EXPECT_NE(r.output.find("[seek] prompt 7 tokens (+2 cached)"), std::string::npos) << r.output;
  // In R1's format a reply starts in the reasoning: one stopped before it began showed its "[thinking]"
  // header all the same, for a reply never given. Only the second message's reply has one.
  ::setenv("SEEK_TEST_SIGNAL_AT", "reply:1", 1);
  r = run("chat --model " + model + " --style r1 -n 4 --temperature 0 --ignore-eos",
          "< " + (tmp.path / "in.txt").string() + " 2>/dev/null");
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "[thinking]"), 1u) << r.output;
  EXPECT_EQ(r.output.rfind("[thinking]\n", 0), 0u) << r.output;  // no empty line for the stopped one
  // A message stopped in its prefill was not answered: the closing error counted it as answered.
  std::ofstream(tmp.path / "in2.txt") << std::string(600, 'x') << "\n\xff\n";
  ::setenv("SEEK_TEST_SIGNAL_AT", "reply:1", 1);
  r = run("chat --model " + model + " -n 4 --temperature 0 --ignore-eos",
          "< " + (tmp.path / "in2.txt").string() + " 2>&1");
  ::unsetenv("SEEK_TEST_SIGNAL_AT");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("a message was refused (the errors above); the chat answered none"),
            std::string::npos)
      << r.output;
}

}  // namespace
