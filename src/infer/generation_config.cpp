#include "infer/generation_config.hpp"

#include <fmt/core.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/untrusted_json.hpp"

namespace seek {

namespace {

using nlohmann::json;

// A generation_config.json is a few hundred bytes; a larger file is not one.
constexpr long long kMaxFileBytes = 1 << 20;

// Keys of Hugging Face's GenerationConfig that change what is generated, with the value at which they do
// nothing; seek implements none of them, so a file that sets one gets a warning rather than silence.
struct Inert {
  const char* key;
  double value;
};
constexpr Inert kUnsupported[] = {
    {"num_beams", 1},
    {"typical_p", 1},
    {"epsilon_cutoff", 0},
    {"eta_cutoff", 0},
    {"no_repeat_ngram_size", 0},
    {"encoder_no_repeat_ngram_size", 0},
    {"length_penalty", 1},
    {"diversity_penalty", 0},
    {"penalty_alpha", 0},
    {"top_a", 0},
};

struct FileReader {
  const json& j;
  const std::string& path;

  bool has(const char* key) const { return j.contains(key) && !j[key].is_null(); }
  float number(const char* key) const {
    SEEK_CHECK(j[key].is_number(), "{}: \"{}\" must be a number, got {}", path, key, describe_json(j[key]));
    return float(j[key].get<double>());
  }
  int64_t integer(const json& v, const std::string& what) const {
    SEEK_CHECK(v.is_number_integer() && (!v.is_number_unsigned() || v.get<uint64_t>() <= uint64_t(INT64_MAX)),
               "{}: {} must be a whole number, got {}", path, what, describe_json(v));
    return v.get<int64_t>();
  }
  int whole(const char* key, int64_t lo) const {
    const int64_t v = integer(j[key], fmt::format("\"{}\"", key));
    SEEK_CHECK(v >= lo && v <= INT32_MAX, "{}: \"{}\" must be from {} to {}, got {}", path, key, lo,
               INT32_MAX, v);
    return int(v);
  }
};

}  // namespace

std::optional<GenerationConfig> load_generation_config(const std::string& dir, int64_t vocab_size) {
  const std::filesystem::path file = std::filesystem::path(dir) / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(file, ec))) return std::nullopt;
  GenerationConfig g;
  g.path = file.string();
  refuse_special_file(file);
  const std::string text = read_file(file, kMaxFileBytes, "a generation_config.json is a few hundred bytes");
  json j;
  try {
    j = parse_json_unique_keys(text, g.path);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", g.path, e.what());
  }
  SEEK_CHECK(j.is_object(), "{}: a generation config must be a JSON object, got {}", g.path,
             describe_json(j));
  const FileReader r{j, g.path};
  if (r.has("do_sample")) {
    SEEK_CHECK(j["do_sample"].is_boolean(), "{}: \"do_sample\" must be true or false, got {}", g.path,
               describe_json(j["do_sample"]));
    g.do_sample = j["do_sample"].get<bool>();
  }
  if (r.has("temperature")) g.temperature = r.number("temperature");
  if (r.has("top_p")) g.top_p = r.number("top_p");
  if (r.has("min_p")) g.min_p = r.number("min_p");
  if (r.has("repetition_penalty")) g.repetition_penalty = r.number("repetition_penalty");
  if (r.has("top_k")) g.top_k = r.whole("top_k", 0);
  if (r.has("max_new_tokens")) g.max_new_tokens = r.whole("max_new_tokens", 0);
  // The sampler's own checks, with the file named: a value it refuses would otherwise read as a flag's.
  SamplingParams p;
  apply_generation_config(g, p, [](const char*) { return false; });
  try {
    p.validate();
  } catch (const Error& e) {
    fail("{}: {}", g.path, e.what());
  }
  if (r.has("eos_token_id")) {
    const json& e = j["eos_token_id"];
    const json ids = e.is_array() ? e : json::array({e});
    for (size_t i = 0; i < ids.size(); ++i) {
      const std::string what =
          e.is_array() ? fmt::format("element {} of \"eos_token_id\"", i) : std::string("\"eos_token_id\"");
      const int64_t id = r.integer(ids[i], what);
      SEEK_CHECK(id >= 0 && id < vocab_size, "{}: {} is {}, not a token id of the {}-token vocabulary",
                 g.path, what, id, vocab_size);
      g.eos_token_ids.push_back(int32_t(id));
    }
  }
  for (const Inert& u : kUnsupported)
    if (r.has(u.key) && !(j[u.key].is_number() && j[u.key].get<double>() == u.value))
      g.unsupported.push_back(fmt::format("{} = {}", u.key, describe_json(j[u.key])));
  return g;
}

std::string apply_generation_config(const GenerationConfig& g, SamplingParams& p,
                                    const std::function<bool(const char* key)>& given) {
  std::string set;
  auto note = [&](const char* key, auto value) {
    set += fmt::format("{}{} {}", set.empty() ? "" : ", ", key, value);
  };
  auto take = [&](const char* key, const auto& from, auto& to) {
    if (from && !given(key)) {
      to = *from;
      note(key, *from);
    }
  };
  if (g.do_sample == false) {
    if (!given("temperature")) {
      p.temperature = 0.0f;
      note("do_sample", "false (greedy)");
    }
  } else {
    take("temperature", g.temperature, p.temperature);
  }
  take("top_k", g.top_k, p.top_k);
  take("top_p", g.top_p, p.top_p);
  take("min_p", g.min_p, p.min_p);
  take("repetition_penalty", g.repetition_penalty, p.repetition_penalty);
  take("max_new_tokens", g.max_new_tokens, p.max_new_tokens);
  return set;
}

}  // namespace seek
