// Training data: packing with EOS separators, next-token targets, exact SFT loss masks (both formats),
// the seeded shuffle (deterministic, a permutation per epoch, position-addressable), the token cache (reuse,
// invalidation by any change to an input or the tokenizer, damaged or stale folders), the validation split,
// and every input error with its message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/trainer.hpp"
#include "train/data_hash.hpp"
#include "train/data_records.hpp"
#include "train/dataset.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr TokenId kBos = 256, kEos = 257;  // the byte tokenizer's

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("seek-dataset-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& contents) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << contents;
    return p;
  }
  fs::path write_jsonl(const std::string& name, const std::vector<json>& records) {
    std::string s;
    for (const auto& r : records) s += r.dump() + "\n";
    return write(name, s);
  }
  DataOptions options(std::vector<fs::path> inputs, int64_t seq_len, Objective obj = Objective::Pretrain) {
    DataOptions o;
    o.inputs = std::move(inputs);
    o.objective = obj;
    o.seq_len = seq_len;
    o.val_fraction = 0;
    o.cache_dir = dir_ / "cache";
    o.threads = 2;
    return o;
  }
  std::unique_ptr<Dataset> open(const DataOptions& o) { return Dataset::open(o, *tok_); }

  // The message of the seek::Error that opening throws ("" if none).
  std::string open_error(const DataOptions& o, const Tokenizer* tok = nullptr) {
    try {
      Dataset::open(o, tok ? *tok : *tok_);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
  std::unique_ptr<Tokenizer> tok_ = make_byte_tokenizer();
};

struct Batch {
  std::vector<int32_t> tokens, targets;
  bool operator==(const Batch&) const = default;
};

Batch train(const Dataset& d, int64_t position, int64_t B, int64_t L) {
  Batch b{std::vector<int32_t>(size_t(B * L)), std::vector<int32_t>(size_t(B * L))};
  d.train_batch(position, B, b.tokens.data(), b.targets.data());
  return b;
}
Batch val(const Dataset& d, int64_t first, int64_t B, int64_t L) {
  Batch b{std::vector<int32_t>(size_t(B * L)), std::vector<int32_t>(size_t(B * L))};
  d.val_batch(first, B, b.tokens.data(), b.targets.data());
  return b;
}

Batch cat_batches(const Batch& a, const Batch& b) {
  Batch out = a;
  out.tokens.insert(out.tokens.end(), b.tokens.begin(), b.tokens.end());
  out.targets.insert(out.targets.end(), b.targets.begin(), b.targets.end());
  return out;
}

std::vector<int32_t> bytes_of(std::string_view s) {
  return std::vector<int32_t>(reinterpret_cast<const unsigned char*>(s.data()),
                              reinterpret_cast<const unsigned char*>(s.data()) + s.size());
}
std::vector<int32_t> cat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Sequence i of a stream must be tokens [i*L, i*L + L) with targets [i*L + 1, i*L + L + 1).
void expect_window(const Batch& b, const std::vector<int32_t>& stream, int64_t index, int64_t L,
                   const std::vector<uint8_t>* loss = nullptr) {
  for (int64_t t = 0; t < L; ++t) {
    ASSERT_EQ(b.tokens[t], stream[index * L + t]) << "sequence " << index << " token " << t;
    const size_t next = size_t(index * L + t + 1);
    ASSERT_EQ(b.targets[t], !loss || (*loss)[next] ? stream[next] : -1)
        << "sequence " << index << " target " << t;
  }
}

// A corpus of n numbered documents of different lengths, each "<doc K>" + filler.
std::string numbered_corpus(int n) {
  std::string s;
  for (int k = 0; k < n; ++k) {
    if (k) s += "<|endoftext|>\n";
    s +=
        "<doc " + std::to_string(k) + "> " + std::string(size_t(5 + (k * 7) % 23), char('a' + k % 26)) + "\n";
  }
  return s;
}

TEST(DataHash, MatchesReferenceXxh64) {
  using data::hex64;
  using data::xxh64;
  EXPECT_EQ(hex64(xxh64("")), "ef46db3751d8e999");
  EXPECT_EQ(hex64(xxh64("a")), "d24ec4f1a98c6e5b");
  EXPECT_EQ(hex64(xxh64("abc")), "44bc2cf5ad770999");
  EXPECT_EQ(hex64(xxh64("Nobody inspects the spammish repetition")), "fbcea83c8a378bf1");
  std::string big(1000, 0);
  for (int i = 0; i < 1000; ++i) big[size_t(i)] = char(i * 7 + 3);
  EXPECT_EQ(hex64(xxh64(big, 12345)), "365c39a0c5a4c88e");  // from libxxhash's XXH64
  // The block-parallel content hash does not depend on the thread count and sees every byte.
  std::string blob(20 << 20, 'x');
  const uint64_t h1 = data::content_hash(blob.data(), blob.size(), 1);
  EXPECT_EQ(h1, data::content_hash(blob.data(), blob.size(), 2));
  blob[17 << 20] = 'y';
  EXPECT_NE(h1, data::content_hash(blob.data(), blob.size(), 2));
}

TEST_F(DatasetTest, PacksDocumentsWithEosAndShiftsTargets) {
  // Separator lines (also with \r\n); "<|endoftext|>" inside a line is text; empty documents are skipped.
  // Each document is BOS + text + EOS, BOS as generation prepends it.
  auto f = write("a.txt", "<|endoftext|>\nab\n<|endoftext|>\r\nc<|endoftext|>d\n<|endoftext|>\nefg");
  const int64_t L = 3;
  auto d = open(options({f}, L));
  const auto stream = cat({{kBos},
                           bytes_of("ab\n"),
                           {kEos},
                           {kBos},
                           bytes_of("c<|endoftext|>d\n"),
                           {kEos},
                           {kBos},
                           bytes_of("efg"),
                           {kEos}});
  const auto& s = d->stats();
  EXPECT_EQ(s.documents, 3);
  EXPECT_EQ(s.train_documents, 3);
  EXPECT_EQ(s.val_documents, 0);
  EXPECT_EQ(s.train_tokens, int64_t(stream.size()));
  EXPECT_EQ(s.train_sequences, (int64_t(stream.size()) - 1) / L);  // the last partial window is dropped
  EXPECT_EQ(s.val_sequences, 0);
  EXPECT_EQ(s.counted_targets, s.train_sequences * L);  // pretraining: every target counts
  EXPECT_FALSE(s.reused_cache);
  for (int64_t p = 0; p < s.train_sequences; ++p)
    expect_window(train(*d, p, 1, L), stream, d->train_index(p), L);
  EXPECT_THROW(val(*d, 0, 1, L), Error);  // no validation split was asked for
}

TEST_F(DatasetTest, ReadsPretrainingJsonlAndFilesInOrder) {
  // Blank lines are allowed; special-token strings in pretraining text stay text; files keep their order.
  auto a = write("a.jsonl",
                 "{\"text\": \"hi <｜end▁of▁sentence｜>\"}\n\n  \n{\"text\": \"\"}\n{\"text\": \"yo\"}\n");
  auto b = write("b.txt", "zz");
  const auto stream = cat({{kBos},
                           bytes_of("hi <｜end▁of▁sentence｜>"),
                           {kEos},
                           {kBos},
                           bytes_of("yo"),
                           {kEos},
                           {kBos},
                           bytes_of("zz"),
                           {kEos}});
  const int64_t L = int64_t(stream.size()) - 1;
  auto d = open(options({a, b}, L));
  EXPECT_EQ(d->stats().documents, 3);  // the empty text is no document
  expect_window(train(*d, 0, 1, L), stream, 0, L);
}

TEST_F(DatasetTest, LongDocumentsAreCutAtLineStartsWithoutChangingTokens) {
  // A small BPE vocabulary, so the check covers merges and the DeepSeek pre-tokenizer, not only bytes.
  BpeTrainOptions bo;
  bo.vocab_size = 400;
  bo.threads = 2;
  std::string text;
  for (int i = 0; i < 300; ++i)
    text += "Line " + std::to_string(i) + ": the tokenizer's text,  with  spaces.\n" + (i % 7 ? "" : "\n\n") +
            (i % 5 ? "" : "  indented\n");
  auto bpe_dir = dir_ / "bpe";
  save_bpe(train_bpe({text}, bo), bpe_dir);
  auto bpe = load_tokenizer(bpe_dir);
  data::Document doc;
  data::pretrain_document(text, {bpe->bos_id(), bpe->eos_id()}, doc, 200);
  ASSERT_GT(doc.pieces.size(), 20u);
  std::vector<TokenId> pieces;
  for (const auto& p : doc.pieces) {
    if (p.token >= 0) continue;
    EXPECT_TRUE(p.text.size() >= 200 || &p == &doc.pieces[doc.pieces.size() - 2]);
    auto ids = bpe->encode(p.text, false, false);
    pieces.insert(pieces.end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(pieces, bpe->encode(text, false, false));
  EXPECT_EQ(doc.pieces.front().token, bpe->bos_id());
  EXPECT_EQ(doc.pieces.back().token, bpe->eos_id());
}

TEST_F(DatasetTest, HugeDocumentIsStreamedInParts) {
  // Longer than one tokenization batch (16 MiB): read and written in parts, still one document (one BOS).
  std::string text;
  text.reserve(17u << 20);
  for (int i = 0; text.size() < (17u << 20); ++i)
    text += "line " + std::to_string(i) + " of one long document\n";
  auto f = write("huge.txt", text);
  auto d = open(options({f}, 1024));
  EXPECT_EQ(d->stats().documents, 1);
  EXPECT_EQ(d->stats().train_tokens, int64_t(text.size()) + 2);
  std::ifstream in(d->stats().cache_path / "tokens.bin", std::ios::binary);
  std::vector<uint32_t> ids(text.size() + 2);
  in.read(reinterpret_cast<char*>(ids.data()), std::streamsize(ids.size() * 4));
  ASSERT_TRUE(in.good());
  EXPECT_EQ(ids.front(), uint32_t(kBos));
  EXPECT_EQ(ids.back(), uint32_t(kEos));
  for (size_t i = 0; i < text.size(); ++i)
    ASSERT_EQ(ids[i + 1], uint32_t(static_cast<unsigned char>(text[i]))) << i;
}

TEST_F(DatasetTest, SftMessagesMaskExactlyAssistantContentAndEos) {
  std::vector<ChatMessage> chat = {
      {"user", "What is 2+2?"},     {"system", "Be brief."},  // moved to the front by the template
      {"assistant", "4, café 😀"},   {"user", "And 3+3?"},    {"assistant", "6"}, {"tool", "result=6"},
      {"assistant", "Checked: 6."}, {"user", "Thanks"}};  // a trailing turn without an answer carries no loss
  std::vector<ChatMessage> empty_answer = {{"user", "Say nothing"}, {"assistant", ""}};
  auto to_json = [](const std::vector<ChatMessage>& c) {
    json m = json::array();
    for (const auto& x : c) m.push_back({{"role", x.role}, {"content", x.content}});
    return json{{"messages", m}};
  };
  auto f = write_jsonl("chat.jsonl", {to_json(chat), to_json(empty_answer)});
  const auto stream = cat({encode_chat(*tok_, chat), encode_chat(*tok_, empty_answer)});
  ASSERT_EQ(stream[0], kBos);
  const int64_t L = int64_t(stream.size()) - 1;
  auto d = open(options({f}, L, Objective::Sft));
  EXPECT_EQ(d->stats().documents, 2);
  auto b = train(*d, 0, 1, L);
  EXPECT_EQ(std::vector<int32_t>(b.tokens.begin(), b.tokens.end()),
            std::vector<int32_t>(stream.begin(), stream.end() - 1));
  std::vector<TokenId> counted;
  for (int64_t t = 0; t < L; ++t) {
    if (b.targets[t] == -1) continue;
    EXPECT_EQ(b.targets[t], stream[t + 1]);
    counted.push_back(b.targets[t]);
  }
  const std::string eos(tokens::kEos);
  EXPECT_EQ(tok_->decode(counted), "4, café 😀" + eos + "6" + eos + "Checked: 6." + eos + eos);
  EXPECT_EQ(d->stats().counted_targets, int64_t(counted.size()));
}

TEST_F(DatasetTest, SftPromptCompletionMasksCompletionAndEos) {
  auto f = write_jsonl("pc.jsonl", {{{"prompt", "Q: 1+1?"}, {"completion", " A: 2"}},
                                    {{"prompt", "Hi"}, {"completion", "!"}, {"extra", 1}}});
  const auto stream = cat({{kBos},
                           bytes_of("Q: 1+1?"),
                           bytes_of(" A: 2"),
                           {kEos},
                           {kBos},
                           bytes_of("Hi"),
                           bytes_of("!"),
                           {kEos}});
  std::vector<uint8_t> loss(stream.size(), 0);
  for (size_t i = 8; i < 14; ++i) loss[i] = 1;  // " A: 2" + EOS
  loss[17] = loss[18] = 1;                      // "!" + EOS
  const int64_t L = int64_t(stream.size()) - 1;
  auto d = open(options({f}, L, Objective::Sft));
  expect_window(train(*d, 0, 1, L), stream, 0, L, &loss);
  EXPECT_EQ(d->stats().counted_targets, 8);
  // Shorter sequences: the same mask, window by window. The first conversation (14 tokens) is longer than a
  // window of 5 and spans windows from the stream's start; the second (5 tokens) would start at position 14,
  // 2 into a window it does not fit, so it starts the next window at 16 after 2 tokens of padding, which
  // repeat the token before them and carry no loss.
  auto d4 = open(options({f}, 4, Objective::Sft));
  EXPECT_TRUE(d4->stats().reused_cache);  // the tokens do not depend on seq_len
  std::vector<int32_t> padded(stream.begin(), stream.begin() + 14);
  std::vector<uint8_t> padded_loss(loss.begin(), loss.begin() + 14);
  padded.insert(padded.end(), {kEos, kEos});
  padded_loss.insert(padded_loss.end(), {0, 0});
  padded.insert(padded.end(), stream.begin() + 14, stream.end());
  padded_loss.insert(padded_loss.end(), loss.begin() + 14, loss.end());
  // Five sequences of 4 targets (positions 1-20): the first holds no loss token, the others 1, 4, 1 and 2.
  EXPECT_EQ(d4->stats().train_sequences, 5);
  EXPECT_EQ(d4->stats().counted_targets, 8);
  EXPECT_EQ(d4->stats().train_sequences_without_targets, 1);
  EXPECT_EQ(d4->stats().padding_tokens, 2);
  for (int64_t p = 0; p < d4->stats().train_sequences; ++p) {
    expect_window(train(*d4, p, 1, 4), padded, d4->train_index(p), 4, &padded_loss);
    // The tokens before the padding (which the balance loss and the expert loads leave out): sequence 3
    // holds positions 12-15, whose last two are the padding.
    std::vector<int32_t> tokens(4), targets(4);
    int64_t length = -1;
    d4->train_batch(p, 1, tokens.data(), targets.data(), &length);
    EXPECT_EQ(length, d4->train_index(p) == 3 ? 2 : 4) << "sequence " << d4->train_index(p);
  }
  // Sequence 4 starts with the second conversation: its prompt is in view of its answer.
  const int64_t last = [&] {
    for (int64_t p = 0;; ++p)
      if (d4->train_index(p) == 4) return p;
  }();
  EXPECT_EQ(train(*d4, last, 1, 4).tokens[0], kBos);
}

TEST_F(DatasetTest, ShuffleIsAPermutationPerEpochAndDeterministic) {
  auto f = write("c.txt", numbered_corpus(40));
  const int64_t L = 8;
  auto o = options({f}, L);
  o.seed = 7;
  auto d = open(o);
  const int64_t n = d->stats().train_sequences;
  ASSERT_GT(n, 50);
  std::vector<std::vector<int64_t>> orders;
  for (int64_t e = 0; e < 3; ++e) {
    std::vector<int64_t> order;
    for (int64_t i = 0; i < n; ++i) order.push_back(d->train_index(e * n + i));
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(sorted[i], i) << "epoch " << e << " is not a permutation";
    orders.push_back(order);
  }
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[1], orders[2]);
  // Contents follow the order: every sequence of the stream is seen exactly once per epoch.
  std::string text;
  {
    std::ifstream in(f, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::vector<int32_t> stream;
  size_t start = 0;
  for (size_t p; (p = text.find("<|endoftext|>\n", start)) != std::string::npos; start = p + 14)
    stream = cat({stream, {kBos}, bytes_of(text.substr(start, p - start)), {kEos}});
  stream = cat({stream, {kBos}, bytes_of(text.substr(start)), {kEos}});
  auto epoch1 = train(*d, n, n, L);
  for (int64_t i = 0; i < n; ++i) {
    Batch one{{epoch1.tokens.begin() + i * L, epoch1.tokens.begin() + (i + 1) * L},
              {epoch1.targets.begin() + i * L, epoch1.targets.begin() + (i + 1) * L}};
    expect_window(one, stream, orders[1][size_t(i)], L);
  }
  // Same seed: same batches (from a second dataset over the cached tokens); another seed: another order.
  auto again = open(o);
  EXPECT_TRUE(again->stats().reused_cache);
  EXPECT_EQ(train(*again, 3, 20, L), train(*d, 3, 20, L));
  o.seed = 8;
  auto other = open(o);
  EXPECT_NE(train(*other, 3, 20, L), train(*d, 3, 20, L));
}

TEST_F(DatasetTest, AnyPositionIsServedDirectly) {
  auto f = write("c.txt", numbered_corpus(12));
  const int64_t L = 5;
  auto d = open(options({f}, L));
  const int64_t n = d->stats().train_sequences;
  const int64_t total = 3 * n + 7;  // three epochs and a bit
  const Batch all = train(*d, 0, total, L);
  for (int64_t p : {int64_t(0), int64_t(1), n - 2, n, 2 * n - 1, 2 * n + 3})
    for (int64_t B : {1, 3, 7}) {
      if (p + B > total) continue;
      Batch b = train(*d, p, B, L);
      EXPECT_EQ(b.tokens, std::vector<int32_t>(all.tokens.begin() + p * L, all.tokens.begin() + (p + B) * L))
          << "position " << p << " B " << B;
      EXPECT_EQ(b.targets,
                std::vector<int32_t>(all.targets.begin() + p * L, all.targets.begin() + (p + B) * L));
    }
  // A fresh dataset asked for a late position first gives the same answer (no hidden sequential state).
  auto fresh = open(options({f}, L));
  EXPECT_EQ(train(*fresh, 2 * n + 3, 2, L), train(*d, 2 * n + 3, 2, L));
  // Concurrent readers get the same batches.
  std::vector<Batch> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] { got[size_t(t)] = train(*fresh, int64_t(t) * n, n, L); });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(got[size_t(t)], train(*d, int64_t(t) * n, n, L));
}

TEST_F(DatasetTest, CacheIsReusedAndRebuiltOnAnyChange) {
  auto f = write("c.txt", numbered_corpus(10));
  const int64_t L = 6;
  auto o = options({f}, L);
  auto first = open(o);
  const fs::path path = first->stats().cache_path;
  EXPECT_FALSE(first->stats().reused_cache);
  EXPECT_EQ(path.parent_path(), o.cache_dir);
  EXPECT_EQ(path.filename().string().size(), 16u);
  // The layout: raw little-endian tokens, document offsets, meta.json naming the inputs.
  EXPECT_EQ(fs::file_size(path / "tokens.bin"), 4u * uint64_t(first->stats().train_tokens));
  EXPECT_EQ(fs::file_size(path / "offsets.bin"), 8u * 11);
  EXPECT_FALSE(fs::exists(path / "mask.bin"));
  json meta = json::parse(std::ifstream(path / "meta.json"));
  EXPECT_EQ(meta["descriptor"]["inputs"][0]["path"], fs::absolute(f).string());
  EXPECT_EQ(meta["descriptor"]["inputs"][0]["size"], fs::file_size(f));
  EXPECT_EQ(meta["descriptor"]["tokenizer"]["kind"], "byte");
  EXPECT_EQ(meta["documents"], 10);
  EXPECT_EQ(meta["key"], path.filename().string());  // not the name of the folder it was built in
  const Batch before = train(*first, 0, 8, L);

  auto second = open(o);
  EXPECT_TRUE(second->stats().reused_cache);
  EXPECT_EQ(second->stats().cache_path, path);
  EXPECT_EQ(train(*second, 0, 8, L), before);

  // Touching the file (new mtime, same bytes) makes a new key.
  const auto mtime = fs::last_write_time(f);
  fs::last_write_time(f, mtime + std::chrono::seconds(5));
  fs::create_directories(o.cache_dir / "notes");  // not a cache: left alone
  auto touched = open(o);
  EXPECT_FALSE(touched->stats().reused_cache);
  EXPECT_NE(touched->stats().cache_path, path);
  EXPECT_EQ(train(*touched, 0, 8, L), before);
  // The superseded cache is removed (it used to stay, as large as the data, for good); the dataset that
  // mapped it still reads it.
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::exists(o.cache_dir / "notes"));
  EXPECT_EQ(train(*first, 0, 8, L), before);

  // Different bytes of the same size with the old mtime put back: the content hash still tells.
  std::string text = numbered_corpus(10);
  text[3] = 'X';
  write("c.txt", text);
  fs::last_write_time(f, mtime);
  auto modified = open(o);
  EXPECT_FALSE(modified->stats().reused_cache);
  EXPECT_NE(modified->stats().cache_path, path);
  const int64_t n = first->stats().train_sequences;
  ASSERT_EQ(modified->stats().train_sequences, n);  // so both epochs are the same shuffle of the sequences
  EXPECT_NE(train(*modified, 0, n, L), train(*first, 0, n, L));

  // Another tokenizer makes a new key.
  BpeTrainOptions bo;
  bo.vocab_size = 300;
  bo.threads = 2;
  save_bpe(train_bpe({text, text}, bo), dir_ / "bpe");
  auto bpe = load_tokenizer(dir_ / "bpe");
  auto with_bpe = Dataset::open(o, *bpe);
  EXPECT_FALSE(with_bpe->stats().reused_cache);
  EXPECT_NE(with_bpe->stats().cache_path, modified->stats().cache_path);
  EXPECT_TRUE(Dataset::open(o, *bpe)->stats().reused_cache);
  // ... and so does the objective (SFT cannot read .txt; a .jsonl keeps both objectives apart).
  auto j = write_jsonl("p.jsonl", {{{"text", "abcdefghij"}, {"prompt", "abc"}, {"completion", "defghij"}}});
  auto pj = open(options({j}, 4, Objective::Pretrain));
  auto sj = open(options({j}, 4, Objective::Sft));
  EXPECT_FALSE(sj->stats().reused_cache);
  EXPECT_NE(pj->stats().cache_path, sj->stats().cache_path);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(o.cache_dir)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{sj->stats().cache_path.filename().string(), "notes"}));
}

