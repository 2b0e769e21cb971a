// Byte-level BPE training in the manner of Hugging Face's BpeTrainer: count pre-tokenized words (in
// parallel), then repeatedly merge the most frequent adjacent pair (ties: the pair of smaller ids), updating
// pair counts incrementally from the words that contain the merged pair only. Deterministic for a given
// input and options, whatever the thread count. The result is a tokenizer.json + tokenizer_config.json
// that Hugging Face tokenizers (and load_tokenizer) read.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace seek {

struct BpeTrainOptions {
  size_t vocab_size = 32000;     // including special tokens and the 256 byte tokens
  uint64_t min_frequency = 2;    // pairs seen fewer times are never merged
  nlohmann::json pre_tokenizer;  // null: DeepSeek-V3's pre-tokenizer
  // Added before the byte tokens, in this order: BOS, EOS, then pad (or EOS pads), at least two. Empty: the
  // chat tokens (BOS, EOS, pad, User, Assistant, <think>, </think>, <answer>, </answer>); BOS, EOS and pad
  // are "special", the rest plain added tokens.
  std::vector<std::string> special_tokens;
  std::string chat_template = "v3";             // "v3" or "r1": written into tokenizer_config.json
  int threads = 0;                              // 0: OpenMP's default
  std::function<void(const std::string&)> log;  // progress lines; may be empty
};

struct BpeTrainResult {
  nlohmann::ordered_json tokenizer;  // tokenizer.json
  nlohmann::ordered_json config;     // tokenizer_config.json
  uint64_t input_bytes = 0, words = 0, unique_words = 0, merges = 0;
  double count_seconds = 0, merge_seconds = 0;
};

// Throws seek::Error for bad options (special tokens empty, listed twice or spelled like a byte token; a
// vocabulary too small for them and the bytes; an unknown chat template or pre-tokenizer) and for texts
// without a word to learn from.
BpeTrainResult train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& opt);
// Checks opt, then reads the files (invalid UTF-8 is repaired to U+FFFD; opt.log notes such files and files
// holding NUL bytes) and trains on their contents.
BpeTrainResult train_bpe_files(const std::vector<std::filesystem::path>& files, const BpeTrainOptions& opt);
// Writes dir/tokenizer.json and dir/tokenizer_config.json (creating dir), each in full before either
// replaces an old one.
void save_bpe(const BpeTrainResult& r, const std::filesystem::path& dir);

// DeepSeek's chat templates (Jinja), as their tokenizer_config.json files carry them.
extern const char* const kDeepSeekV3ChatTemplate;
extern const char* const kDeepSeekR1ChatTemplate;

}  // namespace seek
