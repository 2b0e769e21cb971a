// SafetensorsWriter: dtype encoding, header layout (sorted keys, 8-byte padded), sharding and stale-file
// cleanup. Data layout follows the reference writer: larger dtypes first, then by name, so every tensor
// starts at an offset aligned to its element size.
#include "io/safetensors_writer.hpp"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <system_error>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "io/safetensors_file.hpp"

namespace seek {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

size_t checked_numel(const std::string& name, const std::vector<int64_t>& shape) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, uint64_t(d), &n)) {
      fail("tensor '{}': invalid shape {}", name, shape_to_string(shape));
    }
  }
  return size_t(n);
}

template <typename T>
void store(std::byte* dst, size_t i, T v) {
  std::memcpy(dst + i * sizeof(T), &v, sizeof(T));
}

// Encodes float-valued data; double input goes through fp32 first, as torch's double->bf16 cast does.
template <typename In>
void encode_float(const std::string& name, DType dtype, const In* src, size_t n, std::byte* dst) {
  switch (dtype) {
    case DType::F32:
      for (size_t i = 0; i < n; ++i) store(dst, i, float(src[i]));
      return;
    case DType::F64:
      for (size_t i = 0; i < n; ++i) store(dst, i, double(src[i]));
      return;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) store(dst, i, f32_to_bf16(float(src[i])));
      return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) store(dst, i, f32_to_f16(float(src[i])));
      return;
    default:
      fail("tensor '{}': cannot store floating-point data as {} (use F32, F64, BF16 or F16)", name,
           dtype_name(dtype));
  }
}

void remove_file(const fs::path& p) {
  std::error_code ec;
  fs::remove(p, ec);
  if (ec) fail("cannot remove stale checkpoint file {}: {}", p.string(), ec.message());
}

}  // namespace

int shard_count_of(const std::string& file, std::string_view prefix) {
  const std::string tail = ".safetensors";
  // prefix + "-" + 5 digits + "-of-" + 5 digits + tail
  if (file.size() != prefix.size() + 1 + 5 + 4 + 5 + tail.size()) return -1;
  if (file.compare(0, prefix.size(), prefix) != 0) return -1;
  std::string_view rest = std::string_view(file).substr(prefix.size());
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (rest.substr(0, 1) != "-" || !digits(rest.substr(1, 5)) || rest.substr(6, 4) != "-of-" ||
      !digits(rest.substr(10, 5)) || rest.substr(15) != tail) {
    return -1;
  }
  return std::stoi(std::string(rest.substr(10, 5)));
}

SafetensorsWriter::Pending& SafetensorsWriter::reserve(std::string name, DType dtype,
                                                       std::vector<int64_t> shape) {
  if (name.empty()) fail("safetensors writer: tensor name must not be empty");
  if (name == "__metadata__") fail("safetensors writer: '__metadata__' is reserved and cannot name a tensor");
  size_t numel = checked_numel(name, shape);
  auto [it, inserted] = tensors_.try_emplace(std::move(name));
  if (!inserted) fail("safetensors writer: tensor '{}' added twice", it->first);
  it->second.dtype = dtype;
  it->second.shape = std::move(shape);
  it->second.bytes.resize(numel * dtype_size(dtype));
  return it->second;
}

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<int64_t> shape, const float* data) {
  std::string key = name;
  Pending& p = reserve(std::move(name), dtype, std::move(shape));
  try {
    encode_float(key, dtype, data, p.bytes.size() / dtype_size(dtype), p.bytes.data());
  } catch (...) {
    tensors_.erase(key);
    throw;
  }
}

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<int64_t> shape, const double* data) {
  std::string key = name;
  Pending& p = reserve(std::move(name), dtype, std::move(shape));
  try {
    encode_float(key, dtype, data, p.bytes.size() / dtype_size(dtype), p.bytes.data());
  } catch (...) {
    tensors_.erase(key);
    throw;
  }
}

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<int64_t> shape, const int64_t* data) {
  if (dtype != DType::I64 && dtype != DType::I32) {
    fail("tensor '{}': cannot store integer data as {} (use I64 or I32)", name, dtype_name(dtype));
  }
  const size_t n = checked_numel(name, shape);
  if (dtype == DType::I32) {
    for (size_t i = 0; i < n; ++i) {
      if (data[i] < INT32_MIN || data[i] > INT32_MAX) {
        fail("tensor '{}': value {} at index {} does not fit in I32", name, data[i], i);
      }
    }
  }
  Pending& p = reserve(std::move(name), dtype, std::move(shape));
  for (size_t i = 0; i < n; ++i) {
    if (dtype == DType::I64) {
      store(p.bytes.data(), i, data[i]);
    } else {
      store(p.bytes.data(), i, int32_t(data[i]));
    }
  }
}

