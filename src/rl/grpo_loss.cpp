// The GRPO objective as plain arithmetic on per-token log-probabilities. Every formula cites the section of
// ../shared/spec/grpo-and-rewards.md it implements; where frameworks differ we follow TRL (the spec's
// reference for the defaults), and say so.
#include "rl/grpo_loss.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace seek {

AdvantageScale parse_advantage_scale(const std::string& s) {
  if (s == "group") return AdvantageScale::Group;
  if (s == "batch") return AdvantageScale::Batch;
  if (s == "none") return AdvantageScale::None;
  fail("unknown advantage scaling '{}' (expected group, batch or none)", s);
}

LossAggregation parse_loss_aggregation(const std::string& s) {
  if (s == "grpo") return LossAggregation::Grpo;
  if (s == "bnpo") return LossAggregation::Bnpo;
  if (s == "dr_grpo") return LossAggregation::DrGrpo;
  if (s == "dapo") return LossAggregation::Dapo;
  fail("unknown loss aggregation '{}' (expected grpo, bnpo, dr_grpo or dapo)", s);
}

KlEstimator parse_kl_estimator(const std::string& s) {
  if (s == "k1") return KlEstimator::K1;
  if (s == "k2") return KlEstimator::K2;
  if (s == "k3") return KlEstimator::K3;
  fail("unknown KL estimator '{}' (expected k1, k2 or k3)", s);
}

PolicyLoss parse_policy_loss(const std::string& s) {
  if (s == "clip") return PolicyLoss::Clip;
  if (s == "cispo") return PolicyLoss::Cispo;
  if (s == "sapo") return PolicyLoss::Sapo;
  fail("unknown policy loss '{}' (expected clip, cispo or sapo)", s);
}

ImportanceLevel parse_importance_level(const std::string& s) {
  if (s == "token") return ImportanceLevel::Token;
  if (s == "sequence") return ImportanceLevel::Sequence;
  fail("unknown importance sampling level '{}' (expected token or sequence)", s);
}

namespace {

// TRL's denominator epsilon for the std scalings (spec §1.3).
constexpr double kStdEps = 1e-4;

struct Moments {
  int64_t count = 0;  // non-NaN values
  double mean = 0;    // 0 when count == 0 (never used then: every advantage of such a group is 0)
  double std = 0;     // Bessel-corrected; 0 when count < 2 (undefined, see the header)
  bool all_equal = true;
};

// NaN-aware mean and sample std (n−1), as torch.nanmean / Bessel std over the non-NaN entries (spec §1.2 step
// 3, §1.3). Two passes rather than a running sum of squares, so equal-ish rewards do not lose precision.
Moments nan_moments(const double* r, int64_t n) {
  Moments m;
  double sum = 0, first = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(r[i])) continue;
    if (m.count == 0) first = r[i];
    if (r[i] != first) m.all_equal = false;
    sum += r[i];
    ++m.count;
  }
  if (m.count == 0) return m;
  m.mean = sum / static_cast<double>(m.count);
  if (m.count < 2 || m.all_equal) return m;  // std exactly 0 (all equal) or undefined (reported as 0)
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(r[i])) continue;
    double d = r[i] - m.mean;
    ss += d * d;
  }
  m.std = std::sqrt(ss / static_cast<double>(m.count - 1));
  return m;
}

}  // namespace

const char* reason_for_no_update(const std::vector<double>& advantages, const std::vector<char>& counted,
                                 int64_t counted_tokens, double beta, double entropy_coef) {
  SEEK_CHECK(advantages.size() == counted.size(), "reason_for_no_update: {} advantages for {} completions",
             advantages.size(), counted.size());
  if (counted_tokens == 0) return "every token masked";
  if (beta != 0 || entropy_coef != 0) return nullptr;
  for (size_t i = 0; i < advantages.size(); ++i)
    if (counted[i] && advantages[i] != 0.0) return nullptr;
  return "every advantage 0";
}

bool group_values_differ(const std::vector<double>& values) {
  const double* first = nullptr;
  for (const double& v : values) {
    if (std::isnan(v)) continue;
    if (first && v != *first) return true;
    if (!first) first = &v;
  }
  return false;
}

