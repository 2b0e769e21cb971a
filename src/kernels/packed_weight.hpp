// A linear layer's weight repacked once into the blocked layout that oneDNN's matmul reads fastest.
//   W: [N, K] (torch Linear layout), fp32 or bf16 (raw bits);  X: [M, K], leading dim ldx;
//   Y: [M, N], leading dim ldy, overwritten:  Y = X · Wᵀ.
// Why: in the plain row-major layout a product over few rows streams N separate rows (each a new 4 KB page
// to the hardware prefetcher) and over many rows oneDNN repacks blocks of W on every call; packed, every
// call reads the weight as one sequential stream, at any M (bench_gemm's BM_PackedLinear against BM_Gemm,
// and bench_infer's decode rows against their -rowmajor peers: BENCHMARKS.md).
// Each row of Y is computed in an order fixed by K and the layout, so a row's result does not depend on M
// or on the other rows (tested), which keeps a sequence decoded in a batch identical to it decoded alone.
// bf16 weights (only where have_bf16_gemm()): X is rounded to bf16 and the products accumulate in fp32.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace seek {

class PackedWeight {
 public:
  PackedWeight(const float* W, int64_t N, int64_t K);
  PackedWeight(const uint16_t* W, int64_t N, int64_t K);
  ~PackedWeight();
  PackedWeight(const PackedWeight&) = delete;
  PackedWeight& operator=(const PackedWeight&) = delete;

  void apply(const float* X, int64_t ldx, float* Y, int64_t ldy, int64_t M) const;

  int64_t rows() const { return N_; }
  int64_t cols() const { return K_; }
  bool bf16() const { return bf16_; }
  size_t bytes() const;  // memory held, including the layout's padding

 private:
  struct Impl;
  void pack(const void* W);
  int64_t N_, K_;
  bool bf16_;
  std::unique_ptr<Impl> impl_;
};

// Tests only: PackedWeights made while this is on keep the weight in its plain row-major layout, which no
// product asks for, so every apply() takes the per-call repacking path that real layouts never reach.
void packed_weight_keep_plain_for_tests(bool on);

}  // namespace seek
