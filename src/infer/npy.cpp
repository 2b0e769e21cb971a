#include "infer/npy.hpp"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <string>

#include "core/error.hpp"
#include "io/atomic_file.hpp"

namespace seek {

void write_npy(const std::filesystem::path& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  int64_t numel = 1;
  for (int64_t s : shape) {
    dims += fmt::format("{}, ", s);
    numel *= s;
  }
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // "(3,)" keeps its comma, "(3, 4)" does not
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  // magic (6) + version (2) + header length (2) + header + '\n' must be a multiple of 64.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string head = std::string("\x93NUMPY\x01\x00", 8);
  const uint16_t len = uint16_t(header.size());
  head.push_back(char(len & 0xff));
  head.push_back(char(len >> 8));
  head += header;
  AtomicFile f(path);
  f.write(head.data(), head.size());
  f.write(data, size_t(numel) * sizeof(float));
  f.commit();
}

std::vector<float> read_npy(const std::filesystem::path& path, std::vector<int64_t>* shape) {
  std::ifstream f(path, std::ios::binary);
  SEEK_CHECK(f.good(), "cannot open {}", path.string());
  char magic[10];
  f.read(magic, 10);
  SEEK_CHECK(f.good() && std::memcmp(magic, "\x93NUMPY\x01\x00", 8) == 0, "{} is not a version 1 .npy file",
             path.string());
  const size_t hlen = size_t(uint8_t(magic[8])) | (size_t(uint8_t(magic[9])) << 8);
  std::string header(hlen, '\0');
  f.read(header.data(), std::streamsize(hlen));
  SEEK_CHECK(header.find("'descr': '<f4'") != std::string::npos &&
                 header.find("'fortran_order': False") != std::string::npos,
             "{}: only little-endian float32 C-order arrays are supported ({})", path.string(), header);
  const size_t a = header.find('('), b = header.find(')');
  SEEK_CHECK(a != std::string::npos && b != std::string::npos, "{}: no shape in header", path.string());
  shape->clear();
  int64_t numel = 1;
  std::string dims = header.substr(a + 1, b - a - 1);
  size_t i = 0;
  while (i < dims.size()) {
    while (i < dims.size() && (dims[i] == ' ' || dims[i] == ',')) ++i;
    if (i >= dims.size()) break;
    size_t j = i;
    while (j < dims.size() && dims[j] >= '0' && dims[j] <= '9') ++j;
    SEEK_CHECK(j > i, "{}: bad shape '{}'", path.string(), dims);
    shape->push_back(std::stoll(dims.substr(i, j - i)));
    numel *= shape->back();
    i = j;
  }
  std::vector<float> out(static_cast<size_t>(numel));
  f.read(reinterpret_cast<char*>(out.data()), std::streamsize(numel * 4));
  SEEK_CHECK(f.good(), "{}: file is shorter than its shape says", path.string());
  return out;
}

}  // namespace seek