AdvantageResult group_advantages(const std::vector<double>& rewards, int64_t G, AdvantageScale scale) {
  SEEK_CHECK(G > 0, "group_advantages: group size G must be positive, got {}", G);
  const int64_t total = static_cast<int64_t>(rewards.size());
  SEEK_CHECK(total % G == 0, "group_advantages: {} rewards are not a multiple of the group size G = {}",
             total, G);
  for (int64_t i = 0; i < total; ++i)
    SEEK_CHECK(!std::isinf(rewards[i]), "group_advantages: reward {} is infinite ({})", i, rewards[i]);

  const int64_t groups = total / G;
  AdvantageResult res;
  res.advantages.assign(rewards.size(), 0.0);
  res.group_std.assign(static_cast<size_t>(groups), 0.0);

  // "batch" (PPO-Lite): the std of every non-NaN reward of the batch, Bessel-corrected (spec §1.3).
  const double batch_std = scale == AdvantageScale::Batch ? nan_moments(rewards.data(), total).std : 0.0;

  for (int64_t g = 0; g < groups; ++g) {
    const double* r = rewards.data() + g * G;
    Moments m = nan_moments(r, G);
    res.group_std[g] = m.std;
    // All non-NaN rewards equal (including groups with 0 or 1 of them): no signal, TRL's frac_reward_zero_std
    // (spec §1.3). Setting A = 0 exactly, rather than dividing a rounding residue of r − mean by ε = 1e-4,
    // keeps such groups from producing a spurious gradient.
    if (m.all_equal || m.count < 2) {
      ++res.zero_std_groups;
      continue;
    }
    for (int64_t i = 0; i < G; ++i) {
      if (std::isnan(r[i])) continue;  // a completion without a reward gets A = 0 (spec §1.2 step 3)
      const double centred = r[i] - m.mean;
      double a = 0;
      switch (scale) {
        case AdvantageScale::Group:
          a = centred / (m.std + kStdEps);
          break;  // (r − mean_g)/(std_g + 1e-4)
        case AdvantageScale::Batch:
          a = centred / (batch_std + kStdEps);
          break;  // (r − mean_g)/(std_b + 1e-4)
        case AdvantageScale::None:
          a = centred;
          break;  // r − mean_g (Dr. GRPO)
      }
      res.advantages[g * G + i] = a;
    }
  }
  return res;
}

namespace {

void validate(const GrpoBatch& b, const GrpoLossOptions& opt) {
  const size_t n = b.advantages.size();
  SEEK_CHECK(b.offsets.size() == n + 1,
             "grpo_token_loss: offsets has {} entries, expected advantages.size() + 1 = {}", b.offsets.size(),
             n + 1);
  SEEK_CHECK(b.offsets[0] == 0, "grpo_token_loss: offsets[0] must be 0, got {}", b.offsets[0]);
  for (size_t i = 0; i < n; ++i)
    SEEK_CHECK(b.offsets[i + 1] >= b.offsets[i],
               "grpo_token_loss: offsets not monotone: offsets[{}] = {} < offsets[{}] = {}", i + 1,
               b.offsets[i + 1], i, b.offsets[i]);
  const size_t T = static_cast<size_t>(b.offsets[n]);
  SEEK_CHECK(b.logp.size() == T, "grpo_token_loss: logp has {} entries, offsets say {} tokens", b.logp.size(),
             T);
  SEEK_CHECK(b.logp_old.size() == T, "grpo_token_loss: logp_old has {} entries, offsets say {} tokens",
             b.logp_old.size(), T);
  SEEK_CHECK(b.mask.size() == T, "grpo_token_loss: mask has {} entries, offsets say {} tokens", b.mask.size(),
             T);
  SEEK_CHECK(b.logp_ref.size() == T || (b.logp_ref.empty() && opt.beta == 0),
             "grpo_token_loss: logp_ref has {} entries, offsets say {} tokens (beta = {})", b.logp_ref.size(),
             T, opt.beta);
  SEEK_CHECK(b.entropy.size() == T || (b.entropy.empty() && opt.entropy_coef == 0),
             "grpo_token_loss: entropy has {} entries, offsets say {} tokens (entropy_coef = {})",
             b.entropy.size(), T, opt.entropy_coef);
  for (size_t t = 0; t < T; ++t)
    SEEK_CHECK(b.mask[t] <= 1, "grpo_token_loss: mask[{}] = {}, expected 0 or 1", t, b.mask[t]);
  for (size_t i = 0; i < n; ++i)
    SEEK_CHECK(std::isfinite(b.advantages[i]), "grpo_token_loss: advantages[{}] = {} is not finite", i,
               b.advantages[i]);
  SEEK_CHECK(opt.epsilon_low >= 0 && opt.epsilon_high >= 0,
             "grpo_token_loss: epsilon_low = {} and epsilon_high = {} must be >= 0", opt.epsilon_low,
             opt.epsilon_high);
  SEEK_CHECK(opt.beta >= 0, "grpo_token_loss: beta = {} must be >= 0", opt.beta);
  SEEK_CHECK(opt.delta >= 0, "grpo_token_loss: delta = {} must be >= 0 (0 turns the two-sided clip off)",
             opt.delta);
  if (opt.policy_loss != PolicyLoss::Clip)
    SEEK_CHECK(
        opt.delta == 0,
        "grpo_token_loss: delta = {} is a clip of the clipped surrogate; {} bounds its updates its own way",
        opt.delta, opt.policy_loss == PolicyLoss::Cispo ? "cispo" : "sapo");
  if (opt.policy_loss == PolicyLoss::Cispo)
    SEEK_CHECK(opt.cispo_max > 0, "grpo_token_loss: cispo_max = {} must be > 0", opt.cispo_max);
  if (opt.policy_loss == PolicyLoss::Sapo)
    SEEK_CHECK(opt.sapo_temperature_pos > 0 && opt.sapo_temperature_neg > 0,
               "grpo_token_loss: sapo_temperature_pos = {} and sapo_temperature_neg = {} must be > 0",
               opt.sapo_temperature_pos, opt.sapo_temperature_neg);
  SEEK_CHECK(b.total_tokens_override >= 0, "grpo_token_loss: total_tokens_override = {} must be >= 0",
             b.total_tokens_override);
  if (opt.aggregation == LossAggregation::DrGrpo) {
    SEEK_CHECK(opt.max_completion_length > 0,
               "grpo_token_loss: dr_grpo needs max_completion_length > 0, got {}", opt.max_completion_length);
    for (size_t i = 0; i < n; ++i)
      SEEK_CHECK(b.offsets[i + 1] - b.offsets[i] <= opt.max_completion_length,
                 "grpo_token_loss: completion {} has {} tokens, more than max_completion_length = {}", i,
                 b.offsets[i + 1] - b.offsets[i], opt.max_completion_length);
  }
}

}  // namespace

