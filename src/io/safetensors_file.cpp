// Header parsing and validation for SafetensorsFile. Checks run in the order a corrupt file is most likely
// to fail them (length field, JSON, per-entry fields, offsets, overlaps), and each message names the file.
#include "io/safetensors_file.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/untrusted_json.hpp"

namespace seek {

using nlohmann::json;

std::string shape_to_string(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

namespace {

// A JSON value that must be a non-negative integer; floats ("2.0") and negatives are rejected.
uint64_t json_to_u64(const json& v, const std::string& file, const std::string& tensor, const char* field) {
  if (!v.is_number_unsigned()) {
    fail("{}: tensor '{}': {} must hold non-negative integers, got {}", file, tensor, field,
         describe_json(v));
  }
  return v.get<uint64_t>();
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(path) {
  parse_header();
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, info] : tensors_) out.push_back(name);
  return out;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
  const TensorInfo* t = find(name);
  if (!t) fail("tensor '{}' not found in {}", name, path());
  return *t;
}

void SafetensorsFile::parse_header() {
  const std::string& p = path();
  const size_t size = file_.size();
  if (size < 8) fail("{}: file truncated: {} bytes, too short to hold the 8-byte header length", p, size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint64_t(std::to_integer<uint8_t>(file_.data()[i]));
  if (n > size - 8) {
    fail("{}: header length {} is larger than the file ({} bytes): truncated or not a safetensors file", p, n,
         size);
  }
  if (n > kMaxHeaderBytes) fail("{}: header length {} exceeds the {}-byte limit", p, n, kMaxHeaderBytes);
  if (n < 2) fail("{}: header length {} is too small to hold a JSON object", p, n);

  // A duplicated tensor name or field means a broken writer; nlohmann would keep the last one silently.
  const char* text = reinterpret_cast<const char*>(file_.data() + 8);
  json header;
  try {
    header = parse_json_unique_keys(std::string_view(text, n), p + ": invalid header");
  } catch (const json::exception& e) {
    fail("{}: invalid JSON header: {}", p, json_error_text(e));
  }
  if (!header.is_object()) fail("{}: invalid header: expected a JSON object, got {}", p, header.type_name());

  const uint64_t data_size = size - 8 - n;
  const std::byte* data = file_.data() + 8 + n;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      // null is no metadata, as Hugging Face's safetensors reads it (an Option); Python writers that dump a
      // None make it.
      if (entry.is_null()) continue;
      if (!entry.is_object()) fail("{}: __metadata__ must be an object, got {}", p, entry.type_name());
      // The format says string to string, and Hugging Face's safetensors refuses anything else, so no
      // checkpoint it loads has other values; refusing them here keeps an untrusted value out of our map.
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string())
          fail("{}: __metadata__ value of {} must be a string, got {}", p, describe_json(k),
               describe_json(v));
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    if (name.size() > kMaxNameBytes)
      fail("{}: a tensor name of {} bytes ({}); a name longer than {} bytes is no tensor's", p, name.size(),
           describe_json(name), kMaxNameBytes);
    if (!entry.is_object())
      fail("{}: tensor '{}': entry must be an object, got {}", p, name, describe_json(entry));
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!entry.contains(field)) fail("{}: tensor '{}': missing \"{}\"", p, name, field);
    }
    TensorInfo t;
    t.name = name;
    const json& dt = entry["dtype"];
    if (!dt.is_string()) fail("{}: tensor '{}': dtype must be a string, got {}", p, name, describe_json(dt));
    if (!dtype_from_name(dt.get<std::string>(), &t.dtype)) {
      fail("{}: tensor '{}': unknown dtype {} (supported: F32 F64 BF16 F16 F8_E4M3 I64 I32)", p, name,
           describe_json(dt));
    }
    const json& shape = entry["shape"];
    if (!shape.is_array())
      fail("{}: tensor '{}': shape must be an array, got {}", p, name, describe_json(shape));
    if (shape.size() > kMaxDimensions)
      fail("{}: tensor '{}': a shape of {} dimensions; more than {} is no tensor's", p, name, shape.size(),
           kMaxDimensions);
    uint64_t numel = 1;
    for (const json& d : shape) {
      uint64_t dim = json_to_u64(d, p, name, "shape");
      if (dim > uint64_t(INT64_MAX) || __builtin_mul_overflow(numel, dim, &numel)) {
        fail("{}: tensor '{}': shape {} overflows", p, name, describe_json(shape));
      }
      t.shape.push_back(int64_t(dim));
    }
    uint64_t nbytes;
    if (__builtin_mul_overflow(numel, uint64_t(dtype_size(t.dtype)), &nbytes)) {
      fail("{}: tensor '{}': shape {} overflows", p, name, describe_json(shape));
    }
    const json& off = entry["data_offsets"];
    if (!off.is_array() || off.size() != 2) {
      fail("{}: tensor '{}': data_offsets must be [begin, end], got {}", p, name, describe_json(off));
    }
    t.begin = json_to_u64(off[0], p, name, "data_offsets");
    t.end = json_to_u64(off[1], p, name, "data_offsets");
    if (t.end < t.begin)
      fail("{}: tensor '{}': data_offsets [{}, {}] end before begin", p, name, t.begin, t.end);
    if (t.end - t.begin != nbytes) {
      fail("{}: tensor '{}': data_offsets [{}, {}] span {} bytes, but {} {} needs {} bytes", p, name, t.begin,
           t.end, t.end - t.begin, dt.get<std::string>(), shape_to_string(t.shape), nbytes);
    }
    if (t.end > data_size) {
      fail(
          "{}: tensor '{}': data_offsets [{}, {}] extend beyond the end of the file, whose data section has "
          "{} "
          "bytes (file truncated?)",
          p, name, t.begin, t.end, data_size);
    }
    t.numel = size_t(numel);
    t.nbytes = size_t(nbytes);
    t.data = data + t.begin;
    tensors_.emplace(name, std::move(t));
  }

  // Sorted by begin, each tensor must start exactly where the previous one ends, and the first at 0: an
  // overlap means two tensors share bytes, a gap bytes that no tensor describes (a header that lost an
  // entry). Hugging Face's safetensors refuses both (InvalidOffset). An empty tensor sits between two others
  // (or at either end), not inside one's bytes, which Hugging Face's refuses too.
  std::vector<const TensorInfo*> order;
  for (const auto& [name, t] : tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](auto* a, auto* b) { return std::pair(a->begin, a->end) < std::pair(b->begin, b->end); });
  for (size_t i = 0; i < order.size(); ++i) {
    const uint64_t previous_end = i == 0 ? 0 : order[i - 1]->end;
    if (order[i]->begin < previous_end) {
      fail("{}: tensors '{}' [{}, {}) and '{}' [{}, {}) overlap in the data section", p, order[i - 1]->name,
           order[i - 1]->begin, order[i - 1]->end, order[i]->name, order[i]->begin, order[i]->end);
    }
    SEEK_CHECK(order[i]->begin == previous_end,
               "{}: the data section holds {} bytes that no tensor describes (bytes [{}, {}), before tensor "
               "'{}'): the header lost entries, or the file was not written as safetensors",
               p, order[i]->begin - previous_end, previous_end, order[i]->begin, order[i]->name);
  }
  // Bytes no tensor describes after the last one: a file with something appended, or a header that lost
  // entries. Hugging Face's safetensors refuses such a file too (MetadataIncompleteBuffer).
  const uint64_t used = order.empty() ? 0 : order.back()->end;
  SEEK_CHECK(
      used == data_size,
      "{}: the data section holds {} bytes after the last tensor's data (the header's tensors end at byte "
      "{} of {}): the file has bytes appended, or its header lost entries",
      p, data_size - used, used, data_size);
}

}  // namespace seek
