// The whole DeepSeek model (V2 / V2-Lite / V3 shapes from config.json) with its training loss:
// embedding → decoder layers (MLA + dense/MoE FFN) → final norm → lm_head, plus D multi-token-prediction
// modules, cross-entropy, MTP loss and the MoE balance loss (docs/model.md).
// T is float for real use and double for gradient checks; the math is the same code.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "kernels/rope.hpp"
#include "model/config.hpp"
#include "model/layer.hpp"
#include "model/params.hpp"
#include "model/weights.hpp"

namespace seek {

struct LossOptions {
  // λ: weight of the mean MTP loss. 0 runs no MTP depth at all: no loss, no balance term of theirs (which
  // alone moved the MTP weights and, through them, the embedding), no loads reported.
  double mtp_lambda = 0.3;
  BalanceOptions balance;  // α and per-sequence/batch
  // Gradient accumulation: the counted targets of the whole optimizer step this batch is one micro-batch of
  // (main head, and per MTP depth). The cross-entropy sums are divided by these instead of this batch's own
  // counts, so the micro-batches' losses and gradients add up to those of one batch of all the step's
  // sequences (a token-weighted mean, not a mean of per-micro-batch means). 0 / empty: this batch's own
  // counts. LossResult's ce, mtp_ce and loss are then this batch's share of the step's values.
  int64_t ce_targets = 0;
  std::vector<int64_t> mtp_targets;

  // Sets ce_targets and mtp_targets to the counts of `targets` [rows, Tn] (a whole step's), as
  // forward_backward counts them: depth k predicts the targets at positions t >= k.
  void count_step_targets(const int32_t* targets, int64_t rows, int64_t Tn, int64_t mtp_depths);

  // Called after every decoder or MTP layer's forward pass and, with backward, its backward pass (null: not
  // called): what a progress line inside a long step counts. Transformer::layer_passes says how many calls
  // one forward_backward makes.
  std::function<void()> on_layer_pass;
};

struct LossResult {
  double loss = 0;             // ce + mtp_lambda · mean(mtp_ce) + balance
  double ce = 0;               // main next-token cross-entropy (mean over counted targets)
  double mtp = 0;              // mean over depths of the MTP cross-entropies (unweighted)
  double balance = 0;          // sum over MoE layers of the balance loss
  int64_t tokens = 0;          // counted main targets
  int64_t mtp_tokens = 0;      // counted MTP targets, over the depths run (0: mtp is no loss, not a zero one)
  std::vector<double> mtp_ce;  // per depth
};

// Per MoE layer (decoder layers first, then MTP layers): how many (token, slot) assignments each expert got.
struct ExpertLoad {
  int layer = 0;
  std::vector<int64_t> load;
};

template <typename T>
class Transformer {
 public:
  explicit Transformer(const ModelConfig& cfg);

  const ModelConfig& config() const { return cfg_; }
  const ModelIds& ids() const { return ids_; }
  ParamStore<T>& params() { return ps_; }
  const ParamStore<T>& params() const { return ps_; }

  // Linear and embedding weights ~ N(0, initializer_range), norms 1, router bias 0; deterministic in seed.
  void init_weights(uint64_t seed);

  // tokens, targets: [B, Tn]; targets[b, t] is the token after position t, -1 = not counted.
  // With backward, gradients are ADDED to params().grad (the caller zeroes them per step).
  LossResult forward_backward(const int32_t* tokens, const int32_t* targets, int64_t B, int64_t Tn,
                              const LossOptions& opts, bool backward = true);

  // How many times forward_backward over sequences of Tn tokens calls LossOptions::on_layer_pass: once per
  // decoder layer and per MTP depth that has positions (Tn > depth), twice with backward. with_mtp false:
  // for options whose mtp_lambda is 0, which run no depth.
  int64_t layer_passes(int64_t Tn, bool backward, bool with_mtp = true) const;

  // Main-model logits [B·Tn, vocab] (no MTP).
  void forward_logits(const int32_t* tokens, int64_t B, int64_t Tn, T* logits);

  // Reinforcement learning. Per-token log-probabilities of `targets` (-1: none) under softmax(logits /
  // temperature) and the entropies of those distributions (entropy may be null), main model only, no balance
  // loss; activations are kept for policy_backward and expert loads are recorded.
  // support > 0 restricts the softmax to token ids [0, support) (a tokenizer smaller than the vocabulary), as
  // the sampler does.
  void policy_forward(const int32_t* tokens, const int32_t* targets, int64_t B, int64_t Tn,
                      double temperature, T* logp, T* entropy, int64_t support = 0);
  // Adds to params().grad the gradient of Σ dlogp·logp + dentropy·entropy of the last policy_forward
  // (dentropy may be null).
  void policy_backward(const T* dlogp, const T* dentropy);

  // Heap bytes the activations and backward buffers of the last forward_backward hold (what
  // training_activation_bytes_per_token estimates from the shapes).
  int64_t activation_bytes() const;

  // Loads recorded by the last forward, per MoE layer that it ran (MTP layers only after a forward_backward
  // that ran them).
  std::vector<ExpertLoad> expert_loads() const;
  // The decoder layers' loads of the last forward [B rows of Tn] counted over the first row_lengths[b]
  // positions of each row only: padding does not steer the balance (nor make it depend on how rows were
  // grouped into batches).
  std::vector<ExpertLoad> expert_loads(const std::vector<int64_t>& row_lengths, int64_t Tn) const;

  // V3 aux-loss-free balancing: b_i += γ·sign(mean load − load_i) per MoE layer with a bias, using the loads
  // of the last forward (docs/model.md). Call once after each optimizer step.
  void update_router_bias(double gamma);
  void update_router_bias(double gamma, const std::vector<ExpertLoad>& loads);

 private:
  struct MtpState {
    std::vector<int32_t> tokens, targets;  // [B, T'] shifted by the depth
    std::vector<T> emb, hin, en, hn, en_rstd, hn_rstd, cat, x, out, normed, rstd, dnormed;
    std::vector<T> dx, dcat, demb, dhin, dout;
    LayerCache<T> layer;
    int64_t count = 0;
  };
  // on_layer_pass (may be null) is called after each layer.
  void embed_and_run_layers(const int32_t* tokens, int64_t B, int64_t Tn, const BalanceOptions& bal,
                            double* balance, const std::function<void()>* on_layer_pass = nullptr);
  // dh_a_ holds the gradient of the last hidden state; runs the decoder layers backward and the embedding.
  void backward_layers(const int32_t* tokens, int64_t B, int64_t Tn, const BalanceOptions& bal,
                       const std::function<void()>* on_layer_pass = nullptr);

  ModelConfig cfg_;
  ModelIds ids_;
  ParamStore<T> ps_;
  RopeTable<T> rope_;
  std::vector<std::vector<T>> hs_;  // input of each layer, and the final hidden state: L+1 × [N, d]
  std::vector<LayerCache<T>> caches_;
  std::vector<T> final_norm_, final_rstd_, dfinal_, dh_a_, dh_b_;
  std::vector<MtpState> mtp_;
  size_t mtp_run_ = 0;  // MTP depths the last forward ran
  struct PolicyState {
    std::vector<int32_t> tokens, targets;
    int64_t B = 0, Tn = 0;
    double temperature = 1.0;
    int64_t support = 0;
  } policy_;
};

}  // namespace seek