GrpoLossResult grpo_token_loss(const GrpoBatch& b, const GrpoLossOptions& opt) {
  validate(b, opt);
  const int64_t n = static_cast<int64_t>(b.advantages.size());
  const int64_t T = b.offsets[n];
  const bool have_ref = !b.logp_ref.empty();
  const bool have_entropy = !b.entropy.empty();

  std::vector<int64_t> count(n, 0);  // masked-in tokens per completion
  int64_t local = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t t = b.offsets[i]; t < b.offsets[i + 1]; ++t) count[i] += b.mask[t];
    local += count[i];
  }
  // dapo's and bnpo's token normaliser: the masked-in tokens of the whole optimizer step when the caller
  // splits a step into micro-batches (spec §1.6: TRL's num_items_in_batch for dapo, verl's global
  // token-mean), else this batch's own count. For bnpo, override 0 gives TRL's local token mean exactly; the
  // override exists for bnpo too because a caller that sums micro-batch losses into one step (the trainer
  // does) would otherwise count bnpo's mean once per micro-batch. With the step count, bnpo equals dapo.
  const bool token_normalised =
      opt.aggregation == LossAggregation::Dapo || opt.aggregation == LossAggregation::Bnpo;
  if (token_normalised && b.total_tokens_override > 0)
    SEEK_CHECK(b.total_tokens_override >= local,
               "grpo_token_loss: total_tokens_override = {} is smaller than this batch's {} masked-in tokens",
               b.total_tokens_override, local);
  const int64_t step_tokens = b.total_tokens_override > 0 ? b.total_tokens_override : local;

  // Aggregation weight w_i of each token of completion i, so that loss = Σ_{i,t} m_{i,t} w_i ℓ_{i,t}
  // (spec §1.6). Zero counts give weight 0 instead of a division by zero, as TRL's clamp(min=1) does.
  auto weight = [&](int64_t i) -> double {
    switch (opt.aggregation) {
      case LossAggregation::Grpo:  // (1/B) Σ_i (Σ_t m ℓ / Σ_t m); B counts every completion, as TRL's .mean()
        return count[i] > 0 ? 1.0 / (static_cast<double>(n) * static_cast<double>(count[i])) : 0.0;
      case LossAggregation::Bnpo:  // Σ m ℓ / Σ m (this batch's, or the step's when overridden)
        return step_tokens > 0 ? 1.0 / static_cast<double>(step_tokens) : 0.0;
      case LossAggregation::DrGrpo:  // Σ m ℓ / (B · L), L = max_completion_length (TRL)
        return n > 0 ? 1.0 / (static_cast<double>(n) * static_cast<double>(opt.max_completion_length)) : 0.0;
      case LossAggregation::Dapo:  // Σ m ℓ / (masked-in tokens of the whole step)
        return step_tokens > 0 ? 1.0 / static_cast<double>(step_tokens) : 0.0;
    }
    return 0.0;
  };
  // The entropy bonus is TRL's −coef · (mean token entropy) for every aggregation (spec §1.10): Σ m H over
  // the same token normaliser as the loss for dapo / bnpo (so micro-batches add up to the step mean), over
  // this batch's count for grpo / dr_grpo. It is deliberately not weighted like ℓ: that would make grpo's
  // bonus depend on completion lengths and shrink dr_grpo's by tokens / (B·L).
  const int64_t entropy_tokens = token_normalised ? step_tokens : local;
  const double entropy_weight = entropy_tokens > 0 ? 1.0 / static_cast<double>(entropy_tokens) : 0.0;

  const double lo = 1.0 - opt.epsilon_low, hi = 1.0 + opt.epsilon_high;
  const bool two_sided = opt.delta > 0;

  GrpoLossResult res;
  res.dlogp.assign(static_cast<size_t>(T), 0.0);
  res.dentropy.assign(static_cast<size_t>(T), 0.0);
  res.tokens = local;
  double loss = 0, kl_sum = 0, entropy_sum = 0, ratio_sum = 0;
  int64_t clipped_low = 0, clipped_high = 0;

  const bool per_sequence = opt.importance_level == ImportanceLevel::Sequence;
  for (int64_t i = 0; i < n; ++i) {
    const double A = b.advantages[i];
    const double w = weight(i);
    // GSPO (spec §1.7): one ratio per completion, ρ = exp(Σ_t m·(logp − logp_old) / max(Σ_t m, 1)). Each of
    // the completion's c counted tokens carries the same term s(ρ) with the same weight w, so
    // ∂(c·w·s)/∂logp_t = c·w·s'(ρ)·ρ/c = w·s'(ρ)·ρ: every token gets the derivative the per-token formula
    // below gives at ρ.
    double seq_log_ratio = 0;
    if (per_sequence) {
      for (int64_t t = b.offsets[i]; t < b.offsets[i + 1]; ++t)
        if (b.mask[t]) seq_log_ratio += b.logp[t] - b.logp_old[t];
      seq_log_ratio /= static_cast<double>(std::max<int64_t>(count[i], 1));
    }
    for (int64_t t = b.offsets[i]; t < b.offsets[i + 1]; ++t) {
      if (!b.mask[t]) continue;  // masked-out tokens are never read: they may hold padding garbage
      const double rho = std::exp(per_sequence ? seq_log_ratio : b.logp[t] - b.logp_old[t]);
      double ell, dell;
      if (opt.policy_loss == PolicyLoss::Cispo) {
        // CISPO (spec §1.7): s = −sg[min(ρ, cispo_max)]·A·logp, a REINFORCE term whose weight carries no
        // gradient (TRL detaches it), so ∂s/∂logp = −min(ρ, cispo_max)·A.
        const double weight_capped = std::min(rho, opt.cispo_max);
        ell = -weight_capped * A * b.logp[t];
        dell = -weight_capped * A;
        clipped_high += rho > opt.cispo_max ? 1 : 0;
      } else if (opt.policy_loss == PolicyLoss::Sapo) {
        // SAPO (spec §1.7): s = −(4/τ)·σ(τ(ρ − 1))·A, so ∂s/∂logp = −(4/τ)·σ(1 − σ)·τ·ρ·A = −4σ(1 − σ)·ρ·A;
        // at ρ = 1 that is −A, the on-policy gradient of the other losses. Nothing is clipped.
        const double tau = A > 0 ? opt.sapo_temperature_pos : opt.sapo_temperature_neg;
        const double sig = 1.0 / (1.0 + std::exp(-tau * (rho - 1.0)));
        ell = -(4.0 / tau) * sig * A;
        dell = -4.0 * sig * (1.0 - sig) * rho * A;
      } else {
        // Ratio and clipped surrogate (spec §1.4):
        //   ρ₁ = min(ρ, δ) if δ > 0 else ρ; ρ₂ = clip(ρ, 1 − ε_low, 1 + ε_high); s = −min(ρ₁·A, ρ₂·A)
        // ∂ρ/∂logp = ρ, so ∂s/∂logp = −A·ρ on whichever branch the min picks when that branch still follows
        // ρ (ρ ≤ δ for ρ₁, 1 − ε_low ≤ ρ ≤ 1 + ε_high for ρ₂; both inclusive, as torch.clamp's backward),
        // else 0. Ties pick ρ₁; both branches then have the same derivative, so the tie-break does not
        // matter.
        const double rho1 = two_sided ? std::min(rho, opt.delta) : rho;
        const double drho1 = (!two_sided || rho <= opt.delta) ? rho : 0.0;
        const double rho2 = std::clamp(rho, lo, hi);
        const double drho2 = (rho >= lo && rho <= hi) ? rho : 0.0;
        if (rho1 * A <= rho2 * A) {
          ell = -rho1 * A;
          dell = -drho1 * A;
        } else {
          ell = -rho2 * A;
          dell = -drho2 * A;
        }
        // TRL's clip metrics (spec §1.4): "low" = ρ₁ < 1 − ε_low with A < 0, "high" = ρ₁ > 1 + ε_high with
        // A > 0, on the δ-capped ratio as TRL computes them.
        clipped_low += (rho1 < lo && A < 0) ? 1 : 0;
        clipped_high += (rho1 > hi && A > 0) ? 1 : 0;
      }
      // KL(π_θ‖π_ref) per token (spec §1.5), with r = logp_ref − logp (so ∂r/∂logp = −1):
      //   k1 = −r                 ∂/∂logp = 1
      //   k2 = r²/2               ∂/∂logp = −r
      //   k3 = exp(r) − r − 1     ∂/∂logp = 1 − exp(r)      (expm1 keeps k3 accurate for small |r|)
      // It is added to the policy term after any clipping: ℓ = s + β·KL (TRL).
      if (have_ref) {
        const double r = b.logp_ref[t] - b.logp[t];
        double kl = 0, dkl = 0;
        switch (opt.kl) {
          case KlEstimator::K1:
            kl = -r;
            dkl = 1.0;
            break;
          case KlEstimator::K2:
            kl = 0.5 * r * r;
            dkl = -r;
            break;
          case KlEstimator::K3:
            kl = std::expm1(r) - r;
            dkl = -std::expm1(r);
            break;
        }
        kl_sum += kl;
        if (opt.beta > 0) {
          ell += opt.beta * kl;
          dell += opt.beta * dkl;
        }
      }
      loss += w * ell;
      res.dlogp[t] = w * dell;
      if (have_entropy) {
        entropy_sum += b.entropy[t];
        if (opt.entropy_coef != 0) {
          loss -= opt.entropy_coef * entropy_weight * b.entropy[t];
          res.dentropy[t] = -opt.entropy_coef * entropy_weight;
        }
      }
      ratio_sum += rho;
    }
  }

  res.loss = loss;
  if (local > 0) {
    const double inv = 1.0 / static_cast<double>(local);
    res.kl = have_ref ? kl_sum * inv : 0.0;
    res.entropy = have_entropy ? entropy_sum * inv : 0.0;
    res.clip_low_fraction = static_cast<double>(clipped_low) * inv;
    res.clip_high_fraction = static_cast<double>(clipped_high) * inv;
    res.ratio_mean = ratio_sum * inv;
  }
  return res;
}

double pass_at_k(int64_t n, int64_t c, int64_t k) {
  SEEK_CHECK(n >= 1, "pass_at_k: n = {} samples, need at least 1", n);
  SEEK_CHECK(c >= 0 && c <= n, "pass_at_k: c = {} correct out of n = {} samples", c, n);
  SEEK_CHECK(k >= 1 && k <= n, "pass_at_k: k = {} must be in [1, n = {}]", k, n);
  // Chen et al. 2021: every k-subset contains a correct sample once fewer than k are wrong.
  if (n - c < k) return 1.0;
  // C(n−c, k)/C(n, k) = Π_{j=n−c+1..n} (1 − k/j): c factors in (0, 1], no overflow for any n.
  double prod = 1.0;
  for (int64_t j = n - c + 1; j <= n; ++j) prod *= 1.0 - static_cast<double>(k) / static_cast<double>(j);
  return 1.0 - prod;
}

}  // namespace seek
