// A checkpoint as a set of safetensors files: one model.safetensors, or shards listed by
// model.safetensors.index.json. Looks tensors up by name and reads them converted to float/double, with
// DeepSeek-V3 FP8 block dequantization [spec §2.3] applied transparently.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/safetensors_file.hpp"

namespace seek {

struct ReadOptions {
  // FP8 weights only: round each dequantized value to bf16, which reproduces references made by
  // fp8_cast_bf16.py (dequantize in fp32, store bf16) bit for bit.
  bool fp8_round_to_bf16 = false;
};

// The text of a model.safetensors.index.json, read within a bound (64 MiB) that names what an index holds:
// one of gigabytes (a sparse file) was read whole before it was refused.
std::string read_index_text(const std::filesystem::path& path);

class TensorStore {
 public:
  // path is one of: a .safetensors file; a *.index.json file; a directory holding model.safetensors or
  // model.safetensors.index.json (both present is an error: it is unclear which save is current). Every
  // file is opened and validated now, so a broken checkpoint fails here rather than mid-load; with an index,
  // every tensor of a shard must be listed for that shard.
  explicit TensorStore(const std::filesystem::path& path);

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;  // sorted, scale_inv tensors included
  bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }
  const TensorInfo& info(std::string_view name) const;          // throws naming the tensor
  const SafetensorsFile& file_of(std::string_view name) const;  // the shard holding it
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // A weight is FP8 exactly when its sibling "<name>_scale_inv" exists [spec §2.3].
  static constexpr std::string_view kScaleSuffix = "_scale_inv";
  bool is_fp8(std::string_view name) const;
  // Checks how tensor `name` is to be dequantized, from the headers: an F8_E4M3 weight needs its scale_inv, a
  // scale_inv marks an F8_E4M3 2-D weight, and the scale is a float tensor of one value per 128 x 128 block.
  // Returns the scale, or nullptr when `name` is not FP8; throws naming the tensors and files otherwise.
  // read_into calls it; a loader calls it first for every weight, to fail before reading any.
  const TensorInfo* fp8_scale(std::string_view name) const;

  // Reads tensor `name`, which must have exactly `expected_shape`, into out (numel elements). FP8 weights
  // are dequantized with their scale_inv; every other float or integer dtype converts by value.
  void read_into(std::string_view name, const std::vector<int64_t>& expected_shape, float* out,
                 const ReadOptions& options = {}) const;
  void read_into(std::string_view name, const std::vector<int64_t>& expected_shape, double* out,
                 const ReadOptions& options = {}) const;
  // Exact integer read (token ids, step counters): the tensor must be I64 or I32.
  void read_into(std::string_view name, const std::vector<int64_t>& expected_shape, int64_t* out) const;

 private:
  struct Entry {
    const TensorInfo* info;
    const SafetensorsFile* file;
  };
  void open_single(const std::filesystem::path& file);
  void open_index(const std::filesystem::path& index);
  const Entry& entry(std::string_view name) const;
  const Entry& checked(std::string_view name, const std::vector<int64_t>& expected_shape) const;
  template <typename Out>
  void read_float(std::string_view name, const std::vector<int64_t>& expected_shape, Out* out,
                  const ReadOptions& options) const;

  std::string path_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Entry, std::less<>> tensors_;
};

}  // namespace seek
