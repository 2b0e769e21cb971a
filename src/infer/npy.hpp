// NumPy .npy files (format version 1.0): a float32 little-endian C-order array with its shape, written
// atomically; and the matching reader (tests, tools). numpy.load reads what write_npy writes.
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

namespace seek {

void write_npy(const std::filesystem::path& path, const float* data, const std::vector<int64_t>& shape);

// Reads a '<f4' C-order .npy; throws seek::Error naming the file for anything else.
std::vector<float> read_npy(const std::filesystem::path& path, std::vector<int64_t>* shape);

}  // namespace seek
