// The training loop end to end on a tiny model: loss falls, metrics and checkpoints are written, a run killed
// with SIGKILL in the middle of a checkpoint save resumes from the previous checkpoint and reproduces the
// uninterrupted run's losses bit for bit, non-finite losses stop the run, bad paths give clear errors.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "model/config.hpp"
#include "support/byte_vocab_config.hpp"
#include "support/captured_progress.hpp"
#include "support/error_of.hpp"
#include "support/file_size_limit.hpp"
#include "support/read_jsonl.hpp"
#include "support/signal_at.hpp"
#include "support/temp_dir.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/trainer.hpp"
#include "train/checkpoint.hpp"
#include "train/run_folder.hpp"
#include "train/trainer.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using test::byte_vocab_config;

using test::TempDir;

fs::path write_corpus(const fs::path& dir) {
  fs::path p = dir / "corpus.txt";
  std::ofstream f(p);
  for (int doc = 0; doc < 40; ++doc) {
    for (int i = 0; i < 12; ++i)
      f << (doc * 7 + i * 3) % 50 << "+" << i << "=" << ((doc * 7 + i * 3) % 50 + i) << "\n";
    f << "<|endoftext|>\n";
  }
  return p;
}

TrainSettings tiny_settings(const fs::path& corpus, const fs::path& out) {
  TrainSettings s;
  s.config = byte_vocab_config(corpus.parent_path()).string();
  s.data = {corpus.string()};
  s.out = out.string();
  s.batch_size = 2;
  s.seq_len = 32;
  s.grad_accum = 2;
  s.steps = 6;
  s.lr = 3e-3;
  s.min_lr = 3e-4;
  s.warmup_steps = 2;
  s.eval_every = 3;
  s.eval_batches = 2;
  s.checkpoint_every = 2;
  s.keep_last = 2;
  s.log_every = 100;
  s.threads = 2;
  s.val_fraction = 0.1;
  return s;
}

TEST(Trainer, RunsWritesMetricsCheckpointsAndModel) {
  TempDir tmp("trainer-basic");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  s.steps = 12;
  s.lr = 1e-2;
  auto r = run_training(s, false);
  EXPECT_EQ(r.steps_done, 12);
  auto m = test::read_jsonl(tmp.path / "run" / "metrics.jsonl");
  ASSERT_EQ(m.size(), 12u);
  EXPECT_LT(m.back()["loss"].get<double>(), m.front()["loss"].get<double>() - 0.5);
  for (const char* key : {"loss", "ce", "mtp", "balance", "lr", "grad_norm", "tokens_per_s", "expert_load"})
    EXPECT_TRUE(m[0].contains(key)) << key;
  EXPECT_TRUE(m[2].contains("val_loss"));
  EXPECT_EQ(m[0]["expert_load"].size(), 3u);  // layers 1, 2 and the MTP layer are MoE
  EXPECT_TRUE(fs::exists(tmp.path / "run" / "settings.json"));
  EXPECT_TRUE(fs::exists(tmp.path / "run" / "model" / "model.safetensors"));
  // keep_last = 2: steps 10 and 12 remain
  auto latest = latest_checkpoint(tmp.path / "run");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), "step-00000012");
  EXPECT_FALSE(fs::exists(tmp.path / "run" / "checkpoints" / "step-00000008"));
  EXPECT_TRUE(fs::exists(tmp.path / "run" / "checkpoints" / "step-00000010"));
}

// Retention renames a checkpoint before deleting it; a deletion killed half-way by an older version left a
// step-N folder without its trainer_state.json, which no later retention saw. Both kinds of leftover go at
// the next save.
// Inside a step a line counts its layers' forward and backward passes, micro-batch by micro-batch (a step of
// a large model, or of many micro-batches, runs for minutes); showing it changes nothing in the run.
TEST(Trainer, ProgressCountsTheLayerPassesOfEachStep) {
  TempDir tmp("trainer-progress");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "quiet");
  s.steps = 2;
  s.grad_accum = 3;
  const TrainResult quiet = run_training(s, false);
  s.out = (tmp.path / "shown").string();
  test::CapturedProgress progress;
  const TrainResult shown = run_training(s, false, {}, progress.options);
  const std::string text = progress.text();
  // Each decoder layer and MTP depth forward, then backward (sequences of 32 tokens: every depth has some).
  const ModelConfig cfg = ModelConfig::load(s.config);
  const int64_t passes = 2 * (cfg.num_hidden_layers + cfg.num_nextn_predict_layers);
  ASSERT_GT(passes, 2);
  for (const std::string& line :
       {fmt::format("step 1/2: 1/{} layer passes (", 3 * passes),
        fmt::format("step 1/2: {}/{} layer passes (33%) | micro-batch 1/3 | ", passes, 3 * passes),
        fmt::format("step 1/2: {}/{} layer passes (100%) | micro-batch 3/3 | ", 3 * passes, 3 * passes),
        fmt::format("step 2/2: {}/{} layer passes (", passes + 1, 3 * passes)})
    EXPECT_NE(text.find(line), std::string::npos) << line << " in:\n" << text;
  EXPECT_EQ(text.find(fmt::format("{}/{} layer passes", 3 * passes + 1, 3 * passes)), std::string::npos);
  EXPECT_EQ(shown.last_loss, quiet.last_loss);
}

TEST(Trainer, RetentionClearsWhatInterruptedDeletionsLeft) {
  TempDir tmp("trainer-retention");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  s.eval_every = 0;
  run_training(s, false);
  const fs::path ck = tmp.path / "run" / "checkpoints";
  fs::create_directories(ck / "step-00000002");
  std::ofstream(ck / "step-00000002" / "config.json") << "{}";
  fs::create_directories(ck / ".step-00000003.del-99");
  s.steps = 8;
  testing::internal::CaptureStdout();
  run_training(s, true, {{"steps", 8}});
  testing::internal::GetCapturedStdout();
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(ck)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"step-00000006", "step-00000008"}));
}

// A step-N folder without trainer_state.json newer than the last checkpoint (a copy or an edit by hand: seek
// renames finished saves in) was passed over in silence, so a resume started from an older step than the
// folder names suggested.
TEST(Trainer, AResumeSaysWhichNewerFolderIsNotACheckpoint) {
  TempDir tmp("trainer-stateless");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  s.steps = 4;
  s.eval_every = 0;
  run_training(s, false);
  const fs::path ck = tmp.path / "run" / "checkpoints";
  ASSERT_TRUE(fs::exists(ck / "step-00000004" / "trainer_state.json"));
  fs::create_directories(ck / "step-00000009");
  std::ofstream(ck / "step-00000009" / "config.json") << "{}";
  testing::internal::CaptureStdout();
  run_training(s, true, {{"steps", 6}});
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find((ck / "step-00000009").string() +
                     " has no trainer_state.json, so it is not a checkpoint "
                     "to resume from; the run resumes from the newest "
                     "complete one, " +
                     (ck / "step-00000004").string()),
            std::string::npos)
      << out;
  // With no complete checkpoint at all, the refusal names the folder that looked like one.
  for (const auto& e : fs::directory_iterator(ck))
    if (e.path().filename() != "step-00000009") fs::remove_all(e.path());
  EXPECT_NE(test::error_of([&] {
              run_training(s, true, {{"steps", 8}});
            })
                .find("has no complete checkpoint (" + (ck / "step-00000009").string() +
                      " has no trainer_state.json)"),
            std::string::npos);
}

// The final model is built beside run/model and swapped in whole: a save killed part-way used to leave the
// new shards next to an earlier save's (which loaded as a silent mix). What a killed save left beside it is
// removed by the next one; nothing of the earlier export survives inside the new folder.
TEST(Trainer, TheFinalModelIsReplacedWhole) {
  TempDir tmp("trainer-export");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  s.steps = 2;
  s.eval_every = 0;
  run_training(s, false);
  const fs::path model = tmp.path / "run" / "model";
  ASSERT_TRUE(fs::exists(model / "model.safetensors"));
  std::ofstream(model / "model-00001-of-00002.safetensors") << "an earlier save's shard";
  fs::create_directories(tmp.path / "run" / ".model.tmp-99");
  std::ofstream(tmp.path / "run" / ".model.tmp-99" / "config.json") << "{}";
  testing::internal::CaptureStdout();
  run_training(s, true, {{"steps", 4}});
  testing::internal::GetCapturedStdout();
  std::vector<std::string> files, run_entries;
  for (const auto& e : fs::directory_iterator(model)) files.push_back(e.path().filename().string());
  for (const auto& e : fs::directory_iterator(tmp.path / "run"))
    run_entries.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  std::sort(run_entries.begin(), run_entries.end());
  EXPECT_EQ(files,
            (std::vector<std::string>{"config.json", "model.safetensors"}));  // byte tokenizer: no files
  for (const std::string& e : run_entries) EXPECT_FALSE(e.starts_with(".model.")) << e;
  EXPECT_NO_THROW(load_model_config(model));
  // A save killed between the two renames of a file system without an exchange left the earlier export
  // aside and nothing at model/: the next save puts it back before it starts, then replaces it.
  fs::rename(model, tmp.path / "run" / ".model.old-99");
  testing::internal::CaptureStdout();
  run_training(s, true, {{"steps", 5}});
  testing::internal::GetCapturedStdout();
  EXPECT_TRUE(fs::exists(model / "model.safetensors"));
  EXPECT_FALSE(fs::exists(tmp.path / "run" / ".model.old-99"));
}

