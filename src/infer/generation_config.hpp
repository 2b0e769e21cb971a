// generation_config.json of a Hugging Face model folder: the sampling defaults a model's authors ship with it
// (DeepSeek-V3 and R1: do_sample, temperature 0.6, top_p 0.95), which Hugging Face's generate() and vLLM use
// when a request does not set them. seek generate and seek chat do the same: a key the file gives replaces
// the command's own default, a flag on the command line replaces both.
// Keys read: do_sample (false: greedy), temperature, top_k, top_p, min_p, repetition_penalty, max_new_tokens,
// eos_token_id (an id or a list: more end tokens). Keys that would change the output but that seek does not
// implement (beam search, typical_p, ...) are listed in `unsupported` for a warning; the rest (metadata such
// as transformers_version, bos/pad ids, max_length) are ignored.
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
  std::vector<int32_t> eos_token_ids;
  std::vector<std::string> unsupported;  // keys set to a value that changes the output, which seek ignores
};

// nullopt when `dir` has no generation_config.json. Throws seek::Error naming the file and the key for a
// file that is not a JSON object, a key of the wrong type, a value the sampler refuses, or an end token
// outside the model's vocabulary.
std::optional<GenerationConfig> load_generation_config(const std::string& dir, int64_t vocab_size);

// Sets each sampling parameter the file gives and `given` (the command line) does not, into `p`; returns
// what it set, as "temperature 0.6, top_p 0.95" (empty if nothing). `given(key)` is asked with the file's key
// name (temperature, top_k, top_p, min_p, repetition_penalty, max_new_tokens). do_sample false sets
// temperature 0 (greedy), as in Hugging Face; the file's temperature then does not apply.
std::string apply_generation_config(const GenerationConfig& g, SamplingParams& p,
                                    const std::function<bool(const char* key)>& given);

}  // namespace seek
