// Flags and checks shared by the commands that run the inference engine (generate, chat, logits, perplexity,
// eval): readable validators (the number ones also check the settings flags of train and grpo), the KV cache
// type, --threads (which demo and tokenizer train take too), the model folder and its tokenizer.
#pragma once
#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "infer/kv_cache.hpp"
#include "model/config.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek::cli {

// A finite number > 0 of `unit`s ("--cache-mem: must be a number of GiB above 0, got '-1'").
CLI::Validator positive_number(const std::string& unit);

// std::from_chars over the whole of `s`, after a leading '+' (which from_chars refuses, though it is still a
// plain number to whoever typed it). `whole` is set when every character was read. For an integer V, a
// whole value in exponent or decimal form (1e3, 1000.0) is that integer, as in a run config file, which
// took {"steps": 1e3} while --steps 1e3 was refused.
template <typename V>
std::errc parse_plain_number(const std::string& s, V& v, bool& whole) {
  const bool plus = s.size() > 1 && s[0] == '+' && s[1] != '-';
  const char* first = s.data() + (plus ? 1 : 0);
  const char* last = s.data() + s.size();
  const auto [end, ec] = std::from_chars(first, last, v);
  whole = !s.empty() && end == last;
  if constexpr (std::is_integral_v<V>) {
    if (!whole && !s.empty()) {
      double d = 0;
      const auto [dend, dec] = std::from_chars(first, last, d, std::chars_format::general);
      if (dend == last && dec == std::errc() && std::isfinite(d) && std::floor(d) == d) {
        whole = true;
        // 2^63 is a double exactly, so these bounds compare without rounding.
        if (d < double(std::numeric_limits<V>::min()) ||
            d >= 2.0 * double(std::numeric_limits<V>::max() / 2 + 1))
          return std::errc::result_out_of_range;
        v = V(d);
        return std::errc();
      }
      if (dend == last && dec == std::errc::result_out_of_range) {
        whole = true;  // 1e400: a number, too large for any integer
        return std::errc::result_out_of_range;
      }
    }
  }
  return ec;
}

// A whole number, in decimal, that an integer of type V holds. CLI11's own conversion wraps "-5" into an
// unsigned type (18446744073709551611), clamps what overflows 64 bits to the largest value, and reads "010"
// as octal, all without a word; this refuses the first two and rewrites the value as plain decimal for it
// (which takes effect through Option::transform; Option::check hands validators a copy).
template <typename V>
CLI::Validator whole_number() {
  static_assert(std::is_integral_v<V> && !std::is_same_v<V, bool>);
  return CLI::Validator(
      [](std::string& s) -> std::string {
        V v = 0;
        bool whole = false;
        const std::errc ec = parse_plain_number(s, v, whole);
        if (ec == std::errc() && whole) {
          s = std::to_string(v);
          return {};
        }
        // The range only when the value is past it: "--group-size 2.5" printed the 20-digit limits of int64.
        if (whole && ec == std::errc::result_out_of_range)
          return fmt::format("must be a whole number from {} to {}, got '{}'", std::numeric_limits<V>::min(),
                             std::numeric_limits<V>::max(), s);
        return fmt::format("must be a whole number, got '{}'", s);
      },
      // No description: CLI11 would print it between the type and the default.
      "");
}

// A whole number >= min that an integer of type V holds ("--samples: must be a whole number >= 1, got '0'").
// CLI::PositiveNumber's message prints the whole range of double, 300 digits. A transform, like
// whole_number: as a check it passed "010" on to CLI11, which read it as octal 8, and a value past V's range
// to a conversion that failed with "could not convert".
// `max`, below V's largest value, bounds it too.
template <typename V>
CLI::Validator at_least(int64_t min, int64_t max = int64_t(std::numeric_limits<V>::max())) {
  static_assert(std::is_integral_v<V> && !std::is_same_v<V, bool>);
  return CLI::Validator(
      [min, max](std::string& s) -> std::string {
        int64_t v = 0;
        bool whole = false;
        const std::errc ec = parse_plain_number(s, v, whole);
        if (ec == std::errc() && whole && v >= min && v <= max) {
          s = std::to_string(v);
          return {};
        }
        const bool too_large = whole && ((ec == std::errc() && v >= min) ||
                                         (ec == std::errc::result_out_of_range && s[0] != '-'));
        const bool bounded = max < int64_t(std::numeric_limits<V>::max());  // the range says more then
        if (too_large || bounded)
          return fmt::format("must be a whole number from {} to {}, got '{}'", min, max, s);
        return fmt::format("must be a whole number >= {}, got '{}'", min, s);
      },
      // No description: CLI11 would print it between the type and the default ("INT:>=1=64").
      "");
}

