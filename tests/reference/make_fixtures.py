#!/usr/bin/python3
"""Generate the parity fixtures tests/fixtures/<name>/ from the float64 PyTorch reference.

Run from the repository root with Debian's python3 (it has torch 1.13):

    /usr/bin/python3 tests/reference/make_fixtures.py            # all fixtures
    /usr/bin/python3 tests/reference/make_fixtures.py tiny-v3    # only some

For each fixture: init weights (seeded) in float32, write config.json + model.safetensors (F32, HF names),
then compute in float64 from those float32 values: logits, loss and its parts, the gradient of every
trainable tensor, and the losses of 5 consecutive clip + AdamW + bias-update steps on the same batch.
Self-checks (they abort the script on failure): central finite differences against autograd on a sample of
parameter elements, the bias actually changes some expert choice (noaux_tc fixtures), and a safetensors
round trip. See tests/reference/README.md.
"""
import copy
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import deepseek_ref as ref  # noqa: E402
import safetensors_io as st  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
COMMAND = "/usr/bin/python3 tests/reference/make_fixtures.py"

B, T = 2, 12
IGNORED = [(0, 5), (1, 0), (1, T - 1)]  # (b, t) positions whose target is set to -1
MTP_LAMBDA = 0.3
ADAMW = dict(lr=1e-2, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, max_norm=1.0,
             bias_update_speed=1e-3, steps=5)
BIAS_STD = 0.05

# name -> (source config, overrides, seed)
FIXTURES = {
    "tiny-v2lite": ("configs/tiny-v2lite.json", {}, 1001),
    "tiny-v3": ("configs/tiny-v3.json", {}, 1002),
    "tiny-v2": ("configs/tiny-v2.json", {}, 1003),
    "tiny-v3-tied": ("configs/tiny-v3.json", {"tie_word_embeddings": True, "seq_aux": False}, 1004),
    # Every MLA width different (qk 10, v 9, nope 6, rope 4; H*qk 30, H*v 27, hidden 40, q_lora_rank 20): the
    # shipped tiny configs have qk_nope_head_dim == v_head_dim and H*v_head_dim == hidden_size, which hide
    # swapped dimensions. rms_norm_eps 1e-2, which the latent norms (q_a_layernorm, kv_a_layernorm) do not
    # take: theirs is the module default 1e-6 in DeepSeek's and Hugging Face's code.
    "tiny-v3-widths": ("configs/tiny-v3.json",
                       {"hidden_size": 40, "num_attention_heads": 3, "num_key_value_heads": 3,
                        "qk_nope_head_dim": 6, "v_head_dim": 9, "kv_lora_rank": 12, "q_lora_rank": 20,
                        "moe_intermediate_size": 14, "intermediate_size": 36, "rms_norm_eps": 1e-2}, 1010),
}


def load_config(src, overrides):
    with open(os.path.join(ROOT, src)) as f:
        text = f.read()
    d = json.loads(text)
    if not overrides:
        return d, text
    d.update(overrides)
    return d, json.dumps(d, indent=2) + "\n"


def zero_fill_grads(model):
    """A tensor the loss does not reach (an expert no token chose) has gradient 0, not None: it still gets
    the AdamW moment decay and weight decay, as the update formula in docs/model.md says."""
    for _, p in model.trainable_named_parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)


def run_loss(model, tokens, targets, cfg):
    return model(tokens, targets, mtp_lambda=MTP_LAMBDA, aux_alpha=cfg.aux_loss_alpha, seq_aux=cfg.seq_aux)


# ----------------------------------------------------------------------------------------------------------
# self-checks

def bias_changes_selection(model, tokens, targets, cfg):
    """Count tokens (over all noaux_tc MoE layers) whose expert set differs with and without the bias."""
    inputs = {}
    hooks = []
    for m in model.moe_blocks():
        hooks.append(m.register_forward_hook(lambda mod, inp, out: inputs.__setitem__(id(mod), inp[0])))
    with torch.no_grad():
        run_loss(model, tokens, targets, cfg)
    for h in hooks:
        h.remove()
    differ, total = 0, 0
    for m in model.moe_blocks():
        if m.gate.e_score_correction_bias is None:
            continue
        x = inputs[id(m)].reshape(-1, cfg.hidden_size)
        with torch.no_grad():
            s = torch.sigmoid(torch.nn.functional.linear(x, m.gate.weight))
            a, _ = m.gate.select(s, use_bias=True)
            b, _ = m.gate.select(s, use_bias=False)
        assert torch.equal(a, m.last_idx)
        da = a.sort(dim=-1).values
        db = b.sort(dim=-1).values
        differ += int((da != db).any(dim=-1).sum())
        total += da.shape[0]
    return differ, total


