#include "model/transformer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "kernels/cross_entropy.hpp"
#include "kernels/embedding.hpp"
#include "kernels/gemm.hpp"
#include "kernels/policy_logprob.hpp"
#include "kernels/rmsnorm.hpp"

namespace seek {

template <typename T>
Transformer<T>::Transformer(const ModelConfig& cfg)
    // RoPE rows for the first positions; longer sequences extend the table (a config may claim 2^31).
    : cfg_(cfg), rope_(cfg.rope, std::min<int64_t>(cfg.max_position_embeddings, 4096)) {
  ids_ = build_layout(cfg_, ps_.layout);
  ps_.allocate();
  caches_.resize(ids_.layers.size());
  mtp_.resize(ids_.mtp.size());
}

template <typename T>
void Transformer<T>::init_weights(uint64_t seed) {
  Rng rng(seed);
  for (int id = 0; id < ps_.layout.size(); ++id) {
    const ParamInfo& info = ps_.layout[id];
    T* p = ps_.p(id);
    if (!info.trainable) {
      std::fill(p, p + info.numel, T(0));
    } else if (info.shape.size() == 1) {
      std::fill(p, p + info.numel, T(1));
    } else {
      for (int64_t i = 0; i < info.numel; ++i) p[i] = T(rng.normal() * cfg_.initializer_range);
    }
  }
}

template <typename T>
void Transformer<T>::embed_and_run_layers(const int32_t* tokens, int64_t B, int64_t Tn,
                                          const BalanceOptions& bal, double* balance,
                                          const std::function<void()>* on_layer_pass) {
  const int64_t N = B * Tn, d = cfg_.hidden_size;
  SEEK_CHECK(Tn <= cfg_.max_position_embeddings, "sequence length {} exceeds max_position_embeddings {}", Tn,
             cfg_.max_position_embeddings);
  rope_.extend(Tn);
  mtp_run_ = 0;
  hs_.resize(ids_.layers.size() + 1);
  for (auto& h : hs_) h.resize(size_t(N * d));
  embedding_forward<T>(ps_.p(ids_.embed), tokens, hs_[0].data(), N, cfg_.vocab_size, d);
  for (size_t l = 0; l < ids_.layers.size(); ++l) {
    *balance += layer_forward<T>(cfg_, rope_, ps_, ids_.layers[l], hs_[l].data(), B, Tn, hs_[l + 1].data(),
                                 bal, caches_[l]);
    if (on_layer_pass && *on_layer_pass) (*on_layer_pass)();
  }
  final_norm_.resize(size_t(N * d));
  final_rstd_.resize(size_t(N));
  rmsnorm_forward<T>(hs_.back().data(), d, ps_.p(ids_.final_norm), final_norm_.data(), d, final_rstd_.data(),
                     N, d, cfg_.rms_norm_eps);
}

template <typename T>
int64_t Transformer<T>::layer_passes(int64_t Tn, bool backward, bool with_mtp) const {
  int64_t layers = int64_t(ids_.layers.size());
  for (int64_t k = 1; with_mtp && k <= int64_t(ids_.mtp.size()); ++k) layers += Tn - k > 0;
  return backward ? 2 * layers : layers;
}

template <typename T>
void Transformer<T>::forward_logits(const int32_t* tokens, int64_t B, int64_t Tn, T* logits) {
  double balance = 0;
  embed_and_run_layers(tokens, B, Tn, BalanceOptions{}, &balance);
  output_logits<T>(final_norm_.data(), ps_.p(ids_.head()), logits, B * Tn, cfg_.hidden_size, cfg_.vocab_size);
}

template <typename T>
LossResult Transformer<T>::forward_backward(const int32_t* tokens, const int32_t* targets, int64_t B,
                                            int64_t Tn, const LossOptions& opts, bool backward) {
  const int64_t N = B * Tn, d = cfg_.hidden_size, V = cfg_.vocab_size;
  const int64_t D = opts.mtp_lambda > 0 ? int64_t(ids_.mtp.size()) : 0;
  LossResult res;
  embed_and_run_layers(tokens, B, Tn, opts.balance, &res.balance, &opts.on_layer_pass);
  mtp_run_ = size_t(std::clamp<int64_t>(Tn - 1, 0, D));  // depth k runs on the Tn - k > 0 positions

  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) count += targets[i] >= 0;
  res.tokens = count;
  const int head = ids_.head();
  dfinal_.assign(backward ? size_t(N * d) : 0, T(0));
  if (count > 0) {
    const double denom = double(opts.ce_targets > 0 ? opts.ce_targets : count);
    T scale = T(1.0 / denom);
    auto ce = cross_entropy_forward_backward<T>(final_norm_.data(), ps_.p(head), targets, N, d, V, scale,
                                                backward ? dfinal_.data() : nullptr,
                                                backward ? ps_.g(head) : nullptr);
    res.ce = ce.loss_sum / denom;
  }

