// 64-byte aligned, zero-initialised arrays: one cache line and one AVX-512 register per alignment unit.
#pragma once
#include <sys/mman.h>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace seek {

inline constexpr size_t kAlignment = 64;
inline constexpr size_t kHugePage = size_t(2) << 20;
inline constexpr size_t kHugeThreshold = size_t(4) << 20;

// Uninitialised memory for a large streamed array (weights, caches, activations): 2 MB aligned and advised
// onto transparent huge pages where the kernel allows it, so reading it is not a TLB miss every 4 KB. `bytes`
// is rounded up to whole huge pages. Release with std::free.
inline void* huge_page_alloc(size_t bytes) {
  bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, bytes);
  if (!p) throw std::bad_alloc();
  madvise(p, bytes, MADV_HUGEPAGE);  // a hint; failure leaves normal pages
  return p;
}

template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { resize(n); }
  AlignedBuffer(const AlignedBuffer& o) : AlignedBuffer(o.n_) { std::memcpy(p_, o.p_, n_ * sizeof(T)); }
  AlignedBuffer& operator=(const AlignedBuffer& o) {
    if (this != &o) {
      resize(o.n_);
      std::memcpy(p_, o.p_, n_ * sizeof(T));
    }
    return *this;
  }
  AlignedBuffer(AlignedBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  ~AlignedBuffer() { std::free(p_); }

  // Resizes and zero-fills; previous contents are discarded.
  void resize(size_t n) {
    std::free(p_);
    p_ = nullptr;
    n_ = n;
    if (n == 0) return;
    const bool huge = n * sizeof(T) >= kHugeThreshold;
    const size_t align = huge ? kHugePage : kAlignment;
    size_t bytes = (n * sizeof(T) + align - 1) / align * align;
    p_ = static_cast<T*>(huge ? huge_page_alloc(bytes) : std::aligned_alloc(align, bytes));
    if (!p_) throw std::bad_alloc();
    std::memset(static_cast<void*>(p_), 0, bytes);
  }
  void zero() {
    if (n_) std::memset(static_cast<void*>(p_), 0, n_ * sizeof(T));
  }

  T* data() { return p_; }
  const T* data() const { return p_; }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }
  T* begin() { return p_; }
  T* end() { return p_ + n_; }
  const T* begin() const { return p_; }
  const T* end() const { return p_ + n_; }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace seek
