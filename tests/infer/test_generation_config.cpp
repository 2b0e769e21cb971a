// generation_config.json: the values it gives replace the command's defaults but not the flags given;
// do_sample false means greedy; bad files are errors that name the file and the key.
#include "infer/generation_config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include "core/error.hpp"
#include "support/temp_dir.hpp"

namespace seek {
namespace {

using test::TempDir;

constexpr int64_t kVocab = 100;

std::optional<GenerationConfig> load_text(const TempDir& dir, const std::string& text) {
  std::ofstream(dir.path / "generation_config.json") << text;
  return load_generation_config(dir.path.string());
}

std::string error_of(const TempDir& dir, const std::string& text) {
  try {
    auto g = load_text(dir, text);
    check_generation_config_eos(*g, kVocab);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

auto given_of(std::set<std::string> keys) {
  return [keys](const char* key) { return keys.count(key) > 0; };
}

TEST(GenerationConfig, AbsentFileIsNothing) {
  TempDir dir("gencfg-absent");
  EXPECT_FALSE(load_generation_config(dir.path.string()).has_value());
}

// DeepSeek-V3's and R1's file, plus keys seek reads and metadata it skips.
TEST(GenerationConfig, ReadsTheSamplingKeysAndEndTokens) {
  TempDir dir("gencfg-read");
  auto g = load_text(dir, R"({"_from_model_config": true, "bos_token_id": 0, "eos_token_id": [1, 7],
      "do_sample": true, "temperature": 0.6, "top_p": 0.95, "top_k": 20, "min_p": 0.1,
      "repetition_penalty": 1.1, "max_new_tokens": 300, "max_length": 20, "pad_token_id": null,
      "num_beams": 1, "typical_p": 1.0, "transformers_version": "4.46.3"})");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->do_sample, true);
  EXPECT_FLOAT_EQ(*g->temperature, 0.6f);
  EXPECT_FLOAT_EQ(*g->top_p, 0.95f);
  EXPECT_EQ(g->top_k, 20);
  EXPECT_FLOAT_EQ(*g->min_p, 0.1f);
  EXPECT_FLOAT_EQ(*g->repetition_penalty, 1.1f);
  EXPECT_EQ(g->max_new_tokens, 300);
  EXPECT_EQ(g->eos_token_ids, (std::vector<int64_t>{1, 7}));
  EXPECT_TRUE(g->unsupported.empty());  // num_beams 1 and typical_p 1 change nothing

  SamplingParams p;
  p.temperature = 0.8f;
  p.top_k = 40;
  p.max_new_tokens = 128;
  const std::string set = apply_generation_config(*g, p, given_of({}));
  EXPECT_EQ(set,
            "temperature 0.6, top_k 20, top_p 0.95, min_p 0.1, repetition_penalty 1.1, max_new_tokens 300");
  EXPECT_FLOAT_EQ(p.temperature, 0.6f);
  EXPECT_EQ(p.top_k, 20);
  EXPECT_EQ(p.max_new_tokens, 300);

  g = load_text(dir, R"({"eos_token_id": 5})");
  EXPECT_EQ(g->eos_token_ids, (std::vector<int64_t>{5}));
  // -1 names no end token, as in config.json.
  g = load_text(dir, R"({"eos_token_id": -1})");
  EXPECT_TRUE(g->eos_token_ids.empty());
  p = SamplingParams{};
  p.top_k = 40;
  EXPECT_EQ(apply_generation_config(*g, p, given_of({})), "");  // no sampling recipe: nothing changes
  EXPECT_EQ(p.top_k, 40);

  g = load_text(dir, R"({"top_k": 50.0, "max_new_tokens": 1e3})");  // whole numbers written as floats
  EXPECT_EQ(g->top_k, 50);
  EXPECT_EQ(g->max_new_tokens, 1000);
}

// A flag given on the command line keeps its value; the file fills in the rest.
TEST(GenerationConfig, FlagsGivenWin) {
  TempDir dir("gencfg-flags");
  auto g = load_text(dir, R"({"do_sample": true, "temperature": 0.6, "top_p": 0.95, "max_new_tokens": 9})");
  SamplingParams p;
  p.temperature = 1.3f;
  p.max_new_tokens = 50;
  p.top_k = 40;
  p.min_p = 0.05f;
  EXPECT_EQ(apply_generation_config(*g, p, given_of({"temperature", "max_new_tokens", "min_p"})),
            "top_k off, top_p 0.95");
  EXPECT_FLOAT_EQ(p.temperature, 1.3f);
  EXPECT_FLOAT_EQ(p.top_p, 0.95f);
  EXPECT_EQ(p.max_new_tokens, 50);
  EXPECT_EQ(p.top_k, 0);            // left out of the file's recipe: off, as vLLM runs it
  EXPECT_FLOAT_EQ(p.min_p, 0.05f);  // given
}

// The file's recipe alone runs, not mixed with the command's own defaults: DeepSeek-V3's file under seek
// generate's defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05).
TEST(GenerationConfig, ARecipeTurnsOffWhatItLeavesOut) {
  TempDir dir("gencfg-recipe");
  auto g = load_text(dir, R"({"do_sample": true, "temperature": 0.6, "top_p": 0.95})");
  SamplingParams p;
  p.temperature = 0.8f;
  p.top_k = 40;
  p.top_p = 0.95f;
  p.min_p = 0.05f;
  EXPECT_EQ(apply_generation_config(*g, p, given_of({})),
            "temperature 0.6, top_k off, top_p 0.95, min_p off");
  EXPECT_FLOAT_EQ(p.temperature, 0.6f);
  EXPECT_EQ(p.top_k, 0);
  EXPECT_EQ(p.min_p, 0.0f);
  // Without a temperature in a sampling recipe: Hugging Face's and vLLM's 1.
  g = load_text(dir, R"({"do_sample": true, "top_k": 20})");
  p.temperature = 0.8f;
  EXPECT_EQ(apply_generation_config(*g, p, given_of({})), "temperature 1, top_k 20, top_p off");
  EXPECT_EQ(p.temperature, 1.0f);
}

// As in Hugging Face, do_sample false is greedy whatever temperature the file gives; a --temperature flag
// still wins.
TEST(GenerationConfig, DoSampleFalseIsGreedy) {
  TempDir dir("gencfg-greedy");
  auto g = load_text(dir, R"({"do_sample": false, "temperature": 0.7})");
  SamplingParams p;
  p.temperature = 0.8f;
  EXPECT_EQ(apply_generation_config(*g, p, given_of({})), "do_sample false (greedy)");
  EXPECT_EQ(p.temperature, 0.0f);
  p.temperature = 0.8f;
  EXPECT_EQ(apply_generation_config(*g, p, given_of({"temperature"})), "");
  EXPECT_FLOAT_EQ(p.temperature, 0.8f);
}

TEST(GenerationConfig, UnsupportedKeysThatChangeTheOutputAreListed) {
  TempDir dir("gencfg-unsupported");
  auto g = load_text(dir, R"({"num_beams": 4, "typical_p": 0.9, "no_repeat_ngram_size": 0, "min_length": 0,
      "suppress_tokens": [], "bad_words_ids": [[5]], "stop_strings": "###", "forced_eos_token_id": null})");
  EXPECT_EQ(g->unsupported, (std::vector<std::string>{"num_beams = 4", "typical_p = 0.9",
                                                      "bad_words_ids = [[...]]", "stop_strings = \"###\""}));
}

TEST(GenerationConfig, BadFilesNameTheFileAndKey) {
  TempDir dir("gencfg-bad");
  const std::string file = (dir.path / "generation_config.json").string();
  const std::pair<std::string, std::string> cases[] = {
      {"{", "not valid JSON"},
      {"[1, 2]", "a generation config must be a JSON object"},
      {R"({"temperature": "0.6"})", "\"temperature\" must be a number, got \"0.6\""},
      {R"({"do_sample": false, "temperature": -1})", "\"temperature\" must be >= 0, got -1"},
      {R"({"temperature": 1e300})",
       "\"temperature\" must be a finite number within fp32's range (~3.4e38), got 1e+300"},
      // Below fp32's range: it was read as 0 (greedy decoding; "top_p ... got 0").
      {R"({"temperature": 1e-50})",
       "\"temperature\" is 1e-50, too close to 0 for fp32 (the smallest is 1.4013e-45)"},
      {R"({"top_p": 1e-50})", "\"top_p\" is 1e-50, too close to 0 for fp32"},
      {R"({"do_sample": 1})", "\"do_sample\" must be true or false, got 1"},
      {R"({"top_k": 2.5})", "\"top_k\" must be a whole number, got 2.5"},
      {R"({"top_k": -1})", "\"top_k\" must be from 0 to 2147483647, got -1"},
      {R"({"max_new_tokens": 9999999999})", "\"max_new_tokens\" must be from 0 to 2147483647"},
      {R"({"top_p": 0})", "\"top_p\" must be in (0, 1], got 0"},
      {R"({"min_p": 2})", "\"min_p\" must be in [0, 1], got 2"},
      {R"({"repetition_penalty": 0})", "\"repetition_penalty\" must be > 0, got 0"},
      {R"({"eos_token_id": 100})",
       "\"eos_token_id\" names 100, not a token id of the model's 100-token vocabulary"},
      {R"({"eos_token_id": [1, -2]})", "element 1 of \"eos_token_id\" is -2; a token id is >= 0"},
      {R"({"eos_token_id": [-1]})", "element 0 of \"eos_token_id\" is -1; a token id is >= 0"},
      {R"({"eos_token_id": -2})", "\"eos_token_id\" is -2; a token id is >= 0 (or -1: none)"},
      {R"({"eos_token_id": []})", "\"eos_token_id\" is an empty list"},
      {R"({"eos_token_id": [1, "2"]})", "element 1 of \"eos_token_id\" must be a whole number, got \"2\""},
      {R"({"top_p": 0.9, "top_p": 0.5})", "top_p"},  // two values for one key
  };
  for (const auto& [text, want] : cases) {
    const std::string e = error_of(dir, text);
    EXPECT_NE(e.find(want), std::string::npos) << text << " -> " << e;
    EXPECT_NE(e.find(file), std::string::npos) << text << " -> " << e;
  }
  std::filesystem::remove(dir.path / "generation_config.json");
  std::filesystem::create_directory(dir.path / "generation_config.json");
  try {
    load_generation_config(dir.path.string());
    ADD_FAILURE() << "a folder named generation_config.json was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a folder, not a file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace seek