// A new run's config.json names the tokenizer's end token alone: a list in the --config file (written for
// another tokenizer) used to keep its other ids, and generation on the trained model stopped at them.
TEST(Trainer, SavedConfigNamesTheTokenizersEndTokenOnly) {
  TempDir tmp("trainer-eos");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  s.steps = 1;
  s.eval_every = 0;
  s.checkpoint_every = 0;
  nlohmann::json c = nlohmann::json::parse(std::ifstream(s.config));
  c["eos_token_id"] = {3, 9};
  std::ofstream(s.config) << c.dump();
  run_training(s, false);
  const ModelConfig saved = ModelConfig::load((tmp.path / "run" / "model" / "config.json").string());
  EXPECT_GE(saved.eos_token_id, 0);
  EXPECT_NE(saved.eos_token_id, 3);
  EXPECT_TRUE(saved.extra_eos_token_ids.empty());
}

// Settings that quietly did something else than asked get a note: the same data twice, a warmup as long as
// the run, a validation split without a whole sequence.
TEST(Trainer, NotesOnDuplicateDataShortRunsAndEmptyValidation) {
  TempDir tmp("trainer-notes");
  const fs::path corpus = write_corpus(tmp.path);
  fs::copy_file(corpus, tmp.path / "copy.txt");
  auto s = tiny_settings(corpus, tmp.path / "run");
  s.data.push_back((tmp.path / "copy.txt").string());
  s.steps = 2;
  s.warmup_steps = 5;
  testing::internal::CaptureStdout();
  run_training(s, false);
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: data files " + corpus.string() + " and " + (tmp.path / "copy.txt").string() +
                     " hold the same bytes"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("note: warmup_steps 5 is above steps 2"), std::string::npos) << out;
  // Short documents: the validation split's few fill no 32-token sequence.
  {
    std::ofstream f(tmp.path / "short.txt");
    for (int i = 0; i < 400; ++i) f << i % 10 << "\n<|endoftext|>\n";
  }
  auto v = tiny_settings(tmp.path / "short.txt", tmp.path / "run-short");
  v.steps = 1;
  v.val_fraction = 0.01;
  testing::internal::CaptureStdout();
  run_training(v, false);
  out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: the validation split holds no whole sequence of 32 tokens (6 of 400 documents"),
            std::string::npos)
      << out;
  // Held out and never trained on: said, with the way to train on them, with validation off too.
  EXPECT_NE(out.find("its documents are not trained on either (--val-fraction 0"), std::string::npos) << out;
  v.eval_every = 0;
  v.out = (tmp.path / "run-short-no-eval").string();
  testing::internal::CaptureStdout();
  run_training(v, false);
  out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("(6 of 400 documents, val_fraction 0.01), so its documents are not trained on either"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("not valid UTF-8"), std::string::npos) << out;
  // With validation off, a split that holds whole sequences still takes its documents from training.
  {
    std::ofstream f(tmp.path / "long.txt");
    for (int i = 0; i < 200; ++i) f << std::string(40, char('a' + i % 26)) << i << "\n<|endoftext|>\n";
  }
  auto off = tiny_settings(tmp.path / "long.txt", tmp.path / "run-no-validation");
  off.steps = 1;
  off.val_fraction = 0.1;
  off.eval_every = 0;
  testing::internal::CaptureStdout();
  run_training(off, false);
  out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: eval_every 0 runs no validation, yet val_fraction 0.1 holds "), std::string::npos)
      << out;
  EXPECT_NE(out.find(" of 200 documents out of training (the split is fixed for the run, so that a resume "
                     "can validate); --val-fraction 0 trains on every document"),
            std::string::npos)
      << out;
  off.val_fraction = 0;
  off.out = (tmp.path / "run-no-split").string();
  testing::internal::CaptureStdout();
  run_training(off, false);
  out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(out.find("runs no validation"), std::string::npos) << out;
}

// Two files without separators are two documents, and the split takes whole ones: half the tokens went to
// validation at val_fraction 0.1 without a word. Latin-1 text trained on replacement characters silently.
TEST(Trainer, NotesOnALopsidedSplitAndTextThatIsNotUtf8) {
  TempDir tmp("trainer-notes-split");
  for (const char* name : {"a.txt", "b.txt"}) {
    std::ofstream f(tmp.path / name);
    for (int i = 0; i < 300; ++i) f << "caf\xe9 " << i << " na\xefve r\xe9sum\xe9\n";
  }
  auto s = tiny_settings(tmp.path / "a.txt", tmp.path / "run");
  s.data.push_back((tmp.path / "b.txt").string());
  s.steps = 1;
  testing::internal::CaptureStdout();
  run_training(s, false);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: the validation split holds 50% of the tokens (val_fraction 0.1): it takes whole "
                     "documents, and this data has 2 documents (1 in validation)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("note: training data " + (tmp.path / "a.txt").string() +
                     " is not valid UTF-8 (first at byte 3)"),
            std::string::npos)
      << out;
}

// An empty file among several added nothing without a word (one alone is an error).
TEST(Trainer, NotesAnEmptyDataFileAmongSeveral) {
  TempDir tmp("trainer-notes-empty");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  std::ofstream(tmp.path / "empty.txt").close();
  s.data.push_back((tmp.path / "empty.txt").string());
  s.steps = 1;
  testing::internal::CaptureStdout();
  run_training(s, false);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(
      out.find("note: training data " + (tmp.path / "empty.txt").string() + " is empty: it adds no document"),
      std::string::npos)
      << out;
}

// "<|endoftext|> " (a trailing space) or GPT-2-style "a<|endoftext|>b" merged a whole file into one document
// without a word: the marker is read as text there (the data layout is unchanged), with a note.
TEST(Trainer, NotesASeparatorThatIsNotALineOfItsOwn) {
  TempDir tmp("trainer-notes-separator");
  {
    std::ofstream f(tmp.path / "a.txt");
    for (int i = 0; i < 200; ++i)
      f << "line " << i << " of text\n" << (i % 2 ? "<|endoftext|> \n" : "x<|endoftext|>\n");
    f << "<|endoftext|>\n";  // the one separator
    for (int i = 0; i < 200; ++i) f << "line " << i << " of the second document\n";
  }
  auto s = tiny_settings(tmp.path / "a.txt", tmp.path / "run");
  s.steps = 1;
  testing::internal::CaptureStdout();
  run_training(s, false);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: training data " + (tmp.path / "a.txt").string() +
                     " holds <|endoftext|> 200 times with other text on its line (first on line 2)"),
            std::string::npos)
      << out;
}

TEST(Trainer, KillDuringSaveThenResumeIsBitIdentical) {
  TempDir tmp("trainer-resume");
  fs::path corpus = write_corpus(tmp.path);
  auto full = tiny_settings(corpus, tmp.path / "full");
  run_training(full, false);
  auto want = test::read_jsonl(tmp.path / "full" / "metrics.jsonl");
  ASSERT_EQ(want.size(), 6u);

  auto s = tiny_settings(corpus, tmp.path / "crashed");
  // The crashing run happens in a fresh process (this binary re-executed): a forked copy of a process that
  // already ran OpenMP regions would deadlock in the OpenMP runtime.
  auto crash_in_save_of_step_4 = [&](bool resume) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::setenv("SEEK_TEST_CRASH_IN_SAVE", "4", 1);  // SIGKILL half-way through writing checkpoint 4
      ::setenv("SEEK_TEST_CRASH_CORPUS", corpus.c_str(), 1);
      ::setenv("SEEK_TEST_CRASH_OUT", s.out.c_str(), 1);
      if (resume) ::setenv("SEEK_TEST_CRASH_RESUME", "1", 1);
      ::execl("/proc/self/exe", "test_trainer", "--gtest_filter=Trainer.DISABLED_CrashingRun",
              "--gtest_also_run_disabled_tests", static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child should have been killed";
  };
  auto save_leftovers = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(tmp.path / "crashed" / "checkpoints"))
      n += e.path().filename().string().find(".tmp-") != std::string::npos;
    return n;
  };
  crash_in_save_of_step_4(false);
  auto latest = latest_checkpoint(tmp.path / "crashed");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), "step-00000002");  // the interrupted step-4 save is not a checkpoint
  EXPECT_EQ(save_leftovers(), 1);
  // A resumed run killed in the same save again: the first one's leftover went before the second save was
  // written (on a nearly full disk, the space it held made every later save fail), so one is left, not two.
  crash_in_save_of_step_4(true);
  EXPECT_EQ(save_leftovers(), 1);
  latest = latest_checkpoint(tmp.path / "crashed");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), "step-00000002");

  auto r = run_training(s, true, nlohmann::json::object());
  EXPECT_EQ(r.steps_done, 6);
  auto got = test::read_jsonl(tmp.path / "crashed" / "metrics.jsonl");
  ASSERT_EQ(got.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(got[i]["step"], want[i]["step"]);
    EXPECT_EQ(got[i]["loss"].get<double>(), want[i]["loss"].get<double>()) << "step " << i + 1;
    EXPECT_EQ(got[i]["grad_norm"].get<double>(), want[i]["grad_norm"].get<double>()) << "step " << i + 1;
    if (want[i].contains("val_loss")) {
      EXPECT_EQ(got[i]["val_loss"].get<double>(), want[i]["val_loss"].get<double>());
    }
  }
  // The leftover temporary folder of the killed save is gone after the next save.
  for (const auto& e : fs::directory_iterator(tmp.path / "crashed" / "checkpoints"))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

