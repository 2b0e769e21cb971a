#include "infer/npy.hpp"

#include <fmt/format.h>

#include <cstring>
#include <string>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/read_file.hpp"

namespace seek {

void write_npy(const std::filesystem::path& path, const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  int64_t numel = 1;
  for (int64_t s : shape) {
    dims += fmt::format("{}, ", s);
    numel *= s;
  }
  // A 1-D shape keeps its comma, "(3, )"; "(3, 4)" does not.
  if (shape.size() > 1) dims.resize(dims.size() - 2);
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
  const std::string all = read_file(path);  // errors say why (missing, a folder, unreadable)
  SEEK_CHECK(all.size() >= 10 && std::memcmp(all.data(), "\x93NUMPY\x01\x00", 8) == 0,
             "{} is not a version 1 .npy file", path.string());
  const size_t hlen = size_t(uint8_t(all[8])) | (size_t(uint8_t(all[9])) << 8);
  SEEK_CHECK(all.size() >= 10 + hlen, "{}: file is shorter than its header", path.string());
  const std::string header = all.substr(10, hlen);
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
    // At most 18 digits, so std::stoll cannot overflow (it would throw std::out_of_range, an internal error).
    SEEK_CHECK(j > i && j - i <= 18, "{}: bad shape '{}'", path.string(), dims);
    shape->push_back(std::stoll(dims.substr(i, j - i)));
    SEEK_CHECK(!__builtin_mul_overflow(numel, shape->back(), &numel), "{}: shape ({}) is too large",
               path.string(), dims);
    i = j;
  }
  SEEK_CHECK((all.size() - 10 - hlen) / 4 >= size_t(numel), "{}: file is shorter than its shape says",
             path.string());
  std::vector<float> out(static_cast<size_t>(numel));
  std::memcpy(out.data(), all.data() + 10 + hlen, size_t(numel) * 4);
  return out;
}

}  // namespace seek
