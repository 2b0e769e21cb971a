// Review tests of the training loop: a step of several micro-batches trains on what one batch of all its
// sequences would (the mean over the whole step's targets, not a mean of per-micro-batch means), also for SFT
// data whose micro-batches hold different numbers of answer tokens; a batch without MTP targets (an SFT
// micro-batch of prompt tokens only) adds no MTP gradient left over from the batch before it; a save killed
// between replacing a checkpoint and moving its successor in loses nothing.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "model/model_dir.hpp"
#include "model/transformer.hpp"
#include "support/byte_vocab_config.hpp"
#include "support/error_of.hpp"
#include "support/signal_at.hpp"
#include "support/temp_dir.hpp"
#include "train/checkpoint.hpp"
#include "train/trainer.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::byte_vocab_config;
using test::TempDir;

// Prompt/completion records whose answers differ a lot in length, so sequences of 32 tokens hold from none
// to ~30 answer tokens.
fs::path write_sft(const fs::path& dir) {
  fs::path p = dir / "sft.jsonl";
  std::ofstream f(p);
  for (int i = 0; i < 30; ++i) {
    const std::string prompt(size_t(5 + (i * 17) % 40), char('a' + i % 26));
    const std::string answer(size_t(1 + (i * 11) % 45), char('A' + i % 26));
    f << json{{"prompt", prompt}, {"completion", answer}}.dump() << "\n";
  }
  return p;
}

fs::path write_corpus(const fs::path& dir) {
  fs::path p = dir / "corpus.txt";
  std::ofstream f(p);
  for (int doc = 0; doc < 30; ++doc) {
    for (int i = 0; i < 8; ++i) f << (doc * 7 + i * 3) % 50 << "+" << i << "=" << (doc + i) << "\n";
    f << "<|endoftext|>\n";
  }
  return p;
}

TrainSettings settings(const fs::path& data, const fs::path& out, const char* objective) {
  TrainSettings s;
  s.config = byte_vocab_config(data.parent_path()).string();
  s.data = {data.string()};
  s.objective = objective;
  s.out = out.string();
  s.seq_len = 32;
  s.steps = 1;
  s.lr = 1e-3;
  s.min_lr = 1e-4;
  s.warmup_steps = 0;
  s.eval_every = 0;
  s.checkpoint_every = 0;
  s.log_every = 100;
  s.threads = 1;
  s.val_fraction = 0;
  s.max_grad_norm = 0;  // grad_norm then reports the unclipped gradient
  return s;
}

json first_metrics(const fs::path& out) {
  std::ifstream f(out / "metrics.jsonl");
  std::string line;
  std::getline(f, line);
  return json::parse(line);
}

void expect_close(const json& got, const json& want, const char* key) {
  const double g = got[key].get<double>(), w = want[key].get<double>();
  EXPECT_NEAR(g, w, 1e-5 * std::max(1.0, std::abs(w))) << key;
}

// The same 8 sequences in the same order as 4 micro-batches of 2 and as one batch of 8: the first step's
// loss, its parts and the gradient's norm (from the same initial weights) agree to float rounding.
void expect_accumulation_matches_one_batch(const fs::path& data, const fs::path& tmp, const char* objective) {
  auto big = settings(data, tmp / "big", objective);
  big.batch_size = 8;
  big.grad_accum = 1;
  run_training(big, false);
  auto acc = settings(data, tmp / "accumulated", objective);
  acc.batch_size = 2;
  acc.grad_accum = 4;
  run_training(acc, false);
  const json want = first_metrics(tmp / "big"), got = first_metrics(tmp / "accumulated");
  EXPECT_EQ(got["counted_targets"], want["counted_targets"]);
  for (const char* key : {"loss", "ce", "mtp", "balance", "grad_norm"}) expect_close(got, want, key);
}

TEST(TrainerReview, GradientAccumulationEqualsOneBatchForPretraining) {
  TempDir tmp("review-accum-pretrain");
  expect_accumulation_matches_one_batch(write_corpus(tmp.path), tmp.path, "pretrain");
}

