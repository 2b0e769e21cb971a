#include "infer/generation_config.hpp"

#include <fmt/core.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/untrusted_json.hpp"
#include "tokenizer/tokenizer_files.hpp"

namespace seek {

namespace {

using nlohmann::json;

// Hugging Face GenerationConfig keys that change what is generated, with the value at which they do
// nothing. seek implements none of them, so a file that sets one gets a warning rather than silence.
struct Inert {
  const char* key;
  double value;
};
constexpr Inert kUnsupportedNumbers[] = {
    {"num_beams", 1},
    {"num_beam_groups", 1},
    {"penalty_alpha", 0},
    {"typical_p", 1},
    {"epsilon_cutoff", 0},
    {"eta_cutoff", 0},
    {"min_new_tokens", 0},
    {"min_length", 0},
    {"guidance_scale", 1},
    {"no_repeat_ngram_size", 0},
    {"encoder_no_repeat_ngram_size", 0},
};
// The same for keys whose every non-null, non-empty value does something.
constexpr const char* kUnsupportedWhenSet[] = {
    "bad_words_ids",       "suppress_tokens", "begin_suppress_tokens", "forced_bos_token_id",
    "forced_eos_token_id", "sequence_bias",   "stop_strings",          "exponential_decay_length_penalty",
};

struct FileReader {
  const json& j;
  const std::string& path;

  bool has(const char* key) const { return j.contains(key) && !j[key].is_null(); }
  // A number that must stay finite as a float (1e300 is not a temperature).
  float number(const char* key) const {
    SEEK_CHECK(j[key].is_number(), "{}: \"{}\" must be a number, got {}", path, key, describe_json(j[key]));
    // Compared in double: a cast to float of a value past its range is undefined.
    const double v = j[key].get<double>();
    SEEK_CHECK(std::isfinite(v) && std::fabs(v) <= double(std::numeric_limits<float>::max()),
               "{}: \"{}\" must be a finite number within fp32's range (~3.4e38), got {}", path, key,
               describe_json(j[key]));
    // One that rounds to 0 in fp32 was read as 0: 1e-50 as a temperature decoded greedily, and as top_p was
    // refused as "got 0", a value the file does not hold.
    SEEK_CHECK(v == 0 || float(v) != 0,
               "{}: \"{}\" is {}, too close to 0 for fp32 (the smallest is {:g}); write 0 or a larger value",
               path, key, describe_json(j[key]), double(std::numeric_limits<float>::denorm_min()));
    return float(v);
  }
  int64_t whole(const json& v, const std::string& what) const {
    const std::optional<int64_t> n = json_whole_number(v);
    SEEK_CHECK(n.has_value(), "{}: {} must be a whole number, got {}", path, what, describe_json(v));
    return *n;
  }
  int count(const char* key) const {
    const int64_t v = whole(j[key], fmt::format("\"{}\"", key));
    SEEK_CHECK(v >= 0 && v <= INT32_MAX, "{}: \"{}\" must be from 0 to {}, got {}", path, key, INT32_MAX, v);
    return int(v);
  }
};

bool inert(const json& v, double value) {
  return v.is_number() && v.get<double>() == value;
}

}  // namespace

std::optional<GenerationConfig> load_generation_config(const std::string& dir) {
  const std::filesystem::path file = std::filesystem::path(dir) / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(file, ec))) return std::nullopt;
  GenerationConfig g;
  g.path = file.string();
  refuse_special_file(file);
  const std::string text = tok::read_generation_config_file(file);
  json j;
  try {
    j = parse_json_unique_keys(text, g.path);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", g.path, json_error_text(e));
  }
  SEEK_CHECK(j.is_object(), "{}: a generation config must be a JSON object, got {}", g.path,
             describe_json(j));
  const FileReader r{j, g.path};
  if (r.has("do_sample")) {
    SEEK_CHECK(j["do_sample"].is_boolean(), "{}: \"do_sample\" must be true or false, got {}", g.path,
               describe_json(j["do_sample"]));
    g.do_sample = j["do_sample"].get<bool>();
  }
  // The sampler's ranges (SamplingParams::validate), with the file's key names.
  if (r.has("temperature")) {
    g.temperature = r.number("temperature");
    SEEK_CHECK(*g.temperature >= 0, "{}: \"temperature\" must be >= 0, got {}", g.path, *g.temperature);
  }
  if (r.has("top_p")) {
    g.top_p = r.number("top_p");
    SEEK_CHECK(*g.top_p > 0 && *g.top_p <= 1, "{}: \"top_p\" must be in (0, 1], got {}", g.path, *g.top_p);
  }
  if (r.has("min_p")) {
    g.min_p = r.number("min_p");
    SEEK_CHECK(*g.min_p >= 0 && *g.min_p <= 1, "{}: \"min_p\" must be in [0, 1], got {}", g.path, *g.min_p);
  }
  if (r.has("repetition_penalty")) {
    g.repetition_penalty = r.number("repetition_penalty");
    SEEK_CHECK(*g.repetition_penalty > 0, "{}: \"repetition_penalty\" must be > 0, got {}", g.path,
               *g.repetition_penalty);
  }
  if (r.has("top_k")) g.top_k = r.count("top_k");
  if (r.has("max_new_tokens")) g.max_new_tokens = r.count("max_new_tokens");
  if (r.has("eos_token_id")) {
    const json& e = j["eos_token_id"];
    SEEK_CHECK(!e.is_array() || !e.empty(),
               "{}: \"eos_token_id\" is an empty list; give a token id, a list of them, or null", g.path);
    const json ids = e.is_array() ? e : json::array({e});
    for (size_t i = 0; i < ids.size(); ++i) {
      const std::string what =
          e.is_array() ? fmt::format("element {} of \"eos_token_id\"", i) : std::string("\"eos_token_id\"");
      const int64_t id = r.whole(ids[i], what);
      // A single -1 is "no end token", as in config.json (it was refused, so such a model did not run).
      if (id == -1 && !e.is_array()) break;
      SEEK_CHECK(id >= 0, "{}: {} is {}; a token id is >= 0{}", g.path, what, id,
                 e.is_array() ? "" : " (or -1: none)");
      g.eos_token_ids.push_back(id);
    }
  }
  for (const Inert& u : kUnsupportedNumbers)
    if (r.has(u.key) && !inert(j[u.key], u.value))
      g.unsupported.push_back(fmt::format("{} = {}", u.key, describe_json(j[u.key])));
  for (const char* key : kUnsupportedWhenSet)
    if (r.has(key) && !((j[key].is_array() || j[key].is_object()) && j[key].empty()))
      g.unsupported.push_back(fmt::format("{} = {}", key, describe_json(j[key])));
  return g;
}

