// BPE training on hostile input: special tokens that collide with the byte tokens or with a merge, no text to
// learn from, options that are wrong (refused before the files are read), non-UTF-8 files (trained on, with
// a note), and a save that fails halfway (the old tokenizer stays whole).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>

#include "core/error.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/trainer.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using test::TempDir;

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

std::string file_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

BpeTrainOptions small_options(std::vector<std::string> specials) {
  BpeTrainOptions opt;
  opt.vocab_size = 300;
  opt.threads = 1;
  opt.special_tokens = std::move(specials);
  return opt;
}

// A special token spelled like a byte token ("a" is byte 0x61's, "Ġ" the space's) would share its vocabulary
// entry: the byte could no longer be encoded, or would decode as the special's text.
TEST(TrainErrors, SpecialTokenThatIsAByteTokenIsRefused) {
  for (auto [special, byte] : {std::pair{"a", "0x61"}, std::pair{"Ġ", "0x20"}, std::pair{"é", "0xE9"}}) {
    std::string e = error_of([&] { train_bpe({"a cat sat"}, small_options({"<s>", special})); });
    EXPECT_TRUE(contains(e, "special token \"" + std::string(special) +
                                "\" is the character tokenizer.json "
                                "uses for the byte " +
                                byte))
        << e;
  }
  // Longer specials made of byte-level characters are fine: only a whole byte token collides.
  EXPECT_EQ(error_of([&] { train_bpe({"a cat sat"}, small_options({"<s>", "ab"})); }), "");
}

TEST(TrainErrors, SpecialTokensMustBeDistinctAndNonEmpty) {
  EXPECT_TRUE(contains(error_of([&] {
                         train_bpe({"x y"}, small_options({"<s>", "</s>", "<s>"}));
                       }),
                       "special token \"<s>\" is listed twice"));
  EXPECT_TRUE(contains(error_of([&] {
                         train_bpe({"x y"}, small_options({"<s>", ""}));
                       }),
                       "special token 2 (counting from 1) is empty"));
}

// "Ġthe" as a special token is also the byte-level spelling of " the": a merge reaching " the" must not take
// the special's id, or encoding " the" would give the special token and decode as "Ġthe".
TEST(TrainErrors, MergesNeverTakeASpecialTokensText) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "over the hill and the dale the end\n";
  auto r = train_bpe({text}, small_options({"<s>", "Ġthe"}));
  TempDir dir("train-special-merge");
  save_bpe(r, dir.path);
  auto tok = load_tokenizer(dir.path);
  const std::string doc = "over the hill and the dale";
  auto ids = tok->encode(doc);
  EXPECT_EQ(tok->decode(ids), doc);
  const TokenId special = *tok->token_to_id("Ġthe");
  for (TokenId id : ids) EXPECT_NE(id, special);
  EXPECT_EQ(tok->encode("Ġthe"), std::vector<TokenId>{special});  // the special's own text is still it
  EXPECT_EQ(tok->vocab_size(), r.tokenizer["model"]["vocab"].size());
}

TEST(TrainErrors, NoTextIsAnError) {
  auto opt = small_options({"<s>", "</s>"});
  EXPECT_TRUE(contains(error_of([&] { train_bpe({}, opt); }), "no text to train on: the input is empty"));
  EXPECT_TRUE(contains(error_of([&] {
                         train_bpe({"", ""}, opt);
                       }),
                       "no text to train on: the input is empty"));
  EXPECT_TRUE(contains(error_of([&] { train_bpe({"<s></s><s>"}, opt); }),
                       "the input's 10 bytes are all special tokens"));
  TempDir dir("train-empty");
  std::ofstream(dir.path / "a.txt").close();
  std::ofstream(dir.path / "b.txt").close();
  EXPECT_TRUE(contains(error_of([&] { train_bpe_files({dir.path / "a.txt"}, opt); }),
                       "no text to train on: " + (dir.path / "a.txt").string() + " is empty"));
  EXPECT_TRUE(contains(error_of([&] {
                         train_bpe_files({dir.path / "a.txt", dir.path / "b.txt"}, opt);
                       }),
                       "no text to train on: the input files are empty"));
  // One empty file among others is fine.
  std::ofstream(dir.path / "c.txt") << "some text here\n";
  EXPECT_EQ(error_of([&] { train_bpe_files({dir.path / "a.txt", dir.path / "c.txt"}, opt); }), "");
}