  // Multi-token prediction: depth k sees h^{k-1} at positions i < Tn-k and the embedding of token i+k, and
  // predicts targets[i+k].
  res.mtp_ce.assign(size_t(D), 0.0);
  for (int64_t k = 1; k <= D; ++k) {
    MtpState& m = mtp_[size_t(k - 1)];
    const MtpIds& mi = ids_.mtp[size_t(k - 1)];
    const int64_t Tp = Tn - k, Tprev = Tn - (k - 1);
    m.count = 0;
    m.dhin.clear();
    if (Tp <= 0) continue;
    const int64_t Np = B * Tp;
    const std::vector<T>& hprev = k == 1 ? hs_.back() : mtp_[size_t(k - 2)].out;
    m.tokens.resize(size_t(Np));
    m.targets.resize(size_t(Np));
    m.hin.resize(size_t(Np * d));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < Tp; ++i) {
        m.tokens[size_t(b * Tp + i)] = tokens[b * Tn + i + k];
        m.targets[size_t(b * Tp + i)] = targets[b * Tn + i + k];
        std::memcpy(m.hin.data() + (b * Tp + i) * d, hprev.data() + (b * Tprev + i) * d, sizeof(T) * d);
      }
    m.emb.resize(size_t(Np * d));
    embedding_forward<T>(ps_.p(ids_.embed), m.tokens.data(), m.emb.data(), Np, V, d);
    m.en_rstd.resize(size_t(Np));
    m.hn_rstd.resize(size_t(Np));
    m.cat.resize(size_t(Np * 2 * d));
    // [enorm(emb) ; hnorm(h)]: embedding first, as the released weights expect (spec §5.4).
    rmsnorm_forward<T>(m.emb.data(), d, ps_.p(mi.enorm), m.cat.data(), 2 * d, m.en_rstd.data(), Np, d,
                       cfg_.rms_norm_eps);
    rmsnorm_forward<T>(m.hin.data(), d, ps_.p(mi.hnorm), m.cat.data() + d, 2 * d, m.hn_rstd.data(), Np, d,
                       cfg_.rms_norm_eps);
    m.x.resize(size_t(Np * d));
    linear_forward<T>(m.cat.data(), ps_.p(mi.eh_proj), m.x.data(), Np, d, 2 * d);
    m.out.resize(size_t(Np * d));
    res.balance += layer_forward<T>(cfg_, rope_, ps_, mi.layer, m.x.data(), B, Tp, m.out.data(),
                                    opts.balance.shifted(k), m.layer);
    if (opts.on_layer_pass) opts.on_layer_pass();
    m.normed.resize(size_t(Np * d));
    m.rstd.resize(size_t(Np));
    rmsnorm_forward<T>(m.out.data(), d, ps_.p(mi.head_norm), m.normed.data(), d, m.rstd.data(), Np, d,
                       cfg_.rms_norm_eps);
    for (int64_t i = 0; i < Np; ++i) m.count += m.targets[size_t(i)] >= 0;
    res.mtp_tokens += m.count;
    // Zeroed before a depth without targets skips its loss too: the backward pass reads dnormed, which must
    // not still hold the previous batch's gradient.
    m.dnormed.assign(backward ? size_t(Np * d) : 0, T(0));
    if (m.count == 0) continue;
    const int64_t given = size_t(k - 1) < opts.mtp_targets.size() ? opts.mtp_targets[size_t(k - 1)] : 0;
    const double denom = double(given > 0 ? given : m.count);
    T scale = T(opts.mtp_lambda / double(D) / denom);
    auto ce = cross_entropy_forward_backward<T>(m.normed.data(), ps_.p(head), m.targets.data(), Np, d, V,
                                                scale, backward ? m.dnormed.data() : nullptr,
                                                backward ? ps_.g(head) : nullptr);
    res.mtp_ce[size_t(k - 1)] = ce.loss_sum / denom;
  }
  for (double v : res.mtp_ce) res.mtp += D > 0 ? v / double(D) : 0.0;
  res.loss = res.ce + opts.mtp_lambda * res.mtp + res.balance;
  if (!backward) return res;

  // ---- backward ----
  // Final norm: gradient of the main hidden state.
  dh_a_.assign(size_t(N * d), T(0));
  rmsnorm_backward<T>(hs_.back().data(), d, ps_.p(ids_.final_norm), final_rstd_.data(), dfinal_.data(), d,
                      dh_a_.data(), d, ps_.g(ids_.final_norm), N, d, false);
  // MTP depths from the deepest down; depth k adds into the gradient of its h^{k-1}.
  for (int64_t k = D; k >= 1; --k) {
    MtpState& m = mtp_[size_t(k - 1)];
    const MtpIds& mi = ids_.mtp[size_t(k - 1)];
    const int64_t Tp = Tn - k, Tprev = Tn - (k - 1);
    if (Tp <= 0) continue;
    const int64_t Np = B * Tp;
    m.dout.resize(size_t(Np * d));
    // dout gets the head-norm gradient plus whatever depth k+1 passed back into this depth's output.
    if (m.dnormed.size() != size_t(Np * d)) m.dnormed.assign(size_t(Np * d), T(0));
    if (k == D || mtp_[size_t(k)].dhin.empty()) {
      std::fill(m.dout.begin(), m.dout.end(), T(0));
    } else {
      const MtpState& next = mtp_[size_t(k)];
      const int64_t Tn2 = Tn - (k + 1);
      std::fill(m.dout.begin(), m.dout.end(), T(0));
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < Tn2; ++i)
          for (int64_t c = 0; c < d; ++c)
            m.dout[size_t((b * Tp + i) * d + c)] += next.dhin[size_t((b * Tn2 + i) * d + c)];
    }
    rmsnorm_backward<T>(m.out.data(), d, ps_.p(mi.head_norm), m.rstd.data(), m.dnormed.data(), d,
                        m.dout.data(), d, ps_.g(mi.head_norm), Np, d, true);
    m.dx.resize(size_t(Np * d));
    layer_backward<T>(cfg_, rope_, ps_, mi.layer, m.x.data(), B, Tp, m.dout.data(), m.dx.data(),
                      opts.balance.shifted(k), 1.0, m.layer);
    if (opts.on_layer_pass) opts.on_layer_pass();
    m.dcat.resize(size_t(Np * 2 * d));
    linear_backward<T>(m.cat.data(), ps_.p(mi.eh_proj), m.dx.data(), m.dcat.data(), ps_.g(mi.eh_proj), Np, d,
                       2 * d);
    m.demb.resize(size_t(Np * d));
    m.dhin.resize(size_t(Np * d));
    rmsnorm_backward<T>(m.emb.data(), d, ps_.p(mi.enorm), m.en_rstd.data(), m.dcat.data(), 2 * d,
                        m.demb.data(), d, ps_.g(mi.enorm), Np, d, false);
    rmsnorm_backward<T>(m.hin.data(), d, ps_.p(mi.hnorm), m.hn_rstd.data(), m.dcat.data() + d, 2 * d,
                        m.dhin.data(), d, ps_.g(mi.hnorm), Np, d, false);
    embedding_backward<T>(m.tokens.data(), m.demb.data(), ps_.g(ids_.embed), Np, V, d);
    if (k == 1) {
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < Tp; ++i) {
          T* dst = dh_a_.data() + (b * Tprev + i) * d;
          const T* src = m.dhin.data() + (b * Tp + i) * d;
          for (int64_t c = 0; c < d; ++c) dst[c] += src[c];
        }
    }
  }
  backward_layers(tokens, B, Tn, opts.balance, &opts.on_layer_pass);
  return res;
}