TEST_F(DatasetTest, DamagedOrUnfinishedCachesAreNotTrusted) {
  auto f = write("c.txt", numbered_corpus(10));
  auto o = options({f}, 6);
  auto first = open(o);
  const fs::path path = first->stats().cache_path;
  const Batch before = train(*first, 0, 4, 6);
  first.reset();
  // A truncated token file is rebuilt.
  fs::resize_file(path / "tokens.bin", 12);
  auto rebuilt = open(o);
  EXPECT_FALSE(rebuilt->stats().reused_cache);
  EXPECT_EQ(train(*rebuilt, 0, 4, 6), before);
  rebuilt.reset();
  // A crashed build's temporary folder (its process gone) is removed when the key is built again, and a
  // folder without meta.json is never used.
  fs::remove_all(path);
  const fs::path stale = path.string() + ".tmp-999999999-1";
  fs::create_directories(path);
  fs::create_directories(stale);
  std::ofstream(stale / "tokens.bin") << "junk";
  auto again = open(o);
  EXPECT_FALSE(again->stats().reused_cache);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_EQ(train(*again, 0, 4, 6), before);
  for (const auto& e : fs::directory_iterator(o.cache_dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  // One left by a killed build of another key goes too, even when this key's cache is reused: it used to stay
  // until that key was built again.
  const fs::path other = o.cache_dir / "0123456789abcdef.tmp-999999999-2";
  fs::create_directories(other);
  std::ofstream(other / "tokens.bin") << "junk";
  EXPECT_TRUE(open(o)->stats().reused_cache);
  EXPECT_FALSE(fs::exists(other));

  // A damaged meta.json is rebuilt, not trusted: counts near 2^62 whose byte sizes wrapped round to the
  // files' real sizes (reads then left the map), and a descriptor nested 10^5 deep (its copy overflowed the
  // stack).
  const json meta = json::parse(std::ifstream(path / "meta.json"));
  const auto damaged_meta_is_rebuilt = [&](const std::string& text) {
    SCOPED_TRACE(text.substr(0, 80));
    std::ofstream(path / "meta.json") << text;
    auto d = open(o);
    EXPECT_FALSE(d->stats().reused_cache);
    EXPECT_EQ(train(*d, 0, 4, 6), before);
  };
  // tokens = 2^62 + N (4 × that wraps to the file's 4N bytes), with the last document's end moved there too.
  const uint64_t wrapped_tokens = (uint64_t(1) << 62) + meta["tokens"].get<uint64_t>();
  json wrapped = meta;
  wrapped["tokens"] = wrapped_tokens;
  {
    std::fstream offsets(path / "offsets.bin", std::ios::in | std::ios::out | std::ios::binary);
    offsets.seekp(std::streamoff(8 * meta["documents"].get<int64_t>()));
    offsets.write(reinterpret_cast<const char*>(&wrapped_tokens), sizeof wrapped_tokens);
  }
  damaged_meta_is_rebuilt(wrapped.dump());
  json many_documents = meta;
  many_documents["documents"] = (uint64_t(1) << 61) + meta["documents"].get<uint64_t>();
  damaged_meta_is_rebuilt(many_documents.dump());
  damaged_meta_is_rebuilt(R"({"descriptor": )" + std::string(100000, '[') + std::string(100000, ']') + "}");

  // A token id past the tokenizer's in tokens.bin names the cache to delete (it failed in the embedding,
  // naming neither file). Checked as read: every id of this small cache is read by one pass over it.
  {
    std::fstream tokens(path / "tokens.bin", std::ios::in | std::ios::out | std::ios::binary);
    const uint32_t bad = 1000;
    tokens.write(reinterpret_cast<const char*>(&bad), sizeof bad);
  }
  auto d = open(o);
  EXPECT_TRUE(d->stats().reused_cache);
  const int64_t n = d->stats().train_sequences;
  std::string error;
  try {
    train(*d, 0, n, 6);
    d->val_batch(0, d->stats().val_sequences,
                 std::vector<int32_t>(size_t(6 * d->stats().val_sequences)).data(),
                 std::vector<int32_t>(size_t(6 * d->stats().val_sequences)).data());
  } catch (const Error& e) {
    error = e.what();
  }
  EXPECT_EQ(error, "the data cache " + path.string() +
                       " is damaged: tokens.bin holds token id 1000, outside " + "the tokenizer's " +
                       std::to_string(tok_->vocab_size()) +
                       " ids; delete that folder and the run tokenizes its data again");
}

TEST_F(DatasetTest, TokensDoNotDependOnThreadCount) {
  auto f = write("c.txt", numbered_corpus(30));
  auto o = options({f}, 6);
  o.threads = 1;
  o.cache_dir = dir_ / "one";
  auto a = open(o);
  o.threads = 2;
  o.cache_dir = dir_ / "two";
  auto b = open(o);
  EXPECT_EQ(a->stats().cache_path.filename(), b->stats().cache_path.filename());
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(slurp(a->stats().cache_path / "tokens.bin"), slurp(b->stats().cache_path / "tokens.bin"));
  EXPECT_EQ(slurp(a->stats().cache_path / "offsets.bin"), slurp(b->stats().cache_path / "offsets.bin"));
}

// The numbered documents whose "<doc K>" marker appears in the decoded tokens.
std::set<int> doc_markers(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::vector<TokenId> plain;
  for (int32_t id : ids)
    if (id < 256) plain.push_back(id);
  std::string text = tok.decode(plain);
  std::set<int> out;
  // (No std::regex: GCC 12 warns inside it under the sanitizer build.)
  for (size_t p = text.find("<doc "); p != std::string::npos; p = text.find("<doc ", p + 1)) {
    size_t q = p + 5, digits = 0;
    while (q + digits < text.size() && std::isdigit(static_cast<unsigned char>(text[q + digits]))) ++digits;
    if (digits > 0 && q + digits < text.size() && text[q + digits] == '>')
      out.insert(std::stoi(text.substr(q, digits)));
  }
  return out;
}

TEST_F(DatasetTest, ValidationSplitIsDisjointSeededAndNeverEmpty) {
  auto f = write("c.txt", numbered_corpus(60));
  const int64_t L = 4;
  auto o = options({f}, L);
  o.val_fraction = 0.25;
  o.seed = 3;
  auto d = open(o);
  const auto& s = d->stats();
  EXPECT_EQ(s.train_documents + s.val_documents, 60);
  EXPECT_GT(s.val_documents, 5);
  EXPECT_LT(s.val_documents, 30);
  EXPECT_GT(s.val_sequences, 0);
  // Reassemble both streams (sequence i holds tokens [i*L, i*L + L)) and read off the documents.
  std::vector<int32_t> train_stream(size_t(s.train_sequences * L));
  for (int64_t p = 0; p < s.train_sequences; ++p) {
    Batch b = train(*d, p, 1, L);
    std::copy(b.tokens.begin(), b.tokens.end(), train_stream.begin() + d->train_index(p) * L);
  }
  const auto train_docs = doc_markers(*tok_, train_stream);
  const auto val_docs = doc_markers(*tok_, val(*d, 0, s.val_sequences, L).tokens);
  EXPECT_GT(train_docs.size(), 30u);
  EXPECT_GT(val_docs.size(), 5u);
  for (int k : val_docs) EXPECT_EQ(train_docs.count(k), 0u) << "document " << k << " is on both sides";
  // Validation batches wrap around and keep their order.
  EXPECT_EQ(val(*d, s.val_sequences - 1, 2, L),
            cat_batches(val(*d, s.val_sequences - 1, 1, L), val(*d, 0, 1, L)));
  // The split is a function of the seed.
  auto same = open(o);
  EXPECT_EQ(same->stats().val_documents, s.val_documents);
  EXPECT_EQ(val(*same, 0, s.val_sequences, L), val(*d, 0, s.val_sequences, L));
  o.seed = 4;
  EXPECT_NE(val(*open(o), 0, 3, L), val(*d, 0, 3, L));
  // Two documents: one on each side whatever the fraction.
  auto two = write("two.txt", "first document\n<|endoftext|>\nsecond document\n");
  for (double frac : {0.001, 0.999}) {
    auto o2 = options({two}, 4);
    o2.val_fraction = frac;
    auto d2 = open(o2);
    EXPECT_EQ(d2->stats().train_documents, 1) << frac;
    EXPECT_EQ(d2->stats().val_documents, 1) << frac;
  }
}

// The byte tokenizer without an end-of-sentence token.
class NoEosTokenizer final : public Tokenizer {
 public:
  std::vector<TokenId> encode(std::string_view t, bool a, bool p) const override {
    return b_->encode(t, a, p);
  }
  std::string decode(std::span<const TokenId> ids, bool skip) const override { return b_->decode(ids, skip); }
  std::string token_bytes(TokenId id) const override { return b_->token_bytes(id); }
  size_t vocab_size() const override { return b_->vocab_size(); }
  std::optional<TokenId> token_to_id(std::string_view t) const override { return b_->token_to_id(t); }
  std::string id_to_token(TokenId id) const override { return b_->id_to_token(id); }
  bool is_special(TokenId id) const override { return b_->is_special(id); }
  TokenId bos_id() const override { return b_->bos_id(); }
  TokenId eos_id() const override { return -1; }
  TokenId pad_id() const override { return b_->pad_id(); }
  std::string kind() const override { return "byte"; }

 private:
  std::unique_ptr<Tokenizer> b_ = make_byte_tokenizer();
};

#define EXPECT_ERROR_HAS(message, ...)                                                        \
  do {                                                                                        \
    const std::string m_ = (message);                                                         \
    for (const char* part : {__VA_ARGS__}) EXPECT_NE(m_.find(part), std::string::npos) << m_; \
  } while (0)

TEST_F(DatasetTest, InputErrorsNameTheFile) {
  const std::string missing = (dir_ / "missing.txt").string();
  EXPECT_ERROR_HAS(open_error(options({missing}, 4)), missing.c_str(), "No such file");
  auto csv = write("data.csv", "a,b\n");
  EXPECT_ERROR_HAS(open_error(options({csv}, 4)), "data.csv", "unknown extension \".csv\"", ".txt or .jsonl");
  auto txt = write("plain.txt", "some text for sft");
  EXPECT_ERROR_HAS(open_error(options({txt}, 4, Objective::Sft)), "plain.txt", "SFT reads .jsonl");
  EXPECT_ERROR_HAS(open_error(options({dir_}, 4)), "is not a regular file");
  EXPECT_ERROR_HAS(open_error(options({}, 4)), "list of input files is empty");
}

TEST_F(DatasetTest, RecordErrorsNameFileAndLine) {
  auto bad = write("bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n{\"text\": 1}\n");
  EXPECT_ERROR_HAS(open_error(options({bad}, 4)), "bad.jsonl:2: malformed JSON: parse error at column 24");
  auto no_text = write("nt.jsonl", "{\"text\": \"ok\"}\n\n{\"content\": \"x\"}\n");
  EXPECT_ERROR_HAS(open_error(options({no_text}, 4)), "nt.jsonl:3: the record has no string \"text\"");
  // A chat record read for pretraining names the objective that reads it.
  auto chat = write("chat.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n");
  EXPECT_ERROR_HAS(open_error(options({chat}, 4)), "chat.jsonl:1: the record has no string \"text\"",
                   "give --objective sft");
  auto not_object = write("no.jsonl", "[1, 2]\n");
  EXPECT_ERROR_HAS(open_error(options({not_object}, 4)), "no.jsonl:1: the record is not a JSON object");
  auto no_sft =
      write("ns.jsonl", "{\"prompt\": \"p\", \"completion\": \"c\"}\n{\"prompt\": \"only a prompt\"}\n");
  EXPECT_ERROR_HAS(open_error(options({no_sft}, 4, Objective::Sft)),
                   "ns.jsonl:2: the record has \"prompt\" but no \"completion\"");
  auto neither = write("ne.jsonl", "{\"question\": \"q\", \"answer\": \"a\"}\n");
  EXPECT_ERROR_HAS(open_error(options({neither}, 4, Objective::Sft)),
                   "ne.jsonl:1:", "neither \"messages\" nor string \"prompt\" and \"completion\"");
  auto not_string = write("nsc.jsonl", "{\"prompt\": \"p\", \"completion\": [\"c\"]}\n");
  EXPECT_ERROR_HAS(open_error(options({not_string}, 4, Objective::Sft)),
                   "nsc.jsonl:1: \"completion\" is not a string: [\"c\"]");
  auto role = write_jsonl(
      "role.jsonl",
      {{{"messages", {{{"role", "user"}, {"content", "hi"}}, {{"role", "bot"}, {"content", "hello"}}}}}});
  EXPECT_ERROR_HAS(open_error(options({role}, 4, Objective::Sft)),
                   "role.jsonl:1: message 1 has unknown role \"bot\"");
  auto no_content = write_jsonl("nc.jsonl", {{{"messages", {{{"role", "user"}}}}}});
  EXPECT_ERROR_HAS(open_error(options({no_content}, 4, Objective::Sft)),
                   "nc.jsonl:1: message 0 (user) has no string \"content\"");
  // Parts of a turn the rendering has no place for: a tool call's turn trained as an empty answer, and the
  // reasoning went missing, without a word. Null or empty ones carry nothing and are read.
  auto tool_call = write_jsonl(
      "tc.jsonl", {{{"messages",
                     {{{"role", "user"}, {"content", "weather?"}},
                      {{"role", "assistant"}, {"content", ""}, {"tool_calls", {{{"type", "function"}}}}}}}}});
  EXPECT_ERROR_HAS(
      open_error(options({tool_call}, 4, Objective::Sft)),
      "tc.jsonl:1: message 1 (assistant) has \"tool_calls\", which SFT does not render (only role "
      "and content are): write the call into content");
  // OpenAI's tool-call turn has no content: named by its call, not by the missing content.
  auto null_content = write_jsonl(
      "tn.jsonl",
      {{{"messages",
         {{{"role", "user"}, {"content", "weather?"}},
          {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", {{{"type", "function"}}}}}}}}});
  EXPECT_ERROR_HAS(open_error(options({null_content}, 4, Objective::Sft)),
                   "tn.jsonl:1: message 1 (assistant) has \"tool_calls\"");
  auto reasoning = write_jsonl(
      "rc.jsonl", {{{"messages",
                     {{{"role", "user"}, {"content", "2+2?"}},
                      {{"role", "assistant"}, {"content", "4"}, {"reasoning_content", "add"}}}}}});
  EXPECT_ERROR_HAS(open_error(options({reasoning}, 4, Objective::Sft)),
                   "rc.jsonl:1: message 1 (assistant) has \"reasoning_content\"",
                   "put the reasoning into content as <think>...</think>");
  auto plain =
      write_jsonl("plain.jsonl", {{{"messages",
                                    {{{"role", "user"}, {"content", "2+2?"}, {"tool_calls", nullptr}},
                                     {{"role", "assistant"},
                                      {"content", "4"},
                                      {"tool_calls", json::array()},
                                      {"reasoning_content", ""},
                                      {"thinking", false},
                                      {"function_call", json::object()}}}}}});
  EXPECT_EQ(open_error(options({plain}, 4, Objective::Sft)).find("SFT does not render"), std::string::npos)
      << open_error(options({plain}, 4, Objective::Sft));
  // Both forms in one record: the messages were used without a word.
  auto both = write_jsonl(
      "both.jsonl",
      {{{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"prompt", "p"}, {"completion", "c"}}});
  EXPECT_ERROR_HAS(open_error(options({both}, 4, Objective::Sft)),
                   "both.jsonl:1: the record has both \"messages\" and \"prompt\"/\"completion\"");
  auto empty_chat = write_jsonl("ec.jsonl", {{{"messages", json::array()}}});
  EXPECT_ERROR_HAS(open_error(options({empty_chat}, 4, Objective::Sft)), "ec.jsonl:1: \"messages\" is empty");
  // A key twice in one record, at the top or inside a message, trained on its last value in silence.
  auto twice = write("twice.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"a\", \"text\": \"b\"}\n");
  EXPECT_ERROR_HAS(open_error(options({twice}, 4)), "twice.jsonl:2: key \"text\" appears more than once");
  auto twice_inside = write("twice-inside.jsonl",
                            "{\"messages\": [{\"role\": \"user\", \"content\": \"a\", \"content\": \"b\"}, "
                            "{\"role\": \"assistant\", \"content\": \"c\"}]}\n");
  EXPECT_ERROR_HAS(open_error(options({twice_inside}, 4, Objective::Sft)), "twice-inside.jsonl:1: key \"",
                   "content\" appears more than once");
  // Errors found on the worker threads are reported for the first bad line in file order.
  std::string many;
  for (int i = 0; i < 500; ++i) many += i == 321 || i == 400 ? "{oops\n" : "{\"text\": \"fine\"}\n";
  EXPECT_ERROR_HAS(open_error(options({write("many.jsonl", many)}, 4)), "many.jsonl:322: malformed JSON");
}

TEST_F(DatasetTest, TooLittleDataSaysHowMuchIsNeeded) {
  auto empty = write("empty.txt", "");
  auto separators = write("seps.txt", "<|endoftext|>\n<|endoftext|>\n");
  EXPECT_ERROR_HAS(open_error(options({empty, separators}, 4)), "empty training data: no documents in",
                   "empty.txt", "seps.txt");
  auto small = write("small.txt", "abc");  // BOS + 3 bytes + EOS = 5 tokens
  EXPECT_ERROR_HAS(open_error(options({small}, 8)), "the training split has 5 tokens",
                   "seq_len 8 needs 9 tokens");
  EXPECT_TRUE(open_error(options({small}, 4)).empty());  // exactly one sequence fits
  NoEosTokenizer no_eos;
  EXPECT_ERROR_HAS(open_error(options({small}, 2), &no_eos), "no end-of-sentence token");
  auto o = options({small}, 2);
  o.val_fraction = 1;
  EXPECT_ERROR_HAS(open_error(o), "val_fraction must be in [0, 1)");
}

}  // namespace
}  // namespace seek
