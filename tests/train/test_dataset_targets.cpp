// SFT data that would train on nothing is refused: a file whose records have no answer (no assistant turn,
// no completion) adds no target carrying loss, and a dataset whose training sequences hold none would run
// every step with nothing to learn while reporting success.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <vector>

#include "support/error_of.hpp"
#include "support/temp_dir.hpp"
#include "tokenizer/tokenizer.hpp"
#include "train/dataset.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::error_of;
using test::TempDir;

fs::path write_jsonl(const fs::path& p, const std::vector<json>& records) {
  std::ofstream out(p);
  for (const auto& r : records) out << r.dump() << "\n";
  return p;
}

json chat(std::initializer_list<std::pair<const char*, const char*>> turns) {
  json m = json::array();
  for (const auto& [role, content] : turns) m.push_back({{"role", role}, {"content", content}});
  return {{"messages", m}};
}

DataOptions sft(std::vector<fs::path> inputs, const fs::path& dir, int64_t seq_len = 8) {
  DataOptions o;
  o.inputs = std::move(inputs);
  o.objective = Objective::Sft;
  o.seq_len = seq_len;
  o.val_fraction = 0;
  o.cache_dir = dir / "cache";
  o.threads = 1;
  return o;
}

TEST(DatasetTargets, SftFileWithoutAnswersIsAnErrorNamingIt) {
  TempDir tmp("dataset-targets");
  const auto tok = make_byte_tokenizer();
  const fs::path questions =
      write_jsonl(tmp.path / "questions.jsonl",
                  {chat({{"system", "Be brief."}, {"user", "What is 2+2? Explain at length."}}),
                   chat({{"user", "And 3+3?"}, {"user", "Please answer."}})});
  std::string e = error_of([&] { Dataset::open(sft({questions}, tmp.path), *tok); });
  EXPECT_NE(e.find("training data " + questions.string() + ": no record has an answer to train on"),
            std::string::npos)
      << e;
  // Named even next to a file that has answers: it would add only context that nothing learns from.
  const fs::path answers = write_jsonl(tmp.path / "answers.jsonl",
                                       {chat({{"user", "What is 2+2?"}, {"assistant", "4, of course."}}),
                                        {{"prompt", "1+1="}, {"completion", "2"}}});
  e = error_of([&] { Dataset::open(sft({answers, questions}, tmp.path), *tok); });
  EXPECT_NE(e.find(questions.string()), std::string::npos) << e;
  EXPECT_EQ(e.find(answers.string()), std::string::npos) << e;
  EXPECT_EQ(error_of([&] { Dataset::open(sft({answers}, tmp.path), *tok); }), "");
  // An empty file next to it has its note, as in pretraining: it was refused as having no answer.
  std::ofstream(tmp.path / "empty.jsonl") << "\n  \n";
  testing::internal::CaptureStdout();
  e = error_of([&] { Dataset::open(sft({answers, tmp.path / "empty.jsonl"}, tmp.path), *tok); });
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(e, "");
  EXPECT_NE(out.find("note: training data " + (tmp.path / "empty.jsonl").string() + " is empty"),
            std::string::npos)
      << out;
  // Alone, it is still an error.
  EXPECT_NE(error_of([&] { Dataset::open(sft({tmp.path / "empty.jsonl"}, tmp.path), *tok); }), "");
}

