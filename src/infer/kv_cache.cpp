#include "infer/kv_cache.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/aligned.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"

namespace seek {

const char* cache_type_name(CacheType t) {
  switch (t) {
    case CacheType::F32:
      return "f32";
    case CacheType::BF16:
      return "bf16";
    case CacheType::FP8:
      return "fp8";
  }
  return "?";
}

bool cache_type_from_name(std::string_view s, CacheType* out) {
  for (CacheType t : {CacheType::F32, CacheType::BF16, CacheType::FP8})
    if (s == cache_type_name(t)) {
      *out = t;
      return true;
    }
  return false;
}

namespace {

int64_t row_bytes_of(CacheType t, int64_t width, int64_t group, int64_t tail) {
  switch (t) {
    case CacheType::F32:
      return 4 * width;
    case CacheType::BF16:
      return 2 * width;
    case CacheType::FP8:
      return (width - tail) + 4 * ((width - tail) / group) + 2 * tail;
  }
  return 0;
}

// e4m3fn byte -> float without a table: the 7 magnitude bits shifted into a float's exponent/mantissa
// position give 2^(e-127)·(1+m/8) for e > 0, which times 2^120 is the e4m3 value 2^(e-7)·(1+m/8); subnormals
// (e == 0) are m·2^-9, computed apart so the result does not depend on the CPU's denormals-are-zero setting.
inline float fp8_value(uint8_t b) {
  const uint32_t mag = b & 0x7fu;
  float v;
  if ((mag >> 3) == 0) {
    v = float(mag) * 0x1p-9f;
  } else {
    const uint32_t bits = mag << 20;
    std::memcpy(&v, &bits, 4);
    v *= 0x1p120f;
  }
  return (b & 0x80u) ? -v : v;
}

void store_bf16(const float* src, int64_t n, uint8_t* dst) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = f32_to_bf16(src[i]);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

// GCC 12 flags the deliberately undefined pass-through operand of AVX-512 intrinsics (a known false
// positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
void load_bf16(const uint8_t* src, int64_t n, float* out) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16) {
    const __m512i h =
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i)));
    _mm512_storeu_ps(out + i, _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)));
  }
#endif
  for (; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    out[i] = bf16_to_f32(h);
  }
}
#pragma GCC diagnostic pop

}  // namespace

KvCache::KvCache(int64_t layers, int64_t width, CacheType type, int64_t block_tokens, int64_t group,
                 int64_t bf16_tail)
    : layers_(layers),
      width_(width),
      type_(type),
      bt_(block_tokens),
      group_(group),
      tail_(type == CacheType::FP8 ? bf16_tail : 0) {
  SEEK_CHECK(layers > 0 && width > 0 && block_tokens > 0, "KV cache needs positive sizes, got {} {} {}",
             layers, width, block_tokens);
  if (type == CacheType::FP8)
    SEEK_CHECK(tail_ >= 0 && tail_ < width && group > 0 && (width - tail_) % group == 0 && group % 4 == 0,
               "fp8 KV cache: the scaling group ({}) must be a multiple of 4 dividing the {} fp8 values of a "
               "row (width {}, bf16 tail {})",
               group, width - tail_, width, tail_);
  row_bytes_ = row_bytes_of(type, width, group, tail_);
}

void KvCache::write_row(int seq, int64_t layer, int64_t pos, const float* src) {
  uint8_t* dst = row_data(seq, layer, pos);
  switch (type_) {
    case CacheType::F32:
      std::memcpy(dst, src, sizeof(float) * size_t(width_));
      return;
    case CacheType::BF16:
      store_bf16(src, width_, dst);
      return;
    case CacheType::FP8: {
      const int64_t nq = width_ - tail_;
      for (int64_t g = 0; g < nq / group_; ++g) {
        const float* x = src + g * group_;
        float amax = 0.0f;
        bool finite = true;
        for (int64_t i = 0; i < group_; ++i) {
          finite = finite && std::isfinite(x[i]);
          amax = std::max(amax, std::fabs(x[i]));
        }
        // The floor keeps 1/scale finite for groups of tiny values.
        const float scale = !finite ? std::numeric_limits<float>::quiet_NaN()
                                    : std::max(amax / 448.0f, std::numeric_limits<float>::min());
        const float inv = 1.0f / scale;
        for (int64_t i = 0; i < group_; ++i) dst[g * group_ + i] = f32_to_f8e4m3(finite ? x[i] * inv : 0.0f);
        std::memcpy(dst + nq + 4 * g, &scale, 4);
      }
      store_bf16(src + nq, tail_, dst + nq + 4 * (nq / group_));
      return;
    }
  }
}