TEST(TrainerReview, GradientAccumulationEqualsOneBatchForSft) {
  TempDir tmp("review-accum-sft");
  expect_accumulation_matches_one_batch(write_sft(tmp.path), tmp.path, "sft");
}

std::vector<json> all_metrics(const fs::path& out) {
  std::vector<json> v;
  std::ifstream f(out / "metrics.jsonl");
  std::string line;
  while (std::getline(f, line)) v.push_back(json::parse(line));
  return v;
}

// SFT with micro-batches, epochs that end within a step, a stop at the end of a step and at a micro-batch,
// and a resume that changes what --resume may change without touching the training (evaluation, logging,
// checkpoint cadence): the resumed run's losses, gradient norms and validation losses are the uninterrupted
// run's, bit for bit, and metrics.jsonl holds each step once.
TEST(TrainerReview, SftResumeAcrossEpochsWithChangedSettingsIsBitIdentical) {
  TempDir tmp("review-sft-resume");
  const fs::path data = write_sft(tmp.path);
  auto full = settings(data, tmp.path / "full", "sft");
  full.batch_size = 3;
  full.grad_accum = 3;
  full.steps = 8;  // 72 sequences: more than one epoch of the ~45 training sequences
  full.warmup_steps = 2;
  full.schedule = "cosine";
  full.val_fraction = 0.2;
  full.eval_every = 2;
  full.eval_batches = 1;
  full.max_grad_norm = 1.0;
  run_training(full, false);
  const auto want = all_metrics(tmp.path / "full");
  ASSERT_EQ(want.size(), 8u);
  for (const char* at : {"step:3", "micro-batch:10"}) {
    SCOPED_TRACE(at);
    auto s = full;
    s.out = (tmp.path / (std::string("stopped-") + at[0])).string();
    {
      test::SignalAt signal(at);
      EXPECT_TRUE(run_training(s, false).interrupted);
    }
    const auto r = run_training(s, true, {{"eval_every", 4}, {"log_every", 3}, {"checkpoint_every", 3}});
    EXPECT_EQ(r.steps_done, 8);
    const auto got = all_metrics(s.out);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i]["step"], want[i]["step"]);
      EXPECT_EQ(got[i]["loss"].get<double>(), want[i]["loss"].get<double>()) << "step " << i + 1;
      EXPECT_EQ(got[i]["grad_norm"].get<double>(), want[i]["grad_norm"].get<double>()) << "step " << i + 1;
      EXPECT_EQ(got[i]["lr"].get<double>(), want[i]["lr"].get<double>()) << "step " << i + 1;
      if (got[i].contains("val_loss")) {
        EXPECT_EQ(got[i]["val_loss"].get<double>(), want[i]["val_loss"].get<double>()) << "step " << i + 1;
      }
    }
  }
}

// A step that reads more sequences than the training split holds reads some twice: said, as it was not.
TEST(TrainerReview, AStepLargerThanTheSplitIsNoted) {
  TempDir tmp("review-step-larger");
  auto s = settings(write_corpus(tmp.path), tmp.path / "run", "pretrain");
  testing::internal::CaptureStdout();
  run_training(s, false);
  EXPECT_EQ(testing::internal::GetCapturedStdout().find("each step reads some of them more than once"),
            std::string::npos);
  s.out = (tmp.path / "run2").string();
  s.batch_size = 4;
  s.grad_accum = 1000;
  testing::internal::CaptureStdout();
  run_training(s, false);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: a step reads 4000 sequences and the training split holds "), std::string::npos)
      << out;
}