template <typename T>
void Transformer<T>::backward_layers(const int32_t* tokens, int64_t B, int64_t Tn, const BalanceOptions& bal,
                                     const std::function<void()>* on_layer_pass) {
  const int64_t N = B * Tn, d = cfg_.hidden_size;
  // Decoder layers, last to first, ping-ponging two gradient buffers.
  dh_b_.resize(size_t(N * d));
  for (size_t l = ids_.layers.size(); l-- > 0;) {
    layer_backward<T>(cfg_, rope_, ps_, ids_.layers[l], hs_[l].data(), B, Tn, dh_a_.data(), dh_b_.data(), bal,
                      1.0, caches_[l]);
    std::swap(dh_a_, dh_b_);
    if (on_layer_pass && *on_layer_pass) (*on_layer_pass)();
  }
  embedding_backward<T>(tokens, dh_a_.data(), ps_.g(ids_.embed), N, cfg_.vocab_size, d);
}

template <typename T>
void Transformer<T>::policy_forward(const int32_t* tokens, const int32_t* targets, int64_t B, int64_t Tn,
                                    double temperature, T* logp, T* entropy, int64_t support) {
  const int64_t N = B * Tn;
  double balance = 0;
  embed_and_run_layers(tokens, B, Tn, BalanceOptions{}, &balance);
  policy_.tokens.assign(tokens, tokens + N);
  policy_.targets.assign(targets, targets + N);
  policy_.B = B;
  policy_.Tn = Tn;
  policy_.temperature = temperature;
  SEEK_CHECK(support >= 0 && support <= cfg_.vocab_size, "policy support {} outside the vocabulary ({})",
             support, cfg_.vocab_size);
  policy_.support = support > 0 ? support : cfg_.vocab_size;
  // The head's first `support` rows are the logits of ids [0, support).
  policy_logprob_forward<T>(final_norm_.data(), ps_.p(ids_.head()), targets, N, cfg_.hidden_size,
                            policy_.support, temperature, logp, entropy);
}

