// Reading .txt and .jsonl inputs through a memory map. A .txt file is split into documents at lines that
// are exactly "<|endoftext|>"; a .jsonl file is parsed a batch of lines at a time on all threads, errors
// collected per line and reported after the parallel region (never thrown inside it).
#include "train/data_inputs.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "core/error.hpp"
#include "core/untrusted_json.hpp"
#include "io/mapped_file.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/utf8.hpp"
#include "train/data_hash.hpp"

namespace seek::data {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kSeparator = "<|endoftext|>";

std::string_view view(const MappedFile& m) {
  return {reinterpret_cast<const char*>(m.data()), m.size()};
}

// Returns where the separator appears other than as a line of its own (read as text there): its count and
// the first one's byte offset.
std::pair<size_t, size_t> read_text(std::string_view all, const SpecialIds& ids, size_t batch_bytes,
                                    const DocumentSink& sink) {
  std::vector<Document> batch;
  size_t batch_size = 0;
  // A document longer than a batch goes out in parts (cut where the tokens do not change), so a huge
  // single-document file never has to be held, as text or as tokens, all at once.
  auto emit = [&](std::string_view text) {
    for (size_t begin = 0; begin < text.size();) {
      const size_t end = text.size() - begin > batch_bytes
                             ? tok::pre_token_cut_after(text, begin + batch_bytes)
                             : text.size();
      Document doc;
      doc.starts = begin == 0;
      doc.ends = end == text.size();
      pretrain_document(text.substr(begin, end - begin), ids, doc);
      batch.push_back(std::move(doc));
      batch_size += end - begin;
      begin = end;
      if (batch_size >= batch_bytes) {
        sink(batch);
        batch.clear();
        batch_size = 0;
      }
    }
  };
  size_t doc_begin = 0, inline_count = 0, first_inline = 0;
  for (size_t p = all.find(kSeparator); p != std::string_view::npos; p = all.find(kSeparator, p + 1)) {
    // Only a whole line counts: at the start of a line and followed by \n, \r\n or the end of the file.
    size_t after = p + kSeparator.size();
    if (after < all.size() && all[after] == '\r') ++after;
    if ((p > 0 && all[p - 1] != '\n') || (after < all.size() && all[after] != '\n')) {
      if (inline_count++ == 0) first_inline = p;
      continue;
    }
    emit(all.substr(doc_begin, p - doc_begin));
    doc_begin = std::min(all.size(), after + 1);
  }
  emit(all.substr(doc_begin));
  if (!batch.empty()) sink(batch);
  return {inline_count, first_inline};
}

struct Line {
  std::string_view text;
  int64_t number;  // 1-based
};

void parse_lines(const InputFile& file, const std::vector<Line>& lines, Objective objective,
                 const SpecialIds& ids, int threads, const DocumentSink& sink) {
  std::vector<Document> docs(lines.size());
  std::vector<std::string> errors(lines.size());
  // Parsed as every JSON file seek reads from users: a key given twice in one object (nlohmann kept the last
  // value silently: a record {"text": "a", "text": "b"} trained on "b") or absurd nesting is an error.
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads > 0 ? threads : omp_get_max_threads())
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = fmt::format("{}:{}", file.path.string(), lines[i].number);
    try {
      const std::string wrong =
          record_document(parse_json_unique_keys(lines[i].text, where), objective, ids, docs[i]);
      if (!wrong.empty()) errors[i] = fmt::format("{}: {}", where, wrong);
    } catch (const nlohmann::json::exception& e) {
      errors[i] = fmt::format("{}: malformed JSON: {}", where, json_error_text(e, true));
    } catch (const Error& e) {
      errors[i] = e.what();
    }
  }
  for (const std::string& e : errors)
    if (!e.empty()) fail("{}", e);
  std::vector<Document> batch;
  batch.reserve(docs.size());
  for (auto& d : docs)
    if (!d.empty()) batch.push_back(std::move(d));
  if (!batch.empty()) sink(batch);
}