// A signal that comes while a checkpoint is written stops the run on that checkpoint: with one micro-batch a
// step, nothing looked for it between the save and the next step, which was trained and saved as well.
TEST(TrainerReview, ASignalDuringACheckpointStopsOnIt) {
  TempDir tmp("review-stop-in-save");
  auto s = settings(write_corpus(tmp.path), tmp.path / "run", "pretrain");
  s.steps = 4;
  s.checkpoint_every = 1;
  {
    test::SignalAt signal("saved:2");
    const auto r = run_training(s, false);
    EXPECT_TRUE(r.interrupted);
    EXPECT_EQ(r.steps_done, 2);
  }
  EXPECT_EQ(all_metrics(s.out).size(), 2u);
  EXPECT_TRUE(fs::exists(fs::path(s.out) / "checkpoints" / "step-00000002"));
  EXPECT_FALSE(fs::exists(fs::path(s.out) / "checkpoints" / "step-00000003"));
  EXPECT_EQ(run_training(s, true).steps_done, 4);
}

// The gradient of a batch is the same whatever batch the model ran before it: the MTP head's gradient of an
// earlier batch must not be replayed into one whose MTP depth has no target.
TEST(TrainerReview, BatchWithoutMtpTargetsGetsNoStaleMtpGradient) {
  const ModelConfig cfg = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  ASSERT_EQ(cfg.num_nextn_predict_layers, 1);
  const int64_t B = 2, T = 8;
  std::vector<int32_t> tokens(size_t(B * T)), all(size_t(B * T)), first_only(size_t(B * T), -1);
  for (int64_t i = 0; i < B * T; ++i) {
    tokens[size_t(i)] = int32_t((i * 7 + 3) % cfg.vocab_size);
    all[size_t(i)] = int32_t((i * 5 + 1) % cfg.vocab_size);
  }
  // Only position 0 of each sequence has a target: the main head trains, MTP depth 1 (targets from
  // position 1 on) has nothing to predict.
  for (int64_t b = 0; b < B; ++b) first_only[size_t(b * T)] = all[size_t(b * T)];
  LossOptions lo;
  lo.balance.alpha = 0.001;

  Transformer<float> fresh(cfg), used(cfg);
  fresh.init_weights(7);
  used.init_weights(7);
  used.forward_backward(tokens.data(), all.data(), B, T, lo, true);
  used.params().zero_grad();
  fresh.params().zero_grad();
  const LossResult a = used.forward_backward(tokens.data(), first_only.data(), B, T, lo, true);
  const LossResult b = fresh.forward_backward(tokens.data(), first_only.data(), B, T, lo, true);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.mtp, 0.0);
  const auto& ga = used.params().grad;
  const auto& gb = fresh.params().grad;
  ASSERT_EQ(ga.size(), gb.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < ga.size(); ++i) {
    diff = std::max(diff, double(std::abs(ga[i] - gb[i])));
    norm = std::max(norm, double(std::abs(gb[i])));
  }
  EXPECT_LE(diff, 1e-6 * norm) << "largest gradient " << norm;
}

TEST(TrainerReview, SaveKilledBetweenItsRenamesKeepsThatStep) {
  TempDir tmp("review-save-renames");
  const fs::path run = tmp.path / "run", ck = run / "checkpoints";
  auto make = [](const fs::path& d, const std::string& tag) {
    fs::create_directories(d);
    std::ofstream(d / "trainer_state.json") << tag;
  };
  auto tag = [](const fs::path& d) {
    std::ifstream in(d / "trainer_state.json");
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  // Killed after step 8's old copy was moved aside and before the new one was moved in: the old copy is the
  // only complete step 8.
  make(ck / "step-00000004", "4");
  make(ck / ".step-00000008.old-123", "8 old");
  make(ck / ".step-00000008.tmp-123", "8 new");
  auto latest = latest_checkpoint(run);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), "step-00000008");
  EXPECT_EQ(tag(*latest), "8 old");
  EXPECT_FALSE(fs::exists(ck / ".step-00000008.old-123"));
  // Killed after the new copy was moved in: the old one is a leftover, and goes.
  make(ck / ".step-00000004.old-77", "4 old");
  latest = latest_checkpoint(run);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), "step-00000008");
  EXPECT_FALSE(fs::exists(ck / ".step-00000004.old-77"));
  EXPECT_EQ(tag(ck / "step-00000004"), "4");
}