// GCC 12 flags the deliberately undefined pass-through operand of AVX-512 intrinsics (a known false
// positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
void KvCache::decode_row(const uint8_t* row, float* out) const {
  if (type_ == CacheType::F32) {
    std::memcpy(out, row, sizeof(float) * size_t(width_));
    return;
  }
  if (type_ == CacheType::BF16) {
    load_bf16(row, width_, out);
    return;
  }
  const int64_t nq = width_ - tail_;
  load_bf16(row + nq + 4 * (nq / group_), tail_, out + nq);
  for (int64_t g = 0; g < nq / group_; ++g) {
    float scale;
    std::memcpy(&scale, row + nq + 4 * g, 4);
    const uint8_t* q = row + g * group_;
    float* o = out + g * group_;
    int64_t i = 0;
#if defined(__AVX512F__)
    const __m512 vscale = _mm512_set1_ps(scale);
    for (; i + 16 <= group_; i += 16) {
      const __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i)));
      const __m512i mag = _mm512_and_si512(b, _mm512_set1_epi32(0x7f));
      const __m512 normal =
          _mm512_mul_ps(_mm512_castsi512_ps(_mm512_slli_epi32(mag, 20)), _mm512_set1_ps(0x1p120f));
      const __m512 sub = _mm512_mul_ps(_mm512_cvtepi32_ps(mag), _mm512_set1_ps(0x1p-9f));
      const __mmask16 is_sub = _mm512_cmplt_epi32_mask(mag, _mm512_set1_epi32(8));
      __m512 v = _mm512_mask_blend_ps(is_sub, normal, sub);
      const __m512i sign = _mm512_slli_epi32(_mm512_and_si512(b, _mm512_set1_epi32(0x80)), 24);
      v = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(v), sign));
      _mm512_storeu_ps(o + i, _mm512_mul_ps(v, vscale));
    }
#endif
    for (; i < group_; ++i) o[i] = fp8_value(q[i]) * scale;
  }
}
#pragma GCC diagnostic pop

void KvCache::FreeSlab::operator()(uint8_t* p) const {
  std::free(p);
}

int KvCache::alloc_block() {
  int b;
  if (free_.empty()) {
    // A new slab: as many blocks as fit in 32 MB (at least one), on huge pages.
    constexpr size_t kSlab = size_t(32) << 20;
    const size_t bb = size_t(block_bytes());
    const size_t count = std::max<size_t>(1, kSlab / bb);
    auto* p = static_cast<uint8_t*>(huge_page_alloc(count * bb));
    slabs_.emplace_back(p);
    const int first = int(blocks_.size());
    for (size_t i = 0; i < count; ++i) {
      blocks_.push_back(p + i * bb);
      refs_.push_back(0);
    }
    for (size_t i = count; i-- > 0;) free_.push_back(first + int(i));  // handed out in address order
  }
  b = free_.back();
  free_.pop_back();
  refs_[size_t(b)] = 1;
  peak_blocks_ = std::max(peak_blocks_, blocks_in_use());
  return b;
}

void KvCache::unref(int b) {
  if (--refs_[size_t(b)] == 0) free_.push_back(b);
}

int KvCache::create() {
  int s;
  if (!free_seqs_.empty()) {
    s = free_seqs_.back();
    free_seqs_.pop_back();
  } else {
    s = int(seqs_.size());
    seqs_.emplace_back();
  }
  seqs_[size_t(s)] = Seq{true, 0, {}};
  return s;
}

int KvCache::fork(int parent, int64_t n) {
  SEEK_CHECK(seqs_[size_t(parent)].live && n <= seqs_[size_t(parent)].len,
             "internal: fork of {} rows from a sequence of {}", n, seqs_[size_t(parent)].len);
  int s = create();
  const int64_t nb = (n + bt_ - 1) / bt_;
  // Copy before touching seqs_ again: create() may have reallocated it.
  std::vector<int> shared(seqs_[size_t(parent)].blocks.begin(), seqs_[size_t(parent)].blocks.begin() + nb);
  for (int b : shared) ++refs_[size_t(b)];
  seqs_[size_t(s)].blocks = std::move(shared);
  seqs_[size_t(s)].len = n;
  return s;
}

void KvCache::release(int seq) {
  Seq& s = seqs_[size_t(seq)];
  if (!s.live) return;
  for (int b : s.blocks) unref(b);
  s = Seq{};
  free_seqs_.push_back(seq);
}

void KvCache::prepare(int seq, int64_t from, int64_t len) {
  Seq& s = seqs_[size_t(seq)];
  SEEK_CHECK(s.live, "internal: prepare on a released sequence");
  const int64_t need = (len + bt_ - 1) / bt_;
  // Copy on write for shared blocks that will receive rows [from, len).
  for (int64_t bi = from / bt_; bi < std::min<int64_t>(need, int64_t(s.blocks.size())); ++bi) {
    int b = s.blocks[size_t(bi)];
    if (refs_[size_t(b)] == 1) continue;
    int nb = alloc_block();
    std::memcpy(blocks_[size_t(nb)], blocks_[size_t(b)], size_t(block_bytes()));
    unref(b);
    s.blocks[size_t(bi)] = nb;
  }
  while (int64_t(s.blocks.size()) < need) s.blocks.push_back(alloc_block());
  s.len = std::max(s.len, len);
}

}  // namespace seek
