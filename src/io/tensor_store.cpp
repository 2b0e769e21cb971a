// TensorStore: resolving a checkpoint path to its files, checking a shard index against the shards, and
// typed reads with shape checks and FP8 dequantization.
#include "io/tensor_store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/read_file.hpp"
#include "core/untrusted_json.hpp"
#include "io/convert.hpp"
#include "io/safetensors_writer.hpp"

namespace seek {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_index_text(const fs::path& path) {
  constexpr long long kMaxIndexBytes = 64LL << 20;
  return read_file(path, kMaxIndexBytes, "an index lists one short line per tensor");
}

namespace {

constexpr const char* kSingleName = "model.safetensors";
constexpr const char* kIndexName = "model.safetensors.index.json";

json read_json_file(const fs::path& path) {
  refuse_special_file(path);
  const std::string text = read_index_text(path);
  try {
    return parse_json_unique_keys(text, path.string());
  } catch (const json::exception& e) {
    fail("{}: invalid JSON: {}", path.string(), json_error_text(e));
  }
}

// Shard names come from a file we did not write; keep them inside the checkpoint's folder.
void check_shard_name(const fs::path& index, const std::string& shard) {
  // No file system takes a longer path; each message below would print it whole.
  constexpr size_t kMaxPathBytes = 4096;
  if (shard.size() > kMaxPathBytes)
    fail("{}: a shard file name of {} bytes ({}), longer than any path", index.string(), shard.size(),
         describe_json(shard));
  // A file name cannot hold one: the name opened would end there (and a message would print it raw).
  if (shard.find('\0') != std::string::npos)
    fail("{}: shard file name '{}' holds a NUL byte", index.string(),
         shard.substr(0, shard.find('\0')) + "\\0...");
  fs::path p(shard);
  bool escapes = p.empty() || p.is_absolute();
  for (const auto& part : p) escapes = escapes || part == "..";
  if (escapes)
    fail("{}: shard file name '{}' must be a relative path inside the checkpoint folder", index.string(),
         shard);
}

// Whether `p` is there to be opened. A symlink loop counts as there, so that opening it says what is wrong;
// the throwing std::filesystem::exists reported it as an internal error.
// A link whose target is gone counts as present, so that opening it says so (it was reported as no weights
// in the folder at all).
bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec) || ec || fs::is_symlink(fs::symlink_status(p, ec));
}

// What the folder holds instead, if anything a user would take for its weights: PyTorch's pickles, which
// seek does not read (unpickling runs code), or shards without their index; the first by name of either.
std::string weights_hint(const fs::path& dir) {
  std::error_code ec;
  std::string pickles, other;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == "pytorch_model.bin" || name == "pytorch_model.bin.index.json" ||
        (name.starts_with("pytorch_model-") && name.ends_with(".bin")))
      pickles = pickles.empty() || name < pickles ? name : pickles;
    else if (shard_count_of(name, "model") > 0 && (other.empty() || name < other))
      other = name;
  }
  if (!pickles.empty())
    return fmt::format(
        " ({} is PyTorch's pickle format, which seek does not read: save the model as "
        "safetensors, e.g. with save_pretrained(..., safe_serialization=True))",
        pickles);
  if (!other.empty())
    return fmt::format(" ({} is there: shards are read through {}, which lists the file of each tensor)",
                       other, kIndexName);
  return "";
}

void convert_any(DType t, const std::byte* src, size_t n, float* out) {
  convert_to_float(t, src, n, out);
}
void convert_any(DType t, const std::byte* src, size_t n, double* out) {
  convert_to_double(t, src, n, out);
}

}  // namespace

TensorStore::TensorStore(const fs::path& path) : path_(path.string()) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    bool single = present(path / kSingleName), index = present(path / kIndexName);
    if (single && index) {
      fail("{}: holds both {} and {}; remove the stale one", path_, kSingleName, kIndexName);
    }
    if (!single && !index)
      fail("{}: no {} or {} in this folder{}", path_, kSingleName, kIndexName, weights_hint(path));
    if (single) {
      open_single(path / kSingleName);
    } else {
      open_index(path / kIndexName);
    }
  } else if (path.extension() == ".json") {
    open_index(path);
  } else {
    open_single(path);
  }
}