// settings.json holds the balance loss's α the run uses, not the "-1: the config's" placeholder; resuming a
// finished run says so and reports its real final loss; an older run folder with the placeholder resumes.
TEST(Trainer, SettingsHoldResolvedAlphaAndACompleteRunReportsItsLoss) {
  TempDir tmp("trainer-complete");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  ASSERT_LT(s.aux_alpha, 0);  // the default: the config's aux_loss_alpha
  const double config_alpha = nlohmann::json::parse(std::ifstream(s.config)).at("aux_loss_alpha");
  const auto first = run_training(s, false);
  const fs::path settings_file = tmp.path / "run" / "settings.json";
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(settings_file)).at("aux_alpha").get<double>(), config_alpha);

  testing::internal::CaptureStdout();
  const auto again = run_training(s, true, nlohmann::json::object());
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(again.steps_done, 6);
  EXPECT_EQ(again.last_loss, first.last_loss);
  EXPECT_EQ(again.last_val_loss, first.last_val_loss);
  EXPECT_NE(out.find("the run is already complete: its checkpoint is at step 6 and --steps is 6"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(fmt::format("final loss {:.4f}", first.last_loss)), std::string::npos) << out;
  EXPECT_EQ(test::read_jsonl(tmp.path / "run" / "metrics.jsonl").size(), 6u);
  // Changed settings no step uses are not recorded as the run's (settings.json said lr 0.5 for a run trained
  // at its own lr); the export's save_dtype is.
  const nlohmann::json before = nlohmann::json::parse(std::ifstream(settings_file));
  testing::internal::CaptureStdout();
  run_training(s, true, {{"lr", 0.5}, {"save_dtype", "bf16"}});
  const std::string changed = testing::internal::GetCapturedStdout();
  EXPECT_NE(changed.find("note: the run is complete, so no step uses the changed setting (lr); settings.json "
                         "keeps what it trained with"),
            std::string::npos)
      << changed;
  nlohmann::json after = nlohmann::json::parse(std::ifstream(settings_file));
  EXPECT_EQ(after["save_dtype"], "bf16");
  after["save_dtype"] = before["save_dtype"];
  EXPECT_EQ(after, before);
  // An export that fails (a file size limit, as a full disk) keeps settings.json as it was: it named the new
  // save_dtype beside the model folder's old one.
  {
    const std::string bf16_settings = read_file(settings_file);
    std::string failed;
    {
      const test::FileSizeLimit limit(16 * 1024);
      testing::internal::CaptureStdout();
      failed = test::error_of([&] { run_training(s, true, {{"save_dtype", "f32"}}); });
      testing::internal::GetCapturedStdout();
    }
    EXPECT_NE(failed.find(std::strerror(EFBIG)), std::string::npos) << failed;
    EXPECT_EQ(read_file(settings_file), bf16_settings);
  }

  // A skipped non-finite step logs its loss as null; a resume reads past it (and past a stray non-object).
  {
    const fs::path metrics_file = tmp.path / "run" / "metrics.jsonl";
    std::vector<nlohmann::json> lines = test::read_jsonl(tmp.path / "run" / "metrics.jsonl");
    lines.back()["loss"] = nullptr;
    std::ofstream f(metrics_file, std::ios::trunc);
    for (const auto& j : lines) f << j.dump() << "\n" << (j == lines.front() ? "5\n" : "");
  }
  const auto with_null = run_training(s, true, nlohmann::json::object());
  EXPECT_EQ(with_null.last_loss,
            test::read_jsonl(tmp.path / "run" / "metrics.jsonl")[4].at("loss").get<double>());
  // Without its metrics the final loss is unknown, not 0 ("final loss 0.0000" was printed).
  fs::rename(tmp.path / "run" / "metrics.jsonl", tmp.path / "metrics.jsonl");
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_training(s, true, nlohmann::json::object()).last_loss, -1);
  const std::string no_metrics = testing::internal::GetCapturedStdout();
  EXPECT_NE(no_metrics.find("done: 6 steps; model saved to"), std::string::npos) << no_metrics;
  fs::rename(tmp.path / "metrics.jsonl", tmp.path / "run" / "metrics.jsonl");

  // A run folder written before α was resolved: its -1 still means the config's α, and is resolved now.
  auto saved = nlohmann::json::parse(std::ifstream(settings_file));
  saved["aux_alpha"] = -1.0;
  std::ofstream(settings_file) << saved.dump(2);
  const auto more = run_training(s, true, {{"steps", 8}});
  EXPECT_EQ(more.steps_done, 8);
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(settings_file)).at("aux_alpha").get<double>(), config_alpha);

  // A run config's placeholder given again on resume stands for the same α: no change to report. Against a
  // changed α it is a change back to the config's, and says so with the value.
  testing::internal::CaptureStdout();
  run_training(s, true, {{"steps", 8}, {"aux_alpha", -1}});
  std::string log = testing::internal::GetCapturedStdout();
  EXPECT_EQ(log.find("changed settings"), std::string::npos) << log;
  // (Each with a step to train: a complete run does not record settings no step used.)
  run_training(s, true, {{"steps", 9}, {"aux_alpha", 0.5}});
  testing::internal::CaptureStdout();
  run_training(s, true, {{"steps", 10}, {"aux_alpha", -1}});
  log = testing::internal::GetCapturedStdout();
  EXPECT_NE(log.find(fmt::format("aux_alpha 0.5 → {}", nlohmann::json(config_alpha).dump())),
            std::string::npos)
      << log;
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(settings_file)).at("aux_alpha").get<double>(), config_alpha);
}

// A new run (no --resume) into a folder holding a finished one is refused before anything there changes:
// it would overwrite the model and logs and leave the old checkpoints for a later --resume to pick up.
TEST(Trainer, ANewRunRefusesAFolderHoldingARun) {
  TempDir tmp("trainer-reuse");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  run_training(s, false);
  const auto metrics_before = test::read_jsonl(tmp.path / "run" / "metrics.jsonl");
  s.lr = 5e-3;
  try {
    run_training(s, false);
    FAIL() << "a second run must not start over a finished one";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already holds a run"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
  EXPECT_EQ(test::read_jsonl(tmp.path / "run" / "metrics.jsonl"), metrics_before);
  EXPECT_NE(nlohmann::json::parse(std::ifstream(tmp.path / "run" / "settings.json")).at("lr").get<double>(),
            5e-3);
  // A settings mistake is not what a run folder given without --resume is told about.
  s.data = {};
  EXPECT_NE(test::error_of([&] { run_training(s, false); }).find("already holds a run"), std::string::npos);
  // A model folder (the --init one) as --out: the run's files would be mixed into the model's.
  auto into_model = tiny_settings(write_corpus(tmp.path), tmp.path / "run" / "model");
  into_model.init = (tmp.path / "run" / "model").string();
  EXPECT_NE(test::error_of([&] {
              run_training(into_model, false);
            }).find("run/model holds a model (config.json and its weights): give --out a new folder"),
            std::string::npos);
}

// Run only by KillDuringSaveThenResumeIsBitIdentical, in a child process.
// --resume refuses to change what the checkpoint's run is made of (its data, seed, model, ...), naming the
// flag, and says which other settings it changes; the same file by another path is no change.
TEST(Trainer, ResumeRefusesChangedDataAndSaysWhatElseChanged) {
  TempDir tmp("trainer-resume-changes");
  const fs::path corpus = write_corpus(tmp.path);
  auto s = tiny_settings(corpus, tmp.path / "run");
  s.steps = 2;
  run_training(s, false);
  for (const auto& [key, value] :
       {std::pair{"seed", nlohmann::json(7)},
        std::pair{"data", nlohmann::json::array({(tmp.path / "other.txt").string()})},
        std::pair{"seq_len", nlohmann::json(16)}}) {
    try {
      run_training(s, true, {{key, value}});
      FAIL() << key << " changed on resume without an error";
    } catch (const Error& e) {
      const std::string flag = "--" + std::string(key == std::string("seq_len") ? "seq-len" : key);
      EXPECT_NE(std::string(e.what()).find("--resume continues the run as it was made: " + flag + " was"),
                std::string::npos)
          << e.what();
    }
  }
  // The corpus named through another path, and two settings that may change.
  const std::string same_corpus = (tmp.path / "." / corpus.filename()).string();
  testing::internal::CaptureStdout();
  auto r = run_training(s, true, {{"data", {same_corpus}}, {"steps", 4}, {"lr", 0.002}});
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(r.steps_done, 4);
  const size_t at = out.find("resuming with changed settings: ");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string changes = out.substr(at, out.find('\n', at) - at);
  EXPECT_NE(changes.find("steps 2 → 4"), std::string::npos) << changes;
  EXPECT_NE(changes.find("lr 0.003 → 0.002"), std::string::npos) << changes;
  EXPECT_EQ(changes.find("data"), std::string::npos) << changes;
  std::ifstream saved(tmp.path / "run" / "settings.json");
  EXPECT_EQ(nlohmann::json::parse(saved)["lr"], 0.002);

  // The same file with other contents: the saved data position would index other sequences. Only its path was
  // compared before, and the run went on with another shuffle.
  std::ofstream(corpus, std::ios::app) << "1+1=2\n";
  auto entries = [&] {
    const auto it = fs::directory_iterator(tmp.path / "run" / "data-cache");
    return std::distance(fs::begin(it), fs::end(it));
  };
  const auto caches = entries();
  const auto saved_settings = [&] {
    return nlohmann::json::parse(std::ifstream(tmp.path / "run" / "settings.json"));
  };
  const nlohmann::json before = saved_settings();
  testing::internal::CaptureStdout();
  try {
    run_training(s, true, {{"steps", 6}, {"lr", 0.5}});
    FAIL() << "changed data accepted on resume";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training data " + corpus.string() +
                                         " changed since the run saved its checkpoint at step 4"),
              std::string::npos)
        << e.what();
  }
  // A refused resume changes nothing: its flags were saved before, and the next plain --resume used them.
  EXPECT_EQ(testing::internal::GetCapturedStdout().find("changed settings"), std::string::npos);
  EXPECT_EQ(entries(), caches);  // refused before the changed file was tokenized into a cache
  EXPECT_EQ(saved_settings(), before);
  // A checkpoint past --steps cannot be trained back to it.
  try {
    run_training(s, true, {{"steps", 3}});
    FAIL() << "--steps below the checkpoint accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is at step 4, past --steps 3"), std::string::npos) << e.what();
  }
  EXPECT_EQ(saved_settings(), before);
}

