// The GRPO objective and its variants (../shared/spec/grpo-and-rewards.md §1), as pure math on per-token
// log-probabilities, so the trainer only has to run the model:
//   1. group_advantages: rewards [groups × G] → one advantage per completion (group | batch | none scaling,
//      NaN rewards ignored by nan-aware mean/std, a completion whose reward is NaN gets advantage 0).
//   2. grpo_token_loss: for every completion token, given log π_θ, log π_old and log π_ref, the loss value
//      and its derivative with respect to log π_θ (clipped surrogate with ε_low / ε_high and optional
//      two-sided clip δ, CISPO's capped, stop-gradient weight, or SAPO's smooth gate; the ratio per token or
//      per sequence (GSPO); KL penalty β with estimator k1 | k2 | k3, entropy bonus, and the aggregation
//      grpo | bnpo | dr_grpo | dapo). The trainer back-propagates dloss/dlogp_θ (and dloss/dentropy) through
//      the model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace seek {

enum class AdvantageScale { Group, Batch, None };
enum class LossAggregation { Grpo, Bnpo, DrGrpo, Dapo };
enum class KlEstimator { K1, K2, K3 };
// The policy term per token, with ρ the importance ratio (spec §1.4, §1.7):
//   Clip:  −min(ρ₁·A, clip(ρ, 1 − ε_low, 1 + ε_high)·A), ρ₁ = min(ρ, δ) with a two-sided clip (PPO / GRPO)
//   Cispo: −sg[min(ρ, cispo_max)]·A·log π_θ (MiniMax-M1; TRL's loss_type "cispo" with epsilon_high as the
//          cap)
//   Sapo:  −(4/τ)·σ(τ·(ρ − 1))·A, τ = sapo_temperature_pos for A > 0, else _neg (Qwen's SAPO: a smooth gate
//          instead of a hard clip; TRL's loss_type "sapo")
enum class PolicyLoss { Clip, Cispo, Sapo };
// ρ per token, exp(log π_θ − log π_old), or one per completion, exp of the mean of its tokens' log-ratios
// (GSPO; TRL's importance_sampling_level "sequence"), which every token of the completion then uses.
enum class ImportanceLevel { Token, Sequence };

AdvantageScale parse_advantage_scale(const std::string& s);    // "group" | "batch" | "none"
LossAggregation parse_loss_aggregation(const std::string& s);  // "grpo" | "bnpo" | "dr_grpo" | "dapo"
KlEstimator parse_kl_estimator(const std::string& s);          // "k1" | "k2" | "k3"
PolicyLoss parse_policy_loss(const std::string& s);            // "clip" | "cispo" | "sapo"
ImportanceLevel parse_importance_level(const std::string& s);  // "token" | "sequence"

struct AdvantageResult {
  std::vector<double> advantages;  // [groups × G]
  std::vector<double> group_std;   // [groups], NaN-aware, Bessel-corrected (n−1)
  int64_t zero_std_groups = 0;     // groups whose (non-NaN) rewards are all equal
};

// rewards: [groups × G] row-major. std uses n−1 and an epsilon of 1e-4 in the denominator (TRL's choice).
// A group with fewer than two non-NaN rewards has no defined std: its advantages are 0, its group_std is
// reported as 0 and it counts as a zero-std group (G = 1 makes every group one). Throws seek::Error for G <=
// 0, a size that is not a multiple of G, or an infinite reward.
AdvantageResult group_advantages(const std::vector<double>& rewards, int64_t G, AdvantageScale scale);

// Dynamic sampling's filter (DAPO eq. 11; verl's filter_groups.metric): whether the values of one group
// differ, so that its advantages can. NaN values (a reward that does not apply) are left out, as
// group_advantages leaves them out: {1, NaN, 1} kept a group whose advantages were all 0.
bool group_values_differ(const std::vector<double>& values);

// Why a step's loss has no gradient, so that it makes no update (nullptr: it has one): "every token masked"
// (no completion token counts: counted_tokens 0), or, without a KL or entropy term, "every advantage 0"
// (the advantages of the completions the loss counts, counted[i] != 0, are all 0: each group's rewards
// equal, or the non-zero advantages all on truncated completions that mask_truncated_completions leaves
// out).
const char* reason_for_no_update(const std::vector<double>& advantages, const std::vector<char>& counted,
                                 int64_t counted_tokens, double beta, double entropy_coef);

