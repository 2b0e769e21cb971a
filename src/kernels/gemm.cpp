#include "kernels/gemm.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <bit>
#include <list>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include "core/aligned.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/resources.hpp"
#include "core/thread_count.hpp"
#include "kernels/onednn_engine.hpp"

namespace seek {
namespace {

struct Key {
  bool bf16;    // bf16 operands (raw bits), fp32 accumulation and output; otherwise all fp32
  bool packed;  // B in the blocked layout oneDNN prefers (a PackedWeight; ldb unused), else strided
  bool ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  size_t operator()(const Key& k) const {
    size_t h = 1469598103934665603ull;
    auto mix = [&](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
    mix(k.ta | (k.tb << 1) | (k.bf16 << 2) | (k.packed << 3));
    for (int64_t v : {k.M, k.N, k.K, k.lda, k.ldb, k.ldc}) mix(uint64_t(v));
    mix(std::hash<float>()(k.alpha));
    mix(std::hash<float>()(k.beta));
    return h;
  }
};

// Primitive creation JITs code (~0.1-1 ms), so primitives are kept, the least recently used going first once
// the cache is full. Each one's kernels reserve ~0.8 MB of address space (oneDNN 2.6: 256 KB per kernel, a
// few kernels per matmul; 200 shapes added 160 MB to the virtual size), which costs nothing until `ulimit -v`
// bounds it: there the cache holds only what generated_code_budget_bytes() allows.
constexpr size_t kMaxCached = 4096;
constexpr long long kAddressPerPrimitive = 1LL << 20;  // the ~0.8 MB measured, rounded up

size_t cache_capacity() {
  const long long budget = generated_code_budget_bytes();
  if (budget < 0) return kMaxCached;
  return size_t(std::clamp<long long>(budget / kAddressPerPrimitive, 16, kMaxCached));
}

struct Engine {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  std::mutex mu;
  std::list<Key> recency;  // most recently used first
  std::unordered_map<Key, std::pair<OneDnnMatmul, std::list<Key>::iterator>, KeyHash> cache;
  size_t onednn_cache_capacity = size_t(-1);  // what oneDNN's own cache was last set to (-1: its default)
};

Engine& engine() {
  // Before the first primitive: oneDNN splits a GEMM for omp_get_max_threads() threads, so every team must be
  // whole (core/thread_count.hpp), also where seek's main() did not run (tests, benchmarks, library users).
  [[maybe_unused]] static const int threads = keep_openmp_teams_whole();
  static Engine e;
  return e;
}

using dt = dnnl::memory::data_type;

dnnl::memory::desc strided_desc(int64_t rows, int64_t cols, int64_t ld, bool transposed, dt type = dt::f32) {
  // Logical [rows, cols]; stored row-major with leading dim ld, or as the transpose ([cols, rows], ld).
  if (!transposed) return dnnl::memory::desc({rows, cols}, type, {ld, 1});
  return dnnl::memory::desc({rows, cols}, type, {1, ld});
}

// By value: the handles are reference-counted, and another thread may clear the cache meanwhile.
OneDnnMatmul get_matmul(const Key& k) {
  Engine& e = engine();
  std::lock_guard<std::mutex> lock(e.mu);
  auto it = e.cache.find(k);
  if (it != e.cache.end()) {
    e.recency.splice(e.recency.begin(), e.recency, it->second.second);
    return it->second.first;
  }
  // Read at every miss, not once: a limit set after start-up (or in a forked child) takes effect.
  const size_t capacity = cache_capacity();
  if (capacity < kMaxCached && e.onednn_cache_capacity != 0) {
    // oneDNN's own primitive cache would keep the kernels this one evicts alive: under a limit this one is
    // the only holder (the reorders that pack weights are then compiled afresh each time, a few per model).
    dnnl::set_primitive_cache_capacity(0);
    e.onednn_cache_capacity = 0;
  }
  while (e.cache.size() >= capacity) {
    e.cache.erase(e.recency.back());
    e.recency.pop_back();
  }
  const dt in = k.bf16 ? dt::bf16 : dt::f32;
  auto a = strided_desc(k.M, k.K, k.lda, k.ta, in);
  auto b = k.packed ? dnnl::memory::desc({k.K, k.N}, in, dnnl::memory::format_tag::any)
                    : strided_desc(k.K, k.N, k.ldb, k.tb, in);
  auto c = strided_desc(k.M, k.N, k.ldc, false);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // see onednn_engine.hpp
  // fp32 products stay fp32 whatever ONEDNN_DEFAULT_FPMATH_MODE says: oneDNN reads it into every primitive
  // made without this, and where it is honoured (bf16/tf32 units) every fp32 GEMM would round its inputs.
  attr.set_fpmath_mode(dnnl::fpmath_mode::strict);
  if (k.alpha != 1.0f) attr.set_output_scales(0, {k.alpha});
  if (k.beta != 0.0f) {
    dnnl::post_ops po;
    po.append_sum(k.beta);
    attr.set_post_ops(po);
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, e.eng);
  const OneDnnMatmul m{dnnl::matmul(pd), pd.weights_desc(), pd.scratchpad_desc()};
  e.recency.push_front(k);
  e.cache.emplace(k, std::pair{m, e.recency.begin()});
  return m;
}

}  // namespace

OneDnnMatmul packed_matmul(bool bf16, int64_t M, int64_t N, int64_t K, int64_t ldx, int64_t ldy) {
  return get_matmul(Key{bf16, true, false, true, M, N, K, ldx, 0, ldy, 1.0f, 0.0f});
}

dnnl::engine& onednn_engine() {
  return engine().eng;
}
dnnl::stream& onednn_stream() {
  thread_local dnnl::stream stream{engine().eng};
  return stream;
}

void run_matmul(const OneDnnMatmul& m, const dnnl::memory& src, const dnnl::memory& weights,
                const dnnl::memory& dst) {
  thread_local AlignedBuffer<char> scratch;
  const size_t bytes = m.scratchpad.get_size();
  if (scratch.size() < bytes) scratch.resize(bytes);
  const dnnl::memory pad(m.scratchpad, engine().eng, bytes > 0 ? scratch.data() : nullptr);
  m.prim.execute(
      onednn_stream(),
      {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, pad}});
  onednn_stream().wait();
}

template <>
void gemm<float>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  const OneDnnMatmul m = get_matmul(Key{false, false, ta, tb, M, N, K, lda, ldb, ldc, alpha, beta});
  Engine& e = engine();
  auto a = dnnl::memory(strided_desc(M, K, lda, ta), e.eng, const_cast<float*>(A));
  auto b = dnnl::memory(strided_desc(K, N, ldb, tb), e.eng, const_cast<float*>(B));
  auto c = dnnl::memory(strided_desc(M, N, ldc, false), e.eng, C);
  run_matmul(m, a, b, c);
}

