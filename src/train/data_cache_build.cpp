// Building a token cache: documents are read a batch at a time (bounded memory), their text pieces encoded
// with Tokenizer::encode_batch on all threads, and ids, mask and offsets appended to files in a temporary
// folder, which is renamed to its key only once every file is complete and fsynced.
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "train/data_cache.hpp"
#include "train/data_hash.hpp"

namespace seek::data {
namespace fs = std::filesystem;
namespace {

constexpr size_t kBatchBytes = size_t(16) << 20;

}  // namespace

void remove_stale_cache_builds(const fs::path& cache_dir) {
  std::error_code ec;
  try {
    for (const auto& e : fs::directory_iterator(cache_dir, ec)) {
      const std::string name = e.path().filename().string();
      const size_t at = name.find(".tmp-");
      if (at == std::string::npos) continue;
      const long pid = std::strtol(name.c_str() + at + 5, nullptr, 10);
      if (pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
    }
  } catch (const fs::filesystem_error&) {
    // Best effort: a folder that cannot be listed or removed now is tried again on the next open.
  }
}

namespace {

// Owns the temporary folder until it is renamed into place.
struct TempDir {
  fs::path path;
  bool keep = false;
  ~TempDir() {
    std::error_code ec;
    if (!keep) fs::remove_all(path, ec);
  }
};

class Writer {
 public:
  Writer(const fs::path& dir, bool sft, const Tokenizer& tok, int threads)
      : tok_(tok), threads_(threads), tokens_(dir / "tokens.bin") {
    if (sft) mask_.emplace(dir / "mask.bin");
  }

  void add(std::vector<Document>& docs) {
    std::vector<std::string> texts;
    for (auto& d : docs)
      for (auto& p : d.pieces)
        if (p.token < 0) texts.push_back(std::move(p.text));
    // SFT pieces are chat text, where the special-token strings are the format; in pretraining text they are
    // just text, and the only control token is the EOS added after each document.
    const bool parse_special = mask_.has_value();
    auto encoded = tok_.encode_batch(texts, /*add_special=*/false, parse_special, threads_);
    ids_.clear();
    loss_.clear();
    size_t k = 0;
    for (const auto& d : docs) {
      for (const auto& p : d.pieces) {
        const size_t before = ids_.size();
        if (p.token >= 0) {
          ids_.push_back(uint32_t(p.token));
        } else {
          for (TokenId t : encoded[k]) ids_.push_back(uint32_t(t));
          ++k;
        }
        loss_.resize(ids_.size(), p.loss ? 1 : 0);
        if (p.loss) loss_tokens_ += int64_t(ids_.size() - before);
      }
      if (d.ends) offsets_.push_back(written_ + ids_.size());
    }
    tokens_.write(ids_.data(), ids_.size() * sizeof(uint32_t));
    if (mask_) mask_->write(loss_.data(), loss_.size());
    written_ += ids_.size();
  }

  int64_t loss_tokens() const { return loss_tokens_; }

  // Commits every file into `dir` (the build's temporary folder) and returns meta.json's contents for the
  // cache entry `key`, the name `dir` is renamed to.
  nlohmann::json finish(const fs::path& dir, const std::string& key, const nlohmann::json& descriptor) {
    tokens_.commit();
    if (mask_) mask_->commit();
    write_file_atomically(
        dir / "offsets.bin",
        std::string_view(reinterpret_cast<const char*>(offsets_.data()), offsets_.size() * sizeof(uint64_t)));
    nlohmann::json meta = {{"descriptor", descriptor},
                           {"key", key},
                           {"documents", offsets_.size() - 1},
                           {"tokens", written_},
                           {"loss_tokens", mask_ ? loss_tokens_ : int64_t(written_)}};
    return meta;
  }

 private:
  const Tokenizer& tok_;
  int threads_;
  AtomicFile tokens_;
  std::optional<AtomicFile> mask_;
  std::vector<uint32_t> ids_;
  std::vector<uint8_t> loss_;
  std::vector<uint64_t> offsets_{0};
  uint64_t written_ = 0;
  int64_t loss_tokens_ = 0;
};

}  // namespace

void build_token_cache(const fs::path& dir, const nlohmann::json& descriptor,
                       const std::vector<InputFile>& inputs, Objective objective, const Tokenizer& tok,
                       int threads) {
  const fs::path parent = dir.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) fail("cannot create the data cache folder {}: {}", parent.string(), ec.message());
  const auto nonce = std::chrono::steady_clock::now().time_since_epoch().count();
  TempDir tmp{fs::path(dir.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(nonce))};
  fs::create_directory(tmp.path, ec);
  if (ec) fail("cannot create {}: {}", tmp.path.string(), ec.message());

  const SpecialIds ids{tok.bos_id(), tok.eos_id()};
  Writer writer(tmp.path, objective == Objective::Sft, tok, threads);
  // Tokenizing a corpus runs about 4 minutes per GB with a large vocabulary, silent before: a progress line
  // over the input bytes (the text of each batch, then each file's whole size, JSON syntax included).
  int64_t total_bytes = 0, files_done = 0, done = 0;
  for (const auto& f : inputs) total_bytes += int64_t(f.size);
  ProgressLine progress("tokenizing the training data", total_bytes, "bytes");
  const auto rate = [&](double elapsed) { return fmt::format("{:.1f} MB/s", double(done) / 1e6 / elapsed); };
  for (const auto& f : inputs) {
    const int64_t before = writer.loss_tokens();
    int64_t documents = 0;
    read_documents(f, objective, ids, kBatchBytes, threads, [&](std::vector<Document>& b) {
      documents += int64_t(b.size());
      // Counted before add, which moves the texts out (counted after, the line stood at 0 until a file was
      // done).
      for (const Document& d : b)
        for (const Piece& p : d.pieces) done += int64_t(p.text.size());
      writer.add(b);
      progress.update(std::min(done, files_done + int64_t(f.size)), rate);
    });
    done = files_done += int64_t(f.size);
    progress.update(done, rate);
    // SFT learns only from answers: a file without one adds no target, and alone would "train" on nothing.
    // An empty file has had its note (read_documents), as in pretraining; all of them empty is dataset.cpp's
    // error.
    if (objective == Objective::Sft && documents > 0 && writer.loss_tokens() == before)
      fail(
          "training data {}: no record has an answer to train on (SFT's loss is on assistant turns of "
          "\"messages\" and on \"completion\"; --objective pretrain puts it on all text)",
          f.path.string());
  }
  progress.finish();
  const nlohmann::json meta = writer.finish(tmp.path, dir.filename().string(), descriptor);
  // meta.json last: its presence is what marks a complete folder (the rename below is what makes it visible).
  write_file_atomically(tmp.path / "meta.json", meta.dump(2) + "\n");
  fsync_directory(tmp.path);
  if (::rename(tmp.path.c_str(), dir.c_str()) != 0) {
    // Another process finished the same key first: its folder holds the same tokens, so use it.
    if (errno != EEXIST && errno != ENOTEMPTY)
      fail("cannot rename {} to {}: {}", tmp.path.string(), dir.string(), std::strerror(errno));
    return;
  }
  tmp.keep = true;
  fsync_directory(parent);
}

}  // namespace seek::data