// 30 chat records whose user turns hold `prompt_chars` letters; only every third has an answer ("ok").
fs::path write_answerless(const fs::path& dir, size_t prompt_chars) {
  const fs::path data = dir / "answerless.jsonl";
  std::ofstream f(data);
  for (int i = 0; i < 30; ++i) {
    json turns =
        json::array({json{{"role", "user"}, {"content", std::string(prompt_chars, char('a' + i % 26))}}});
    if (i % 3 == 0) turns.push_back({{"role", "assistant"}, {"content", "ok"}});
    f << json{{"messages", turns}}.dump() << "\n";
  }
  return data;
}

// The note on training sequences without an answer names records that have none, next to the seq_len cause
// it gave alone before.
TEST(TrainerReview, TheNoteOnSequencesWithoutAnswersCountsRecordsWithoutOne) {
  TempDir tmp("review-answerless");
  const fs::path data = write_answerless(tmp.path, 20);
  testing::internal::CaptureStdout();
  run_training(settings(data, tmp.path / "run", "sft"), false);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("20 of the 30 records have no answer to train on (no assistant turn or completion)"),
            std::string::npos)
      << out;
}

// An SFT step none of whose sequences holds an answer token has only the balance loss, whose tiny gradient
// AdamW's normalised update turned into a full learning-rate step of every weight: such a step now changes
// no weight (nor the router bias), says so, and is logged as skipped; the steps around it train.
TEST(TrainerReview, AStepWithoutAnswerTokensChangesNoWeight) {
  TempDir tmp("review-no-targets");
  // Prompts longer than a sequence: each fills one with no answer token.
  const fs::path data = write_answerless(tmp.path, 40);
  auto s = settings(data, tmp.path / "run", "sft");
  s.batch_size = 1;
  s.steps = 8;
  s.checkpoint_every = 1;
  s.keep_last = 8;
  s.aux_alpha = 0.01;
  s.bias_update_speed = 0.01;
  testing::internal::CaptureStdout();
  const TrainResult r = run_training(s, false);
  const std::string out = testing::internal::GetCapturedStdout();
  const auto metrics = all_metrics(tmp.path / "run");
  ASSERT_EQ(metrics.size(), 8u);
  const auto weights = [&](int64_t step) {
    std::ifstream f(tmp.path / "run" / "checkpoints" / fmt::format("step-{:08d}", step) / "model.safetensors",
                    std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  int64_t without = 0, with = 0;
  for (int64_t step = 2; step <= 8; ++step) {
    SCOPED_TRACE(step);
    const json& m = metrics[size_t(step - 1)];
    const bool none = m["counted_targets"] == 0;
    EXPECT_EQ(m["skipped"], none);
    // No cross-entropy was measured and no gradient taken: null, not a loss near 0.
    for (const char* key : {"loss", "ce", "mtp", "grad_norm"}) EXPECT_EQ(m[key].is_null(), none) << key;
    EXPECT_TRUE(m["balance"].is_number());
    EXPECT_EQ(weights(step) == weights(step - 1), none);
    if (none) {
      ++without;
      EXPECT_NE(out.find(fmt::format("step {}: its sequence holds no answer token, update skipped", step)),
                std::string::npos)
          << out;
    } else {
      ++with;
    }
  }
  ASSERT_GT(without, 0) << "the data should leave some steps without an answer token";
  ASSERT_GT(with, 0);
  EXPECT_GE(r.steps_without_targets, without);
  // The closing line's final loss is the last step's that measured one.
  double last_measured = -1;
  for (const json& m : metrics)
    if (m["loss"].is_number()) last_measured = m["loss"].get<double>();
  EXPECT_EQ(r.last_loss, last_measured);
  EXPECT_TRUE(metrics.back()["loss"].is_null()) << "the data should end the run on a step without answers";
  EXPECT_NE(out.find(fmt::format("final loss {:.4f}", last_measured)), std::string::npos) << out;
  EXPECT_NE(
      out.find(fmt::format("done: 8 steps ({} of this session's without an answer token, with no update)",
                           r.steps_without_targets)),
      std::string::npos)
      << out;
}

// A few SFT records longer than a sequence are split across sequences, their answers past the cut trained
// without their prompt: said in a note (the note on answerless sequences needs a tenth of them).
TEST(TrainerReview, RecordsLongerThanASequenceAreNoted) {
  TempDir tmp("review-long-records");
  const fs::path data = tmp.path / "long.jsonl";
  {
    std::ofstream f(data);
    for (int i = 0; i < 30; ++i)
      f << json{{"prompt", std::string(i == 7 ? 60 : 5, 'p')},
                {"completion", std::string(i == 7 ? 40 : 3, 'c')}}
               .dump()
        << "\n";
  }
  testing::internal::CaptureStdout();
  run_training(settings(data, tmp.path / "run", "sft"), false);
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: 1 of the 30 records is longer than a sequence (--seq-len 32 + 1 tokens)"),
            std::string::npos)
      << out;
  // Records that fit say nothing.
  {
    std::ofstream f(data);
    for (int i = 0; i < 30; ++i) f << json{{"prompt", "ppppp"}, {"completion", "ccc"}}.dump() << "\n";
  }
  testing::internal::CaptureStdout();
  run_training(settings(data, tmp.path / "fits", "sft"), false);
  out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(out.find("longer than a sequence"), std::string::npos) << out;
}

// A folder named step-<more digits than a step count holds> is not a checkpoint of ours: std::stoll threw on
// it, and resume ended in an internal error.
TEST(TrainerReview, AStepFolderPastAnyStepCountIsNotACheckpoint) {
  TempDir tmp("review-huge-step");
  const fs::path ck = tmp.path / "run" / "checkpoints";
  fs::create_directories(ck / "step-99999999999999999999");
  std::ofstream(ck / "step-99999999999999999999" / "trainer_state.json") << "{}";
  fs::create_directories(ck / "step-00000004");
  std::ofstream(ck / "step-00000004" / "trainer_state.json") << "{}";
  const auto latest = latest_checkpoint(tmp.path / "run");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), "step-00000004");
}

