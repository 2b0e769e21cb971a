#include "cli/infer_flags.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/stderr.hpp"
#include "core/thread_count.hpp"
#include "tokenizer/tokenizer_files.hpp"
#include "tokenizer/utf8.hpp"

namespace seek::cli {

namespace fs = std::filesystem;

CLI::Validator positive_number(const std::string& unit) {
  return CLI::Validator(
      [unit](std::string& s) -> std::string {
        double v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec == std::errc() && end == s.data() + s.size() && std::isfinite(v) && v > 0) return {};
        return fmt::format("must be a number of {} above 0, got '{}'", unit, s);
      },
      "");
}

CLI::Validator seed_value() {
  return whole_number<uint64_t>();
}

void add_threads_option(CLI::App& app) {
  app.add_option_function<int>(
         "--threads", [](const int& n) { use_thread_count(n, "--threads"); },
         "OpenMP threads (default: all cores, or OMP_NUM_THREADS)")
      ->transform(at_least<int>(0, kMaxThreads));  // 0: all cores
}

void add_forward_options(CLI::App& app, bool& bf16, bool& naive, CacheType& kv_cache) {
  app.add_flag("--bf16", bf16,
               "keep projection weights as bf16 in memory: half the traffic; fp32 accumulation, inputs "
               "rounded to bf16 where the CPU multiplies bf16 natively (README, Limits)");
  app.add_flag("--naive", naive, "naive MLA (decompressed per-head KV cache) instead of the absorbed form");
  add_kv_cache_option(app, kv_cache);
  add_threads_option(app);
}

void add_kv_cache_option(CLI::App& app, CacheType& type) {
  static const std::map<std::string, CacheType> names = {
      {"f32", CacheType::F32}, {"bf16", CacheType::BF16}, {"fp8", CacheType::FP8}};
  app.add_option_function<std::string>(
         "--kv-cache", [&type](const std::string& s) { type = names.at(s); },
         "KV cache element type: f32 (exact), bf16 (half the bytes), fp8 (e4m3 with a scale per 64 values, "
         "about a quarter)")
      ->type_name("f32|bf16|fp8")
      ->default_str(std::string(cache_type_name(type)))
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            return names.count(s) ? std::string() : fmt::format("must be f32, bf16 or fp8, not '{}'", s);
          },
          ""));
}

namespace {

// what: the text's name in the message; advice: what to do about it, after "The tokenizer would read U+FFFD
// in its place".
void require_utf8(const std::string& text, const std::string& what, const char* advice) {
  const size_t valid = tok::utf8_valid_prefix(text);
  if (valid == text.size()) return;
  fail(
      "{} is not UTF-8 text: invalid UTF-8 at byte {} (line {}: 0x{:02X}). The tokenizer would read U+FFFD "
      "in "
      "its place{}",
      what, valid, 1 + std::count(text.begin(), text.begin() + std::ptrdiff_t(valid), '\n'),
      static_cast<unsigned char>(text[valid]), advice);
}

}  // namespace

void check_utf8_file(const std::string& text, const std::string& path) {
  // Latin-1 is the usual culprit, but converting UTF-16 (a byte-order mark, or NULs between ASCII letters) as
  // Latin-1 turns it into garbage.
  const bool utf16 =
      text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF") || text.find('\0') != std::string::npos;
  require_utf8(
      text, path,
      utf16 ? "; it looks like UTF-16 (a byte-order mark or NUL bytes): convert it first (e.g. iconv -f "
              "utf-16 -t utf-8)"
            : "; convert the file first (e.g. iconv -f latin1 -t utf-8)");
}

void check_utf8_text(const std::string& text, const std::string& what) {
  require_utf8(text, what, "");
}

std::string read_prompt_file(const std::string& path) {
  SEEK_CHECK(!path.empty(), "--file is empty; give the prompt's file, or '-' for standard input");
  // A cap far above any context (DeepSeek-V3's 163,840 tokens are ~1 MB of text), so that an endless stream
  // (`yes`) ends at once instead of filling the memory first; a device (/dev/zero) is refused before the
  // read.
  if (path != "-") refuse_device(path);
  std::string text =
      read_input(path, kMaxPromptBytes,
                 "no context holds a prompt that long (DeepSeek-V3's 163,840 tokens are about 1 MB "
                 "of text)");
  const std::string name = path == "-" ? "standard input" : path;
  check_utf8_file(text, name);
  if (text.ends_with("\r\n"))
    text.resize(text.size() - 2);
  else if (text.ends_with('\n'))
    text.pop_back();
  // Most often a mistake (a redirect that wrote nothing), which would otherwise generate from BOS alone.
  SEEK_CHECK(!text.empty(), "the prompt in {} is empty (use --prompt '' to start from BOS alone)", name);
  return text;
}

