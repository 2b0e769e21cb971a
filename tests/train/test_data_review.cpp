// Review tests for the training data pipeline: cuts inside long documents must not change their tokens, with
// any supported pre-tokenizer (DeepSeek-V3's and GPT-2's).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/trainer.hpp"
#include "train/data_records.hpp"
#include "train/dataset.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;

struct TempFolder {
  fs::path path;
  TempFolder() {
    path = fs::temp_directory_path() / ("seek-data-review-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempFolder() { fs::remove_all(path); }
};

// Lines whose ends exercise whitespace before newlines: blank lines, trailing spaces, CRLF, tabs.
const std::string kText =
    "Hello world.\n\nSecond paragraph here\nthird line \nfourth\r\nfifth\r\n\r\nsixth\t\nseventh\n\n\n"
    "eighth, with words\n  indented\nninth:\n\nTenth  \n\nEleventh\n"
    // Non-ASCII on either side of a newline: letters, CJK, digits, punctuation, a no-break space.
    "café\nnaïve\n東京\n123\n«quote»\n—dash\nend\xC2\xA0\nnbsp\n\xC2\xA0lead\n"
    // U+FEFF, whitespace to the patterns' \s (a cut after "\n" here split "\n\uFEFF\n" in two).
    "bom\n\xEF\xBB\xBF\nafter\nx\xEF\xBB\xBF\ny\n";

std::unique_ptr<Tokenizer> trained(const fs::path& dir, const nlohmann::json& pre) {
  BpeTrainOptions o;
  o.vocab_size = 400;
  o.min_frequency = 1;
  o.pre_tokenizer = pre;
  o.threads = 1;
  std::string corpus;
  for (int i = 0; i < 20; ++i) corpus += kText;
  save_bpe(train_bpe({corpus}, o), dir);
  return load_tokenizer(dir);
}

std::vector<TokenId> cat(std::vector<TokenId> a, const std::vector<TokenId>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void expect_cuts_keep_tokens(const Tokenizer& tok) {
  const auto whole = tok.encode(kText);
  for (size_t from = 0; from < kText.size(); ++from) {
    const size_t cut = tok::pre_token_cut_after(kText, from);
    if (cut >= kText.size()) break;
    const auto parts = cat(tok.encode(kText.substr(0, cut)), tok.encode(kText.substr(cut)));
    ASSERT_EQ(parts, whole) << "cut at byte " << cut << " after \"" << kText.substr(cut > 8 ? cut - 8 : 0, 8)
                            << "\"";
  }
}

TEST(DataReview, LineCutsKeepTokensWithDeepSeekPreTokenizer) {
  TempFolder t;
  expect_cuts_keep_tokens(*trained(t.path / "tok", tok::deepseek_v3_pre_tokenizer_json()));
}

TEST(DataReview, LineCutsKeepTokensWithGpt2PreTokenizer) {
  TempFolder t;
  expect_cuts_keep_tokens(*trained(t.path / "tok", tok::gpt2_pre_tokenizer_json()));
}

// End to end: a pretraining document longer than the 1 MiB chunk the cache build tokenizes at a time must
// come out as the tokens of the whole text (then EOS), whatever pre-tokenizer the tokenizer uses.
TEST(DataReview, LongDocumentTokensAsAWholeWithGpt2PreTokenizer) {
  TempFolder t;
  auto tok = trained(t.path / "tok", tok::gpt2_pre_tokenizer_json());
  std::string text;
  while (text.size() < (size_t(1) << 20) + 4096) text += "Hello world.\n\nSecond\n";
  { std::ofstream(t.path / "doc.txt", std::ios::binary) << text; }
  std::vector<TokenId> expected = tok->encode(text);
  expected.insert(expected.begin(), tok->bos_id());
  expected.push_back(tok->eos_id());

  DataOptions o;
  o.inputs = {t.path / "doc.txt"};
  o.seq_len = 4096;
  o.val_fraction = 0;
  o.cache_dir = t.path / "cache";
  o.threads = 1;
  auto d = Dataset::open(o, *tok);
  const int64_t L = o.seq_len, n = d->stats().train_sequences;
  ASSERT_EQ(d->stats().train_tokens, int64_t(expected.size()));
  std::vector<int32_t> tokens(static_cast<size_t>(L)), targets(static_cast<size_t>(L));
  for (int64_t p = 0; p < n; ++p) {
    d->train_batch(p, 1, tokens.data(), targets.data());
    const int64_t i = d->train_index(p);
    for (int64_t k = 0; k < L; ++k) {
      ASSERT_EQ(tokens[size_t(k)], expected[size_t(i * L + k)]) << "stream token " << i * L + k;
      ASSERT_EQ(targets[size_t(k)], expected[size_t(i * L + k + 1)]) << "stream target " << i * L + k;
    }
  }
}

// The cache key must change with anything that changes the tokens. A tokenizer.json whose merges differ
// (the last one dropped, its token left in the vocabulary) encodes "zzzzzzzz" differently, while its
// vocabulary and the key's probe text encode the same.
TEST(DataReview, CacheKeyFollowsTheMerges) {
  TempFolder t;
  BpeTrainOptions bo;
  bo.vocab_size = 9 + 256 + 3;  // "z z", "zz zz", "zzzz zzzz"
  bo.min_frequency = 1;
  bo.threads = 1;
  BpeTrainResult r = train_bpe({"zzzzzzzz zzzzzzzz"}, bo);
  ASSERT_EQ(r.tokenizer["model"]["merges"].size(), 3u);
  save_bpe(r, t.path / "a");
  r.tokenizer["model"]["merges"].erase(2);
  save_bpe(r, t.path / "b");
  auto a = load_tokenizer(t.path / "a"), b = load_tokenizer(t.path / "b");
  ASSERT_NE(a->encode("zzzzzzzz"), b->encode("zzzzzzzz"));
  { std::ofstream(t.path / "doc.txt", std::ios::binary) << "zzzzzzzz zzzzzzzz\n"; }
  DataOptions o;
  o.inputs = {t.path / "doc.txt"};
  o.seq_len = 2;
  o.val_fraction = 0;
  o.cache_dir = t.path / "cache";
  o.threads = 1;
  auto da = Dataset::open(o, *a);
  auto db = Dataset::open(o, *b);
  EXPECT_FALSE(db->stats().reused_cache);
  EXPECT_NE(da->stats().cache_path, db->stats().cache_path);
  EXPECT_NE(da->stats().train_tokens, db->stats().train_tokens);
}

}  // namespace
}  // namespace seek