void TensorStore::open_single(const fs::path& file) {
  files_.push_back(std::make_unique<SafetensorsFile>(file));
  const SafetensorsFile& f = *files_.back();
  for (const auto& name : f.names()) tensors_.emplace(name, Entry{f.find(name), &f});
}

void TensorStore::open_index(const fs::path& index) {
  const std::string idx = index.string();
  json j = read_json_file(index);
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
    fail("{}: index has no \"weight_map\" object", idx);
  }
  SEEK_CHECK(!j["weight_map"].empty(), "{}: weight_map lists no tensors", idx);
  const fs::path dir = index.parent_path();
  std::map<std::string, const SafetensorsFile*> shards;
  for (const auto& [name, v] : j["weight_map"].items()) {
    // Each message below names the tensor: a name of megabytes was printed whole.
    if (name.size() > SafetensorsFile::kMaxNameBytes)
      fail("{}: weight_map names a tensor of {} bytes ({}); a name longer than {} bytes is no tensor's", idx,
           name.size(), describe_json(name), SafetensorsFile::kMaxNameBytes);
    if (!v.is_string())
      fail("{}: weight_map entry for '{}' must be a file name, got {}", idx, name, describe_json(v));
    check_shard_name(index, v.get<std::string>());
    // "x" and "./x" are one shard, opened once.
    const std::string shard = fs::path(v.get<std::string>()).lexically_normal().string();
    auto it = shards.find(shard);
    if (it == shards.end()) {
      const fs::path shard_path = dir / shard;
      if (!present(shard_path)) {
        fail("{}: shard {} (listed for tensor '{}') does not exist", idx, shard_path.string(), name);
      }
      // Its own errors name the shard; the index that sent us there, and why, go first. ("." or the index
      // itself as a shard read as unexplained header errors.)
      SEEK_CHECK(shard_path.lexically_normal() != index.lexically_normal(),
                 "{}: weight_map lists the index itself as the shard of tensor '{}'", idx, name);
      try {
        files_.push_back(std::make_unique<SafetensorsFile>(shard_path));
      } catch (const Error& e) {
        fail("{}: shard {} (listed for tensor '{}'): {}", idx, shard, name, e.what());
      }
      it = shards.emplace(shard, files_.back().get()).first;
    }
    const TensorInfo* t = it->second->find(name);
    if (!t)
      fail("{}: tensor '{}' is mapped to {}, but that shard does not contain it", idx, name,
           it->second->path());
    tensors_.emplace(name, Entry{t, it->second});
  }
  // Every tensor of a shard must be listed for that shard. Hugging Face's loader reads whole shards, so a
  // tensor the index leaves out, or lists for another shard that holds it too, would be loaded there while
  // we read another copy or none: the checkpoint is ambiguous (a stale index, or shards of two saves).
  for (const auto& [shard, file] : shards) {
    for (const std::string& name : file->names()) {
      auto e = tensors_.find(name);
      if (e == tensors_.end())
        fail("{}: shard {} holds tensor '{}', which the index does not list; is the index stale?", idx,
             file->path(), name);
      if (e->second.file != file)
        fail(
            "{}: tensor '{}' is in both {} and {} (the index lists it for the latter); are the shards from "
            "two saves?",
            idx, name, file->path(), e->second.file->path());
    }
  }
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, e] : tensors_) out.push_back(name);
  return out;
}

const TensorStore::Entry& TensorStore::entry(std::string_view name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) fail("tensor '{}' not found in checkpoint {}", name, path_);
  return it->second;
}

const TensorInfo& TensorStore::info(std::string_view name) const {
  return *entry(name).info;
}
const SafetensorsFile& TensorStore::file_of(std::string_view name) const {
  return *entry(name).file;
}

bool TensorStore::is_fp8(std::string_view name) const {
  return contains(std::string(name) + std::string(kScaleSuffix));
}

const TensorStore::Entry& TensorStore::checked(std::string_view name,
                                               const std::vector<int64_t>& expected_shape) const {
  const Entry& e = entry(name);
  if (e.info->shape != expected_shape) {
    fail("tensor '{}' in {}: expected shape {}, got {}", name, e.file->path(),
         shape_to_string(expected_shape), shape_to_string(e.info->shape));
  }
  return e;
}

