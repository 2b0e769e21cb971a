// Flags and checks shared by the commands that run the inference engine (generate, chat, logits, perplexity,
// eval): readable validators, the KV cache type, the model folder and its tokenizer.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "infer/kv_cache.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek::cli {

// An integer option that must be >= min ("--samples: must be >= 1, got 0"). CLI::PositiveNumber's message
// prints the whole range of double, 300 digits.
CLI::Validator at_least(int64_t min);

// A finite number > 0 of `unit`s ("--cache-mem: must be a number of GiB above 0, got '-1'").
CLI::Validator positive_number(const std::string& unit);

// A seed: a whole number in [0, 2^64). CLI11 wraps "-1" and clamps 2^64 into uint64_t without a word.
CLI::Validator seed_value();

// --kv-cache f32|bf16|fp8: the element type of the KV cache rows (infer/kv_cache.hpp). Only the names.
void add_kv_cache_option(CLI::App& app, CacheType& type);

// Checks --model before anything is loaded: a file there (say config.json) is named as a file, not as a
// folder that does not exist.
void check_model_dir(const std::string& dir);

// A context limit given on the command line (`flag`, e.g. "--ctx") against the model's
// max_position_embeddings: an error naming the limit when it is larger.
void check_context_flag(int64_t value, int64_t model_limit, const std::string& flag);

// The tokenizer of a model folder (load_tokenizer). Without a tokenizer.json it says on stderr that text is
// byte-encoded.
struct ModelTokenizer {
  std::unique_ptr<Tokenizer> tok;
  bool bytes = false;  // no tokenizer.json: the byte-level tokenizer
  std::string dir;

  // Before encoding text for a model of `vocab_size` ids: the tokenizer may not have ids past the model's
  // (it would be another model's), and byte-level text needs the byte tokenizer's whole
  // vocabulary, and the error says so rather than naming the first id out of range. `ids_flag`: the command
  // takes --ids, which the error then suggests.
  void check_text_fits(int64_t vocab_size, bool ids_flag) const;
};
ModelTokenizer load_model_tokenizer(const std::string& dir);

}  // namespace seek::cli