// A number that a V (float or double) holds. CLI11 turns a value past its range, such as 1e300 for a float,
// into inf, which a later check then reported as "got inf", a number nobody typed. "inf" and "nan" typed as
// such pass, for the option's own check to refuse by name.
template <typename V>
CLI::Validator number_of_type() {
  static_assert(std::is_floating_point_v<V>);
  return CLI::Validator(
      [](std::string& s) -> std::string {
        V v = 0;
        bool whole = false;
        const std::errc ec = parse_plain_number(s, v, whole);
        if (ec == std::errc() && whole) return {};
        if (ec == std::errc::result_out_of_range && whole) {
          if (std::fabs(std::strtold(s.c_str(), nullptr)) >= 1)
            return fmt::format("'{}' is too large (at most {:g})", s, double(std::numeric_limits<V>::max()));
          return fmt::format("'{}' is too close to 0 (the smallest is {:g})", s,
                             double(std::numeric_limits<V>::denorm_min()));
        }
        return fmt::format("must be a number, got '{}'", s);
      },
      "");
}

// A number of type V (number_of_type) for which `ok` holds, else "must be <what>, got '<text>'". The sampling
// flags' ranges were checked only with the request, whose message had no flag name and no usage line.
template <typename V, typename Ok>
CLI::Validator number_where(std::string what, Ok ok) {
  return CLI::Validator(
      [what, ok](std::string& s) -> std::string {
        if (std::string e = number_of_type<V>()(s); !e.empty()) return e;
        V v = 0;
        bool whole = false;
        parse_plain_number(s, v, whole);
        return ok(v) ? std::string() : fmt::format("must be {}, got '{}'", what, s);
      },
      "");
}

// A sampling temperature (generate, chat, eval): finite and >= 0, 0 being greedy.
inline CLI::Validator temperature_value() {
  return number_where<float>("a finite number >= 0", [](float v) { return std::isfinite(v) && v >= 0; });
}

// A seed: a whole number in [0, 2^64) (whole_number<uint64_t>). CLI11 wraps "-1" and clamps 2^64 into
// uint64_t without a word.
CLI::Validator seed_value();

// --kv-cache f32|bf16|fp8: the element type of the KV cache rows (infer/kv_cache.hpp). Only the names.
void add_kv_cache_option(CLI::App& app, CacheType& type);

// How a model's forward runs, for every command that runs one (generate, chat, logits, perplexity): --bf16
// (weights kept as bf16), --naive (decompressed-cache MLA), --kv-cache, and --threads.
void add_forward_options(CLI::App& app, bool& bf16, bool& naive, CacheType& kv_cache);

// --threads N: OpenMP's thread count for the command (0 or absent: all cores; at most kMaxThreads), set as
// the command line is read, so before anything runs. Every command that computes takes it so, except train
// and grpo, whose thread count is a setting saved with the run.
void add_threads_option(CLI::App& app);

// Checks --model before anything is loaded: a file there (say config.json) is named as a file, not as a
// folder that does not exist.
void check_model_dir(const std::string& dir);

// A context limit given on the command line (`flag`, e.g. "--ctx") against the model's
// max_position_embeddings: an error naming the limit when it is larger.
void check_context_flag(int64_t value, const ModelConfig& model, const std::string& flag);

// The text of a file to tokenize (`path`, read whole) must be UTF-8: the tokenizer replaces invalid bytes by
// U+FFFD, as Hugging Face's do, so a Latin-1 or binary file would silently become other text. The error names
// the byte and line.
void check_utf8_file(const std::string& text, const std::string& path);
// The same for text given on the command line or typed (`what`: "--prompt", "the message").
void check_utf8_text(const std::string& text, const std::string& what);

// The text of a --file prompt: `path` read whole ('-': standard input), checked by check_utf8_file, less one
// final line break (\n or \r\n), which an editor ends a file with and is not part of the prompt (llama.cpp's
// -f drops it too).
inline constexpr long long kMaxPromptBytes = 64ll << 20;  // read_prompt_file's cap
std::string read_prompt_file(const std::string& path);

// Why an empty prompt encodes to no token at all: the tokenizer has no BOS, or has one but does not add it
// (add_bos_token false), which the message names so that "no BOS token" does not send the user looking.
std::string why_no_bos(const Tokenizer& tok);

// A command's input is exactly one of --prompt, --file and --ids: the error names the ones given.
void check_one_prompt_source(bool prompt_given, bool file_given, bool ids_given);

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

// chat_style_of, saying so on stderr when the folder's chat template is none of DeepSeek's (another model
// family's, or a list without a "default" entry): its prompts are then rendered in a format the template does
// not write. `hint` ends the note (" (--style picks another)" for seek chat).
ChatStyle chat_style_of_noted(const std::string& dir, const char* hint);

}  // namespace seek::cli