// The last sequence of an SFT stream is padded to its end: it was dropped, as a pretraining stream's partial
// last sequence is, and the conversations in it were never trained (two of five in a small file).
TEST(DatasetTargets, SftTrainsTheConversationsOfTheLastSequence) {
  TempDir tmp("dataset-targets-tail");
  const auto tok = make_byte_tokenizer();
  // A long question, then a short answer: with seq_len 64 the conversation (over 80 tokens) takes two
  // sequences, the answer in the second.
  const std::string question(80, 'q');
  const fs::path f =
      write_jsonl(tmp.path / "tail.jsonl", {chat({{"user", question.c_str()}, {"assistant", "ok"}})});
  auto d = Dataset::open(sft({f}, tmp.path, 64), *tok);
  EXPECT_EQ(d->stats().content["layout"], 3);  // so a checkpoint of the layout before is refused
  EXPECT_EQ(d->stats().train_sequences, 2);
  EXPECT_EQ(d->stats().counted_targets, 3);  // "ok" and the end-of-sentence token
  // Five short conversations, each padded to a sequence of its own: every answer counts.
  const fs::path five = write_jsonl(tmp.path / "five.jsonl",
                                    std::vector<json>(5, chat({{"user", "1+2?"}, {"assistant", "3"}})));
  d = Dataset::open(sft({five}, tmp.path, 32), *tok);
  EXPECT_EQ(d->stats().counted_targets, 10);  // "3" and the end-of-sentence token, five times
  // One conversation shorter than a sequence is a sequence (it was "too little training data").
  const fs::path one = write_jsonl(tmp.path / "one.jsonl", {chat({{"user", "1+2?"}, {"assistant", "3"}})});
  d = Dataset::open(sft({one}, tmp.path, 64), *tok);
  EXPECT_EQ(d->stats().train_sequences, 1);
  EXPECT_EQ(d->stats().counted_targets, 2);
}

// Answers that all fall in validation documents leave the training sequences nothing to learn from. Of two
// documents one goes to each side; the file is written in both orders, so the answer is held out in one.
TEST(DatasetTargets, SftAnswersOnlyInValidationAreAnError) {
  TempDir tmp("dataset-targets-val");
  const auto tok = make_byte_tokenizer();
  const json answer = chat({{"user", "What is 2+2?"}, {"assistant", "4"}}), none = chat({{"user", "Hi?"}});
  int errors = 0;
  for (const auto& records : {std::vector<json>{answer, none}, std::vector<json>{none, answer}}) {
    const fs::path f = write_jsonl(tmp.path / fmt::format("order{}.jsonl", errors), records);
    auto o = sft({f}, tmp.path);
    o.val_fraction = 0.5;
    const std::string e = error_of([&] { Dataset::open(o, *tok); });
    if (e.empty()) continue;
    ++errors;
    EXPECT_NE(e.find("no training target carries loss"), std::string::npos) << e;
    EXPECT_NE(e.find("all fall in the 1 validation document(s)"), std::string::npos) << e;
    EXPECT_NE(e.find(f.string()), std::string::npos) << e;
  }
  EXPECT_EQ(errors, 1);
}

// Records without an answer are counted: they fill training sequences with no loss, which the trainer's note
// blamed on prompts longer than seq_len alone.
TEST(DatasetTargets, SftRecordsWithoutAnAnswerAreCounted) {
  TempDir tmp("dataset-targets-count");
  const auto tok = make_byte_tokenizer();
  const fs::path f =
      write_jsonl(tmp.path / "mixed.jsonl", {chat({{"user", "What is 2+2?"}, {"assistant", "4"}}),
                                             chat({{"system", "Be brief."}, {"user", "And 3+3?"}}),
                                             {{"prompt", "1+1="}, {"completion", "2"}},
                                             chat({{"user", "Hello?"}})});
  auto d = Dataset::open(sft({f}, tmp.path), *tok);
  EXPECT_EQ(d->stats().documents, 4);
  EXPECT_EQ(d->stats().documents_without_targets, 2);
  // Pretraining puts loss on every token.
  auto o = sft({f}, tmp.path);
  o.objective = Objective::Pretrain;
  const fs::path text = write_jsonl(tmp.path / "text.jsonl", {{{"text", "some text"}}, {{"text", "more"}}});
  o.inputs = {text};
  o.seq_len = 4;
  EXPECT_EQ(Dataset::open(o, *tok)->stats().documents_without_targets, 0);
}

}  // namespace
}  // namespace seek