// Options are checked before the files are read (which may take long, or fail on the files themselves).
TEST(TrainErrors, OptionsAreCheckedBeforeTheFiles) {
  const fs::path missing = fs::temp_directory_path() / "seek-train-errors-missing.txt";
  // One special token would serve as BOS and EOS both (EOS and pad were written as BOS without a word).
  EXPECT_TRUE(contains(error_of([&] { train_bpe_files({missing}, small_options({"<s>"})); }),
                       "give at least two special tokens, BOS then EOS"));
  auto opt = small_options({"<s>", "</s>"});
  opt.vocab_size = 10;
  EXPECT_TRUE(contains(error_of([&] { train_bpe_files({missing}, opt); }), "--vocab-size 10 is too small"));
  opt = small_options({"<s>", "</s>"});
  opt.chat_template = "v4";
  EXPECT_TRUE(
      contains(error_of([&] { train_bpe_files({missing}, opt); }), "chat template \"v4\" is unknown"));
  opt = small_options({"<s>", "</s>"});
  opt.pre_tokenizer = nlohmann::json{{"type", "Metaspace"}};
  EXPECT_TRUE(contains(error_of([&] { train_bpe_files({missing}, opt); }), "Metaspace"));
  opt = small_options({"<s>", "a"});
  EXPECT_TRUE(contains(error_of([&] { train_bpe_files({missing}, opt); }), "special token \"a\""));
}

// Invalid UTF-8 is read as U+FFFD, as encode reads it, and the log says so, as it does for NUL bytes: a
// binary or UTF-16 file given by mistake should not train silently.
TEST(TrainErrors, NonUtf8FilesAreTrainedOnWithANote) {
  TempDir dir("train-utf8");
  std::ofstream(dir.path / "good.txt") << "plain text, plain text\n";
  std::ofstream(dir.path / "bad.txt") << "text \xFF\xFE more text\n";
  auto opt = small_options({"<s>", "</s>"});
  std::vector<std::string> lines;
  opt.log = [&](const std::string& s) { lines.push_back(s); };
  auto r = train_bpe_files({dir.path / "good.txt", dir.path / "bad.txt"}, opt);
  EXPECT_GT(r.merges, 0u);
  size_t notes = 0;
  for (const auto& l : lines)
    if (contains(l, "note:")) {
      ++notes;
      EXPECT_TRUE(contains(l, (dir.path / "bad.txt").string() + " is not valid UTF-8 (first at byte 5)"))
          << l;
    }
  EXPECT_EQ(notes, 1u);
  // UTF-16 text is valid UTF-8, NULs between the ASCII letters.
  std::ofstream(dir.path / "utf16.txt") << std::string("h\0i\0 \0h\0i\0", 10);
  lines.clear();
  train_bpe_files({dir.path / "utf16.txt"}, opt);
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(contains(lines[0], (dir.path / "utf16.txt").string() + " holds NUL bytes (first at byte 1)"))
      << lines[0];
}

// Saving over a tokenizer: when tokenizer_config.json may not be replaced (read-only, which AtomicFile
// refuses even for root), tokenizer.json is left as it was, not a new tokenizer.json beside the old config.
TEST(TrainErrors, AFailedSaveLeavesTheOldTokenizerWhole) {
  TempDir dir("train-save");
  std::ofstream(dir.path / "tokenizer.json") << "old tokenizer";
  std::ofstream(dir.path / "tokenizer_config.json") << "old config";
  fs::permissions(dir.path / "tokenizer_config.json", fs::perms::owner_read);
  auto r = train_bpe({"some text, some text"}, small_options({"<s>", "</s>"}));
  EXPECT_TRUE(contains(error_of([&] { save_bpe(r, dir.path); }), "tokenizer_config.json"));
  EXPECT_EQ(file_text(dir.path / "tokenizer.json"), "old tokenizer");
  EXPECT_EQ(file_text(dir.path / "tokenizer_config.json"), "old config");
  fs::permissions(dir.path / "tokenizer_config.json", fs::perms::owner_all);
}

// Two runs saving into one folder at once left one's tokenizer.json beside the other's config: a save waits
// for the folder's flock, held here as another save would hold it, and then replaces the pair whole.
TEST(TrainErrors, ASaveWaitsForAnotherIntoTheSameFolder) {
  TempDir dir("train-save-lock");
  auto r = train_bpe({"over the hill and the dale the end"}, small_options({"<s>", "</s>"}));
  const int held = ::open(dir.path.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX), 0);
  auto save = std::async(std::launch::async, [&] { save_bpe(r, dir.path); });
  EXPECT_EQ(save.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  EXPECT_FALSE(fs::exists(dir.path / "tokenizer.json"));
  ::close(held);
  ASSERT_EQ(save.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  save.get();
  EXPECT_TRUE(fs::exists(dir.path / "tokenizer.json"));
  EXPECT_TRUE(fs::exists(dir.path / "tokenizer_config.json"));
  EXPECT_EQ(load_tokenizer(dir.path)->vocab_size(), r.tokenizer["model"]["vocab"].size());
}

}  // namespace
}  // namespace seek