// A setting edited in settings.json by hand is listed with the command's changes (it was used silently), and
// a checkpoint made with another thread count than the resume's is noted: the run then does not reproduce an
// uninterrupted one bit for bit.
TEST(Trainer, ResumeListsEditedSettingsAndNotesAnotherThreadCount) {
  TempDir tmp("trainer-resume-edited");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  s.steps = 2;
  s.eval_every = 0;
  run_training(s, false);
  const fs::path file = tmp.path / "run" / "settings.json";
  nlohmann::json saved = nlohmann::json::parse(std::ifstream(file));
  saved["lr"] = 0.5;
  std::ofstream(file) << saved.dump();
  testing::internal::CaptureStdout();
  run_training(s, true, {{"steps", 3}, {"threads", 1}});
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("resuming with changed settings: "), std::string::npos) << out;
  EXPECT_NE(
      out.find("lr 0.003 → 0.5 (in " + file.string() + "; checkpoint step-00000002 was made with the first)"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("threads 2 → 1"), std::string::npos) << out;
  EXPECT_NE(out.find("note: the checkpoint was made with 2 threads and this run has 1: "), std::string::npos)
      << out;
  // The same thread count: no note, and nothing listed once the checkpoint holds the edited value.
  testing::internal::CaptureStdout();
  run_training(s, true, {{"steps", 4}});
  const std::string again = testing::internal::GetCapturedStdout();
  EXPECT_EQ(again.find("note: the checkpoint was made with"), std::string::npos) << again;
  EXPECT_NE(again.find("resuming with changed settings: steps 3 → 4\n"), std::string::npos) << again;
}

// A checkpoint of the earlier sequence layout (pretraining documents without BOS, SFT conversations packed
// across sequences; its data record has no "layout") would continue on other sequences now: refused.
TEST(Trainer, ACheckpointOfTheEarlierSequenceLayoutIsRefused) {
  TrainerState state;
  state.step = 7;
  const nlohmann::json inputs = nlohmann::json::array({{{"size", 10}, {"hash", "ab"}}});
  state.extra["data"] = {{"tokenizer", "t"}, {"inputs", inputs}};
  nlohmann::json now = {{"tokenizer", "t"}, {"inputs", inputs}, {"layout", 2}};
  EXPECT_NE(
      test::error_of([&] {
        check_same_data(state, now, {"a.jsonl"});
      }).find("the checkpoint at step 7 was made by a seek that laid out training sequences differently"),
      std::string::npos);
  state.extra["data"]["layout"] = 2;
  EXPECT_NO_THROW(check_same_data(state, now, {"a.jsonl"}));
  // An SFT checkpoint of layout 2 dropped its last sequence, which is padded now: one more sequence, another
  // shuffle.
  now["layout"] = 3;
  EXPECT_NE(
      test::error_of([&] { check_same_data(state, now, {"a.jsonl"}); }).find("padded its last sequence"),
      std::string::npos);
}

// A resumed run reads its model's config and its tokenizer from its checkpoint: the --config (or --init,
// --tokenizer) it was made from may be gone since, and settings.json keeps naming it.
TEST(Trainer, ResumeNeedsNoneOfTheModelFilesItStartedFrom) {
  TempDir tmp("trainer-resume-gone");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  s.steps = 2;
  s.eval_every = 0;
  run_training(s, false);
  const fs::path config = s.config;
  fs::remove(config);
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_training(s, true, {{"steps", 4}}).steps_done, 4);
  testing::internal::GetCapturedStdout();
  const auto saved = nlohmann::json::parse(std::ifstream(tmp.path / "run" / "settings.json"));
  EXPECT_EQ(saved["config"], fs::absolute(config).lexically_normal().string());
  EXPECT_TRUE(fs::exists(tmp.path / "run" / "model" / "config.json"));
  // The data is read again: it must be there.
  fs::rename(tmp.path / "corpus.txt", tmp.path / "gone.txt");
  EXPECT_NE(test::error_of([&] {
              run_training(s, true, {{"steps", 5}});
            }).find("cannot be found"),
            std::string::npos);
}

// A model fine-tuned from a folder keeps that folder's generation_config.json (its sampling recipe and end
// tokens), as Hugging Face's save_pretrained does; it was dropped. Kept in checkpoints, so a resume after the
// folder went still has it.
TEST(Trainer, AFineTunedModelKeepsItsGenerationConfig) {
  TempDir tmp("trainer-generation-config");
  auto base = tiny_settings(write_corpus(tmp.path), tmp.path / "base");
  base.steps = 1;
  base.eval_every = 0;
  run_training(base, false);
  const fs::path init = tmp.path / "base" / "model";
  const std::string recipe = R"({"temperature": 0.6, "top_p": 0.95, "eos_token_id": 1})";
  std::ofstream(init / "generation_config.json") << recipe;
  auto tune = base;
  tune.config.clear();
  tune.init = init.string();
  tune.out = (tmp.path / "tuned").string();
  tune.steps = 1;
  tune.checkpoint_every = 1;
  run_training(tune, false);
  EXPECT_EQ(read_file(tmp.path / "tuned" / "model" / "generation_config.json"), recipe);
  fs::remove(init / "generation_config.json");
  testing::internal::CaptureStdout();
  run_training(tune, true, {{"steps", 2}});
  testing::internal::GetCapturedStdout();
  EXPECT_EQ(read_file(tmp.path / "tuned" / "model" / "generation_config.json"), recipe);
}