void SafetensorsWriter::add_raw(std::string name, DType dtype, std::vector<int64_t> shape, const void* bytes,
                                size_t nbytes) {
  const size_t want = checked_numel(name, shape) * dtype_size(dtype);
  if (nbytes != want) {
    fail("tensor '{}': {} {} needs {} bytes, got {}", name, dtype_name(dtype), shape_to_string(shape), want,
         nbytes);
  }
  Pending& p = reserve(std::move(name), dtype, std::move(shape));
  if (nbytes) std::memcpy(p.bytes.data(), bytes, nbytes);
}

void SafetensorsWriter::set_metadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

uint64_t SafetensorsWriter::total_bytes() const {
  uint64_t total = 0;
  for (const auto& [name, p] : tensors_) total += p.bytes.size();
  return total;
}

void SafetensorsWriter::write_file(const fs::path& path, const std::vector<std::string>& names) const {
  std::vector<std::pair<const std::string*, const Pending*>> order;
  for (const auto& name : names) order.emplace_back(&name, &tensors_.at(name));
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    size_t sa = dtype_size(a.second->dtype), sb = dtype_size(b.second->dtype);
    return sa != sb ? sa > sb : *a.first < *b.first;
  });
  json header = json::object();
  header["__metadata__"] = metadata_;
  uint64_t offset = 0;
  for (const auto& [name, p] : order) {
    header[*name] = {{"dtype", dtype_name(p->dtype)},
                     {"shape", p->shape},
                     {"data_offsets", {offset, offset + p->bytes.size()}}};
    offset += p->bytes.size();
  }
  std::string text = header.dump();
  // The spec allows trailing spaces; padding keeps the data section (and so every tensor) 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(uint64_t(text.size()) >> (8 * i));

  AtomicFile f(path);
  f.write(len, 8);
  f.write(text.data(), text.size());
  for (const auto& [name, p] : order) f.write(p->bytes.data(), p->bytes.size());
  f.commit();
}

void SafetensorsWriter::write(const fs::path& path) const {
  std::vector<std::string> names;
  for (const auto& [name, p] : tensors_) names.push_back(name);
  write_file(path, names);
}

std::vector<fs::path> SafetensorsWriter::write_sharded(const fs::path& dir, uint64_t max_shard_bytes,
                                                       std::string_view prefix) const {
  if (max_shard_bytes == 0) fail("write_sharded {}: max shard size must be positive", dir.string());
  if (prefix.empty() || prefix.find('/') != std::string_view::npos) {
    fail("write_sharded {}: invalid file prefix '{}'", dir.string(), prefix);
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot write {}: creating the folder failed: {}", dir.string(), ec.message());

  // Greedy in name order, like transformers' shard_checkpoint.
  std::vector<std::vector<std::string>> shards(1);
  uint64_t current = 0;
  for (const auto& [name, p] : tensors_) {
    if (!shards.back().empty() && current + p.bytes.size() > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(name);
    current += p.bytes.size();
  }
  const int n = int(shards.size());
  if (n > 99999) fail("write_sharded {}: {} shards exceed the 5-digit naming scheme", dir.string(), n);
  const std::string single = std::string(prefix) + ".safetensors";
  const std::string index = single + ".index.json";

  std::vector<fs::path> written;
  if (n == 1) {
    write_file(dir / single, shards[0]);
    written.push_back(dir / single);
  } else {
    json weight_map = json::object();
    for (int i = 0; i < n; ++i) {
      const std::string file = fmt::format("{}-{:05d}-of-{:05d}.safetensors", prefix, i + 1, n);
      write_file(dir / file, shards[size_t(i)]);
      written.push_back(dir / file);
      for (const auto& name : shards[size_t(i)]) weight_map[name] = file;
    }
    json j = {{"metadata", {{"total_size", total_bytes()}}}, {"weight_map", weight_map}};
    // The index goes last: it is what makes the new shard set the current checkpoint.
    write_file_atomically(dir / index, j.dump(2) + "\n");
    written.push_back(dir / index);
  }

  // Only now that the new checkpoint is complete: drop files of an earlier save with another layout.
  // Collected first: removing entries while a directory is being iterated is unspecified.
  std::vector<fs::path> stale;
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    const std::string file = de.path().filename().string();
    int count = shard_count_of(file, prefix);
    if ((count >= 0 && (n == 1 || count != n)) || (n == 1 && file == index) || (n > 1 && file == single)) {
      stale.push_back(de.path());
    }
  }
  if (ec) fail("cannot list {} to remove stale shards: {}", dir.string(), ec.message());
  for (const auto& p : stale) remove_file(p);
  if (!stale.empty()) fsync_directory(dir);
  return written;
}

}  // namespace seek
