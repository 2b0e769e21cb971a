// nearest_name: the "did you mean" of error messages must offer slips of a known name and nothing else.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/nearest_name.hpp"

namespace seek {
namespace {

const std::vector<std::string> kNames = {"lr", "min_lr", "batch_size", "seq_len", "steps", "warmup_steps"};

TEST(NearestName, OffersSlipsOfAKnownName) {
  EXPECT_EQ(nearest_name("batch-size", kNames), "batch_size");  // a flag's spelling
  EXPECT_EQ(nearest_name("Batch_Size", kNames), "batch_size");  // case
  EXPECT_EQ(nearest_name("batchsize", kNames), "batch_size");   // one deletion
  EXPECT_EQ(nearest_name("seq_lne", kNames), "seq_len");        // neighbours swapped: one edit
  EXPECT_EQ(nearest_name("warmup_step", kNames), "warmup_steps");
  EXPECT_EQ(nearest_name("step", kNames), "steps");
}

TEST(NearestName, OffersNothingForAnotherWord) {
  EXPECT_EQ(nearest_name("learning_rate", kNames), "");
  EXPECT_EQ(nearest_name("x", kNames), "");  // "lr" is 2 edits away; a 1-character name allows 1
  EXPECT_EQ(nearest_name("", kNames), "");
  EXPECT_EQ(nearest_name(std::string(100, 'a'), kNames), "");
  EXPECT_EQ(nearest_name("steps", {}), "");
}

TEST(NearestName, TheFirstOfEquallyNearWins) {
  EXPECT_EQ(nearest_name("ab", std::vector<std::string>{"abc", "abd"}), "abc");
}

}  // namespace
}  // namespace seek
