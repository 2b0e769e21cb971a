// `seek train` and `seek grpo` refuse the same bad values of the keys they share, each with an error that
// names the key.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "rl/grpo_settings.hpp"
#include "train/settings.hpp"

namespace seek {
namespace {

// Built from JSON, as a settings file would give them.
TrainSettings valid_train() {
  const auto data = std::filesystem::temp_directory_path() / "seek-shared-settings.txt";
  std::ofstream(data) << "text";
  return TrainSettings::from_json({{"config", "c.json"}, {"data", data.string()}, {"out", "o"}}, "test");
}

GrpoSettings valid_grpo() {
  return GrpoSettings::from_json({{"init", "policy"}, {"task", "countdown"}, {"out", "o"}}, "test");
}

template <typename S>
std::string error_of(const S& s) {
  try {
    s.validate();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

template <typename S>
void check_shared_keys(S base, const char* command) {
  ASSERT_EQ(error_of(base), "") << command;
  struct Bad {
    const char* key;  // also what the message must contain, unless `named` says otherwise
    std::function<void(S&)> set;
    const char* named = nullptr;
  };
  const std::vector<Bad> bad = {
      {"out", [](S& s) { s.out.clear(); }, "--out"},
      {"steps", [](S& s) { s.steps = 0; }},
      {"schedule", [](S& s) { s.schedule = "exponential"; }, "exponential"},
      {"warmup_steps", [](S& s) { s.warmup_steps = -1; }, "warmup_steps must be >= 0, got -1"},
      {"lr", [](S& s) { s.lr = 0; }},
      {"min_lr",
       [](S& s) {
         s.min_lr = 2 * s.lr;
         s.schedule = "cosine";  // a constant schedule never reaches min_lr, and does not check it
       }},
      {"beta1", [](S& s) { s.beta1 = 2; }, "beta1 must be in [0, 1), got 2"},
      {"beta2", [](S& s) { s.beta2 = 1; }, "beta2 must be in [0, 1), got 1"},
      // Below 1 in double, 1 in fp32: the moments never moved, and the run exited 0 having learned nothing
      // (β1) or with weights blown up (β2).
      {"beta1", [](S& s) { s.beta1 = 0.99999999; },
       "beta1 0.99999999 rounds to 1 in fp32, which the optimizer keeps its moments in: they would never "
       "move; give at most 0.99999994"},
      {"beta2", [](S& s) { s.beta2 = 0.99999999; }, "beta2 0.99999999 rounds to 1 in fp32"},
      {"eps", [](S& s) { s.eps = 0; }, "eps must be positive, got 0"},
      {"weight_decay", [](S& s) { s.weight_decay = -0.1; }, "weight_decay must be >= 0, got -0.1"},
      {"bias_update_speed", [](S& s) { s.bias_update_speed = -1; },
       "bias_update_speed must be in [0, 1e6] (DeepSeek-V3 uses 0.001), got -1"},
      // 1e38 made the router bias inf within a few steps.
      {"bias_update_speed", [](S& s) { s.bias_update_speed = 1e38; },
       "bias_update_speed must be in [0, 1e6]"},
      {"eval_every", [](S& s) { s.eval_every = -1; }, "eval_every must be >= 0 (0: never), got -1"},
      {"checkpoint_every", [](S& s) { s.checkpoint_every = -1; },
       "checkpoint_every must be >= 0 (0: only at the end), got -1"},
      {"keep_last", [](S& s) { s.keep_last = 0; }, "keep_last must be at least 1, got 0"},
      {"save_dtype", [](S& s) { s.save_dtype = "f16"; }},
      {"threads", [](S& s) { s.threads = -2; }},
      // inf passes `lr > 0`, NaN every check written as a negation: each must be a finite number.
      {"lr", [](S& s) { s.lr = std::numeric_limits<double>::infinity(); }, "lr must be a finite number"},
      {"min_lr", [](S& s) { s.min_lr = std::nan(""); }, "min_lr must be a finite number"},
      {"max_grad_norm", [](S& s) { s.max_grad_norm = std::nan(""); },
       "max_grad_norm must be a finite number"},
      {"weight_decay", [](S& s) { s.weight_decay = std::numeric_limits<double>::infinity(); },
       "weight_decay must be a finite number"},
      // Finite doubles that fp32, the optimizer's type, cannot hold: eps becomes 0, lr and decay inf.
      {"eps", [](S& s) { s.eps = 1e-46; }, "eps 1e-46 is below the smallest fp32 number"},
      {"lr",
       [](S& s) {
         s.lr = 1e-50;
         s.min_lr = 0;
       },
       "lr 1e-50 is below the smallest fp32 number (~1.4e-45), which the "
       "optimizer uses: it would be 0 and train nothing"},
      {"lr", [](S& s) { s.lr = 1e39; }, "lr 1e+39 is beyond the largest fp32 number"},
      {"weight_decay", [](S& s) { s.weight_decay = 1e39; }, "weight_decay 1e+39 is beyond the largest fp32"},
      {"eps", [](S& s) { s.eps = 1e300; }, "eps 1e+300 is beyond the largest fp32"},
  };
  for (const Bad& b : bad) {
    S s = base;
    b.set(s);
    const std::string msg = error_of(s);
    EXPECT_NE(msg.find(b.named ? b.named : b.key), std::string::npos)
        << command << " " << b.key << ": \"" << msg << "\"";
  }
}

TEST(SharedSettings, TrainAndGrpoRefuseTheSameBadValuesNamingTheKey) {
  check_shared_keys(valid_train(), "train");
  check_shared_keys(valid_grpo(), "grpo");
}

// GRPO's own keys name the key and the value given (they said "need 0 <= epsilon_low < 1, epsilon_high >=
// 0").
TEST(SharedSettings, GrpoValueErrorsNameTheKeyAndValue) {
  const std::vector<std::pair<std::function<void(GrpoSettings&)>, std::string>> bad = {
      {[](GrpoSettings& s) { s.epsilon_low = 1; }, "epsilon_low must be in [0, 1), got 1"},
      {[](GrpoSettings& s) { s.epsilon_high = -0.5; }, "epsilon_high must be >= 0, got -0.5"},
      {[](GrpoSettings& s) { s.delta = 1.1; }, "delta (two-sided clip) must be 0 or above 1 + epsilon_high"},
      {[](GrpoSettings& s) { s.entropy_coef = -1; }, "entropy_coef must be >= 0, got -1"},
      {[](GrpoSettings& s) { s.beta = -0.25; }, "beta must be >= 0, got -0.25"},
      {[](GrpoSettings& s) { s.log_completions = -2; }, "log_completions must be >= 0, got -2"},
  };
  for (const auto& [set, want] : bad) {
    GrpoSettings s = valid_grpo();
    set(s);
    EXPECT_NE(error_of(s).find(want), std::string::npos) << want << ": " << error_of(s);
  }
}

TEST(SharedSettings, BetasJustBelowOneInFp32AreAccepted) {
  for (double beta : {0.99999994, 0.999, 0.0}) {
    auto t = valid_train();
    t.beta1 = t.beta2 = beta;
    EXPECT_EQ(error_of(t), "") << beta;
    auto g = valid_grpo();
    g.beta1 = g.beta2 = beta;
    EXPECT_EQ(error_of(g), "") << beta;
  }
}

TEST(SharedSettings, DeeplyNestedValuesAreErrorsNotCrashes) {
  // JSON-valued settings are copied into the struct, and a wrong-typed one was printed in full; both
  // recursed once per nesting level.
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  for (const char* key : {"rewards", "steps"}) {
    SCOPED_TRACE(key);
    auto j = nlohmann::json::parse(R"({"init": "policy", "task": "countdown", "out": "o"})");
    j[key] = nlohmann::json::parse(deep);
    try {
      GrpoSettings::from_json(j, "run.json");
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("run.json: the value at [\"") + key + "\"][0]"),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace seek
