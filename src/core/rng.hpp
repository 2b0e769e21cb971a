// Deterministic random numbers: the same seed gives the same stream on every machine and thread count.
// xoshiro256** seeded through splitmix64; normals by Box-Muller without caching so state is one struct.
#pragma once
#include <cmath>
#include <cstdint>

namespace seek {

struct Rng {
  uint64_t s[4];

  explicit Rng(uint64_t seed = 0) { reseed(seed); }

  void reseed(uint64_t seed) {
    for (auto& x : s) {
      seed += 0x9e3779b97f4a7c15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      x = z ^ (z >> 31);
    }
  }

  uint64_t next_u64() {
    auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }

  // Uniform integer in [0, n) without modulo bias (Lemire's method).
  uint64_t below(uint64_t n) {
    __uint128_t m = __uint128_t(next_u64()) * n;
    uint64_t lo = uint64_t(m);
    if (lo < n) {
      uint64_t t = -n % n;
      while (lo < t) {
        m = __uint128_t(next_u64()) * n;
        lo = uint64_t(m);
      }
    }
    return uint64_t(m >> 64);
  }

  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
};

}  // namespace seek