const TensorInfo* TensorStore::fp8_scale(std::string_view name) const {
  const Entry& e = entry(name);
  const TensorInfo& w = *e.info;
  const std::string scale_name = std::string(name) + std::string(kScaleSuffix);
  auto s = tensors_.find(scale_name);
  if (s == tensors_.end()) {
    if (w.dtype == DType::F8_E4M3) {
      fail("tensor '{}' in {} is F8_E4M3 but has no '{}' to dequantize it with", name, e.file->path(),
           scale_name);
    }
    return nullptr;
  }
  // A scale_inv sibling marks an FP8 weight; anything else about it is an inconsistent checkpoint.
  if (w.dtype != DType::F8_E4M3) {
    fail("tensor '{}' in {} has a '{}' sibling but dtype {}, not F8_E4M3", name, e.file->path(), scale_name,
         dtype_name(w.dtype));
  }
  if (w.shape.size() != 2) {
    fail("FP8 tensor '{}' in {} must be 2-D for block dequantization, got shape {}", name, e.file->path(),
         shape_to_string(w.shape));
  }
  const TensorInfo& sc = *s->second.info;
  const int64_t rows = w.shape[0], cols = w.shape[1];
  const std::vector<int64_t> want = {(rows + kFp8BlockSize - 1) / kFp8BlockSize,
                                     (cols + kFp8BlockSize - 1) / kFp8BlockSize};
  if (sc.shape != want) {
    fail("'{}' in {}: expected shape {} for {}x{} blocks of {} {}, got {}", scale_name,
         s->second.file->path(), shape_to_string(want), kFp8BlockSize, kFp8BlockSize, name,
         shape_to_string(w.shape), shape_to_string(sc.shape));
  }
  if (sc.dtype == DType::F8_E4M3 || sc.dtype == DType::I64 || sc.dtype == DType::I32) {
    fail("'{}' in {}: scale must be a float dtype, got {}", scale_name, s->second.file->path(),
         dtype_name(sc.dtype));
  }
  return &sc;
}

template <typename Out>
void TensorStore::read_float(std::string_view name, const std::vector<int64_t>& expected_shape, Out* out,
                             const ReadOptions& options) const {
  const TensorInfo& w = *checked(name, expected_shape).info;
  const TensorInfo* sc = fp8_scale(name);
  if (!sc) return convert_any(w.dtype, w.data, w.numel, out);
  std::vector<float> scale(sc->numel);
  convert_to_float(sc->dtype, sc->data, sc->numel, scale.data());
  // A scale multiplies its block: a negative one flips its signs, a NaN or inf poisons it, and either would
  // surface only as wrong or non-finite logits. (0 is a block of zeros.)
  const auto bad =
      std::find_if(scale.begin(), scale.end(), [](float x) { return !(x >= 0 && std::isfinite(x)); });
  if (bad != scale.end()) {
    const int64_t at = bad - scale.begin(), block_cols = sc->shape[1];
    const std::string scale_name = std::string(name) + std::string(kScaleSuffix);
    fail("'{}' in {}: the scale of block [{}, {}] is {}; FP8 block scales are finite and >= 0", scale_name,
         file_of(scale_name).path(), at / block_cols, at % block_cols, *bad);
  }
  dequantize_fp8_blocks(reinterpret_cast<const uint8_t*>(w.data), w.shape[0], w.shape[1], scale.data(), out,
                        options.fp8_round_to_bf16);
}

void TensorStore::read_into(std::string_view name, const std::vector<int64_t>& expected_shape, float* out,
                            const ReadOptions& options) const {
  read_float(name, expected_shape, out, options);
}

void TensorStore::read_into(std::string_view name, const std::vector<int64_t>& expected_shape, double* out,
                            const ReadOptions& options) const {
  read_float(name, expected_shape, out, options);
}

void TensorStore::read_into(std::string_view name, const std::vector<int64_t>& expected_shape,
                            int64_t* out) const {
  const Entry& e = checked(name, expected_shape);
  if (e.info->dtype != DType::I64 && e.info->dtype != DType::I32) {
    fail("tensor '{}' in {}: cannot read {} as int64 (need I64 or I32)", name, e.file->path(),
         dtype_name(e.info->dtype));
  }
  convert_to_int64(e.info->dtype, e.info->data, e.info->numel, out);
}

}  // namespace seek