// A run whose paths are not UTF-8 (the data file's name here) is refused naming the flag, before its folder
// is made: the JSON writer's exception was an internal error, after the folder and its lock were made.
TEST(TrainerReview, APathThatIsNotUtf8IsRefusedBeforeTheFolderIsMade) {
  TempDir tmp("review-utf8");
  const fs::path data = write_corpus(tmp.path);
  const fs::path odd = tmp.path / "we\xffird.txt";
  fs::copy_file(data, odd);
  const std::string msg =
      test::error_of([&] { run_training(settings(odd, tmp.path / "run", "pretrain"), false); });
  EXPECT_NE(msg.find("--data " + (tmp.path / "we\xef\xbf\xbdird.txt").string() + ": not valid UTF-8"),
            std::string::npos)
      << msg;
  EXPECT_FALSE(fs::exists(tmp.path / "run"));
  const std::string out_msg =
      test::error_of([&] { run_training(settings(data, tmp.path / "o\xff", "pretrain"), false); });
  EXPECT_NE(out_msg.find("--out " + tmp.path.string() + "/o\xef\xbf\xbd: not valid UTF-8"), std::string::npos)
      << out_msg;
  EXPECT_NE(out_msg.find("(--out is saved as an absolute path)"), std::string::npos) << out_msg;
  EXPECT_FALSE(fs::exists(tmp.path / "o\xff"));
}