// An --init model whose config.json names other special ids than the --tokenizer given was made for another
// tokenizer: its training data would start documents with a token the model and its saved config.json (where
// generation takes its end of sequence from) know as an ordinary one. A folder without a tokenizer.json is
// read as bytes whatever ids its config.json names (placeholders of models saved before seek wrote the
// tokenizer's ids there), with a note, and the trained model is saved with the byte tokenizer's ids.
TEST(Trainer, InitRefusesATokenizerWithOtherSpecialIds) {
  TempDir tmp("trainer-init-special-ids");
  const fs::path corpus = write_corpus(tmp.path);
  auto base = tiny_settings(corpus, tmp.path / "base");
  base.steps = 1;
  base.eval_every = 0;
  run_training(base, false);
  const fs::path init = tmp.path / "base" / "model";
  const int64_t model_bos = nlohmann::json::parse(read_file(init / "config.json")).at("bos_token_id");
  BpeTrainOptions bo;
  bo.vocab_size = 300;
  bo.threads = 1;
  save_bpe(train_bpe({read_file(corpus)}, bo), tmp.path / "bpe");
  const int64_t bpe_bos = load_tokenizer(tmp.path / "bpe")->bos_id();
  ASSERT_NE(model_bos, bpe_bos);
  auto tune = base;
  tune.config.clear();
  tune.init = init.string();
  tune.tokenizer = (tmp.path / "bpe").string();
  tune.out = (tmp.path / "tuned").string();
  EXPECT_NE(
      test::error_of([&] { run_training(tune, false); })
          .find(fmt::format("the --init model's config.json has BOS id {}, the tokenizer in {} has {}: the "
                            "model was made for another tokenizer",
                            model_bos, (tmp.path / "bpe").string(), bpe_bos)),
      std::string::npos);
  EXPECT_FALSE(fs::exists(tmp.path / "tuned" / "model"));
  // The folder's own tokenizer with placeholder ids in config.json trains as before, with a note: the same
  // folder is what a BPE model whose tokenizer.json went missing looks like, and that trained on bytes
  // without a word.
  auto config = nlohmann::json::parse(read_file(init / "config.json"));
  config["bos_token_id"] = 0;
  config["eos_token_id"] = 1;
  std::ofstream(init / "config.json") << config.dump(2);
  tune.tokenizer.clear();
  tune.out = (tmp.path / "tuned-own").string();
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  EXPECT_EQ(run_training(tune, false).steps_done, 1);
  testing::internal::GetCapturedStdout();
  const std::string note = testing::internal::GetCapturedStderr();
  EXPECT_NE(
      note.find(fmt::format("note: the --init folder {} has no tokenizer.json, so the data is read as "
                            "bytes (the byte tokenizer: BOS 256, EOS 257), but its config.json has BOS "
                            "0, EOS 1; the trained model is saved with the byte tokenizer's. If the model "
                            "was trained with another tokenizer, stop and give it with --tokenizer",
                            init.string())),
      std::string::npos)
      << note;
  // Saved with the ids it was trained on: it kept 0 and 1, and generation stopped at an EOS it never learned.
  const auto tuned = nlohmann::json::parse(read_file(tmp.path / "tuned-own" / "model" / "config.json"));
  EXPECT_EQ(tuned.at("bos_token_id"), 256);
  EXPECT_EQ(tuned.at("eos_token_id"), 257);
  // With the byte tokenizer's own ids there is nothing to say; its EOS may be any of an eos_token_id list.
  config["bos_token_id"] = 256;
  config["eos_token_id"] = nlohmann::json::array({1, 257});
  std::ofstream(init / "config.json") << config.dump(2);
  tune.out = (tmp.path / "tuned-own-ids").string();
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  EXPECT_EQ(run_training(tune, false).steps_done, 1);
  testing::internal::GetCapturedStdout();
  EXPECT_EQ(testing::internal::GetCapturedStderr().find("note: the --init folder"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(read_file(tmp.path / "tuned-own-ids" / "model" / "config.json"))
                .at("eos_token_id"),
            nlohmann::json::array({1, 257}));
}

// A --tokenizer of the --init model's size whose ids mean other tokens (same BOS/EOS, other special tokens
// after them) shifted ids against the model's own tokenizer.json, without a word. Its own, or a copy with
// another chat template, trains.
TEST(Trainer, InitRefusesATokenizerWhoseIdsMeanOtherTokens) {
  TempDir tmp("trainer-init-other-vocab");
  const fs::path corpus = write_corpus(tmp.path);
  BpeTrainOptions bo;
  bo.vocab_size = 272;  // the byte-vocabulary config's size
  bo.threads = 1;
  save_bpe(train_bpe({read_file(corpus)}, bo), tmp.path / "bpe");
  auto base = tiny_settings(corpus, tmp.path / "base");
  base.steps = 1;
  base.eval_every = 0;
  base.tokenizer = (tmp.path / "bpe").string();
  testing::internal::CaptureStdout();
  run_training(base, false);
  testing::internal::GetCapturedStdout();
  const fs::path init = tmp.path / "base" / "model";
  // The same special tokens, in another order after BOS and EOS: a tokenizer of the same size.
  auto other_opt = bo;
  const auto own = train_bpe({read_file(corpus)}, bo);
  for (const auto& t : own.tokenizer.at("added_tokens")) other_opt.special_tokens.push_back(t.at("content"));
  ASSERT_GE(other_opt.special_tokens.size(), 5u);
  std::swap(other_opt.special_tokens[3], other_opt.special_tokens[4]);
  save_bpe(train_bpe({read_file(corpus)}, other_opt), tmp.path / "other");
  auto tune = base;
  tune.config.clear();
  tune.init = init.string();
  tune.tokenizer = (tmp.path / "other").string();
  tune.out = (tmp.path / "tuned").string();
  const std::string e = test::error_of([&] { run_training(tune, false); });
  EXPECT_NE(e.find("the --init model's own tokenizer (" + (init / "tokenizer.json").string() +
                   ") and --tokenizer " + (tmp.path / "other").string() + " give id "),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("give --tokenizer the one it was trained with, or leave --tokenizer out"),
            std::string::npos)
      << e;
  // A copy of its own with another chat template trains.
  fs::copy(tmp.path / "bpe", tmp.path / "r1", fs::copy_options::recursive);
  auto cfg = nlohmann::json::parse(read_file(tmp.path / "r1" / "tokenizer_config.json"));
  cfg["chat_template"] = "{{ messages }}";
  std::ofstream(tmp.path / "r1" / "tokenizer_config.json") << cfg.dump();
  tune.tokenizer = (tmp.path / "r1").string();
  tune.out = (tmp.path / "tuned-r1").string();
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_training(tune, false).steps_done, 1);
  testing::internal::GetCapturedStdout();
}

// Validation reads the first eval_batches × batch_size sequences: a resume that changes either measures other
// text, which the run says instead of letting the validation curve step without a word.
TEST(Trainer, ResumeWithAnotherValidationSizeSaysSo) {
  TempDir tmp("trainer-resume-val");
  const fs::path corpus = write_corpus(tmp.path);
  auto s = tiny_settings(corpus, tmp.path / "run");
  s.steps = 2;
  run_training(s, false);
  const std::string note = "validation now reads";
  testing::internal::CaptureStdout();
  run_training(s, true, {{"steps", 3}, {"lr", 0.002}});
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(out.find(note), std::string::npos) << out;
  testing::internal::CaptureStdout();
  run_training(s, true, {{"steps", 4}, {"batch_size", 3}});
  out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: validation now reads 6 sequences (eval_batches × batch_size), 4 before step 3"),
            std::string::npos)
      << out;
  testing::internal::CaptureStdout();
  run_training(s, true, {{"steps", 5}, {"batch_size", 3}});  // the checkpoint of step 4 was made with 6
  out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(out.find(note), std::string::npos) << out;
}

// eval_batches past the split's end wrapped around to its start: some sequences counted twice, and the loss
// kept changing with eval_batches. Now each of the split's sequences counts once, with a note.
TEST(Trainer, ValidationReadsEachSequenceOfTheSplitOnce) {
  TempDir tmp("trainer-val-once");
  const fs::path corpus = write_corpus(tmp.path);
  std::vector<double> losses;
  for (int64_t batches : {int64_t(37), int64_t(500)}) {
    auto s = tiny_settings(corpus, tmp.path / ("run" + std::to_string(batches)));
    s.steps = 1;
    s.eval_every = 1;
    s.eval_batches = batches;
    testing::internal::CaptureStdout();
    run_training(s, false);
    const std::string out = testing::internal::GetCapturedStdout();
    const auto m = test::read_jsonl(fs::path(s.out) / "metrics.jsonl");
    ASSERT_EQ(m.size(), 1u);
    losses.push_back(m[0]["val_loss"].get<double>());
    if (batches == 500) {
      EXPECT_NE(out.find("fewer than eval_batches × batch_size = 500 × 2: each once"), std::string::npos)
          << out;
    }
  }
  EXPECT_EQ(losses[0], losses[1]);
  // No split at all: validation asked for measures nothing, which a note says (it was silent).
  auto none = tiny_settings(corpus, tmp.path / "none");
  none.steps = 1;
  none.val_fraction = 0;
  testing::internal::CaptureStdout();
  run_training(none, false);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(
      out.find("note: val_fraction 0 holds no text out, so there is no validation loss to measure every 3 "
               "steps (eval_every; --eval-every 0 turns validation off)"),
      std::string::npos)
      << out;
}

// settings.json names files (and the run folder) by absolute paths, so --resume works from another directory;
// a moved file may be given by its new path (only then may a fixed path setting change), and a key an older
// settings.json lacks counts as its default.
TEST(Trainer, ResumeFindsTheRunsFilesFromAnywhereAndAcceptsMovedOnes) {
  TempDir tmp("trainer-resume-paths");
  write_corpus(tmp.path);
  auto s = tiny_settings(tmp.path / "corpus.txt", tmp.path / "run");
  s.steps = 2;
  const fs::path cwd = fs::current_path();
  fs::current_path(tmp.path);
  s.data = {"corpus.txt"};  // relative to where the run starts
  s.config = fs::path(s.config).filename().string();
  auto first = s;
  first.out = "run";
  run_training(first, false);
  fs::current_path(cwd);
  std::ifstream in(tmp.path / "run" / "settings.json");
  nlohmann::json saved = nlohmann::json::parse(in);
  in.close();
  EXPECT_EQ(saved["data"][0], (tmp.path / "corpus.txt").string());
  EXPECT_EQ(saved["config"], (tmp.path / "tiny-v3-bytes.json").string());
  EXPECT_EQ(saved["out"], (tmp.path / "run").string());

  EXPECT_EQ(run_training(s, true, {{"steps", 3}}).steps_done, 3);  // from another directory
  // A run config's "data" as one string (not a list), relative as a flag's: the same data, no change (it was
  // refused as a changed --data).
  fs::current_path(tmp.path);
  const int64_t resumed = run_training(s, true, {{"steps", 3}, {"data", "corpus.txt"}}).steps_done;
  fs::current_path(cwd);
  EXPECT_EQ(resumed, 3);

  fs::rename(tmp.path / "corpus.txt", tmp.path / "moved.txt");
  try {
    run_training(s, true, {{"steps", 4}});
    FAIL() << "resumed without its data";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the run's --data " + (tmp.path / "corpus.txt").string() + " (in " +
                                         (tmp.path / "run" / "settings.json").string() +
                                         ") cannot be found; give --data with its new path if it moved"),
              std::string::npos)
        << e.what();
  }
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_training(s, true, {{"steps", 4}, {"data", {(tmp.path / "moved.txt").string()}}}).steps_done,
            4);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("(moved)"), std::string::npos) << out;

  // An older settings.json without objective: giving its default is no change.
  in.open(tmp.path / "run" / "settings.json");
  saved = nlohmann::json::parse(in);
  in.close();
  saved.erase("objective");
  std::ofstream(tmp.path / "run" / "settings.json") << saved.dump();
  EXPECT_EQ(run_training(s, true, {{"steps", 5}, {"objective", "pretrain"}}).steps_done, 5);
}

