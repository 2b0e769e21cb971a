// Unicode tables for NFC normalization (generated into nfc_data.cpp by tools/gen_nfc_data.py), each sorted by
// its first field for binary search. Hangul syllables are handled algorithmically and are not listed.
#pragma once
#include <cstddef>
#include <cstdint>

namespace seek::tok::nfc_data {

struct CombiningClass {
  uint32_t cp;
  uint8_t ccc;
};
struct Decomposition {
  uint32_t cp, first, second;  // second == 0: a singleton decomposition
};
struct Composition {
  uint32_t first, second, composite;
};

extern const CombiningClass kCombiningClass[];
extern const size_t kCombiningClassCount;
extern const Decomposition kDecomposition[];
extern const size_t kDecompositionCount;
extern const Composition kComposition[];
extern const size_t kCompositionCount;

}  // namespace seek::tok::nfc_data