template <typename T>
void Transformer<T>::policy_backward(const T* dlogp, const T* dentropy) {
  const int64_t B = policy_.B, Tn = policy_.Tn, N = B * Tn, d = cfg_.hidden_size;
  SEEK_CHECK(N > 0 && int64_t(hs_.empty() ? 0 : hs_[0].size()) == N * d,
             "policy_backward needs the activations of a policy_forward call");
  dfinal_.assign(size_t(N * d), T(0));
  policy_logprob_backward<T>(final_norm_.data(), ps_.p(ids_.head()), policy_.targets.data(), N, d,
                             policy_.support, policy_.temperature, dlogp, dentropy, dfinal_.data(),
                             ps_.g(ids_.head()));
  dh_a_.assign(size_t(N * d), T(0));
  rmsnorm_backward<T>(hs_.back().data(), d, ps_.p(ids_.final_norm), final_rstd_.data(), dfinal_.data(), d,
                      dh_a_.data(), d, ps_.g(ids_.final_norm), N, d, false);
  backward_layers(policy_.tokens.data(), B, Tn, BalanceOptions{});
}

template <typename T>
int64_t Transformer<T>::activation_bytes() const {
  int64_t total = capacity_bytes(final_norm_, final_rstd_, dfinal_, dh_a_, dh_b_);
  for (const auto& h : hs_) total += capacity_bytes(h);
  for (const auto& c : caches_) total += c.bytes();
  for (const auto& m : mtp_)
    total += m.layer.bytes() +
             capacity_bytes(m.tokens, m.targets, m.emb, m.hin, m.en, m.hn, m.en_rstd, m.hn_rstd, m.cat, m.x,
                            m.out, m.normed, m.rstd, m.dnormed) +
             capacity_bytes(m.dx, m.dcat, m.demb, m.dhin, m.dout);
  return total;
}