void read_jsonl(const InputFile& file, std::string_view all, Objective objective, const SpecialIds& ids,
                size_t batch_bytes, int threads, const DocumentSink& sink) {
  std::vector<Line> lines;
  size_t bytes = 0;
  int64_t number = 0;
  for (size_t begin = 0; begin < all.size();) {
    size_t end = all.find('\n', begin);
    if (end == std::string_view::npos) end = all.size();
    std::string_view text = all.substr(begin, end - begin);
    ++number;
    begin = end + 1;
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank lines are allowed
    lines.push_back(Line{text, number});
    bytes += text.size();
    if (bytes >= batch_bytes) {
      parse_lines(file, lines, objective, ids, threads, sink);
      lines.clear();
      bytes = 0;
    }
  }
  if (!lines.empty()) parse_lines(file, lines, objective, ids, threads, sink);
}

}  // namespace

std::vector<InputFile> describe_inputs(const std::vector<fs::path>& inputs, Objective objective,
                                       int threads) {
  SEEK_CHECK(!inputs.empty(), "no training data: the list of input files is empty");
  std::vector<InputFile> out;
  for (const auto& given : inputs) {
    InputFile f;
    f.path = fs::absolute(given).lexically_normal();
    struct stat st;
    if (::stat(f.path.c_str(), &st) != 0)
      fail("cannot read training data {}: {}", given.string(), std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail("training data {} is not a regular file", given.string());
    const std::string ext = f.path.extension().string();
    if (ext != ".txt" && ext != ".jsonl")
      fail("training data {}: unknown extension \"{}\" (expected .txt or .jsonl)", given.string(), ext);
    f.jsonl = ext == ".jsonl";
    if (objective == Objective::Sft && !f.jsonl)
      fail("training data {}: SFT reads .jsonl records (messages, or prompt and completion), not .txt",
           given.string());
    MappedFile m(f.path);
    f.size = m.size();
    f.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    f.hash = content_hash(m.data(), m.size(), threads);
    out.push_back(std::move(f));
  }
  return out;
}

void read_documents(const InputFile& file, Objective objective, const SpecialIds& ids, size_t batch_bytes,
                    int threads, const DocumentSink& sink) {
  MappedFile m(file.path);
  // The file must still be the one whose hash named the cache, or the cache would describe other bytes.
  SEEK_CHECK(m.size() == file.size && content_hash(m.data(), m.size(), threads) == file.hash,
             "training data {} changed while it was being read", file.path.string());
  // One of several files (all empty is an error, dataset.cpp) added nothing without a word. (A .txt file of
  // whitespace is a document of it; JSONL skips blank lines.)
  if (m.size() == 0 || (file.jsonl && view(m).find_first_not_of(" \t\r\n") == std::string_view::npos))
    fmt::print("note: training data {} is empty: it adds no document\n", file.path.string());
  if (file.jsonl) {
    read_jsonl(file, view(m), objective, ids, batch_bytes, threads, sink);
    return;
  }
  // Tokenizing repairs invalid UTF-8 (each bad byte becomes U+FFFD, three bytes): a Latin-1, UTF-16 or binary
  // file would train on replacement characters without a word said (`seek tokenizer train` says the same).
  const std::string_view text = view(m);
  if (const size_t valid = tok::utf8_valid_prefix(text); valid < text.size())
    fmt::print(
        "note: training data {} is not valid UTF-8 (first at byte {}); invalid bytes are read as U+FFFD: is "
        "it Latin-1, UTF-16 or binary rather than UTF-8 text?\n",
        file.path.string(), valid);
  else if (const size_t nul = text.find('\0'); nul != std::string_view::npos)
    fmt::print(
        "note: training data {} holds NUL bytes (first at byte {}): is it UTF-16 or binary rather than "
        "text?\n",
        file.path.string(), nul);
  const auto [inline_count, first] = read_text(text, ids, batch_bytes, sink);
  // "<|endoftext|> " (a trailing space) or GPT-2-style "a<|endoftext|>b" merged the whole file into one
  // document without a word.
  if (inline_count > 0)
    fmt::print(
        "note: training data {} holds {} {} time{} with other text on its line (first on line {}), read as "
        "text there: documents are separated by a line holding {} alone\n",
        file.path.string(), kSeparator, inline_count, inline_count == 1 ? "" : "s",
        1 + std::count(text.begin(), text.begin() + std::ptrdiff_t(first), '\n'), kSeparator);
}

}  // namespace seek::data
