// One .safetensors file, memory-mapped and fully validated on open: after the constructor returns, every
// tensor's bytes lie inside the file, match its dtype and shape, and overlap no other tensor, so readers can
// trust TensorInfo without further checks.
//
// Format: u64 little-endian header length N, N bytes of JSON
//   {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
//   ...}
// then the data section; offsets are relative to the start of the data section.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.hpp"
#include "io/mapped_file.hpp"

namespace seek {

// "[2, 3]"; used in every shape error message so they all read alike.
std::string shape_to_string(const std::vector<int64_t>& shape);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  size_t numel = 0;
  size_t nbytes = 0;
  uint64_t begin = 0, end = 0;      // data_offsets, relative to the data section
  const std::byte* data = nullptr;  // raw little-endian bytes in the mapping; NOT aligned for the dtype
};

class SafetensorsFile {
 public:
  // Largest header accepted, as in the reference implementation: a bigger one is a corrupt length field.
  static constexpr uint64_t kMaxHeaderBytes = 100'000'000;
  // Far past any real tensor (checkpoints hold names under 100 bytes and at most 4 dimensions): a header
  // within kMaxHeaderBytes could otherwise hold a 49M-dimension shape (2.3 GB of memory to read, and a
  // message of megabytes to name), or a name of megabytes that every error about the tensor printed whole.
  static constexpr size_t kMaxNameBytes = 1024;
  static constexpr size_t kMaxDimensions = 64;

  // Maps and validates the file; throws seek::Error naming the file and the problem.
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::string& path() const { return file_.path(); }
  size_t num_tensors() const { return tensors_.size(); }
  std::vector<std::string> names() const;  // sorted
  bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }
  const TensorInfo* find(std::string_view name) const;  // nullptr when absent
  const TensorInfo& at(std::string_view name) const;    // throws, naming the tensor and the file
  // The "__metadata__" object (empty when absent). Non-string values are kept as their JSON text.
  const std::map<std::string, std::string, std::less<>>& metadata() const { return metadata_; }

 private:
  void parse_header();

  MappedFile file_;
  std::map<std::string, TensorInfo, std::less<>> tensors_;
  std::map<std::string, std::string, std::less<>> metadata_;
};

}  // namespace seek