bool have_bf16_gemm() {
  static const bool have = [] {
    // Native bf16 dot products only (AVX512-BF16 or AMX, as oneDNN sees the CPU, DNNL_MAX_CPU_ISA included):
    // on plain AVX-512 oneDNN still offers a bf16 matmul, emulated with fp32 instructions at well under the
    // fp32 rate, so widening the weights for an fp32 GEMM is the better path there.
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);  // the ISA values nest as bits
    if ((isa & bf16) != bf16) return false;
    try {
      get_matmul(Key{true, false, false, true, 8, 8, 32, 32, 32, 8, 1.0f, 0.0f});
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return have;
}

void round_rows_to_bf16(const float* X, int64_t ldx, int64_t M, int64_t K, uint16_t* dst) {
#pragma omp parallel for schedule(static) if (M * K >= (1 << 16))
  for (int64_t m = 0; m < M; ++m) {
    const float* __restrict src = X + m * ldx;
    uint16_t* __restrict out = dst + m * K;
#pragma omp simd
    for (int64_t k = 0; k < K; ++k) out[k] = f32_to_bf16(src[k]);
  }
}

void gemm_bf16_nt(int64_t M, int64_t N, int64_t K, const uint16_t* X, int64_t ldx, const uint16_t* W,
                  int64_t ldw, float* Y, int64_t ldy) {
  if (M == 0 || N == 0) return;
  SEEK_CHECK(have_bf16_gemm(), "internal: gemm_bf16_nt called where oneDNN has no bf16 matmul");
  SEEK_CHECK(K > 0, "internal: gemm_bf16_nt with K = 0");
  const OneDnnMatmul m = get_matmul(Key{true, false, false, true, M, N, K, ldx, ldw, ldy, 1.0f, 0.0f});
  Engine& e = engine();
  auto a = dnnl::memory(strided_desc(M, K, ldx, false, dt::bf16), e.eng, const_cast<uint16_t*>(X));
  auto b = dnnl::memory(strided_desc(K, N, ldw, true, dt::bf16), e.eng, const_cast<uint16_t*>(W));
  auto c = dnnl::memory(strided_desc(M, N, ldy, false), e.eng, Y);
  run_matmul(m, a, b, c);
}

template <>
void gemm<double>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
                  int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  // Reference-quality loop for fp64 gradient checks; the i-k-j order keeps the inner loop contiguous in C.
// Small products (gradient checks run thousands) stay on one thread: waking a team costs more.
#pragma omp parallel for schedule(static) if (M * N * K > (1 << 16))
  for (int64_t i = 0; i < M; ++i) {
    double* c = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) c[j] = beta == 0.0 ? 0.0 : beta * c[j];
    for (int64_t k = 0; k < K; ++k) {
      double a = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);
      if (!tb) {
        const double* b = B + k * ldb;
        for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
      } else {
        for (int64_t j = 0; j < N; ++j) c[j] += a * B[j * ldb + k];
      }
    }
  }
}

int64_t gemm_rows_bucket(int64_t n) {
  if (n <= 32) return n;
  const int64_t quantum = int64_t(1) << (std::bit_width(uint64_t(n)) - 5);
  return (n + quantum - 1) / quantum * quantum;
}

size_t gemm_cache_size() {
  Engine& e = engine();
  std::lock_guard<std::mutex> lock(e.mu);
  return e.cache.size();
}

size_t gemm_cache_capacity() {
  return cache_capacity();
}

}  // namespace seek