std::string why_no_bos(const Tokenizer& tok) {
  if (tok.bos_id() < 0) return "the tokenizer has no BOS token";
  return fmt::format(
      "the tokenizer does not add its BOS token (add_bos_token is false in tokenizer_config.json; --ids {} "
      "starts from it)",
      tok.bos_id());
}

void check_one_prompt_source(bool prompt_given, bool file_given, bool ids_given) {
  const int given = int(prompt_given) + int(file_given) + int(ids_given);
  SEEK_CHECK(given > 0, "give a --prompt, --file or --ids");
  SEEK_CHECK(given == 1, "give one of --prompt, --file and --ids, not {}",
             given == 3     ? "all three"
             : !file_given  ? "both --prompt and --ids"
             : prompt_given ? "both --prompt and --file"
                            : "both --file and --ids");
}

void check_model_dir(const std::string& dir) {
  const fs::path p(dir);
  std::error_code ec;
  const fs::file_status st =
      fs::status(p, ec);  // the throwing form reports a symlink loop as an internal error
  if (ec && ec != std::errc::no_such_file_or_directory) fail("cannot open --model {}: {}", dir, ec.message());
  if (fs::exists(st) && !fs::is_directory(st))
    fail(
        "--model {} is a file; --model takes the model's folder (the one holding config.json and the "
        "safetensors){}",
        dir, p.has_parent_path() ? fmt::format(", e.g. --model {}", p.parent_path().string()) : "");
}

void check_context_flag(int64_t value, const ModelConfig& model, const std::string& flag) {
  const int64_t limit = model.max_position_embeddings;
  SEEK_CHECK(value <= limit, "{} {} is longer than the model's context of {} tokens ({}); give at most {}",
             flag, value, limit, model.context_source(), limit);
}

ModelTokenizer load_model_tokenizer(const std::string& dir) {
  ModelTokenizer m;
  m.dir = dir;
  // load_tokenizer falls back to bytes without saying so; a model trained with another tokenizer would
  // then read garbage, so the fallback is announced.
  m.bytes = !tok::tokenizer_file_present(fs::path(dir) / "tokenizer.json");  // a link loop is named
  m.tok = load_tokenizer(dir);
  if (m.bytes)
    print_stderr("[seek] note: {} has no tokenizer.json; using the byte-level tokenizer ({} tokens)\n", dir,
                 m.tok->vocab_size());
  return m;
}

void ModelTokenizer::check_text_fits(int64_t vocab_size, bool ids_flag) const {
  // A tokenizer with ids the model has no row for is another model's: caught here rather than as an unknown
  // id in whichever prompt happens to produce one.
  SEEK_CHECK(bytes || int64_t(tok->vocab_size()) <= vocab_size,
             "the tokenizer.json in {} has {} tokens but the model's vocab_size is {} (config.json): they do "
             "not belong together",
             dir, tok->vocab_size(), vocab_size);
  if (!bytes) return;
  const int64_t need = int64_t(tok->vocab_size());
  SEEK_CHECK(
      vocab_size >= need,
      "there is no tokenizer.json in {}, so text is byte-encoded, which needs a vocabulary of at least "
      "{} tokens; this model has {}. Add the model's tokenizer.json{}",
      dir, need, vocab_size, ids_flag ? ", or give token ids with --ids" : "");
}

ChatStyle chat_style_of_noted(const std::string& dir, const char* hint) {
  bool recognised = true;
  const ChatStyle style = chat_style_of(dir, &recognised);
  if (!recognised)
    print_stderr(
        "[seek] the chat_template in {}/tokenizer_config.json is none seek renders (DeepSeek V2, V3, R1 or "
        "V3.1): rendering the DeepSeek-V3 chat format{}\n",
        dir, hint);
  return style;
}

}  // namespace seek::cli
