// Flags shared by the commands that run the inference engine (generate, chat, logits, perplexity).
#pragma once
#include <CLI/CLI.hpp>

#include <map>
#include <string>

#include "infer/kv_cache.hpp"

namespace seek::cli {

// --kv-cache f32|bf16|fp8: the element type of the KV cache rows (infer/kv_cache.hpp).
inline void add_kv_cache_option(CLI::App& app, CacheType& type) {
  static const std::map<std::string, CacheType> names = {
      {"f32", CacheType::F32}, {"bf16", CacheType::BF16}, {"fp8", CacheType::FP8}};
  app.add_option("--kv-cache", type,
                 "KV cache element type: f32 (exact), bf16 (half the bytes), fp8 (e4m3 with a scale per 64 "
                 "values, about a quarter)")
      ->transform(CLI::CheckedTransformer(names));
}

}  // namespace seek::cli
