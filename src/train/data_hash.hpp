// Hashes for the token cache key: XXH64 (a fast, well-tested 64-bit hash, written out here because the
// headers are not installed) and a block-parallel variant for whole input files, so hashing a multi-gigabyte
// corpus on every open costs a fraction of a second.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace seek::data {

// The reference XXH64 of n bytes (same values as xxhsum -H64 / XXH64()).
uint64_t xxh64(const void* data, size_t n, uint64_t seed = 0);
inline uint64_t xxh64(std::string_view s, uint64_t seed = 0) {
  return xxh64(s.data(), s.size(), seed);
}

// Hash of a buffer of any size: 8 MiB blocks hashed in parallel, then the block hashes hashed together.
// Not XXH64 of the whole buffer, but just as sensitive to every byte, and independent of the thread count.
uint64_t content_hash(const void* data, size_t n, int threads = 0);

// splitmix64's finaliser: a cheap bijective mix, for deriving seeds and per-document coin flips.
inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// 16 lower-case hex digits.
std::string hex64(uint64_t h);

}  // namespace seek::data
