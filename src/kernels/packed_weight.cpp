#include "kernels/packed_weight.hpp"

#include <atomic>
#include <vector>

#include "core/aligned.hpp"
#include "core/error.hpp"
#include "kernels/gemm.hpp"
#include "kernels/onednn_engine.hpp"

namespace seek {

namespace {

using dt = dnnl::memory::data_type;

std::atomic<bool> keep_plain_for_tests{false};

}  // namespace

struct PackedWeight::Impl {
  dnnl::memory::desc desc;
  AlignedBuffer<char> data;
};

PackedWeight::PackedWeight(const float* W, int64_t N, int64_t K) : N_(N), K_(K), bf16_(false) {
  pack(W);
}

PackedWeight::PackedWeight(const uint16_t* W, int64_t N, int64_t K) : N_(N), K_(K), bf16_(true) {
  SEEK_CHECK(have_bf16_gemm(), "internal: bf16 PackedWeight where oneDNN has no native bf16 matmul");
  pack(W);
}

PackedWeight::~PackedWeight() = default;

void PackedWeight::pack(const void* W) {
  SEEK_CHECK(N_ > 0 && K_ > 0, "internal: PackedWeight of shape [{}, {}]", N_, K_);
  impl_ = std::make_unique<Impl>();
  // The layout a single-row product asks for; products over more rows ask for the same one on the CPUs
  // measured (AVX-512, AVX512-BF16). Where one does not, apply() repacks per call: correct, slower.
  const dt in = bf16_ ? dt::bf16 : dt::f32;
  const dnnl::memory::desc plain({K_, N_}, in, {1, K_});  // W [N, K] row-major is Wᵀ [K, N] column-major
  impl_->desc = keep_plain_for_tests.load(std::memory_order_relaxed)
                    ? plain
                    : packed_matmul(bf16_, 1, N_, K_, K_, N_).weights;
  impl_->data.resize(impl_->desc.get_size());
  dnnl::memory src(plain, onednn_engine(), const_cast<void*>(W));
  dnnl::memory dst(impl_->desc, onednn_engine(), impl_->data.data());
  dnnl::reorder(src, dst).execute(onednn_stream(), src, dst);
  onednn_stream().wait();
}

size_t PackedWeight::bytes() const {
  return impl_->desc.get_size();
}

void PackedWeight::apply(const float* X, int64_t ldx, float* Y, int64_t ldy, int64_t M) const {
  if (M == 0) return;
  const void* x = X;
  int64_t ld = ldx;
  thread_local std::vector<uint16_t> rounded;
  if (bf16_) {
    rounded.resize(size_t(M * K_));
    uint16_t* buf = rounded.data();
    round_rows_to_bf16(X, ldx, M, K_, buf);
    x = buf;
    ld = K_;
  }
  const OneDnnMatmul p = packed_matmul(bf16_, M, N_, K_, ld, ldy);
  const dt in = bf16_ ? dt::bf16 : dt::f32;
  dnnl::memory xm(dnnl::memory::desc({M, K_}, in, {ld, 1}), onednn_engine(), const_cast<void*>(x));
  dnnl::memory ym(dnnl::memory::desc({M, N_}, dt::f32, {ldy, 1}), onednn_engine(), Y);
  dnnl::memory wm(impl_->desc, onednn_engine(), impl_->data.data());
  if (p.weights != impl_->desc) {
    thread_local AlignedBuffer<char> repacked;
    if (repacked.size() < p.weights.get_size()) repacked.resize(p.weights.get_size());
    dnnl::memory r(p.weights, onednn_engine(), repacked.data());
    dnnl::reorder(wm, r).execute(onednn_stream(), wm, r);
    wm = r;
  }
  run_matmul(p, xm, wm, ym);
}

void packed_weight_keep_plain_for_tests(bool on) {
  keep_plain_for_tests = on;
}

}  // namespace seek
