// Learning-rate schedules and run settings (JSON round trip, unknown keys, validation messages).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "train/schedule.hpp"
#include "train/settings.hpp"

namespace seek {
namespace {

// lr 1 → min_lr 0.1, 10 warm-up steps of 110 (cosine unless set).
Schedule ten_of_110() {
  Schedule s;
  s.lr = 1.0;
  s.min_lr = 0.1;
  s.warmup_steps = 10;
  s.total_steps = 110;
  return s;
}

TEST(Schedule, WarmupThenEachShape) {
  Schedule s = ten_of_110();
  s.kind = ScheduleKind::Cosine;
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(9), 1.0);
  EXPECT_DOUBLE_EQ(s.lr_at(10), 1.0);
  EXPECT_NEAR(s.lr_at(60), 0.55, 1e-12);  // half-way down the cosine
  EXPECT_NEAR(s.lr_at(110), 0.1, 1e-12);
  s.kind = ScheduleKind::Linear;
  EXPECT_NEAR(s.lr_at(35), 1.0 - 0.9 * 0.25, 1e-12);
  s.kind = ScheduleKind::Constant;
  EXPECT_DOUBLE_EQ(s.lr_at(100), 1.0);
  s.kind = ScheduleKind::Wsd;
  s.decay_fraction = 0.2;
  EXPECT_DOUBLE_EQ(s.lr_at(80), 1.0);                 // progress 0.7: stable
  EXPECT_NEAR(s.lr_at(100), 1.0 - 0.9 * 0.5, 1e-12);  // half-way through the last 20%
  EXPECT_NEAR(s.lr_at(110), 0.1, 1e-12);
  EXPECT_THROW(parse_schedule_kind("exponential"), Error);
}

// Past total_steps every decay stays at min_lr (a cosine past its end would climb back up), and a run that
// is all warm-up (no step after it) stays at lr instead of dividing by zero.
TEST(Schedule, EndsAtMinLrAndAllWarmupIsFinite) {
  Schedule s = ten_of_110();
  for (ScheduleKind k : {ScheduleKind::Cosine, ScheduleKind::Linear, ScheduleKind::Wsd}) {
    s.kind = k;
    for (int64_t step : {111, 160, 210}) EXPECT_NEAR(s.lr_at(step), 0.1, 1e-12) << step;
  }
  s.total_steps = 10;
  for (ScheduleKind k : {ScheduleKind::Cosine, ScheduleKind::Linear, ScheduleKind::Wsd}) {
    s.kind = k;
    EXPECT_DOUBLE_EQ(s.lr_at(9), 1.0);
    EXPECT_DOUBLE_EQ(s.lr_at(10), 1.0);  // progress 0 of an empty decay
    EXPECT_TRUE(std::isfinite(s.lr_at(11)));
  }
}

TEST(Settings, RoundTripAndStrictKeys) {
  TrainSettings s;
  s.config = "configs/tiny-v3.json";
  s.data = {"a.txt", "b.jsonl"};
  s.out = "runs/x";
  s.lr = 3e-4;
  auto j = s.to_json();
  auto s2 = TrainSettings::from_json(j, "t");
  EXPECT_EQ(s2.to_json(), j);
  j["learning_rate"] = 1;
  try {
    TrainSettings::from_json(j, "run.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("learning_rate"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("run.json"), std::string::npos);
  }
  nlohmann::json bad = {{"batch_size", "eight"}};
  try {
    TrainSettings::from_json(bad, "run.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch_size"), std::string::npos);
  }
  // a single data file may be given as a string
  EXPECT_EQ(TrainSettings::from_json({{"data", "one.txt"}}, "t").data.size(), 1u);
}

TEST(Settings, ValidationNamesTheProblem) {
  const auto data = std::filesystem::temp_directory_path() / "seek-settings-test.txt";
  std::ofstream(data) << "text";
  TrainSettings s;
  s.data = {(data.parent_path() / "missing-file.txt").string()};
  s.out = "o";
  auto msg = [&] {
    try {
      s.validate();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(msg().find("--config"), std::string::npos);  // neither config nor init
  s.config = "c.json";
  EXPECT_NE(msg().find("missing-file.txt"), std::string::npos);
  s.data = {data.string()};
  EXPECT_EQ(msg(), "");
  s.batch_size = 0;
  EXPECT_NE(msg().find("batch_size"), std::string::npos);
  s.batch_size = 1;
  s.schedule = "step";
  EXPECT_NE(msg().find("step"), std::string::npos);
  s.schedule = "cosine";
  s.min_lr = 1;
  EXPECT_NE(msg().find("min_lr"), std::string::npos);
  s.min_lr = 0;
  s.objective = "rlhf";
  EXPECT_NE(msg().find("rlhf"), std::string::npos);
}

}  // namespace
}  // namespace seek