// A second run in a folder in use is refused before it writes anything there, new or resumed (two resumes at
// once interleaved their metrics; two new runs deleted each other's checkpoints in the making).
TEST(Trainer, AFolderInUseByAnotherRunIsRefused) {
  TempDir tmp("trainer-folder-in-use");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  s.steps = 2;
  {
    RunFolderLock other(tmp.path / "run");
    EXPECT_NE(test::error_of([&] { run_training(s, false); }).find("is in use by another seek run (process "),
              std::string::npos);
    EXPECT_FALSE(fs::exists(tmp.path / "run" / "settings.json"));
  }
  // A --resume of a folder that holds no run is refused without leaving a lock file in it.
  fs::create_directories(tmp.path / "not-a-run");
  auto elsewhere = s;
  elsewhere.out = (tmp.path / "not-a-run").string();
  EXPECT_NE(test::error_of([&] { run_training(elsewhere, true); }).find("nothing to resume"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(tmp.path / "not-a-run" / ".lock"));
  // A run still before its first checkpoint (settings and a few logged steps) is in use, not a run that
  // stopped there: that message advised deleting the folder.
  {
    RunFolderLock early(tmp.path / "early");
    std::ofstream(tmp.path / "early" / "settings.json") << "{}";
    std::ofstream(tmp.path / "early" / "metrics.jsonl") << R"({"step": 1})"
                                                        << "\n";
    auto early_run = s;
    early_run.out = (tmp.path / "early").string();
    for (const bool resume : {false, true})
      EXPECT_NE(
          test::error_of([&] { run_training(early_run, resume); }).find("is in use by another seek run"),
          std::string::npos)
          << resume;
  }
  run_training(s, false);
  RunFolderLock other(tmp.path / "run");
  EXPECT_NE(test::error_of([&] {
              run_training(s, true, {{"steps", 3}});
            }).find("is in use by another seek run"),
            std::string::npos);
}

// A settings.json that is not a run's (a project folder given as --out) was replaced without a word.
TEST(Trainer, ANewRunKeepsASettingsJsonThatIsNotARuns) {
  TempDir tmp("trainer-foreign-settings");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "proj");
  s.steps = 1;
  fs::create_directories(tmp.path / "proj");
  std::ofstream(tmp.path / "proj" / "settings.json") << R"({"my": "precious"})";
  EXPECT_NE(test::error_of([&] {
              run_training(s, false);
            }).find("holds a settings.json that is not a seek run's, which the run would overwrite"),
            std::string::npos);
  std::ifstream in(tmp.path / "proj" / "settings.json");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), R"({"my": "precious"})");
}

// One of several data files moved: the list with its new path is accepted (each changed entry must be gone
// from where it was; both refused the other's fix), while an entry that is still there cannot change.
TEST(Trainer, ResumeAcceptsOneOfSeveralDataFilesMoved) {
  TempDir tmp("trainer-resume-moved-one");
  const fs::path a = write_corpus(tmp.path), b = tmp.path / "b.txt";
  fs::copy_file(a, b);
  auto s = tiny_settings(a, tmp.path / "run");
  s.steps = 2;
  s.data = {a.string(), b.string()};
  run_training(s, false);
  fs::create_directories(tmp.path / "new");
  const fs::path b2 = tmp.path / "new" / "b.txt";
  fs::rename(b, b2);
  fs::copy_file(a, tmp.path / "other.txt");
  const std::string refused = test::error_of([&] {
    run_training(s, true, {{"steps", 3}, {"data", {(tmp.path / "other.txt").string(), b2.string()}}});
  });
  EXPECT_NE(refused.find("--resume continues the run as it was made: --data was"), std::string::npos)
      << refused;
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_training(s, true, {{"steps", 3}, {"data", {a.string(), b2.string()}}}).steps_done, 3);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("(moved)"), std::string::npos) << out;
}

// A checkpoint that is not this run's (copied from a run of another model, or with a hand-edited state), a
// damaged one and a settings.json that is not a file are clear errors, not a silent resume of something else.
// Damage a resume met elsewhere than in the counts (found by fuzzing): the settings the checkpoint was made
// with holding batch_size 0 (the comparison of validation sizes divided by it: SIGFPE), and the checkpoint's
// metrics line nested 10^5 deep while the step owes its validation (re-writing the line overflowed the
// stack). The run resumes; the unreadable line is dropped with a note.
TEST(Trainer, ResumeSurvivesDamageBesideTheCounts) {
  TempDir tmp("trainer-damaged-extra");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  s.steps = 2;
  s.eval_every = 1;
  run_training(s, false);
  const fs::path state_file = tmp.path / "run" / "checkpoints" / "step-00000002" / "trainer_state.json";
  auto state = nlohmann::json::parse(std::ifstream(state_file));
  ASSERT_TRUE(state["extra"]["settings"].is_object()) << state.dump();
  state["extra"]["settings"]["batch_size"] = 0;
  state["extra"]["eval_pending"] = true;
  std::ofstream(state_file) << state.dump();
  const fs::path metrics = tmp.path / "run" / "metrics.jsonl";
  const auto lines = test::read_jsonl(metrics);
  ASSERT_EQ(lines.size(), 2u);
  {
    std::ofstream out(metrics);
    out << lines[0].dump() << "\n"
        << R"({"step": 2, "deep": )" << std::string(100000, '[') << std::string(100000, ']') << "}\n";
  }
  testing::internal::CaptureStderr();
  const TrainResult r = run_training(s, true, {{"steps", 3}});
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(r.steps_done, 3);
  EXPECT_NE(err.find("metrics.jsonl has no line for 1 of steps 1 to 2 (the first: step 2)"),
            std::string::npos)
      << err;
}

TEST(Trainer, ResumeRefusesACheckpointThatIsNotTheRuns) {
  TempDir tmp("trainer-resume-foreign");
  const fs::path corpus = write_corpus(tmp.path);
  auto s = tiny_settings(corpus, tmp.path / "run");
  s.steps = 2;
  run_training(s, false);
  auto other = tiny_settings(corpus, tmp.path / "other");
  other.steps = 2;
  {
    std::ifstream in(other.config);
    auto cfg = nlohmann::json::parse(in);
    cfg["hidden_size"] = 48;
    other.config = (tmp.path / "wider.json").string();
    std::ofstream(other.config) << cfg.dump();
  }
  run_training(other, false);
  const fs::path ckpt = tmp.path / "run" / "checkpoints" / "step-00000002";
  fs::rename(ckpt, tmp.path / "saved");
  fs::copy(tmp.path / "other" / "checkpoints" / "step-00000002", ckpt, fs::copy_options::recursive);
  try {
    run_training(s, true, {{"steps", 4}});
    FAIL() << "resumed another model's checkpoint";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds another model than the run's"), std::string::npos)
        << e.what();
  }
  fs::remove_all(ckpt);
  fs::rename(tmp.path / "saved", ckpt);

  std::ifstream in(ckpt / "trainer_state.json");
  auto state = nlohmann::json::parse(in);
  in.close();
  state["step"] = 1;
  std::ofstream(ckpt / "trainer_state.json") << state.dump();
  try {
    run_training(s, true, {{"steps", 4}});
    FAIL() << "resumed a checkpoint whose state names another step";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("step 1 in a checkpoint folder named for step 2"), std::string::npos)
        << e.what();
  }
  state["step"] = 2;
  std::ofstream(ckpt / "trainer_state.json") << state.dump();

  // Fields of the wrong type or out of range name the field (one was an internal error, a fraction was cut
  // without a word, and a value nested 200,000 deep crashed the copy of "extra").
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  const std::pair<std::string, std::string> damaged[] = {
      {R"("data_position": 1.5)",
       "\"data_position\" must be a whole number from 0 to 2^53 (9007199254740992), got 1.5"},
      {R"("adamw_steps": "2")",
       "\"adamw_steps\" must be a whole number from 0 to 2^53 (9007199254740992), got \"2\""},
      // Counts the trainer adds to: 2^63 − 1 overflowed in the data loader (a crash).
      {R"("data_position": 9223372036854775807)",
       "\"data_position\" must be a whole number from 0 to 2^53 (9007199254740992), got 9223372036854775807"},
      {R"("tokens_seen": 9007199254740993)", "\"tokens_seen\" must be a whole number from 0 to 2^53"},
      {R"("checksums": 5)", "\"checksums\" must be an object, got 5"},
      {R"("extra": {"data": 5})", "\"extra.data\" must be an object whose \"inputs\" is a list, got 5"},
      {R"("extra": {"deep": )" + deep + "}", "trainer_state.json: the value at extra.deep"},
  };
  for (const auto& [field, message] : damaged) {
    SCOPED_TRACE(field);
    std::string text = state.dump();
    const std::string key = field.substr(0, field.find(':'));
    auto edited = state;
    edited.erase(key.substr(1, key.size() - 2));
    text = edited.dump();
    text.insert(1, field + ",");
    std::ofstream(ckpt / "trainer_state.json") << text;
    const std::string msg = test::error_of([&] { run_training(s, true, {{"steps", 4}}); });
    EXPECT_NE(msg.find(message), std::string::npos) << msg;
  }
  std::ofstream(ckpt / "trainer_state.json") << state.dump();

  // A fixed setting edited in settings.json disagrees with the settings the checkpoint was made with.
  std::ifstream settings_in(tmp.path / "run" / "settings.json");
  auto settings = nlohmann::json::parse(settings_in);
  settings_in.close();
  const auto original = settings;
  settings["seq_len"] = 16;
  std::ofstream(tmp.path / "run" / "settings.json") << settings.dump();
  try {
    run_training(s, true, {{"steps", 4}});
    FAIL() << "resumed with an edited seq_len";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gives seq_len 16, but checkpoint"), std::string::npos) << e.what();
  }
  std::ofstream(tmp.path / "run" / "settings.json") << original.dump();

  fs::rename(tmp.path / "run" / "settings.json", tmp.path / "settings.json");
  fs::create_directory(tmp.path / "run" / "settings.json");
  try {
    run_training(s, true, {{"steps", 4}});
    FAIL() << "resumed without settings";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("settings.json is a folder"), std::string::npos) << e.what();
  }
  fs::remove(tmp.path / "run" / "settings.json");
  fs::rename(tmp.path / "settings.json", tmp.path / "run" / "settings.json");

  // Damaged weights (the last 100 bytes overwritten) are caught by the checksums saved with them.
  for (const char* file : {"model.safetensors", "optimizer.safetensors"}) {
    SCOPED_TRACE(file);
    fs::copy_file(ckpt / file, tmp.path / "intact");
    {
      std::fstream f(ckpt / file, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(-100, std::ios::end);
      const std::string junk(100, '\x7f');
      f.write(junk.data(), std::streamsize(junk.size()));
    }
    try {
      run_training(s, true, {{"steps", 4}});
      FAIL() << "resumed damaged weights";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("is damaged"), std::string::npos) << e.what();
    }
    fs::remove(ckpt / file);
    fs::rename(tmp.path / "intact", ckpt / file);
  }
  EXPECT_EQ(run_training(s, true, {{"steps", 4}}).steps_done, 4);
}

