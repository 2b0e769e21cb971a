// NFC (decompose, canonical order, recompose) over generated Unicode tables, and the normalizer config.
#include "tokenizer/normalizer.hpp"

#include <algorithm>
#include <vector>

#include "core/error.hpp"
#include "core/untrusted_json.hpp"
#include "tokenizer/nfc_data.hpp"
#include "tokenizer/utf8.hpp"

namespace seek::tok {
namespace {

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

uint8_t ccc(uint32_t cp) {
  using nfc_data::kCombiningClass;
  auto* end = kCombiningClass + nfc_data::kCombiningClassCount;
  auto* it = std::lower_bound(kCombiningClass, end, cp, [](const auto& e, uint32_t c) { return e.cp < c; });
  return it != end && it->cp == cp ? it->ccc : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  using nfc_data::kDecomposition;
  auto* end = kDecomposition + nfc_data::kDecompositionCount;
  auto* it = std::lower_bound(kDecomposition, end, cp, [](const auto& e, uint32_t c) { return e.cp < c; });
  if (it == end || it->cp != cp) {
    out.push_back(cp);
    return;
  }
  decompose(it->first, out);
  if (it->second) decompose(it->second, out);
}

// The primary composite of (a, b), or 0.
uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  using nfc_data::kComposition;
  auto* end = kComposition + nfc_data::kCompositionCount;
  auto* it = std::lower_bound(kComposition, end, std::make_pair(a, b), [](const auto& e, const auto& k) {
    return std::make_pair(e.first, e.second) < k;
  });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

// Code points that NFC leaves alone and that start a new stretch of normalization: a starter (combining class
// 0) with no decomposition that is never the second of a composition. Nothing before one reorders or composes
// past it, and it changes only by composing with marks after it, so the text before it normalizes on its own
// and one followed by another is already NFC. Everything below U+0300 is one.
class StableCodePoints {
 public:
  StableCodePoints() : unstable_(size_t(0x110000)) {
    for (size_t i = 0; i < nfc_data::kCombiningClassCount; ++i)
      unstable_[nfc_data::kCombiningClass[i].cp] = true;
    for (size_t i = 0; i < nfc_data::kDecompositionCount; ++i)
      unstable_[nfc_data::kDecomposition[i].cp] = true;
    for (size_t i = 0; i < nfc_data::kCompositionCount; ++i)
      unstable_[nfc_data::kComposition[i].second] = true;
    // Hangul syllables decompose, and vowel and trailing jamo compose with what precedes them.
    for (uint32_t cp = kSBase; cp < kSBase + kSCount; ++cp) unstable_[cp] = true;
    for (uint32_t cp = kVBase; cp < kVBase + kVCount; ++cp) unstable_[cp] = true;
    for (uint32_t cp = kTBase + 1; cp < kTBase + kTCount; ++cp) unstable_[cp] = true;
  }
  bool operator()(uint32_t cp) const { return cp < 0x300 || (cp < 0x110000 && !unstable_[cp]); }

 private:
  std::vector<bool> unstable_;
};

const StableCodePoints& stable_code_points() {
  static const StableCodePoints table;
  return table;
}

// Decompose, order canonically and recompose `s`, appended to `r`.
void nfc_full(std::string_view s, std::string& r) {
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < s.size();) decompose(utf8_next(s, i), cps);
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  for (size_t a = 0; a < cps.size();) {
    if (ccc(cps[a]) == 0) {
      ++a;
      continue;
    }
    size_t b = a;
    while (b < cps.size() && ccc(cps[b]) != 0) ++b;
    std::stable_sort(cps.begin() + a, cps.begin() + b,
                     [](uint32_t x, uint32_t y) { return ccc(x) < ccc(y); });
    a = b;
  }
  // Canonical composition.
  std::vector<uint32_t> out;
  out.reserve(cps.size());
  ptrdiff_t starter = -1;
  int last_ccc = -1;
  for (uint32_t cp : cps) {
    int c = ccc(cp);
    if (starter >= 0 && (last_ccc < c || (last_ccc == 0 && ptrdiff_t(out.size()) == starter + 1))) {
      if (uint32_t comp = compose(out[starter], cp)) {
        out[starter] = comp;
        continue;
      }
    }
    if (c == 0)
      starter = ptrdiff_t(out.size()), last_ccc = 0;
    else
      last_ccc = c;
    out.push_back(cp);
  }
  for (uint32_t cp : out) utf8_append(r, cp);
}

}  // namespace

std::string nfc_unsegmented(std::string_view s) {
  std::string r;
  r.reserve(s.size());
  nfc_full(s, r);
  return r;
}

std::string nfc(std::string_view s) {
  // Stable code points are copied; each stretch from the last one before an unstable code point to the next
  // stable one goes through the full algorithm on its own. Text with one accented letter or one CJK mark in
  // a long document used to be decomposed and recomposed whole, at half the tokenizer's speed.
  const StableCodePoints& stable = stable_code_points();
  std::string r;
  size_t copied = 0;       // s[0, copied) is in r
  size_t last_stable = 0;  // where the latest stable code point starts
  for (size_t i = 0; i < s.size();) {
    const size_t at = i;
    if (stable(utf8_next(s, i))) {
      last_stable = at;
      continue;
    }
    if (r.capacity() == 0) r.reserve(s.size() + s.size() / 8);
    // The code point before `at`, if any, is the stable one at last_stable: an earlier stretch ended there.
    const size_t begin = at == 0 ? 0 : last_stable;
    r.append(s.substr(copied, begin - copied));
    size_t end = i;
    while (end < s.size()) {
      size_t next = end;
      if (stable(utf8_next(s, next))) break;
      end = next;
    }
    nfc_full(s.substr(begin, end - begin), r);
    copied = i = end;
  }
  if (copied == 0) return std::string(s);
  r.append(s.substr(copied));
  return r;
}

Normalizer Normalizer::from_json(const nlohmann::json& j, const std::string& where) {
  Normalizer n;
  if (!j.is_null()) n.add(j, where);
  return n;
}

void Normalizer::add(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    fail("{}: expected an object with a \"type\", got {}", where, describe_json(j));
  std::string type = j["type"].get<std::string>();
  if (type == "Sequence") {
    auto it = j.find("normalizers");
    if (it == j.end() || !it->is_array()) fail("{}: Sequence needs a \"normalizers\" array", where);
    for (size_t i = 0; i < it->size(); ++i) add((*it)[i], where + ".normalizers[" + std::to_string(i) + "]");
  } else if (type == "NFC") {
    nfc_ = true;
  } else {
    fail("{}: unsupported normalizer type \"{}\" (supported: Sequence, NFC)", where, type);
  }
}

std::string_view Normalizer::apply(std::string_view s, std::string& storage) const {
  if (!nfc_) return s;
  storage = nfc(s);
  return storage;
}

}  // namespace seek::tok
