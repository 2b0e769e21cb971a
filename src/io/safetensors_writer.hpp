// Builds safetensors checkpoints: tensors are converted to their storage dtype when added, then written as
// one file or as Hugging Face style shards plus model.safetensors.index.json. Every file is replaced
// atomically (see core/atomic_file.hpp), so an interrupted save never corrupts the previous one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.hpp"

namespace seek {

class SafetensorsWriter {
 public:
  // Each add copies numel(shape) elements from data, converted to dtype (ties-to-even for BF16/F16), so the
  // caller's buffer may be reused at once. Throws on a duplicate or reserved name or an unsupported dtype.
  void add(std::string name, DType dtype, std::vector<int64_t> shape, const float* data);  // F32 F64 BF16 F16
  void add(std::string name, DType dtype, std::vector<int64_t> shape, const double* data);   // same; via fp32
  void add(std::string name, DType dtype, std::vector<int64_t> shape, const int64_t* data);  // I64 I32
  // Already-encoded little-endian bytes of any dtype (e.g. F8_E4M3); nbytes must equal numel * dtype size.
  void add_raw(std::string name, DType dtype, std::vector<int64_t> shape, const void* bytes, size_t nbytes);
  // Stored in "__metadata__" next to {"format": "pt"}.
  void set_metadata(std::string key, std::string value);

  size_t num_tensors() const { return tensors_.size(); }
  uint64_t total_bytes() const;  // tensor data only, as the index's metadata.total_size

  // One file, replaced atomically. Throws seek::Error naming the path and strerror on any I/O failure.
  void write(const std::filesystem::path& path) const;
  // Shards of at most max_shard_bytes of tensor data each (a bigger tensor gets a shard of its own), named
  // <prefix>-00001-of-0000N.safetensors, plus <prefix>.safetensors.index.json; a single shard is written as
  // <prefix>.safetensors with no index, as Hugging Face does. Creates dir if needed. Files of an earlier save
  // with a different layout are removed only after the new files and index are in place. Returns the
  // written paths (shards first, index last).
  std::vector<std::filesystem::path> write_sharded(const std::filesystem::path& dir, uint64_t max_shard_bytes,
                                                   std::string_view prefix = "model") const;

 private:
  struct Pending {
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<std::byte> bytes;
  };
  Pending& reserve(std::string name, DType dtype, std::vector<int64_t> shape);
  void write_file(const std::filesystem::path& path, const std::vector<std::string>& names) const;

  std::map<std::string, Pending> tensors_;  // sorted by name, as the header is
  std::map<std::string, std::string> metadata_{{"format", "pt"}};
};

// "<prefix>-NNNNN-of-MMMMM.safetensors" (the shards write_sharded names) -> MMMMM, or -1 for any other name.
int shard_count_of(const std::string& file, std::string_view prefix);

}  // namespace seek