using test::SignalAt;

void expect_same_losses(const std::vector<nlohmann::json>& got, const std::vector<nlohmann::json>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i]["step"], want[i]["step"]);
    EXPECT_EQ(got[i]["loss"].get<double>(), want[i]["loss"].get<double>()) << "step " << i + 1;
    EXPECT_EQ(got[i]["grad_norm"].get<double>(), want[i]["grad_norm"].get<double>()) << "step " << i + 1;
    EXPECT_EQ(got[i].value("val_loss", -1.0), want[i].value("val_loss", -1.0)) << "step " << i + 1;
  }
}

// SIGINT between a step's micro-batches drops that step and saves the previous one's state; at the end of a
// step it saves that step. Either way the run exits as interrupted without a final model, and --resume
// reproduces the uninterrupted run bit for bit.
TEST(Trainer, SignalThenResumeIsBitIdentical) {
  TempDir tmp("trainer-signal");
  fs::path corpus = write_corpus(tmp.path);
  auto full = tiny_settings(corpus, tmp.path / "full");
  full.checkpoint_every = 0;  // only the interrupt saves: the checkpoint below is the interrupt's
  run_training(full, false);
  const auto want = test::read_jsonl(tmp.path / "full" / "metrics.jsonl");
  ASSERT_EQ(want.size(), 6u);

  // grad_accum 2: one micro-batch check per step, so the 4th falls within step 4.
  for (const auto& [at, saved] : {std::pair{"micro-batch:4", 3}, std::pair{"step:2", 2}}) {
    SCOPED_TRACE(at);
    auto s = full;
    s.out = (tmp.path / fmt::format("stopped-{}", saved)).string();
    TrainResult r;
    {
      SignalAt signal(at);
      r = run_training(s, false);
    }
    EXPECT_TRUE(r.interrupted);
    EXPECT_FALSE(fs::exists(fs::path(s.out) / "model"));
    auto latest = latest_checkpoint(s.out);
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->filename(), fmt::format("step-{:08d}", saved));
    EXPECT_EQ(test::read_jsonl(fs::path(s.out) / "metrics.jsonl").size(), size_t(saved));

    r = run_training(s, true, nlohmann::json::object());
    EXPECT_FALSE(r.interrupted);
    EXPECT_EQ(r.steps_done, 6);
    expect_same_losses(test::read_jsonl(fs::path(s.out) / "metrics.jsonl"), want);
  }
}

// A signal during a validation ends it at once (it waited for every batch: minutes with a large
// eval_batches): the step, complete, is saved without its validation loss, and the run ends as interrupted.
// The resumed run runs that validation first and puts its loss in the step's line, as the uninterrupted run
// logged it (the line had none for good).
TEST(Trainer, ASignalStopsAValidationWhichTheResumeRuns) {
  TempDir tmp("trainer-validation-signal");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  s.checkpoint_every = 0;
  auto whole = s;
  whole.out = (tmp.path / "whole").string();
  testing::internal::CaptureStdout();
  run_training(whole, false);
  testing::internal::GetCapturedStdout();
  const auto want = test::read_jsonl(tmp.path / "whole" / "metrics.jsonl");
  ASSERT_EQ(want.size(), 6u);
  ASSERT_TRUE(want[2].contains("val_loss"));
  TrainResult r;
  testing::internal::CaptureStderr();
  {
    SignalAt signal("validation:1");  // step 3's validation, the first (eval_every 3)
    r = run_training(s, false);
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.steps_done, 3);
  EXPECT_NE(err.find("the validation of step 3 was not run to its end (a stop was asked for)\n"),
            std::string::npos)
      << err;
  EXPECT_EQ(r.validation_owed_step, 3);
  EXPECT_TRUE(fs::exists(tmp.path / "run" / "checkpoints" / "step-00000003"));
  auto m = test::read_jsonl(tmp.path / "run" / "metrics.jsonl");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_FALSE(m[2].contains("val_loss")) << m[2].dump();
  testing::internal::CaptureStdout();
  r = run_training(s, true, nlohmann::json::object());
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_FALSE(r.interrupted);
  EXPECT_NE(out.find("step 3's validation did not finish (a stop cut it short); it runs now"),
            std::string::npos)
      << out;
  m = test::read_jsonl(tmp.path / "run" / "metrics.jsonl");
  ASSERT_EQ(m.size(), 6u);
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(m[i].contains("val_loss"), want[i].contains("val_loss")) << "step " << i + 1;
    if (want[i].contains("val_loss")) {
      EXPECT_EQ(m[i]["val_loss"], want[i]["val_loss"]) << "step " << i + 1;
    }
  }
}

// The last step's validation stopped (the run completes and saves its model): a resume of the complete run
// runs it and reports it, not step 3's as the final one; a second resume has none to run.
TEST(Trainer, AStoppedLastValidationRunsOnResume) {
  TempDir tmp("trainer-last-validation-signal");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  ASSERT_EQ(s.steps, 6);
  ASSERT_EQ(s.eval_every, 3);
  auto whole = s;
  whole.out = (tmp.path / "whole").string();
  testing::internal::CaptureStdout();
  const TrainResult want = run_training(whole, false);
  testing::internal::GetCapturedStdout();
  ASSERT_GE(want.last_val_loss, 0);
  TrainResult r;
  testing::internal::CaptureStderr();
  {
    SignalAt signal("validation:3");  // step 6's first batch (two per validation)
    r = run_training(s, false);
  }
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(r.steps_done, 6);
  EXPECT_TRUE(fs::exists(tmp.path / "run" / "model"));
  EXPECT_LT(r.last_val_loss, 0);
  testing::internal::CaptureStdout();
  r = run_training(s, true, nlohmann::json::object());
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(r.last_val_loss, want.last_val_loss);
  EXPECT_NE(out.find(fmt::format("step      6/6 | val loss {:.4f}", want.last_val_loss)), std::string::npos)
      << out;
  const auto m = test::read_jsonl(tmp.path / "run" / "metrics.jsonl");
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(m[5].value("val_loss", -1.0), want.last_val_loss) << m[5].dump();
  testing::internal::CaptureStdout();
  r = run_training(s, true, nlohmann::json::object());
  out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(out.find("validation did not finish"), std::string::npos) << out;
}

// Interrupted before its first step completes, a run has nothing to save; its folder takes the same run
// again (not --resume, which has no checkpoint to continue from).
TEST(Trainer, SignalInTheFirstStepLeavesNothingToResume) {
  TempDir tmp("trainer-signal-first");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  {
    SignalAt signal("micro-batch:1");
    EXPECT_TRUE(run_training(s, false).interrupted);
  }
  EXPECT_FALSE(latest_checkpoint(s.out).has_value());
  EXPECT_TRUE(test::read_jsonl(fs::path(s.out) / "metrics.jsonl").empty());
  EXPECT_THROW(run_training(s, true, nlohmann::json::object()), Error);
  EXPECT_EQ(run_training(s, false).steps_done, 6);
}

TEST(Trainer, DISABLED_CrashingRun) {
  const char* corpus = std::getenv("SEEK_TEST_CRASH_CORPUS");
  const char* out = std::getenv("SEEK_TEST_CRASH_OUT");
  ASSERT_TRUE(corpus && out);
  if (std::getenv("SEEK_TEST_CRASH_RESUME"))
    run_training(tiny_settings(corpus, out), true, nlohmann::json::object());
  else
    run_training(tiny_settings(corpus, out), false);
}

// A run whose updates blow up at once: a learning rate of 1e30, from the first step, unclipped.
TrainSettings diverging_settings(const fs::path& corpus, const fs::path& out) {
  auto s = tiny_settings(corpus, out);
  s.lr = 1e30;
  s.min_lr = 0;
  s.warmup_steps = 0;
  s.max_grad_norm = 0;
  return s;
}

