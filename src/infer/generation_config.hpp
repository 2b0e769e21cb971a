// generation_config.json of a Hugging Face model folder: the sampling recipe a model's authors ship with it
// (DeepSeek-V3 and R1: do_sample, temperature 0.6, top_p 0.95), which Hugging Face's generate() and vLLM use
// when a request does not set the values. seek generate and seek chat do too (apply_generation_config).
// Keys read: do_sample, temperature, top_k, top_p, min_p, repetition_penalty, max_new_tokens, eos_token_id
// (an id or a list: more end tokens; -1: none). Keys that would change the output but that seek does not
// implement (beam search, typical_p, bad_words_ids, ...) are listed in `unsupported` for a warning; the rest
// (metadata such as transformers_version, bos/pad ids, max_length) are ignored.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "infer/sampler.hpp"

namespace seek {

struct GenerationConfig {
  std::string path;  // the file, for messages
  std::optional<bool> do_sample;
  std::optional<float> temperature, top_p, min_p, repetition_penalty;
  std::optional<int> top_k, max_new_tokens;
  std::vector<int64_t> eos_token_ids;    // >= 0; check_generation_config_eos checks them against a model
  std::vector<std::string> unsupported;  // "key = value" for keys that change the output, which seek ignores

  // Whether the file gives a sampling recipe (not only end tokens or a length).
  bool sets_sampling() const {
    return do_sample || temperature || top_p || min_p || repetition_penalty || top_k;
  }
};

// nullopt when `dir` has no generation_config.json. Needs no model, so a bad file is reported before one
// loads: throws seek::Error naming the file and the key for a file that is not a JSON object, a key of the
// wrong type or out of its range.
std::optional<GenerationConfig> load_generation_config(const std::string& dir);

// Throws seek::Error naming the file when an end token is not a token id of a vocab_size-token model.
void check_generation_config_eos(const GenerationConfig& g, int64_t vocab_size);

// Applies the file to `p` where `given(key)` (the command line; asked with the file's key names: temperature,
// top_k, top_p, min_p, repetition_penalty, max_new_tokens) is false, and returns what it changed, as
// "temperature 0.6, top_k off, top_p 0.95" (empty if nothing):
// - a key the file gives replaces p's value;
// - do_sample false is greedy (temperature 0), as in Hugging Face, whatever temperature the file gives; an
//   absent do_sample samples at the file's temperature, as vLLM does (Hugging Face would be greedy);
// - where the file gives a sampling recipe (sets_sampling), the sampling keys it leaves out are off (top_k 0,
//   top_p 1, min_p 0, repetition_penalty 1, temperature 1 when sampling), as vLLM runs it: the file's recipe
//   alone, not mixed with the command's own defaults (generate's top-k 40, min-p 0.05).
std::string apply_generation_config(const GenerationConfig& g, SamplingParams& p,
                                    const std::function<bool(const char* key)>& given);

}  // namespace seek