// Data found bad while it is tokenized (after the folder was made) left the folder with settings.json, .lock
// and an empty data-cache/, and the folders made for it: the empty cache is no work of the run.
TEST(TrainerReview, BadDataLeavesNothingOfANewRunBehind) {
  TempDir tmp("review-bad-data");
  const fs::path bad = tmp.path / "bad.jsonl";
  std::ofstream(bad) << "{\"text\": \"fine\"}\n{oops\n";
  const fs::path out = tmp.path / "runs" / "a" / "b";
  const std::string msg = test::error_of([&] { run_training(settings(bad, out, "pretrain"), false); });
  EXPECT_NE(msg.find("bad.jsonl:2: malformed JSON"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(tmp.path / "runs"));
}

// seek train's default min_lr (1e-4) is above the learning rates of fine-tuning: the error says the value is
// the default, not only "need min_lr <= lr" about a number the user never gave.
TEST(TrainerReview, ALearningRateBelowTheDefaultMinLrSaysSo) {
  TempDir tmp("review-min-lr");
  TrainSettings s = settings(write_corpus(tmp.path), tmp.path / "run", "pretrain");
  s.lr = 2e-5;
  s.min_lr = TrainSettings{}.min_lr;
  EXPECT_EQ(test::error_of([&] { run_training(s, false); }),
            "min_lr 0.0001 is above lr 2e-05, the rate the schedule decays from (min_lr is the default, "
            "unchanged): give --min-lr at most 2e-05 (0 decays to nothing)");
  s.min_lr = 3e-5;
  EXPECT_EQ(
      test::error_of([&] { run_training(s, false); }),
      "min_lr 3e-05 is above lr 2e-05, the rate the schedule decays from: give --min-lr at most 2e-05 (0 "
      "decays to nothing)");
  // A constant schedule never reaches min_lr: fine-tuning at a constant 2e-5 was refused over the default.
  s.schedule = "constant";
  s.min_lr = TrainSettings{}.min_lr;
  EXPECT_EQ(test::error_of([&] { s.validate(); }), "");
}

// mtp_lambda 0: the MTP layers are neither run nor trained (weight decay shrank them every step, and their
// balance term moved them), metrics log no MTP loss (null, not 0), and the run says so. A model without MTP
// layers logs null too, and a non-default mtp_lambda is noted as having no effect on it.
TEST(TrainerReview, MtpLambdaZeroLeavesTheMtpLayersAsTheyCame) {
  TempDir tmp("trainer-mtp-off");
  const fs::path data = write_corpus(tmp.path);
  auto base = settings(data, tmp.path / "base", "pretrain");
  testing::internal::CaptureStdout();
  run_training(base, false);
  testing::internal::GetCapturedStdout();
  EXPECT_TRUE(first_metrics(tmp.path / "base")["mtp"].is_number());
  auto s = settings(data, tmp.path / "off", "pretrain");
  s.config.clear();
  s.init = (tmp.path / "base" / "model").string();
  s.steps = 3;
  s.mtp_lambda = 0;
  s.aux_alpha = 0.01;
  s.weight_decay = 0.5;
  testing::internal::CaptureStdout();
  run_training(s, false);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: mtp_lambda 0: the model's MTP layer is neither run nor trained (saved as it is)"),
            std::string::npos)
      << out;
  for (const json& m : all_metrics(tmp.path / "off")) {
    EXPECT_TRUE(m["mtp"].is_null()) << m.dump();
    EXPECT_TRUE(m["ce"].is_number()) << m.dump();
  }
  // The run's model against the one it started from: its MTP layers as they came, its decoder trained.
  const auto before = load_model_dir<float>(tmp.path / "base" / "model");
  const auto expect_mtp_layers_as_they_came = [&](const char* run) {
    const auto after = load_model_dir<float>(tmp.path / run / "model");
    const ParamLayout& layout = before->params().layout;
    int mtp_tensors = 0, main_changed = 0;
    for (int id = 0; id < layout.size(); ++id) {
      const bool same = std::equal(before->params().p(id), before->params().p(id) + layout[id].numel,
                                   after->params().p(id));
      if (layer_index(layout[id].name) >= before->config().num_hidden_layers) {
        ++mtp_tensors;
        EXPECT_TRUE(same) << layout[id].name << " of the MTP layer changed in run " << run;
      } else {
        main_changed += !same;
      }
    }
    EXPECT_GT(mtp_tensors, 0);
    EXPECT_GT(main_changed, 0) << run;
  };
  expect_mtp_layers_as_they_came("off");

  // Sequences of one token run no MTP depth whatever mtp_lambda is: weight decay shrank the layers anyway.
  auto one = s;
  one.out = (tmp.path / "one-token").string();
  one.seq_len = 1;
  one.mtp_lambda = 0.3;
  testing::internal::CaptureStdout();
  run_training(one, false);
  testing::internal::GetCapturedStdout();
  expect_mtp_layers_as_they_came("one-token");

  // No MTP layer: no MTP loss to log, and mtp_lambda changes nothing.
  std::ifstream in(base.config);
  json cfg = json::parse(in);
  cfg["num_nextn_predict_layers"] = 0;
  std::ofstream(tmp.path / "no-mtp.json") << cfg.dump();
  auto plain = settings(data, tmp.path / "plain", "pretrain");
  plain.config = (tmp.path / "no-mtp.json").string();
  plain.mtp_lambda = 1;
  testing::internal::CaptureStdout();
  run_training(plain, false);
  const std::string said = testing::internal::GetCapturedStdout();
  EXPECT_NE(said.find("note: mtp_lambda has no effect: the model has no MTP layer"), std::string::npos)
      << said;
  EXPECT_TRUE(first_metrics(tmp.path / "plain")["mtp"].is_null());
}