TEST(Trainer, NonFiniteLossStopsWithoutPoisonedCheckpoint) {
  TempDir tmp("trainer-nan");
  auto s = diverging_settings(write_corpus(tmp.path), tmp.path / "run");
  s.checkpoint_every = 1;
  s.steps = 20;
  try {
    run_training(s, false);
    FAIL() << "expected the run to stop";
  } catch (const RunError& e) {
    // The problem apart from the advice (seek demo shows the problem alone: its user has neither flag), and
    // NaN without its sign ("grad norm -nan").
    const std::string what = e.what();
    EXPECT_NE(what.find(e.problem() + ". Lower the learning rate, or pass --on-nonfinite skip to skip such "
                                      "steps"),
              std::string::npos)
        << what;
    EXPECT_NE(e.problem().find("non-finite"), std::string::npos) << what;
    EXPECT_NE(e.problem().find("; stopping without saving"), std::string::npos) << what;
    EXPECT_EQ(what.find("-nan"), std::string::npos) << what;
    EXPECT_EQ(what.find("nan"), std::string::npos) << what;
  }
  // Every checkpoint that exists holds finite parameters.
  for (const auto& e : fs::directory_iterator(tmp.path / "run" / "checkpoints")) {
    auto model = std::make_unique<Transformer<float>>(ModelConfig::load((e.path() / "config.json").string()));
    AdamW<float> opt(model->params().layout);
    load_checkpoint(e.path(), *model, opt);
    for (float v : model->params().value) ASSERT_TRUE(std::isfinite(v)) << e.path();
  }
}

// A run that stops before its first checkpoint leaves logs and nothing to resume: starting again there used
// to say "continue it with --resume", which then said "nothing to resume".
TEST(Trainer, AFolderWithoutACheckpointSaysThereIsNothingToResume) {
  TempDir tmp("trainer-nan-early");
  auto s = diverging_settings(write_corpus(tmp.path), tmp.path / "run");
  s.checkpoint_every = 100;
  s.steps = 20;
  EXPECT_THROW(run_training(s, false), Error);
  ASSERT_FALSE(latest_checkpoint(tmp.path / "run").has_value());
  try {
    run_training(s, false);
    FAIL() << "a new run must not overwrite the stopped run's logs";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("holds the logs of a run that stopped before its first checkpoint "
                                   "(metrics.jsonl is there), so there is nothing to resume: delete the "
                                   "folder to start over"),
        std::string::npos)
        << e.what();
  }
  // --resume says what to do too.
  EXPECT_NE(test::error_of([&] { run_training(s, true); })
                .find("has no complete checkpoint (a run stopped before its first checkpoint: delete " +
                      s.out + " and start it again without --resume)"),
            std::string::npos);
  // A folder that is not there, or a file, said "has no complete checkpoint" as if it were a run.
  auto gone = tiny_settings(write_corpus(tmp.path), tmp.path / "no-such-run");
  EXPECT_NE(
      test::error_of([&] { run_training(gone, true); }).find("run folder " + gone.out + " does not exist"),
      std::string::npos);
  // A folder that is no run (a model's, one holding runs) is not advised deleted.
  fs::create_directories(tmp.path / "models");
  gone.out = (tmp.path / "models").string();
  EXPECT_NE(test::error_of([&] {
              run_training(gone, true);
            }).find("has no complete checkpoint and no settings.json: it is not a run folder"),
            std::string::npos);
  std::ofstream(tmp.path / "a-file") << "x";
  gone.out = (tmp.path / "a-file").string();
  EXPECT_NE(
      test::error_of([&] { run_training(gone, true); }).find("is not a run folder (not a folder at all)"),
      std::string::npos);
}

// A --tokenizer folder without tokenizer.json names what the flag wants and what leaving it out gives.
TEST(Trainer, ATokenizerFolderWithoutItsFileIsNamed) {
  TempDir tmp("trainer-empty-tokenizer");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  fs::create_directories(tmp.path / "empty");
  s.tokenizer = (tmp.path / "empty").string();
  EXPECT_NE(test::error_of([&] { run_training(s, false); })
                .find("no tokenizer.json in " + s.tokenizer +
                      " (--tokenizer names a folder holding one; leave it out for the byte-level tokenizer)"),
            std::string::npos);
}

// --on-nonfinite skip goes on past such steps, and the run's last line says how many it skipped (it read as
// a run that trained every step).
TEST(Trainer, SkippedNonFiniteStepsAreCounted) {
  TempDir tmp("trainer-nan-skip");
  auto s = diverging_settings(write_corpus(tmp.path), tmp.path / "run");
  s.steps = 4;
  s.on_nonfinite = "skip";
  testing::internal::CaptureStdout();
  const TrainResult r = run_training(s, false);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(r.steps_done, 4);
  EXPECT_GE(r.skipped_steps, 1);
  EXPECT_NE(out.find(fmt::format("done: 4 steps ({} of this session's skipped as non-finite, with no update)",
                                 r.skipped_steps)),
            std::string::npos)
      << out;
  // metrics.jsonl marks the skipped steps; the progress line shows no "grad norm -nan".
  int64_t marked = 0;
  for (const auto& m : test::read_jsonl(tmp.path / "run" / "metrics.jsonl"))
    marked += m["skipped"].get<bool>();
  EXPECT_EQ(marked, r.skipped_steps);
  EXPECT_EQ(out.find("grad norm -nan"), std::string::npos) << out;
  EXPECT_EQ(out.find("grad norm nan"), std::string::npos) << out;
  // A run whose steps are all non-finite has diverged: it stops after 20 in a row instead of running on.
  TempDir tmp2("trainer-nan-diverged");
  auto d = diverging_settings(write_corpus(tmp2.path), tmp2.path / "run");
  d.steps = 30;
  d.on_nonfinite = "skip";
  d.lr = 1e38;
  d.eval_every = 0;
  d.checkpoint_every = 1;
  d.keep_last = 2;
  const fs::path ckpts = tmp2.path / "run" / "checkpoints";
  // The checkpoints saved within the streak all hold the weights it started from; rotating them in deleted
  // every checkpoint from before it, the one the message sends the user back to.
  const std::string way_back = "stopping: the run has diverged. Continue from " +
                               (ckpts / "step-00000001").string() +
                               ", the newest checkpoint from before the non-finite steps, with a lower "
                               "learning rate: move the newer ones out of " +
                               ckpts.string();
  auto saved_steps = [&] {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(ckpts)) names.insert(e.path().filename().string());
    return names;
  };
  testing::internal::CaptureStdout();
  try {
    run_training(d, false);
    FAIL() << "a diverged run went on";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("20 steps in a row were non-finite (steps 2 to 21); " + way_back),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(saved_steps(), (std::set<std::string>{"step-00000001", "step-00000019", "step-00000020"}));
  // The streak is saved with the checkpoints: a plain --resume of the diverged run (from step 20, 19 in a
  // row) stops again where it stopped instead of counting from 0 and finishing (and exporting) the run.
  try {
    run_training(d, true);
    FAIL() << "a resumed diverged run went on";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("20 steps in a row were non-finite (steps 2 to 21); " + way_back),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(saved_steps(), (std::set<std::string>{"step-00000001", "step-00000019", "step-00000020"}));
  EXPECT_FALSE(fs::exists(tmp2.path / "run" / "model"));
  // Without a checkpoint from before the streak there is nowhere to go back to, and the message says so.
  TempDir tmp3("trainer-nan-diverged-unsaved");
  auto u = d;
  u.data = {write_corpus(tmp3.path).string()};
  u.out = (tmp3.path / "run").string();
  u.checkpoint_every = 0;
  try {
    run_training(u, false);
    FAIL() << "a diverged run went on";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "has diverged. No checkpoint was saved before them: start again with "
                  "a lower learning rate and another --out (any checkpoints in " +
                  (tmp3.path / "run" / "checkpoints").string() + " were saved during the non-finite steps)"),
              std::string::npos)
        << e.what();
  }
  testing::internal::GetCapturedStdout();
}

// A sequence longer than the model's context is named as such, not as memory to be saved with a smaller batch
// (the memory check came first, and at 10^6 tokens told the user to lower --batch-size).
TEST(Trainer, ASequenceLongerThanTheContextIsNamedBeforeMemory) {
  TempDir tmp("trainer-long-seq");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  s.seq_len = 1000000;
  const std::string e = test::error_of([&] { run_training(s, false); });
  EXPECT_NE(e.find("seq_len 1000000 exceeds the model's context of 64 tokens (max_position_embeddings in "
                   "config.json)"),
            std::string::npos)
      << e;
}

TEST(Trainer, BadPathsAreClearErrors) {
  TempDir tmp("trainer-bad");
  auto s = tiny_settings(write_corpus(tmp.path), tmp.path / "run");
  std::ofstream(tmp.path / "file") << "x";
  s.out = (tmp.path / "file" / "run").string();
  EXPECT_THROW(run_training(s, false), Error);
  s.out = (tmp.path / "run").string();
  s.data = {(tmp.path / "missing.txt").string()};
  try {
    run_training(s, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.txt"), std::string::npos) << e.what();
  }
  auto r = tiny_settings(write_corpus(tmp.path), tmp.path / "empty-run");
  EXPECT_THROW(run_training(r, true, nlohmann::json::object()), Error);  // nothing to resume
}

}  // namespace
}  // namespace seek
