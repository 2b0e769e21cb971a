// Input files: validation (exists, regular, .txt or .jsonl), the identity that goes into the cache key
// (absolute path, size, mtime, content hash), and reading a file as a stream of documents.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "train/data_records.hpp"
#include "train/dataset.hpp"

namespace seek::data {

struct InputFile {
  std::filesystem::path path;  // absolute
  bool jsonl = false;          // else .txt
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t hash = 0;  // content_hash of the bytes
};

// Throws seek::Error naming the file for a missing or unreadable input, an unknown extension, or a .txt
// input to SFT (which needs records).
std::vector<InputFile> describe_inputs(const std::vector<std::filesystem::path>& inputs, Objective objective,
                                       int threads);

// Reads `file` in order and hands its non-empty documents to `sink` in batches of about `batch_bytes` of
// text. JSONL lines are parsed on `threads` threads; the first bad line (in file order) throws seek::Error
// "file:line: what".
using DocumentSink = std::function<void(std::vector<Document>& batch)>;
void read_documents(const InputFile& file, Objective objective, const SpecialIds& ids, size_t batch_bytes,
                    int threads, const DocumentSink& sink);

}  // namespace seek::data