json read_json(const fs::path& p) {
  std::ifstream f(p);
  return json::parse(f);
}

// A resume that turns the MTP layers on after steps at mtp_lambda 0 trains them from fresh AdamW state: their
// bias correction counts their own updates, not the run's steps (which made their first updates about half
// as large). trainer_state.json keeps the count of each tensor whose count is not the run's, by name; a
// damaged count is refused by name.
TEST(TrainerReview, MtpLayersTurnedOnByAResumeCountTheirOwnAdamWSteps) {
  TempDir tmp("trainer-mtp-on");
  auto s = settings(write_corpus(tmp.path), tmp.path / "run", "pretrain");
  s.steps = 3;
  s.mtp_lambda = 0;
  testing::internal::CaptureStdout();
  run_training(s, false);
  testing::internal::GetCapturedStdout();
  const fs::path ck = tmp.path / "run" / "checkpoints";
  const json at3 = read_json(ck / "step-00000003" / "trainer_state.json");
  EXPECT_EQ(at3["adamw_steps"], 3);
  const auto model = load_model_dir<float>(tmp.path / "run" / "model");
  const ParamLayout& layout = model->params().layout;
  const int64_t main_layers = model->config().num_hidden_layers;
  json held = json::object();
  for (int id = 0; id < layout.size(); ++id)
    if (layout[id].trainable && layer_index(layout[id].name) >= main_layers) held[layout[id].name] = 0;
  ASSERT_GT(held.size(), 0u);
  EXPECT_EQ(at3["adamw_tensor_steps"], held);

  testing::internal::CaptureStdout();
  run_training(s, true, {{"steps", 5}, {"mtp_lambda", 0.3}});
  testing::internal::GetCapturedStdout();
  const fs::path state5 = ck / "step-00000005" / "trainer_state.json";
  json at5 = read_json(state5);
  EXPECT_EQ(at5["adamw_steps"], 5);
  for (auto& [name, n] : held.items()) n = 2;
  EXPECT_EQ(at5["adamw_tensor_steps"], held);

  // A checkpoint from before the counts were saved: the held layers' second moments are all zero, so they
  // count 0, not the run's 3.
  TempDir old("trainer-mtp-on-old");
  auto o = settings(write_corpus(old.path), old.path / "run", "pretrain");
  o.steps = 3;
  o.mtp_lambda = 0;
  testing::internal::CaptureStdout();
  run_training(o, false);
  const fs::path old_state = old.path / "run" / "checkpoints" / "step-00000003" / "trainer_state.json";
  json before_counts = read_json(old_state);
  before_counts.erase("adamw_tensor_steps");
  std::ofstream(old_state) << before_counts.dump();
  run_training(o, true, {{"steps", 5}, {"mtp_lambda", 0.3}});
  testing::internal::GetCapturedStdout();
  EXPECT_EQ(read_json(old.path / "run" / "checkpoints" / "step-00000005" /
                      "trainer_state.json")["adamw_tensor_steps"],
            held);

  // Trained at every step: no tensor's count differs from the run's.
  TempDir all("trainer-mtp-all");
  auto plain = settings(write_corpus(all.path), all.path / "run", "pretrain");
  plain.steps = 2;
  testing::internal::CaptureStdout();
  run_training(plain, false);
  testing::internal::GetCapturedStdout();
  EXPECT_EQ(read_json(all.path / "run" / "checkpoints" / "step-00000002" /
                      "trainer_state.json")["adamw_tensor_steps"],
            json::object());

  const std::string first = held.begin().key();
  auto resume_with = [&](const json& counts) {
    json edited = at5;
    edited["adamw_tensor_steps"] = counts;
    std::ofstream(state5) << edited.dump();
    return test::error_of([&] { run_training(s, true, {{"steps", 6}}); });
  };
  EXPECT_NE(resume_with({{first, 6}})
                .find(fmt::format(
                    "\"adamw_tensor_steps\" of '{}' must be a whole number from 0 to adamw_steps (5), "
                    "got 6",
                    first)),
            std::string::npos);
  EXPECT_NE(resume_with({{"model.layers.99.mlp.gate.weight", 1}})
                .find("\"adamw_tensor_steps\" names \"model.layers.99.mlp.gate.weight\", which is no trained "
                      "tensor of the model"),
            std::string::npos);
  EXPECT_NE(resume_with(json::array()).find("\"adamw_tensor_steps\" must be an object of tensor names, got"),
            std::string::npos);
}