def routing_margins(model, x_by_block):
    """Smallest score gap that decides a routing choice (K-th vs (K+1)-th candidate, and kept vs dropped
    group), over all MoE layers and tokens. A C++ fp32 run can only pick other experts below this gap."""
    cfg = model.cfg
    worst_e, worst_g = float("inf"), float("inf")
    for m in model.moe_blocks():
        x = x_by_block[id(m)].reshape(-1, cfg.hidden_size)
        logits = torch.nn.functional.linear(x, m.gate.weight)
        s = torch.softmax(logits, -1) if cfg.scoring_func == "softmax" else torch.sigmoid(logits)
        c = s
        E, K, G = cfg.n_routed_experts, cfg.num_experts_per_tok, cfg.n_group
        if cfg.topk_method == "noaux_tc":
            c = s + m.gate.e_score_correction_bias
        if cfg.topk_method != "greedy" and G > 1:
            grp = c.view(-1, G, E // G)
            gs = grp.max(-1).values if cfg.topk_method == "group_limited_greedy" else \
                grp.topk(min(2, E // G), -1).values.sum(-1)
            top = gs.topk(min(cfg.topk_group + 1, G), -1).values
            if cfg.topk_group < G:
                worst_g = min(worst_g, float((top[:, -2] - top[:, -1]).min()))
            _, emask = m.gate.select(s)
            c = c.masked_fill(~emask, 0.0)
        top = c.topk(K + 1, -1).values
        worst_e = min(worst_e, float((top[:, K - 1] - top[:, K]).min()))
    return worst_e, worst_g


class CaptureMoEInputs:
    def __init__(self, model):
        self.x = {}
        self.hooks = [m.register_forward_hook(self._hook) for m in model.moe_blocks()]

    def _hook(self, mod, inp, out):
        self.x[id(mod)] = inp[0].detach()

    def close(self):
        for h in self.hooks:
            h.remove()


def finite_difference_check(model, tokens, targets, cfg, grads, gen, h=1e-6):
    """Central differences of the float64 loss vs autograd on sampled elements of many tensors."""
    names = [n for n, _ in model.trainable_named_parameters()]
    params = dict(model.trainable_named_parameters())
    # a spread of tensors: every kind of parameter in the first MoE layer / MTP layer plus globals
    wanted = []
    for n in names:
        short = n.split(".")
        if "experts" in short and short[short.index("experts") + 1] not in ("0", "1", "2"):
            continue
        wanted.append(n)
    checks = []
    worst = 0.0
    with torch.no_grad():
        for n in wanted:
            p = params[n]
            g = grads[n].reshape(-1)
            cand = [int(torch.argmax(g.abs()))]
            cand.append(int(torch.randint(0, p.numel(), (1,), generator=gen)))
            for j in cand:
                flat = p.view(-1)
                old = float(flat[j])
                flat[j] = old + h
                lp = float(run_loss(model, tokens, targets, cfg)["loss"])
                flat[j] = old - h
                lm = float(run_loss(model, tokens, targets, cfg)["loss"])
                flat[j] = old
                fd = (lp - lm) / (2 * h)
                an = float(g[j])
                err = abs(fd - an)
                tol = 1e-7 + 1e-5 * abs(an)
                worst = max(worst, err / tol)
                checks.append((n, j, an, fd, err))
                if err > tol:
                    raise AssertionError("finite-difference mismatch %s[%d]: autograd %.12g fd %.12g" %
                                         (n, j, an, fd))
    return {"elements_checked": len(checks), "step": h, "worst_err_over_tol": worst,
            "tolerance": "1e-7 + 1e-5*|g|"}


def safetensors_roundtrip(path, tensors):
    back = st.load_file(path)
    assert set(back) == set(tensors), "safetensors names differ"
    for k, v in tensors.items():
        v = v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)
        assert back[k].dtype == v.dtype and back[k].shape == v.shape and np.array_equal(back[k], v), k


# ----------------------------------------------------------------------------------------------------------

def make_fixture(name):
    src, overrides, seed = FIXTURES[name]
    cfg_dict, cfg_text = load_config(src, overrides)
    cfg = ref.Config(cfg_dict)
    out_dir = os.path.join(ROOT, "tests", "fixtures", name)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        f.write(cfg_text)

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = ref.DeepseekForCausalLM(cfg)  # float32
    model.init_weights(generator=gen, bias_std=BIAS_STD if cfg.topk_method == "noaux_tc" else 0.0)
    ckpt = {k: v.to(torch.float32).contiguous() for k, v in model.checkpoint_tensors().items()}
    st.save_file(os.path.join(out_dir, "model.safetensors"), ckpt,
                 metadata={"format": "pt", "generator": "tests/reference/make_fixtures.py"})
    safetensors_roundtrip(os.path.join(out_dir, "model.safetensors"), ckpt)

    # the reference computes in float64 from the float32 values just written
    model = model.double()
    model_init = copy.deepcopy(model)

    seq = torch.randint(0, cfg.vocab_size, (B, T + 1), generator=gen)
    tokens = seq[:, :T].clone()
    targets = seq[:, 1:].clone()
    for b, t in IGNORED:
        targets[b, t] = -1

    cap = CaptureMoEInputs(model)
    out = run_loss(model, tokens, targets, cfg)
    cap.close()
    margins = [routing_margins(model, cap.x)]
    model.zero_grad(set_to_none=True)
    out["loss"].backward()
    zero_fill_grads(model)
    grads = {n: p.grad.detach().clone() for n, p in model.trainable_named_parameters()}

    checks = {}
    checks["finite_differences"] = finite_difference_check(model, tokens, targets, cfg, grads, gen)
    if cfg.topk_method == "noaux_tc":
        differ, total = bias_changes_selection(model, tokens, targets, cfg)
        assert differ > 0, "%s: the correction bias never changes the expert choice" % name
        checks["bias_changes_selection"] = {"tokens_with_other_experts": differ, "tokens_routed": total}

    # 5 AdamW steps on the same batch
    train = model_init
    opt = ref.RefAdamW(train.trainable_named_parameters(), ADAMW["lr"], ADAMW["beta1"], ADAMW["beta2"],
                       ADAMW["eps"], ADAMW["weight_decay"])
    params = [p for _, p in train.trainable_named_parameters()]
    losses, norms, loads = [], [], []
    cap = CaptureMoEInputs(train)
    for step in range(ADAMW["steps"]):
        train.zero_grad(set_to_none=True)
        o = run_loss(train, tokens, targets, cfg)
        with torch.no_grad():
            margins.append(routing_margins(train, cap.x))
        losses.append(float(o["loss"]))
        o["loss"].backward()
        zero_fill_grads(train)
        norms.append(ref.clip_grad_norm_(params, ADAMW["max_norm"]))
        opt.step()
        loads.append({str(m_idx): m.last_load.tolist() for m_idx, m in
                      zip([l.layer_idx for l in train.model.layers if isinstance(l.mlp, ref.MoE)],
                          train.moe_blocks())})
        train.update_bias(ADAMW["bias_update_speed"])
    cap.close()
    assert abs(losses[0] - float(out["loss"])) < 1e-12
    if model.moe_blocks():
        checks["routing_margins"] = {
            "min_expert_gap_initial": margins[0][0], "min_group_gap_initial": margins[0][1],
            "min_expert_gap_adamw_steps": min(m[0] for m in margins[1:]),
            "min_group_gap_adamw_steps": min(m[1] for m in margins[1:]),
            "note": "smallest score gap deciding a top-k / group choice (inf: no group choice); an fp32 "
                    "implementation agrees on routing when its score error stays below this"}
        for k, v in list(checks["routing_margins"].items()):
            if v == float("inf"):
                checks["routing_margins"][k] = None
    final_bias = {}
    for l in train.model.layers:
        if isinstance(l.mlp, ref.MoE) and l.mlp.gate.e_score_correction_bias is not None:
            final_bias["model.layers.%d.mlp.gate.e_score_correction_bias" % l.layer_idx] = \
                l.mlp.gate.e_score_correction_bias.tolist()

    ref_tensors = {
        "tokens": tokens.to(torch.int64),
        "targets": targets.to(torch.int64),
        "logits": out["logits"].detach().to(torch.float64),
        "adamw_losses": torch.tensor(losses, dtype=torch.float64),
    }
    for n, g in grads.items():
        ref_tensors["grad." + n] = g.to(torch.float64)
    st.save_file(os.path.join(out_dir, "reference.safetensors"), ref_tensors,
                 metadata={"format": "pt", "generator": "tests/reference/make_fixtures.py"})
    safetensors_roundtrip(os.path.join(out_dir, "reference.safetensors"), ref_tensors)

    inv_freq, mult, scale = ref.rope_parameters(cfg)
    info = {
        "fixture": name,
        "config_source": src,
        "config_overrides": overrides,
        "batch": {"B": B, "T": T, "ignored_targets_bt": IGNORED,
                  "targets": "targets[b,t] = tokens of a random T+1 window shifted by one; listed (b,t) set to -1"},
        "loss_options": {"mtp_lambda": MTP_LAMBDA, "aux_alpha": cfg.aux_loss_alpha, "seq_aux": cfg.seq_aux},
        "loss": {
            "total": float(out["loss"]),
            "ce": float(out["ce"]),
            "mtp": float(out["mtp"]),
            "balance": float(out["balance"]),
            "mtp_ce_per_module": [float(x) for x in out["mtp_ce"]],
            "balance_per_layer": {str(k): float(v) for k, v in out["balance_layers"].items()},
            "note": "total = ce + mtp + balance; mtp is the weighted term (mtp_lambda/D)*sum_k CE_mtp_k, "
                    "the raw CE_mtp_k are in mtp_ce_per_module; balance sums all MoE layers incl. MTP",
        },
        "adamw": {k: ADAMW[k] for k in ("lr", "beta1", "beta2", "eps", "weight_decay", "max_norm",
                                         "bias_update_speed", "steps")},
        "adamw_losses": losses,
        "adamw_grad_norms_before_clip": norms,
        "adamw_expert_loads_per_step": loads,
        "adamw_final_bias": final_bias,
        "derived": {"softmax_scale": scale, "rope_inv_freq": inv_freq.tolist(), "rope_cos_sin_mult": mult,
                    "moe_layers": [l.layer_idx for l in model.model.layers if isinstance(l.mlp, ref.MoE)]},
        "init": {"seed": seed, "linear_embedding_std": cfg.initializer_range, "norms": 1.0,
                 "e_score_correction_bias_std": BIAS_STD if cfg.topk_method == "noaux_tc" else None,
                 "weights": "generated in float32; the float64 reference is computed from these float32 values"},
        "self_checks": checks,
        "reference_dtype": "float64",
        "torch_version": torch.__version__,
        "command": COMMAND,
    }
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(out_dir, x)) for x in os.listdir(out_dir))
    assert size < 2 * 1024 * 1024, "%s is %d bytes" % (out_dir, size)
    if "routing_margins" in checks:
        print("%-13s routing margins %s" % (name, {k: v for k, v in checks["routing_margins"].items()
                                                  if k != "note"}))
    print("%-13s loss %.10f  ce %.10f  mtp %.10f  balance %.3e  adamw %s  (%d KiB)%s" % (
        name, info["loss"]["total"], info["loss"]["ce"], info["loss"]["mtp"], info["loss"]["balance"],
        " ".join("%.6f" % x for x in losses), size // 1024,
        ("  bias-changed %d/%d" % (checks["bias_changes_selection"]["tokens_with_other_experts"],
                                    checks["bias_changes_selection"]["tokens_routed"])
         if "bias_changes_selection" in checks else "")))


def main(argv):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    names = argv[1:] or list(FIXTURES)
    for n in names:
        if n not in FIXTURES:
            raise SystemExit("unknown fixture %s (known: %s)" % (n, ", ".join(FIXTURES)))
        make_fixture(n)


if __name__ == "__main__":
    main(sys.argv)
