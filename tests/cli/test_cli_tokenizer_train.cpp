// `seek tokenizer train` on hostile input, as a user runs it: an --out that would overwrite an input or
// cannot be written, unreadable or empty inputs, a mistyped --special-tokens list, flags that contradict each
// other. Each is an error naming the problem (exit 1), given before training, with nothing written; non-UTF-8
// text trains with a note.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/run_seek.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using seek::test::TempDir;

using seek::test::CmdResult;
using seek::test::run;

std::string file_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const std::string kCorpus = "the cat sat on the mat, the cat sat on the hat\nthe dog sat on the log\n";

std::string train(const fs::path& input, const fs::path& out, const std::string& more = "") {
  return "tokenizer train --vocab-size 280 --threads 1 --input " + input.string() + " --out " + out.string() +
         " " + more;
}

using seek::test::expect_error;

// Training on a file in --out would replace it with the tokenizer: refused before anything is written, also
// when the input is spelled differently or is a link.
TEST(CliTokenizerTrain, OutHoldingAnInputIsRefused) {
  TempDir tmp("cli-tok-train-same");
  const fs::path tok = tmp.path / "tok";
  fs::create_directories(tok);
  std::ofstream(tok / "tokenizer.json") << kCorpus;
  std::ofstream(tok / "tokenizer_config.json") << kCorpus;
  fs::create_symlink(tok / "tokenizer_config.json", tmp.path / "link.txt");
  for (const fs::path& input :
       {tok / "tokenizer.json", tmp.path / "tok" / ".." / "tok" / "tokenizer.json", tmp.path / "link.txt"})
    expect_error(train(input, tok), "--out " + tok.string() + " would write tokenizer");
  EXPECT_EQ(file_text(tok / "tokenizer.json"), kCorpus);
  EXPECT_EQ(file_text(tok / "tokenizer_config.json"), kCorpus);
}

