// Tokenizer subcommands: `seek tokenize`, `seek detokenize` and `seek tokenizer train`.
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <string_view>

#include "cli/infer_flags.hpp"
#include "cli/output_file.hpp"
#include "cli/registry.hpp"
#include "core/count_of.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/read_file.hpp"
#include "core/stderr.hpp"
#include "core/unicode_space.hpp"
#include "core/untrusted_json.hpp"
#include "infer/token_ids.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/tokenizer_files.hpp"
#include "tokenizer/trainer.hpp"
#include "tokenizer/utf8.hpp"

namespace seek::cli {
namespace {

// Shows a token's bytes printably and unambiguously: specials as themselves; \n, \t and \\ escaped (a real
// newline and the two characters "\n" printed alike); control bytes and bytes that are not whole UTF-8
// characters (a token may hold part of one: 𪚥 is split across tokens) as \xNN, so the output stays UTF-8;
// invisible characters and Unicode spaces as \u{XXXX}; spaces at the end as \x20.
std::string show_piece(const Tokenizer& tok, TokenId id) {
  const std::string b = tok.token_bytes(id);
  std::string out;
  size_t pos = 0;
  while (pos < b.size()) {
    const size_t valid = tok::utf8_valid_prefix(std::string_view(b).substr(pos));
    const std::string_view chars = std::string_view(b).substr(pos, valid);
    for (size_t i = 0; i < chars.size();) {
      const size_t at = i;
      const uint32_t cp = tok::utf8_next(chars, i);
      if (cp == '\n')
        out += "\\n";
      else if (cp == '\t')
        out += "\\t";
      else if (cp == '\\')
        out += "\\\\";
      else if (cp < 0x20 || cp == 0x7F)
        out += fmt::format("\\x{:02X}", cp);
      else if ((cp >= 0x80 && cp < 0xA0) || unicode_space_at(chars.substr(at)) > 0 ||
               invisible_at(chars.substr(at)) > 0)  // C1 controls too: U+009B is a terminal's CSI
        out += fmt::format("\\u{{{:04X}}}", cp);    // shows as nothing or a plain space: looked empty
      else
        out.append(chars.substr(at, i - at));
    }
    pos += valid;
    if (pos < b.size()) out += fmt::format("\\x{:02X}", static_cast<unsigned char>(b[pos++]));
  }
  // Spaces at the end of a line do not show: " " and "   " looked alike (and like nothing). Escapes end in a
  // visible character, so every trailing space here is one of the token's.
  size_t spaces = 0;
  while (spaces < out.size() && out[out.size() - 1 - spaces] == ' ') ++spaces;
  out.resize(out.size() - spaces);
  for (size_t i = 0; i < spaces; ++i) out += "\\x20";
  return out;
}

// load_tokenizer gives the byte tokenizer for a folder without tokenizer.json or another tokenizer's files
// (documented, for models without one), so a mistyped --tokenizer path would silently print byte ids: a
// missing folder is an error, and the fallback is announced as generate announces it.
std::unique_ptr<Tokenizer> load_tokenizer_folder(const std::string& dir) {
  SEEK_CHECK(!std::filesystem::is_regular_file(dir),
             "--tokenizer {} is a file; give the folder that holds tokenizer.json", dir);
  SEEK_CHECK(std::filesystem::is_directory(dir),
             "--tokenizer {}: no such folder (give the folder that holds tokenizer.json; an existing folder "
             "without one means the byte tokenizer)",
             dir);
  return std::move(load_model_tokenizer(dir).tok);
}

// A positional list whose words are taken as typed: CLI11 splits a word "[a,b]" of a list into "a" and "b"
// and drops "[]" (tokenize '[1,2]' encoded the text "1 2"; detokenize '[]' read standard input). It does so
// only for options that take extra arguments; one whose minimum count no command line reaches takes every
// word without that.
CLI::Option* add_verbatim_words(CLI::Option* opt) {
  return opt->expected(1 << 30, 1 << 30)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->option_text("TEXT ...");  // not the count
}

struct TokenizeArgs {
  std::string dir, file;
  std::vector<std::string> text;
  bool show = false, add_special = false, no_parse_special = false;
};

const RegisterCommand tokenize_cmd("tokenize", "Encode text to token ids", [](CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  app.add_option("--tokenizer,--model", a->dir,
                 "Folder with tokenizer.json, a tokenizer's or a model's (a folder without one: the byte "
                 "tokenizer)")
      ->required();
  add_verbatim_words(
      app.add_option("text", a->text, "Text to encode (several arguments are joined by spaces)"));
  app.add_option(
         "--file,-f", a->file,
         "Read the text from this file ('-' for stdin; without text or --file, a piped stdin is read)")
      ->check(CLI::Validator(
          [](const std::string& v) {  // -f "" read stdin as if no --file had been given
            return v.empty() ? std::string("needs a file name ('-' for standard input)") : std::string();
          },
          "FILE"));
  app.add_flag("--show", a->show, "Print one token per line: id and the text it stands for");
  app.add_flag("--add-special", a->add_special, "Add what the tokenizer puts around a sequence (BOS)");
  app.add_flag("--no-parse-special", a->no_parse_special,
               "Tokenize the text of tokens marked special in tokenizer.json (BOS, EOS, ...) as plain text");
  app.callback([a] {
    auto tok = load_tokenizer_folder(a->dir);
    std::string text;
    if (!a->file.empty()) {
      if (!a->text.empty()) fail("give the text either as arguments or with --file, not both");
      text = read_input(a->file);
      check_utf8_file(text, a->file == "-" ? "standard input" : a->file);
    } else if (a->text.empty() && !isatty(0)) {  // `echo hi | seek tokenize`, as detokenize reads its ids
      text = read_input("-");
      SEEK_CHECK(!text.empty(),
                 "standard input is empty: give the text to encode as arguments, with --file, or on standard "
                 "input (`tokenize ''` encodes the empty text)");
      check_utf8_file(text, "standard input");
    } else {
      // Without text, an empty line would be printed as if "" had been asked for (which `tokenize ''` does).
      SEEK_CHECK(!a->text.empty(),
                 "give the text to encode as arguments, with --file, or on standard input (a pipe)");
      for (size_t i = 0; i < a->text.size(); ++i) text += (i ? " " : "") + a->text[i];
      check_utf8_text(text, "the text to encode");
    }
    // A large text goes in ~1 MB parts cut at line starts where the tokens stay those of the whole, each
    // printed as it is encoded, with a progress line: 50 MB took 6 s in silence and held 11x its size. Whole
    // where a part would differ: the tokenizer's sequence markers (--add-special) or its pre-tokenizer
    // (Tokenizer::cuts_at_line_starts).
    constexpr size_t kPartBytes = size_t(1) << 20;
    const bool in_parts = !a->add_special && tok->cuts_at_line_starts();
    ProgressLine progress("tokenize", int64_t(text.size()), "bytes");
    bool printed_one = false;  // an id, so the next is preceded by a space
    size_t begin = 0;
    do {  // at least once: the empty text encodes too (to BOS alone with --add-special)
      const size_t end = in_parts && text.size() - begin > kPartBytes
                             ? tok::pre_token_cut_after(text, begin + kPartBytes)
                             : text.size();
      const auto ids = tok->encode(std::string_view(text).substr(begin, end - begin), a->add_special,
                                   !a->no_parse_special);
      std::string out;
      for (TokenId id : ids) {
        if (a->show) {
          out += fmt::format("{}\t{}\n", id, show_piece(*tok, id));
        } else {
          if (printed_one) out += ' ';
          out += std::to_string(id);
          printed_one = true;
        }
      }
      fmt::print("{}", out);
      begin = end;
      progress.update(int64_t(begin));
    } while (begin < text.size());
    progress.finish();
    if (!a->show) fmt::print("\n");
  });
});

struct DetokenizeArgs {
  std::string dir;
  std::vector<std::string> ids;
  bool skip_special = false;
};

const RegisterCommand detokenize_cmd("detokenize", "Decode token ids to text", [](CLI::App& app) {
  auto a = std::make_shared<DetokenizeArgs>();
  app.add_option("--tokenizer,--model", a->dir,
                 "Folder with tokenizer.json, a tokenizer's or a model's (a folder without one: the byte "
                 "tokenizer)")
      ->required();
  add_verbatim_words(
      app.add_option("ids", a->ids, "Token ids (none: read whitespace- or comma-separated ids from stdin)"));
  app.add_flag("--skip-special", a->skip_special, "Leave special tokens out of the text");
  app.callback([a] {
    auto tok = load_tokenizer_folder(a->dir);
    // Ids as arguments or on stdin, read as --ids reads them (commas and/or whitespace, "[1, 2, 3]" too).
    std::string all;
    for (const auto& w : a->ids) all += w + " ";
    if (a->ids.empty()) all = read_input("-");
    // No ids (nothing, whitespace, "[]") decode to the empty text (what `seek tokenize ''` printed), where
    // --ids needs a token.
    const bool none = holds_no_token_ids(all);
    const std::vector<TokenId> ids =
        none ? std::vector<TokenId>() : parse_token_ids(all, a->ids.empty() ? "standard input" : "the ids");
    fmt::print("{}", tok->decode(ids, a->skip_special));
    if (isatty(1)) fmt::print("\n");
  });
});

// "<s>,</s>,<pad>" -> its items. An empty item or one with a space at an end is refused rather than trained
// as a token: "<s>,,</s>" or "<s>, </s>" is a typo, and an EOS of " </s>" would not match "</s>" in text.
std::vector<std::string> split_special_tokens(const std::string& list) {
  std::vector<std::string> out;
  for (size_t start = 0;;) {
    const size_t comma = list.find(',', start);
    std::string t = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    SEEK_CHECK(!t.empty(), "--special-tokens \"{}\": item {} is empty", list, out.size() + 1);
    const auto blank = [](char c) {
      return std::string_view(" \t\r\n\v\f").find(c) != std::string_view::npos;
    };
    SEEK_CHECK(
        !blank(t.front()) && !blank(t.back()),
        "--special-tokens \"{}\": \"{}\" starts or ends with whitespace; separate the tokens by commas "
        "alone (\"<s>,</s>\")",
        list, t);
    out.push_back(std::move(t));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

// --out is a folder; training can take hours, so what would make saving fail or destroy an input is refused
// first. In an existing folder, check_output_path checks the two files written there (an input among them, a
// link, a read-only file); a new folder needs a writable folder to be created in.
void check_out_folder(const std::string& out, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  SEEK_CHECK(!out.empty(), "--out is empty; give the folder to write the tokenizer to");
  std::error_code ec;
  if (fs::exists(fs::symlink_status(out, ec))) {  // a dangling link too: the folder cannot be created there
    SEEK_CHECK(fs::is_directory(out, ec),
               "--out {} is not a folder; give a folder for tokenizer.json and tokenizer_config.json", out);
    for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
      // check_output_path would ask for "the name of a file in it", where --out itself is the folder to give.
      SEEK_CHECK(!fs::is_directory(fs::symlink_status(fs::path(out) / name, ec)),
                 "--out {} holds a folder named {}, where the tokenizer writes that file; remove it or give "
                 "another --out",
                 out, name);
      // Named as the folder that was given: the message asked for "another output file".
      for (const std::string& in : inputs)
        SEEK_CHECK(in.empty() || !same_file(fs::path(out) / name, in),
                   "--out {} would write {} over the input file {}; give another --out folder", out, name,
                   in);
      check_output_path((fs::path(out) / name).string(), "--out", {}, inputs);
    }
    // A model's folder: a new tokenizer there changes what the model's token ids mean (and may not fit its
    // vocab_size), so the model, which worked, stops working.
    for (const auto& entry : fs::directory_iterator(out, ec)) {
      const std::string name = entry.path().filename().string();
      SEEK_CHECK(name != "config.json" && !name.ends_with(".safetensors") &&
                     !name.ends_with(".safetensors.index.json"),
                 "--out {} holds a model ({}): a new tokenizer there would change what its token ids mean; "
                 "write it to a folder of its own (seek train --tokenizer takes it from there)",
                 out, name);
    }
    return;
  }
  fs::path up = fs::absolute(out).parent_path();
  while (!fs::exists(up, ec) && up.has_relative_path()) up = up.parent_path();
  SEEK_CHECK(fs::is_directory(up), "--out {}: {} is a file, so the folder cannot be created", out,
             up.string());
  SEEK_CHECK(::access(up.c_str(), W_OK) == 0, "--out {}: the folder {} is not writable", out, up.string());
  // The missing folders are made and removed again: what the checks above cannot tell (a name too long, a
  // place such as /proc where nothing can be made) fails now rather than when training is done.
  std::vector<fs::path> made;
  fs::path at = up;
  // As create_directories walks it when saving: ".." is left to the kernel, and a folder that exists by now
  // (another run making the same parent) is not this probe's to remove.
  for (const fs::path& part : fs::absolute(out).lexically_relative(up)) {
    if (part.empty() || part == ".") continue;
    at /= part;
    if (part == "..") continue;
    if (::mkdir(at.c_str(), 0777) != 0) {
      const int e = errno;
      if (e == EEXIST) continue;
      for (auto it = made.rbegin(); it != made.rend(); ++it) ::rmdir(it->c_str());
      fail("--out {}: cannot create the folder {}: {}", out, at.string(), std::strerror(e));
    }
    made.push_back(at);
  }
  for (auto it = made.rbegin(); it != made.rend(); ++it) ::rmdir(it->c_str());
}

struct TrainArgs {
  size_t vocab_size = 0;
  std::vector<std::string> inputs;
  std::string out, pre_tokenizer = "deepseek-v3", chat_template = "v3", specials;
  uint64_t min_frequency = 2;
};

const RegisterCommand tokenizer_cmd("tokenizer", "Tokenizer tools (train)", [](CLI::App& app) {
  app.require_subcommand(1);
  auto* train = app.add_subcommand("train", "Learn a byte-level BPE tokenizer from text files");
  auto a = std::make_shared<TrainArgs>();
  train->add_option("--vocab-size", a->vocab_size, "Vocabulary size, special and byte tokens included")
      ->required()
      ->transform(at_least<int32_t>(1));  // token ids are int32; -1 must not wrap to 2^64 - 1
  train->add_option("--input", a->inputs, "Training text files")->required();
  train->add_option("--out", a->out, "Output folder for tokenizer.json and tokenizer_config.json")
      ->required();
  train->add_option("--min-frequency", a->min_frequency, "Never merge pairs seen fewer times")
      ->capture_default_str()
      ->transform(at_least<int64_t>(0));  // -1 must not wrap to 2^64 - 1, nor 2^64 + 1 saturate
  train
      ->add_option("--pre-tokenizer", a->pre_tokenizer,
                   "deepseek-v3, gpt2, or a JSON file holding a tokenizer.json pre_tokenizer value")
      ->capture_default_str();
  train->add_option(
      "--special-tokens", a->specials,
      "Comma-separated special tokens, replacing the chat tokens (first: BOS, second: EOS, third: pad)");
  train->add_option("--chat-template", a->chat_template, "Chat template for tokenizer_config.json: v3 or r1")
      ->capture_default_str();
  add_threads_option(*train);
  train->callback([a, train] {
    // The chat template needs the chat tokens, which --special-tokens replaces; none would be written.
    if (train->count("--special-tokens") && train->count("--chat-template"))
      fail("--chat-template needs the chat tokens, which --special-tokens replaces; give one or the other");
    // `tokenize --file -` reads standard input; here "-" was looked for as a file ("cannot read -").
    for (const std::string& in : a->inputs)
      SEEK_CHECK(in != "-",
                 "--input -: tokenizer train reads files, not standard input; give the text as a file (or "
                 "--input <(command))");
    check_out_folder(a->out, a->inputs);
    // Replaced whole and safely at the end, but what a model trained with it reads its ids by: said now,
    // while stopping costs nothing, and again at the end.
    std::error_code ec;
    const bool replaces = std::filesystem::exists(std::filesystem::path(a->out) / "tokenizer.json", ec);
    if (replaces)
      print_stderr(
          "note: --out {} holds a tokenizer.json, which this one replaces once trained (a model trained with "
          "the "
          "old one needs it: copy it elsewhere first, or stop now)\n",
          a->out);
    BpeTrainOptions opt;
    opt.vocab_size = a->vocab_size;
    opt.min_frequency = a->min_frequency;
    opt.chat_template = a->chat_template;
    opt.log = [](const std::string& s) { print_stderr("{}\n", s); };
    if (a->pre_tokenizer == "gpt2") {
      opt.pre_tokenizer = tok::gpt2_pre_tokenizer_json();  // with every key Hugging Face requires
    } else if (a->pre_tokenizer != "deepseek-v3") {
      std::string text;
      try {
        text = tok::read_tokenizer_file(a->pre_tokenizer);
      } catch (const Error& e) {
        fail("--pre-tokenizer {} is neither deepseek-v3, gpt2 nor a readable file ({})", a->pre_tokenizer,
             e.what());
      }
      try {
        opt.pre_tokenizer = parse_json_unique_keys(text, a->pre_tokenizer);
      } catch (const nlohmann::json::exception& e) {
        fail("--pre-tokenizer {}: not valid JSON: {}", a->pre_tokenizer, json_error_text(e));
      }
      // null would mean "the default" to the trainer, and train DeepSeek-V3's without a word.
      SEEK_CHECK(
          opt.pre_tokenizer.is_object(),
          "--pre-tokenizer {}: a pre_tokenizer value is a JSON object (e.g. {{\"type\": \"ByteLevel\", "
          "\"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}}), got {}",
          a->pre_tokenizer, describe_json(opt.pre_tokenizer));
    }
    if (train->count("--special-tokens")) opt.special_tokens = split_special_tokens(a->specials);
    std::vector<std::filesystem::path> files(a->inputs.begin(), a->inputs.end());
    // Twice (also by another spelling or a link) counts its words twice, which may be meant (weighting a
    // file) but should not go unsaid.
    for (size_t i = 0; i < files.size(); ++i)
      for (size_t k = 0; k < i; ++k) {
        std::error_code ec;
        if (std::filesystem::equivalent(files[i], files[k], ec)) {
          print_stderr("note: --input {} is the same file as --input {}: its words count twice\n",
                       files[i].string(), files[k].string());
          break;
        }
      }
    const auto start = std::chrono::steady_clock::now();
    auto r = train_bpe_files(files, opt);
    save_bpe(r, a->out);
    // Reading, counting, merging, building and writing the files: all of it (the phases' own times left out
    // reading and writing, ~20% of a run).
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const size_t trained = r.tokenizer["model"]["vocab"].size();
    fmt::print("trained {} ({}) on {:.1f} MB in {:.1f}s ({:.2f} MB/s); wrote {}{}\n",
               count_of(int64_t(trained), "token"), count_of(int64_t(r.merges), "merge"), r.input_bytes / 1e6,
               secs, r.input_bytes / 1e6 / std::max(secs, 1e-9), a->out,
               replaces ? ", replacing the tokenizer that was there" : "");
    // Training stops early when no pair of adjacent tokens inside a word is left that occurs at least
    // min_frequency times; the tokenizer is still valid, only smaller than asked, which should not go unsaid.
    if (trained < a->vocab_size)
      print_stderr(
          "note: the vocabulary has {} tokens, not the {} asked for: no pair of adjacent tokens within a "
          "word occurs {} or more times in this text. More (varied) text{} may give more merges.\n",
          trained, a->vocab_size, std::max<uint64_t>(a->min_frequency, 1),
          a->min_frequency > 1 ? " or a lower --min-frequency" : "");
  });
});

}  // namespace
}  // namespace seek::cli