template <typename T>
std::vector<ExpertLoad> Transformer<T>::expert_loads() const {
  std::vector<ExpertLoad> out;
  for (size_t l = 0; l < ids_.layers.size(); ++l)
    if (ids_.layers[l].moe) out.push_back({ids_.layers[l].index, caches_[l].moe.router.counted_load});
  for (size_t k = 0; k < mtp_run_; ++k)
    if (ids_.mtp[k].layer.moe)
      out.push_back({ids_.mtp[k].layer.index, mtp_[k].layer.moe.router.counted_load});
  return out;
}

template <typename T>
std::vector<ExpertLoad> Transformer<T>::expert_loads(const std::vector<int64_t>& row_lengths,
                                                     int64_t Tn) const {
  const int64_t K = cfg_.num_experts_per_tok, N = int64_t(row_lengths.size()) * Tn;
  std::vector<ExpertLoad> out;
  for (size_t l = 0; l < ids_.layers.size(); ++l) {
    if (!ids_.layers[l].moe) continue;
    const std::vector<int32_t>& idx = caches_[l].moe.router.idx;
    SEEK_CHECK(int64_t(idx.size()) == N * K, "expert_loads: the last forward routed {} tokens, not {} × {}",
               int64_t(idx.size()) / std::max<int64_t>(K, 1), row_lengths.size(), Tn);
    ExpertLoad el{ids_.layers[l].index, std::vector<int64_t>(size_t(cfg_.n_routed_experts), 0)};
    for (size_t b = 0; b < row_lengths.size(); ++b)
      for (int64_t a = int64_t(b) * Tn * K; a < (int64_t(b) * Tn + std::min(row_lengths[b], Tn)) * K; ++a)
        ++el.load[size_t(idx[size_t(a)])];
    out.push_back(std::move(el));
  }
  return out;
}

template <typename T>
void Transformer<T>::update_router_bias(double gamma) {
  update_router_bias(gamma, expert_loads());
}

template <typename T>
void Transformer<T>::update_router_bias(double gamma, const std::vector<ExpertLoad>& loads) {
  auto apply = [&](const LayerIds& l) {
    if (!l.moe || l.experts.bias < 0) return;
    for (const ExpertLoad& el : loads) {
      if (el.layer != l.index || el.load.empty()) continue;
      double mean = 0;
      for (int64_t v : el.load) mean += double(v);
      mean /= double(el.load.size());
      T* b = ps_.p(l.experts.bias);
      for (size_t e = 0; e < el.load.size(); ++e) {
        double diff = mean - double(el.load[e]);
        b[e] += T(gamma * double((diff > 0) - (diff < 0)));
      }
    }
  };
  for (const LayerIds& l : ids_.layers) apply(l);
  for (const MtpIds& m : ids_.mtp) apply(m.layer);
}

void LossOptions::count_step_targets(const int32_t* targets, int64_t rows, int64_t Tn, int64_t mtp_depths) {
  ce_targets = 0;
  mtp_targets.assign(size_t(mtp_depths), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < Tn; ++t) {
      const bool counted = targets[r * Tn + t] >= 0;
      ce_targets += counted;
      for (int64_t k = 1; k <= mtp_depths && k <= t; ++k) mtp_targets[size_t(k - 1)] += counted;
    }
}

template class Transformer<float>;
template class Transformer<double>;

}  // namespace seek