// --out is a folder: a file there (here the input itself) or under it is refused before training.
TEST(CliTokenizerTrain, OutThatCannotBeAFolderIsRefused) {
  TempDir tmp("cli-tok-train-out");
  const fs::path corpus = tmp.path / "corpus.txt";
  std::ofstream(corpus) << kCorpus;
  expect_error(train(corpus, corpus), "--out " + corpus.string() + " is not a folder; give a folder");
  fs::create_symlink(tmp.path / "nowhere", tmp.path / "dangling");
  expect_error(train(corpus, tmp.path / "dangling"), "is not a folder");
  expect_error(train(corpus, corpus / "tok"),
               "--out " + (corpus / "tok").string() + ": " + corpus.string() + " is a file");
  expect_error(train(corpus, "''"), "--out is empty");
  EXPECT_EQ(file_text(corpus), kCorpus);
  // A model's folder: its token ids would change meaning (a working model stopped working).
  for (const char* file : {"config.json", "model.safetensors"}) {
    const fs::path model = tmp.path / (std::string("model-") + file);
    fs::create_directories(model);
    std::ofstream(model / file) << "{}";
    expect_error(train(corpus, model), "holds a model (" + std::string(file) + ")");
    EXPECT_FALSE(fs::exists(model / "tokenizer.json"));
  }
  if (::geteuid() != 0) {  // root may write anywhere
    fs::create_directories(tmp.path / "ro");
    fs::permissions(tmp.path / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    expect_error(train(corpus, tmp.path / "ro" / "a" / "tok"),
                 "the folder " + (tmp.path / "ro").string() + " is not writable");
    fs::permissions(tmp.path / "ro", fs::perms::owner_all);
  }
  // What only making the folder shows (a name too long, a place like /proc) was reported after training: the
  // folders are made and removed again first, and none is left behind.
  const fs::path too_long = tmp.path / "made" / std::string(300, 'b');
  expect_error(train(corpus, too_long),
               "cannot create the folder " + too_long.string() + ": File name too long");
  EXPECT_FALSE(fs::exists(tmp.path / "made"));
  // ".." in a new path is walked as saving walks it (the probe refused "a/../b" with "File exists").
  const CmdResult dots = run(train(corpus, tmp.path / "new" / ".." / "dotted"));
  EXPECT_EQ(dots.code, 0) << dots.output;
  EXPECT_TRUE(fs::exists(tmp.path / "dotted" / "tokenizer.json"));
  expect_error(train(corpus, "/proc/seek-no-such/tok"), "cannot create the folder /proc/seek-no-such");
  // A folder where one of the two files goes: --out is the folder to change, not a file name inside it.
  fs::create_directories(tmp.path / "holds" / "tokenizer_config.json");
  expect_error(train(corpus, tmp.path / "holds"),
               "--out " + (tmp.path / "holds").string() + " holds a folder named tokenizer_config.json");
}

// The same file twice (here by another spelling) counts its words twice: allowed, with a note.
TEST(CliTokenizerTrain, AFileGivenTwiceIsNoted) {
  TempDir tmp("cli-tok-train-twice");
  std::ofstream(tmp.path / "corpus.txt") << kCorpus;
  const fs::path again = tmp.path / "." / "corpus.txt";
  const CmdResult r = run(train(tmp.path / "corpus.txt", tmp.path / "tok", "--input " + again.string()));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("note: --input " + again.string() + " is the same file as --input " +
                          (tmp.path / "corpus.txt").string() + ": its words count twice"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(run(train(tmp.path / "corpus.txt", tmp.path / "tok2")).output.find("same file"),
            std::string::npos);
}

// A tokenizer already in --out (what a model trained with it reads its ids by) was replaced with nothing said
// but the usual "wrote": said before training, while stopping costs nothing, and in the closing line.
TEST(CliTokenizerTrain, ReplacingATokenizerIsSaid) {
  TempDir tmp("cli-tok-train-replace");
  std::ofstream(tmp.path / "corpus.txt") << kCorpus;
  CmdResult r = run(train(tmp.path / "corpus.txt", tmp.path / "tok"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("replacing the tokenizer"), std::string::npos) << r.output;
  r = run(train(tmp.path / "corpus.txt", tmp.path / "tok"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(
      r.output.find("note: --out " + (tmp.path / "tok").string() +
                    " holds a tokenizer.json, which this one replaces once trained (a model trained with "
                    "the old one needs it: copy it elsewhere first, or stop now)"),
      std::string::npos)
      << r.output;
  EXPECT_NE(
      r.output.find("; wrote " + (tmp.path / "tok").string() + ", replacing the tokenizer that was there"),
      std::string::npos)
      << r.output;
}

TEST(CliTokenizerTrain, UnusableInputsAreClearErrors) {
  TempDir tmp("cli-tok-train-in");
  const fs::path out = tmp.path / "tok";
  expect_error(train(tmp.path / "missing.txt", out),
               "cannot read " + (tmp.path / "missing.txt").string() + ": No such file or directory");
  expect_error(train(tmp.path, out), tmp.path.string() + " is a folder, not a file");
  // A device has no end: /dev/zero filled the memory for minutes before the limit stopped it.
  expect_error(train("/dev/zero", out), "/dev/zero is a device, not a text file");
  // "-" was looked for as a file ("cannot read -"), where `tokenize --file -` reads standard input.
  expect_error(train("-", out), "--input -: tokenizer train reads files, not standard input");
  std::ofstream(tmp.path / "empty.txt").close();
  expect_error(train(tmp.path / "empty.txt", out),
               "no text to train on: " + (tmp.path / "empty.txt").string() + " is empty");
  std::ofstream(tmp.path / "specials.txt") << "<s></s>";
  expect_error(train(tmp.path / "specials.txt", out, "--special-tokens '<s>,</s>'"),
               "are all special tokens");
  // Options are checked before the files are read.
  expect_error("tokenizer train --vocab-size 100 --input " + (tmp.path / "missing.txt").string() + " --out " +
                   out.string(),
               "--vocab-size 100 is too small: the 9 special tokens and 256 byte tokens need 265");
  // A negative count meant all threads; too many aborted in OpenMP. The same check as every command's.
  for (const std::string threads : {"-1", "100000"}) {
    CmdResult r = run("tokenizer train --vocab-size 280 --input " + (tmp.path / "empty.txt").string() +
                      " --out " + out.string() + " --threads " + threads);
    EXPECT_NE(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("--threads: must be a whole number from 0 to 1024, got '" + threads + "'"),
              std::string::npos)
        << r.output;
  }
  EXPECT_FALSE(fs::exists(out));
}

// A typo in the list is named instead of training a tokenizer with an empty, doubled or space-edged token.
TEST(CliTokenizerTrain, SpecialTokenListsAreChecked) {
  TempDir tmp("cli-tok-train-specials");
  const fs::path corpus = tmp.path / "corpus.txt", out = tmp.path / "tok";
  std::ofstream(corpus) << kCorpus;
  expect_error(train(corpus, out, "--special-tokens ''"), "--special-tokens \"\": item 1 is empty");
  expect_error(train(corpus, out, "--special-tokens '<s>,'"), "--special-tokens \"<s>,\": item 2 is empty");
  expect_error(train(corpus, out, "--special-tokens '<s>,,</s>'"), "item 2 is empty");
  expect_error(train(corpus, out, "--special-tokens '<s>, </s>'"),
               "\" </s>\" starts or ends with whitespace");
  // A tab or line break at an end was trained into the token.
  expect_error(train(corpus, out, "--special-tokens \"$(printf '<s>,</s>\\t')\""),
               "starts or ends with whitespace");
  expect_error(train(corpus, out, "--special-tokens '<s>'"),
               "give at least two special tokens, BOS then EOS");
  expect_error(train(corpus, out, "--special-tokens '<s>,<s>'"), "special token \"<s>\" is listed twice");
  expect_error(train(corpus, out, "--special-tokens '<s>,a'"),
               "special token \"a\" is the character tokenizer.json uses for the byte 0x61");
  // Longer than a tokenizer.json's added token may be: refused before training, not by the loader after it.
  expect_error(train(corpus, out, "--special-tokens '<s>," + std::string(300, 'x') + "'"),
               "special token 2 (counting from 1) is 300 bytes long; special tokens of at most 256 bytes");
  expect_error(train(corpus, out, "--min-frequency -1"),
               "--min-frequency: must be a whole number >= 0, got '-1'");
  // Past the type was saturated to 2^64 - 1; a fraction was "not in range".
  expect_error(train(corpus, out, "--min-frequency 99999999999999999999"),
               "--min-frequency: must be a whole number from 0 to 9223372036854775807");
  expect_error(train(corpus, out, "--vocab-size 2.5"),
               "--vocab-size: must be a whole number >= 1, got '2.5'");
  expect_error(train(corpus, out, "--special-tokens '<s>,</s>' --chat-template r1"),
               "--chat-template needs the chat tokens, which --special-tokens replaces");
  EXPECT_FALSE(fs::exists(out));
  CmdResult r = run(train(corpus, out, "--special-tokens '<s>,</s>,<pad>'"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(file_text(out / "tokenizer_config.json").find("\"<pad>\""), std::string::npos);
  // SFT with it spells the chat markers out as text, which it now says (it trained silently).
  std::string config = file_text(fs::path(SEEK_SOURCE_DIR) / "configs" / "tiny-v3.json");
  config.replace(config.find("\"vocab_size\": 64"), 16, "\"vocab_size\": 280");
  std::ofstream(tmp.path / "config.json") << config;
  std::ofstream(tmp.path / "sft.jsonl")
      << R"({"messages": [{"role": "user", "content": "the cat"}, {"role": "assistant", "content": "sat"}]})"
      << "\n";
  r = run("train --objective sft --config " + (tmp.path / "config.json").string() + " --tokenizer " +
          out.string() + " --data " + (tmp.path / "sft.jsonl").string() + " --out " +
          (tmp.path / "run").string() +
          " --steps 1 --batch-size 1 --seq-len 16 --threads 1 --val-fraction 0");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(
      r.output.find("note: the tokenizer has no <｜User｜> token, so SFT spells the chat format's markers "
                    "out as text"),
      std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("note: SFT writes chats in the DeepSeek-V3 format"), std::string::npos) << r.output;
  // A tokenizer folder whose chat template is another DeepSeek format (V2's here): SFT says that chat will
  // render the trained model's prompts in that format, not the one it was tuned on.
  {
    nlohmann::json cfg = nlohmann::json::parse(file_text(out / "tokenizer_config.json"));
    cfg["chat_template"] =
        file_text(fs::path(SEEK_TEST_DIR) / "tokenizer/fixtures/deepseek_v2_chat_template.jinja");
    std::ofstream(out / "tokenizer_config.json") << cfg.dump();
  }
  r = run("train --objective sft --config " + (tmp.path / "config.json").string() + " --tokenizer " +
          out.string() + " --data " + (tmp.path / "sft.jsonl").string() + " --out " +
          (tmp.path / "run-v2").string() +
          " --steps 1 --batch-size 1 --seq-len 16 --threads 1 --val-fraction 0");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("note: SFT writes chats in the DeepSeek-V3 format, but the chat template in " +
                          out.string() + "/tokenizer_config.json is DeepSeek-V2's"),
            std::string::npos)
      << r.output;
  // R1's: its prompts end in "<think>\n", which answers not starting so never saw (the tuned model ended at
  // once in chat, eval and grpo, with nothing said).
  {
    nlohmann::json cfg = nlohmann::json::parse(file_text(out / "tokenizer_config.json"));
    cfg["chat_template"] =
        file_text(fs::path(SEEK_TEST_DIR) / "tokenizer/fixtures/deepseek_r1_chat_template.jinja");
    std::ofstream(out / "tokenizer_config.json") << cfg.dump();
  }
  r = run("train --objective sft --config " + (tmp.path / "config.json").string() + " --tokenizer " +
          out.string() + " --data " + (tmp.path / "sft.jsonl").string() + " --out " +
          (tmp.path / "run-r1").string() +
          " --steps 1 --batch-size 1 --seq-len 16 --threads 1 --val-fraction 0");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("note: the chat template in " + out.string() +
                          "/tokenizer_config.json is DeepSeek-R1's, whose prompts end in \"<think>\\n\""),
            std::string::npos)
      << r.output;
  // Data whose answers already start with "<think>\n" matches those prompts: no note.
  std::ofstream(tmp.path / "sft-r1.jsonl")
      << R"({"messages": [{"role": "user", "content": "the cat"}, )"
      << R"({"role": "assistant", "content": "<think>\nsat</think>on the mat"}]})"
      << "\n";
  r = run("train --objective sft --config " + (tmp.path / "config.json").string() + " --tokenizer " +
          out.string() + " --data " + (tmp.path / "sft-r1.jsonl").string() + " --out " +
          (tmp.path / "run-r1-think").string() +
          " --steps 1 --batch-size 1 --seq-len 16 --threads 1 --val-fraction 0");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("is DeepSeek-R1's"), std::string::npos) << r.output;
  // prompt/completion records use no chat markers: no note.
  std::ofstream(tmp.path / "pc.jsonl")
      << R"({"prompt": "the cat sat on the mat, the cat", "completion": "sat on the hat"})"
      << "\n";
  r = run("train --objective sft --config " + (tmp.path / "config.json").string() + " --tokenizer " +
          out.string() + " --data " + (tmp.path / "pc.jsonl").string() + " --out " +
          (tmp.path / "run-pc").string() +
          " --steps 1 --batch-size 1 --seq-len 16 --threads 1 --val-fraction 0");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("SFT spells the chat format's markers"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("is DeepSeek-R1's"), std::string::npos) << r.output;  // the template is R1's here
}

TEST(CliTokenizerTrain, NonUtf8InputTrainsWithANote) {
  TempDir tmp("cli-tok-train-utf8");
  const fs::path corpus = tmp.path / "corpus.txt";
  std::ofstream(corpus) << kCorpus << "\xFF\xFE\n";
  CmdResult r = run(train(corpus, tmp.path / "tok"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("note: " + corpus.string() + " is not valid UTF-8 (first at byte " +
                          std::to_string(kCorpus.size()) + ")"),
            std::string::npos)
      << r.output;
  EXPECT_TRUE(fs::exists(tmp.path / "tok" / "tokenizer.json"));
}

// The text is held whole while its words are counted: more than memory holds was read in full and then
// killed for memory. Now it is refused up front, with the figures.
TEST(CliTokenizerTrain, TextThatCannotFitInMemoryIsRefusedFirst) {
  TempDir tmp("cli-tok-train-memory");
  const fs::path corpus = tmp.path / "corpus.txt";
  {
    std::ofstream f(corpus);
    for (int i = 0; i < 120000; ++i) f << kCorpus;  // 8.4 MB
  }
  // ~10 MB left after the process's own ~10 MB: far from each figure below, which RSS moves by a few 100 kB.
  const seek::test::ScopedEnv budget("SEEK_MEMORY_AVAILABLE", "20M");
  const CmdResult r = run("tokenizer train --vocab-size 300 --input " + corpus.string() + " --out " +
                          (tmp.path / "tok").string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("the 8.4 MB of training text (held while its words are counted) and a copy of its "
                          "largest file need 16.8 MB of memory"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(tmp.path / "tok"));
  // A text that is one long word (a run of one character, a line of DNA): training holds ~17 bytes per byte
  // of distinct words, which the size of the text does not show. 1 MB passes the first check (2 MB), not
  // this one.
  const fs::path word = tmp.path / "word.txt";
  std::ofstream(word) << std::string(1 << 20, 'a');
  const CmdResult w = run("tokenizer train --vocab-size 300 --input " + word.string() + " --out " +
                          (tmp.path / "tok").string());
  EXPECT_EQ(w.code, 1) << w.output;
  EXPECT_NE(w.output.find("training on 1 distinct word of 1.0 MB in all need"), std::string::npos)
      << w.output;
  EXPECT_NE(w.output.find("split its long words into lines"), std::string::npos) << w.output;
  EXPECT_FALSE(fs::exists(tmp.path / "tok"));
}

// --pre-tokenizer gpt2 wrote a ByteLevel step without trim_offsets, a key Hugging Face's tokenizers requires
// (it would refuse the file); a file holding null trained DeepSeek-V3's pre-tokenizer without a word.
TEST(CliTokenizerTrain, PreTokenizerChoicesAreWrittenWholeOrRefused) {
  TempDir tmp("cli-tok-train-pre");
  const fs::path corpus = tmp.path / "corpus.txt";
  std::ofstream(corpus) << kCorpus;
  CmdResult r = run(train(corpus, tmp.path / "g2", "--pre-tokenizer gpt2"));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto pre = nlohmann::json::parse(file_text(tmp.path / "g2" / "tokenizer.json"))["pre_tokenizer"];
  EXPECT_EQ(pre,
            nlohmann::json::parse(R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
                                           "use_regex": true})"))
      << pre.dump();
  for (const char* text : {"null", "[]", "\"gpt2\""}) {
    std::ofstream(tmp.path / "pre.json") << text;
    r = run(train(corpus, tmp.path / "p", "--pre-tokenizer " + (tmp.path / "pre.json").string()));
    EXPECT_EQ(r.code, 1) << text << ": " << r.output;
    EXPECT_NE(r.output.find("pre.json: a pre_tokenizer value is a JSON object"), std::string::npos)
        << text << ": " << r.output;
  }
  EXPECT_FALSE(fs::exists(tmp.path / "p"));
  // A tokenizer whose pre-tokenizer adds a prefix space: seek train says that its parts each get one.
  std::ofstream(tmp.path / "prefix.json")
      << R"({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true})";
  r = run(train(corpus, tmp.path / "ps", "--pre-tokenizer " + (tmp.path / "prefix.json").string()));
  ASSERT_EQ(r.code, 0) << r.output;
  std::string config = file_text(fs::path(SEEK_SOURCE_DIR) / "configs" / "tiny-v3.json");
  config.replace(config.find("\"vocab_size\": 64"), 16, "\"vocab_size\": 280");
  std::ofstream(tmp.path / "config.json") << config;
  r = run("train --config " + (tmp.path / "config.json").string() + " --tokenizer " +
          (tmp.path / "ps").string() + " --data " + corpus.string() + " --out " +
          (tmp.path / "run").string() +
          " --steps 1 --batch-size 1 --seq-len 16 --threads 1 --val-fraction 0");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("note: the tokenizer's pre-tokenizer adds a space before every text it encodes"),
            std::string::npos)
      << r.output;
  r = run("train --config " + (tmp.path / "config.json").string() + " --tokenizer " +
          (tmp.path / "g2").string() + " --data " + corpus.string() + " --out " +
          (tmp.path / "run-g2").string() +
          " --steps 1 --batch-size 1 --seq-len 16 --threads 1 --val-fraction 0");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("adds a space before every text"), std::string::npos) << r.output;
}

}  // namespace

// A resumed run takes its tokenizer from its checkpoint, as the run started with it: the --tokenizer
// folder's later edits (a chat template) went into the resumed run's checkpoints and model without a word.
TEST(CliTokenizerTrain, AResumedRunKeepsTheTokenizerItStartedWith) {
  TempDir tmp("cli-tok-train-resume");
  std::ofstream(tmp.path / "corpus.txt") << kCorpus << kCorpus;
  const fs::path tok = tmp.path / "tok";
  CmdResult r = run(train(tmp.path / "corpus.txt", tok));
  ASSERT_EQ(r.code, 0) << r.output;
  auto cfg = nlohmann::json::parse(std::ifstream(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json"));
  cfg["vocab_size"] = 280;
  std::ofstream(tmp.path / "config.json") << cfg.dump();
  const std::string args = "train --config " + (tmp.path / "config.json").string() + " --tokenizer " +
                           tok.string() + " --data " + (tmp.path / "corpus.txt").string() + " --out " +
                           (tmp.path / "run").string() + " --batch-size 1 --seq-len 16 --threads 1";
  r = run(args + " --steps 2");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string original = file_text(tok / "tokenizer_config.json");
  auto edited = nlohmann::json::parse(original);
  edited["chat_template"] = "EDITED";
  std::ofstream(tok / "tokenizer_config.json") << edited.dump();
  r = run(args + " --steps 3 --resume");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(file_text(tmp.path / "run" / "model" / "tokenizer_config.json"), original);
  EXPECT_EQ(file_text(tmp.path / "run" / "checkpoints" / "step-00000003" / "tokenizer_config.json"),
            original);
}
