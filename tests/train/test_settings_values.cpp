// Run settings that used to be accepted and then meant something nobody asked for: a wsd decay fraction
// outside (0, 1], loss weights of inf or 1e300 (which failed at step 1 as a reason to lower the learning
// rate), evaluations of 0 batches, a seed of -5 in a run file (wrapped to 18446744073709551611), a null
// value (read as the default), a --tokenizer folder that does not exist (read as the byte tokenizer), and
// training data that is a folder or a device (reported as missing).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"
#include "train/settings.hpp"

namespace seek {
namespace {

using nlohmann::json;
using test::error_of;
using test::TempDir;

constexpr double kInf = std::numeric_limits<double>::infinity();

struct SettingsValues : ::testing::Test {
  TempDir tmp{"settings-values"};
  std::string data = (tmp.path / "corpus.txt").string();
  SettingsValues() { std::ofstream(data) << "text"; }

  json base() const { return {{"config", "c.json"}, {"data", data}, {"out", "o"}}; }
  // The error of reading `extra` over a valid run file and validating the result; "" when accepted.
  std::string error_with(const json& extra) const {
    json j = base();
    j.update(extra);
    return error_of([&] { TrainSettings::from_json(j, "run.json").validate(); });
  }
};

TEST_F(SettingsValues, ValidBaseIsAccepted) {
  EXPECT_EQ(error_with(json::object()), "");
  EXPECT_EQ(error_with({{"schedule", "wsd"}, {"decay_fraction", 1.0}}), "");
  EXPECT_EQ(error_with({{"aux_alpha", -1}, {"mtp_lambda", 0}}), "");    // < 0: the config's alpha
  EXPECT_EQ(error_with({{"eval_every", 0}, {"eval_batches", 0}}), "");  // no evaluations, no batches
  EXPECT_EQ(error_with({{"seed", 18446744073709551615ull}}), "");
}

// With SEEK_NO_MEMORY_CHECK=1 (no memory check), a batch_size of 2^62 wrapped the token count and segfaulted.
TEST_F(SettingsValues, BatchTokensBeyondAnyMemoryAreRefused) {
  const std::string e = error_with({{"batch_size", int64_t(1) << 62}, {"seq_len", 16}});
  EXPECT_NE(e.find("batch_size 4611686018427387904 × seq_len 16 × grad_accum 1 is beyond any memory"),
            std::string::npos)
      << e;
  EXPECT_NE(error_with({{"batch_size", 1 << 20}, {"seq_len", 1 << 20}, {"grad_accum", 2}})
                .find("beyond any memory"),
            std::string::npos);
  EXPECT_EQ(error_with({{"batch_size", 1 << 20}, {"seq_len", 1 << 20}}), "");
}

TEST_F(SettingsValues, DecayFractionMustBeAShareOfTheSteps) {
  for (double v : {2.0, -1.0, 0.0, std::nan(""), kInf}) {
    const std::string e = error_with({{"schedule", "wsd"}, {"decay_fraction", v}});
    EXPECT_NE(e.find("decay_fraction must be in (0, 1]"), std::string::npos) << v << ": " << e;
  }
  // Under any schedule: only wsd reads it, but 2 is a mistake whichever is chosen.
  EXPECT_NE(error_with({{"decay_fraction", 2.0}}).find("decay_fraction"), std::string::npos);
}

TEST_F(SettingsValues, LossWeightsMustBeFiniteAndSane) {
  TrainSettings s = TrainSettings::from_json(base(), "t");
  for (double v : {kInf, 1e300, std::nan(""), -1.0}) {
    TrainSettings t = s;
    t.mtp_lambda = v;
    const std::string e = error_of([&] { t.validate(); });
    EXPECT_NE(e.find("mtp_lambda must be a number from 0 to 1000"), std::string::npos) << v << ": " << e;
  }
  for (double v : {kInf, -kInf, std::nan(""), 1e300}) {
    TrainSettings t = s;
    t.aux_alpha = v;
    const std::string e = error_of([&] { t.validate(); });
    EXPECT_NE(e.find("aux_alpha must be a number"), std::string::npos) << v << ": " << e;
  }
}

TEST_F(SettingsValues, EvaluationsNeedBatches) {
  for (int64_t n : {0, -1}) {
    const std::string e = error_with({{"eval_every", 10}, {"eval_batches", n}});
    EXPECT_NE(e.find("eval_batches must be at least 1 when eval_every is above 0"), std::string::npos) << e;
  }
}

TEST_F(SettingsValues, IntegersMustFitTheirSetting) {
  std::string e = error_with({{"seed", -5}});
  EXPECT_NE(
      e.find("run.json: setting \"seed\" must be a whole number from 0 to 18446744073709551615, got -5"),
      std::string::npos)
      << e;
  e = error_with({{"threads", 10000000000}});
  EXPECT_NE(e.find("setting \"threads\" must be a whole number from -2147483648 to 2147483647"),
            std::string::npos)
      << e;
  e = error_with({{"steps", 18446744073709551615ull}});  // read as int64 it was -1
  EXPECT_NE(e.find("setting \"steps\" must be a whole number"), std::string::npos) << e;
  // Whole numbers written as floats (Python's json writes 1e3 as 1000.0) are those integers; fractions are
  // not.
  json j = base();
  j.update(json::parse(R"({"seed": 1e3, "steps": 200.0})"));
  const TrainSettings s = TrainSettings::from_json(j, "run.json");
  EXPECT_EQ(s.seed, 1000u);
  EXPECT_EQ(s.steps, 200);
  e = error_with(json::parse(R"({"steps": 2.5})"));
  EXPECT_NE(e.find("setting \"steps\" must be a whole number, got 2.5"), std::string::npos) << e;
  e = error_with(json::parse(R"({"steps": "1"})"));
  EXPECT_NE(e.find("setting \"steps\" must be a whole number, got \"1\""), std::string::npos) << e;
  e = error_with(json::parse(R"({"lr": true})"));
  EXPECT_NE(e.find("setting \"lr\" must be a number, got true"), std::string::npos) << e;
  e = error_with(json::parse(R"({"data": [1]})"));
  EXPECT_NE(e.find("setting \"data\" must be a string or a list of strings, got [1]"), std::string::npos)
      << e;
  e = error_with(json::parse(R"({"seed": -1.0})"));
  EXPECT_NE(e.find("setting \"seed\" must be a whole number from 0"), std::string::npos) << e;
  // Whole floats past int64 were "not a whole number": a seed within uint64 is that seed, and a value past
  // its setting's range is said to be.
  j = base();
  j.update(json::parse(R"({"seed": 1e19})"));
  EXPECT_EQ(TrainSettings::from_json(j, "run.json").seed, 10000000000000000000ull);
  e = error_with(json::parse(R"({"batch_size": 1e30})"));
  EXPECT_NE(e.find("setting \"batch_size\" must be a whole number from -9223372036854775808 to "
                   "9223372036854775807, got 1e+30"),
            std::string::npos)
      << e;
  e = error_with(json::parse(R"({"batch_size": 1e19})"));
  EXPECT_NE(e.find("setting \"batch_size\" must be a whole number from"), std::string::npos) << e;
}

TEST_F(SettingsValues, NullIsNotTheDefault) {
  for (const char* key : {"lr", "seed", "data", "schedule"}) {
    const std::string e = error_with({{key, nullptr}});
    EXPECT_NE(e.find(std::string("run.json: setting \"") + key + "\" is null"), std::string::npos) << e;
  }
}

TEST_F(SettingsValues, TokenizerMustBeAnExistingFolder) {
  std::string e = error_with({{"tokenizer", (tmp.path / "typo").string()}});
  EXPECT_NE(e.find("typo: no such folder"), std::string::npos) << e;
  e = error_with({{"tokenizer", data}});
  EXPECT_NE(e.find("corpus.txt is a file; give the folder that holds tokenizer.json"), std::string::npos)
      << e;
  EXPECT_EQ(error_with({{"tokenizer", tmp.path.string()}}), "");
}

TEST_F(SettingsValues, DataThatIsNoFileSaysWhatItIs) {
  std::string e = error_with({{"data", tmp.path.string()}});
  EXPECT_NE(e.find("is a folder; give the .txt or .jsonl files in it"), std::string::npos) << e;
  e = error_with({{"data", "/dev/null"}});
  EXPECT_NE(e.find("training data /dev/null is not a regular file"), std::string::npos) << e;
  const std::string fifo = (tmp.path / "pipe.txt").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  e = error_with({{"data", fifo}});
  EXPECT_NE(e.find("pipe.txt is not a regular file"), std::string::npos) << e;
  e = error_with({{"data", (tmp.path / "missing.txt").string()}});
  EXPECT_NE(e.find("missing.txt does not exist"), std::string::npos) << e;
}

TEST_F(SettingsValues, UnknownKeysSuggestTheNearestSetting) {
  std::string e = error_with({{"learning_rat", 1e-3}});
  EXPECT_NE(e.find("run.json: unknown setting \"learning_rat\""), std::string::npos) << e;
  EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;  // no setting is near it
  e = error_with({{"batch-size", 8}});                        // the flag's spelling
  EXPECT_NE(e.find("unknown setting \"batch-size\"; did you mean \"batch_size\"?"), std::string::npos) << e;
  e = error_with({{"warmup_step", 8}});
  EXPECT_NE(e.find("did you mean \"warmup_steps\"?"), std::string::npos) << e;
}

TEST_F(SettingsValues, AModelConfigIsNamedAsOne) {
  // `seek train --run-config configs/small.json` failed on "unknown setting \"architectures\"".
  const std::string e = error_with({{"architectures", {"DeepseekV3ForCausalLM"}}, {"hidden_size", 64}});
  EXPECT_NE(e.find("run.json: this is a model's config.json (it has \"hidden_size\"), not run settings: give "
                   "it with --config (or a model folder with --init)"),
            std::string::npos)
      << e;
}

}  // namespace
}  // namespace seek
