// check_tokenizer_fits_init: a --tokenizer given with --init must mean by every id what the model's own
// tokenizer.json means; what differs only around the vocabulary passes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/read_file.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"
#include "tokenizer/trainer.hpp"
#include "train/init_tokenizer.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct InitTokenizer : ::testing::Test {
  test::TempDir tmp{"init-tokenizer"};
  ModelConfig model;
  InitTokenizer() {
    BpeTrainOptions bo;
    bo.vocab_size = 280;
    bo.threads = 1;
    save_bpe(train_bpe({"the cat sat on the mat, the cat sat on the hat. café"}, bo), tmp.path / "own");
    model.bos_token_id = 0;
    model.eos_token_id = 1;
  }
  json tokenizer_json(const std::string& dir) const {
    return json::parse(read_file(tmp.path / dir / "tokenizer.json"));
  }
  // A copy of the own tokenizer folder, its tokenizer.json edited by `edit`.
  std::string variant(const std::string& name, const std::function<void(json&)>& edit) const {
    fs::copy(tmp.path / "own", tmp.path / name, fs::copy_options::recursive);
    json j = tokenizer_json("own");
    edit(j);
    std::ofstream(tmp.path / name / "tokenizer.json") << j.dump();
    return (tmp.path / name).string();
  }
  std::string check(const fs::path& init, const std::string& dir) const {
    return test::error_of([&] { check_tokenizer_fits_init(init, dir, *load_tokenizer(dir), model); });
  }
};

TEST_F(InitTokenizer, ItsOwnPasses) {
  EXPECT_EQ(check(tmp.path / "own", (tmp.path / "own").string()), "");
}

// Partial characters are shown byte by byte: as text they all read as U+FFFD ("�" and "�").
TEST_F(InitTokenizer, SwappedIdsAreNamedWithTheirBytes) {
  const std::string swapped = variant("swapped", [](json& j) {
    auto& v = j["model"]["vocab"];
    const std::string c3 = "Ã", a9 = "©";  // the byte-level spellings of bytes C3 and A9
    std::swap(v[c3], v[a9]);
  });
  const std::string e = check(tmp.path / "own", swapped);
  EXPECT_NE(e.find("give id "), std::string::npos) << e;
  EXPECT_NE(e.find("to different tokens (bytes A9 and bytes C3)"), std::string::npos) << e;
}

// An id the model's own tokenizer.json leaves out (a gap) may be filled by the --tokenizer given.
TEST_F(InitTokenizer, AGapInTheModelsOwnMayBeFilled) {
  const json full = tokenizer_json("own");
  const json last = full["added_tokens"].back();
  fs::copy(tmp.path / "own", tmp.path / "gap", fs::copy_options::recursive);
  json gap = full;
  gap["added_tokens"].erase(gap["added_tokens"].size() - 1);
  gap["model"]["vocab"].erase(last["content"].get<std::string>());
  std::ofstream(tmp.path / "gap" / "tokenizer.json") << gap.dump();
  EXPECT_EQ(check(tmp.path / "gap", (tmp.path / "own").string()), "");
}

// The --init folder's own files may be why --tokenizer is given: a note, and no comparison.
TEST_F(InitTokenizer, AnOwnTokenizerThatDoesNotLoadIsNotCompared) {
  fs::copy(tmp.path / "own", tmp.path / "broken", fs::copy_options::recursive);
  std::ofstream(tmp.path / "broken" / "tokenizer_config.json") << "{oops";
  testing::internal::CaptureStderr();
  EXPECT_EQ(check(tmp.path / "broken", (tmp.path / "own").string()), "");
  const std::string note = testing::internal::GetCapturedStderr();
  EXPECT_NE(note.find("note: the --init folder's own tokenizer does not load ("), std::string::npos) << note;
  EXPECT_NE(note.find("is taken without comparing their vocabularies"), std::string::npos) << note;
}

// A config's eos_token_id list ends generation at each of its ids: the tokenizer's EOS may be any of them.
TEST_F(InitTokenizer, TheTokenizersEosMayBeAnyOfTheConfigsList) {
  const std::string own = (tmp.path / "own").string();
  model.eos_token_id = 7;
  model.extra_eos_token_ids = {1};
  EXPECT_EQ(check(tmp.path / "own", own), "");
  model.extra_eos_token_ids = {8, 9};
  const std::string e = check(tmp.path / "own", own);
  EXPECT_NE(e.find("config.json has EOS ids 7, 8, 9, the tokenizer in " + own + " has 1"), std::string::npos)
      << e;
  model.extra_eos_token_ids = {};
  EXPECT_NE(check(tmp.path / "own", own).find("has EOS id 7, the tokenizer"), std::string::npos);
}

}  // namespace
}  // namespace seek