// Settings that the others leave without effect are named (seek grpo did so; seek train said nothing).
TEST(TrainerReview, SettingsWithoutEffectAreNoted) {
  TrainSettings s;
  EXPECT_EQ(s.settings_without_effect(), std::vector<std::string>{});
  s.decay_fraction = 0.5;
  s.min_lr = 1e-5;
  s.eval_batches = 3;
  EXPECT_EQ(s.settings_without_effect(),
            std::vector<std::string>{"decay_fraction has no effect with schedule cosine (only with wsd)"});
  s.schedule = "wsd";
  EXPECT_EQ(s.settings_without_effect(), std::vector<std::string>{});
  s.schedule = "constant";
  s.eval_every = 0;
  EXPECT_EQ(s.settings_without_effect(),
            (std::vector<std::string>{"min_lr has no effect with the constant schedule",
                                      "decay_fraction has no effect with schedule constant (only with wsd)",
                                      "eval_batches has no effect with eval_every 0 (no validation)"}));
  // The run prints them, and a warm-up as long as the run.
  TempDir tmp("trainer-inert-settings");
  auto r = settings(write_corpus(tmp.path), tmp.path / "run", "pretrain");
  r.steps = 3;
  r.warmup_steps = 3;
  r.schedule = "constant";
  r.min_lr = 1e-5;
  testing::internal::CaptureStdout();
  run_training(r, false);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: min_lr has no effect with the constant schedule"), std::string::npos) << out;
  EXPECT_NE(out.find("note: warmup_steps 3 equals steps, so the learning rate reaches lr 0.001 at the last "
                     "step only and never decays"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace seek