struct GrpoLossOptions {
  double epsilon_low = 0.2, epsilon_high = 0.28;  // clip range [1 − ε_low, 1 + ε_high]
  double delta = 0.0;                             // two-sided clip: for A < 0, ρ is capped at δ (0: off).
                                                  // As TRL, the cap applies to the unclipped ratio whatever
                                                  // the sign of A; with δ ≥ 1 + ε_high (the recommended
                                                  // setting) that changes only tokens with A < 0.
  PolicyLoss policy_loss = PolicyLoss::Clip;      // ε_low, ε_high and δ apply to Clip only
  double cispo_max = 5.0;                         // Cispo's cap on the weight (ScaleRL's and TRL's 5)
  double sapo_temperature_pos = 1.0, sapo_temperature_neg = 1.05;  // Sapo's τ (TRL's defaults)
  ImportanceLevel importance_level = ImportanceLevel::Token;
  double beta = 0.0;  // KL weight (0: no reference model needed)
  KlEstimator kl = KlEstimator::K3;
  double entropy_coef = 0.0;  // loss −= entropy_coef · (mean token entropy), a bonus; as TRL, a
                              // token mean for every aggregation (over total_tokens_override for
                              // dapo / bnpo when set, else over this batch's counted tokens)
  LossAggregation aggregation = LossAggregation::Dapo;
  int64_t max_completion_length = 0;  // dr_grpo divides by (completions × this)
};

// One batch of completions. Token t of completion i is at index offsets[i] + t (offsets has n + 1 entries).
struct GrpoBatch {
  std::vector<int64_t> offsets;
  std::vector<double> advantages;     // [n]
  std::vector<double> logp;           // log π_θ per token (current policy, with gradient)
  std::vector<double> logp_old;       // log π_old per token (== logp when μ = 1: then ρ ≡ 1)
  std::vector<double> logp_ref;       // log π_ref per token (needed when beta > 0; may be empty otherwise,
                                      // and when given it is size-checked and its KL logged)
  std::vector<double> entropy;        // per-token policy entropy (needed when entropy_coef > 0; may be empty
                                      // otherwise, and when given it is size-checked and logged)
  std::vector<uint8_t> mask;          // per token: 1 = counts (e.g. 0 for truncated completions when masked)
  int64_t total_tokens_override = 0;  // dapo/bnpo: normaliser when the batch is one of several micro-batches
                                      // of a step (0: this batch's own count of masked-in tokens; for bnpo
                                      // that is TRL's local token mean, spec §1.6). Must be >= that count.
};

struct GrpoLossResult {
  double loss = 0;
  std::vector<double> dlogp;     // ∂loss/∂logp per token (0 for masked-out tokens)
  std::vector<double> dentropy;  // ∂loss/∂entropy per token (0 for masked-out tokens)
  // diagnostics, as TRL logs them (means over counted tokens of this batch; 0 when none is counted)
  double kl = 0, entropy = 0;  // kl: only when logp_ref is given; entropy: only when entropy is given
  double clip_low_fraction = 0, clip_high_fraction = 0;  // tokens where the low / high clip was active
                                                         // (Cispo: high = the weight was capped)
  double ratio_mean = 0;
  int64_t tokens = 0;  // masked-in tokens in this batch (what a step's total_tokens_override sums)
};

// Throws seek::Error naming the field at fault for inconsistent sizes or offsets, mask values other than 0/1,
// non-finite advantages, negative ε / β / δ, a δ with Cispo or Sapo, a cispo_max or Sapo τ <= 0, a dr_grpo
// batch without
// max_completion_length (or with a longer completion), or a dapo / bnpo total_tokens_override smaller than
// this batch's own count.
GrpoLossResult grpo_token_loss(const GrpoBatch& batch, const GrpoLossOptions& opt);

// Unbiased pass@k from n samples with c correct (Chen et al. 2021): 1 − C(n−c, k) / C(n, k), computed as
// 1 − Π_{j=n−c+1..n} (1 − k/j) so no binomial is formed; 1 when n − c < k. Needs 1 ≤ k ≤ n and 0 ≤ c ≤ n
// (seek::Error otherwise: k > n cannot be estimated from n samples).
double pass_at_k(int64_t n, int64_t c, int64_t k);

}  // namespace seek