void check_generation_config_eos(const GenerationConfig& g, int64_t vocab_size) {
  for (int64_t id : g.eos_token_ids)
    SEEK_CHECK(id < vocab_size,
               "{}: \"eos_token_id\" names {}, not a token id of the model's {}-token vocabulary", g.path, id,
               vocab_size);
}

std::string apply_generation_config(const GenerationConfig& g, SamplingParams& p,
                                    const std::function<bool(const char* key)>& given) {
  std::string changed;
  auto note = [&](const char* key, const std::string& value) {
    changed += fmt::format("{}{} {}", changed.empty() ? "" : ", ", key, value);
  };
  const bool recipe = g.sets_sampling();
  // A key the file gives replaces p's value; one it leaves out of a recipe is off (`neutral`).
  auto use = [&](const char* key, const auto& from, auto& to, auto neutral, const char* neutral_text) {
    if (given(key)) return;
    if (from) {
      to = *from;
      note(key, fmt::format("{}", *from));
    } else if (recipe && to != neutral) {
      to = neutral;
      note(key, neutral_text);
    }
  };
  if (g.do_sample == false) {
    if (!given("temperature") && p.temperature != 0.0f) {
      p.temperature = 0.0f;
      note("do_sample", "false (greedy)");
    }
  } else {
    use("temperature", g.temperature, p.temperature, 1.0f, "1");
  }
  use("top_k", g.top_k, p.top_k, 0, "off");
  use("top_p", g.top_p, p.top_p, 1.0f, "off");
  use("min_p", g.min_p, p.min_p, 0.0f, "off");
  use("repetition_penalty", g.repetition_penalty, p.repetition_penalty, 1.0f, "off");
  if (g.max_new_tokens && !given("max_new_tokens")) {
    p.max_new_tokens = *g.max_new_tokens;
    note("max_new_tokens", fmt::format("{}", *g.max_new_tokens));
  }
  return changed;
}

}  // namespace seek
