// Element-wise dtype conversion loops. The dtype switch sits outside the loop so each loop body is a plain
// load-convert-store the compiler can vectorise; loads use memcpy because mmapped tensors are unaligned.
#include "io/convert.hpp"

#include <array>
#include <cstring>

#include "core/error.hpp"

namespace seek {

namespace {

// Below this many elements the OpenMP fork costs more than the conversion.
constexpr size_t kParallelMin = size_t(1) << 16;

template <typename S>
S load(const std::byte* p, size_t i) {
  S v;
  std::memcpy(&v, p + i * sizeof(S), sizeof(S));
  return v;
}

// 256-entry decode table; e4m3 decoding is branchy, a lookup is not.
const std::array<float, 256>& fp8_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[size_t(i)] = f8e4m3_to_f32(uint8_t(i));
    return t;
  }();
  return table;
}

template <typename Out, typename F>
void parallel_map(size_t n, Out* out, F f) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (size_t i = 0; i < n; ++i) out[i] = f(i);
}

template <typename Out>
void convert_to(DType t, const std::byte* src, size_t n, Out* out) {
  switch (t) {
    case DType::F32:
      return parallel_map(n, out, [&](size_t i) { return Out(load<float>(src, i)); });
    case DType::F64:
      return parallel_map(n, out, [&](size_t i) { return Out(load<double>(src, i)); });
    case DType::BF16:
      return parallel_map(n, out, [&](size_t i) { return Out(bf16_to_f32(load<uint16_t>(src, i))); });
    case DType::F16:
      return parallel_map(n, out, [&](size_t i) { return Out(f16_to_f32(load<uint16_t>(src, i))); });
    case DType::F8_E4M3: {
      const auto& table = fp8_table();
      return parallel_map(n, out, [&](size_t i) { return Out(table[load<uint8_t>(src, i)]); });
    }
    case DType::I64:
      return parallel_map(n, out, [&](size_t i) { return Out(load<int64_t>(src, i)); });
    case DType::I32:
      return parallel_map(n, out, [&](size_t i) { return Out(load<int32_t>(src, i)); });
  }
  fail("convert: unhandled dtype {}", int(t));
}

template <typename Out>
void dequantize(const uint8_t* wq, int64_t rows, int64_t cols, const float* scale_inv, Out* out,
                bool round_to_bf16) {
  const auto& table = fp8_table();
  const int64_t scale_cols = (cols + kFp8BlockSize - 1) / kFp8BlockSize;
#pragma omp parallel for schedule(static) if (size_t(rows) * size_t(cols) >= kParallelMin)
  for (int64_t i = 0; i < rows; ++i) {
    const float* srow = scale_inv + (i / kFp8BlockSize) * scale_cols;
    const uint8_t* in = wq + i * cols;
    Out* o = out + i * cols;
    for (int64_t j = 0; j < cols; ++j) {
      float v = table[in[j]] * srow[j / kFp8BlockSize];
      if (round_to_bf16) v = bf16_to_f32(f32_to_bf16(v));
      o[j] = Out(v);
    }
  }
}

}  // namespace

void convert_to_float(DType t, const std::byte* src, size_t n, float* out) {
  convert_to(t, src, n, out);
}
void convert_to_double(DType t, const std::byte* src, size_t n, double* out) {
  convert_to(t, src, n, out);
}

void convert_to_int64(DType t, const std::byte* src, size_t n, int64_t* out) {
  switch (t) {
    case DType::I64:
      return parallel_map(n, out, [&](size_t i) { return load<int64_t>(src, i); });
    case DType::I32:
      return parallel_map(n, out, [&](size_t i) { return int64_t(load<int32_t>(src, i)); });
    default:
      fail("cannot read {} data as int64 (only I64 and I32 convert exactly)", dtype_name(t));
  }
}

void dequantize_fp8_blocks(const uint8_t* wq, int64_t rows, int64_t cols, const float* scale_inv, float* out,
                           bool round_to_bf16) {
  dequantize(wq, rows, cols, scale_inv, out, round_to_bf16);
}
void dequantize_fp8_blocks(const uint8_t* wq, int64_t rows, int64_t cols, const float* scale_inv, double* out,
                           bool round_to_bf16) {
  dequantize(wq, rows, cols, scale_inv, out, round_to_bf16);
}

}  // namespace seek
