#!/usr/bin/python3
"""Independent checks of the reference itself (run: /usr/bin/python3 tests/reference/check_reference.py).

1. spec numbers: YaRN low/high and softmax scales of the real V2 / V3 configs (spec 3.4, 3.5);
2. interleaved RoPE == HF's de-interleave + rotate-half, as far as q.k products go (spec 3.3);
3. the batched MLA equals a slow per-head, per-position loop over [nope ; rope] keys;
4. the grouped MoE equals a slow per-token loop over the chosen experts, with the routers re-derived;
5. the fixtures on disk: reload model.safetensors into a fresh model and reproduce logits, loss and grads.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import deepseek_ref as ref  # noqa: E402
import safetensors_io as st  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
torch.set_default_dtype(torch.float64)


def check_spec_numbers():
    base = json.load(open(os.path.join(ROOT, "configs", "tiny-v3.json")))
    for ms, want in ((0.707, 0.1147214), (1.0, 0.1352338)):
        d = dict(base, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
                 rope_scaling=dict(type="yarn", factor=40, original_max_position_embeddings=4096,
                                   beta_fast=32, beta_slow=1, mscale=ms, mscale_all_dim=ms))
        inv, mult, scale = ref.rope_parameters(ref.Config(d))
        assert abs(scale - want) < 1e-7, scale
        assert mult == 1.0
        extra = 10000.0 ** (-2.0 * torch.arange(32) / 64)
        assert torch.allclose(inv[:11], extra[:11]) and torch.allclose(inv[23:], extra[23:] / 40)
        assert not torch.allclose(inv[11:23], extra[11:23]) and not torch.allclose(inv[11:23], extra[11:23] / 40)
    print("spec numbers ok")


def check_rope():
    g = torch.Generator().manual_seed(0)
    dr, T = 8, 7
    cfg = ref.Config(json.load(open(os.path.join(ROOT, "configs", "tiny-v3.json"))))
    cfg.qk_rope_head_dim = dr
    cos, sin = ref.rope_cos_sin(cfg, T, torch.float64)
    q = torch.randn(T, dr, generator=g)
    k = torch.randn(T, dr, generator=g)
    a = ref.apply_rope_interleaved(q, cos, sin) @ ref.apply_rope_interleaved(k, cos, sin).T

    def hf(x):  # de-interleave, then NeoX rotate-half with cat(freqs, freqs)
        x = x.view(T, dr // 2, 2).transpose(1, 2).reshape(T, dr)
        c, s = torch.cat((cos, cos), -1), torch.cat((sin, sin), -1)
        rot = torch.cat((-x[:, dr // 2:], x[:, :dr // 2]), -1)
        return x * c + rot * s

    b = hf(q) @ hf(k).T
    assert torch.allclose(a, b, atol=1e-13), (a - b).abs().max()
    print("rope ok")


# q_a_layernorm's and kv_a_layernorm's eps, whatever rms_norm_eps says (spec section 3.1).
LATENT_NORM_EPS = 1e-6


def slow_attention(att, x, cos, sin):
    cfg = att.cfg
    Bn, T, _ = x.shape
    H, dn, dr, dv, r = (cfg.num_attention_heads, cfg.qk_nope_head_dim, cfg.qk_rope_head_dim,
                        cfg.v_head_dim, cfg.kv_lora_rank)
    dq = dn + dr
    out = torch.zeros(Bn, T, cfg.hidden_size)
    for b in range(Bn):
        for t in range(T):
            xt = x[b, t]
            if cfg.q_lora_rank is None:
                q = att.q_proj.weight @ xt
            else:
                qa = att.q_a_proj.weight @ xt
                qa = att.q_a_layernorm.weight * qa / torch.sqrt((qa * qa).mean() + LATENT_NORM_EPS)
                q = att.q_b_proj.weight @ qa
            heads = []
            for h in range(H):
                qh = q[h * dq:(h + 1) * dq].clone()
                qh[dn:] = ref.apply_rope_interleaved(qh[dn:].view(1, dr), cos[t:t + 1], sin[t:t + 1]).view(dr)
                scores, vals = [], []
                for j in range(t + 1):
                    a = att.kv_a_proj_with_mqa.weight @ x[b, j]
                    c = a[:r]
                    c = att.kv_a_layernorm.weight * c / torch.sqrt((c * c).mean() + LATENT_NORM_EPS)
                    kpe = ref.apply_rope_interleaved(a[r:].view(1, dr), cos[j:j + 1], sin[j:j + 1]).view(dr)
                    kv = att.kv_b_proj.weight @ c
                    kh = torch.cat((kv[h * (dn + dv):h * (dn + dv) + dn], kpe))
                    vals.append(kv[h * (dn + dv) + dn:(h + 1) * (dn + dv)])
                    scores.append(att.softmax_scale * torch.dot(qh, kh))
                p = torch.softmax(torch.stack(scores), 0)
                heads.append(sum(p[j] * vals[j] for j in range(t + 1)))
            out[b, t] = att.o_proj.weight @ torch.cat(heads)
    return out


def slow_moe(moe, x):
    """Per-token routing written out by hand from spec section 4."""
    cfg = moe.cfg
    E, K, G = cfg.n_routed_experts, cfg.num_experts_per_tok, cfg.n_group
    xs = x.reshape(-1, cfg.hidden_size)
    out = torch.zeros_like(xs)
    for n in range(xs.shape[0]):
        lg = moe.gate.weight @ xs[n]
        s = torch.softmax(lg, 0) if cfg.scoring_func == "softmax" else torch.sigmoid(lg)
        sel = s.clone()
        if cfg.topk_method == "noaux_tc":
            sel = s + moe.gate.e_score_correction_bias
        if cfg.topk_method in ("group_limited_greedy", "noaux_tc") and G > 1:
            size = E // G
            gsc = []
            for gi in range(G):
                vals = sorted(sel[gi * size:(gi + 1) * size].tolist(), reverse=True)
                gsc.append(vals[0] if cfg.topk_method == "group_limited_greedy" else sum(vals[:2]))
            keep = sorted(range(G), key=lambda gi: -gsc[gi])[:cfg.topk_group]
            sel = torch.tensor([sel[e] if e // size in keep else 0.0 for e in range(E)])
        chosen = sorted(range(E), key=lambda e: -float(sel[e]))[:K]
        w = torch.stack([s[e] for e in chosen])
        if cfg.topk_method == "noaux_tc":
            if cfg.norm_topk_prob:
                w = w / (w.sum() + 1e-20)
            w = w * cfg.routed_scaling_factor
        elif K > 1 and cfg.norm_topk_prob:
            w = w / (w.sum() + 1e-20)
        else:
            w = w * cfg.routed_scaling_factor
        for wk, e in zip(w, chosen):
            out[n] += wk * moe.experts[e](xs[n:n + 1])[0]
        if moe.shared_experts is not None:
            out[n] += moe.shared_experts(xs[n:n + 1])[0]
    return out.view_as(x)


def check_blocks():
    # tiny-v3-widths: rms_norm_eps 1e-2, which the latent norms do not take.
    for name, path in (("tiny-v2lite", "configs/tiny-v2lite.json"), ("tiny-v3", "configs/tiny-v3.json"),
                       ("tiny-v2", "configs/tiny-v2.json"),
                       ("tiny-v3-widths", "tests/fixtures/tiny-v3-widths/config.json")):
        cfg_d = json.load(open(os.path.join(ROOT, path)))
        cfg = ref.Config(cfg_d)
        g = torch.Generator().manual_seed(5)
        model = ref.DeepseekForCausalLM(cfg).double()
        model.init_weights(generator=g, bias_std=0.05 if cfg.topk_method == "noaux_tc" else 0.0)
        # larger weights so that routing is driven by the router, not only by the bias
        with torch.no_grad():
            for m in model.moe_blocks():
                m.gate.weight.mul_(20.0)
        x = torch.randn(2, 5, cfg.hidden_size, generator=g)
        cos, sin = ref.rope_cos_sin(cfg, 5, torch.float64)
        layer = [l for l in model.model.layers if isinstance(l.mlp, ref.MoE)][0]
        with torch.no_grad():
            a = layer.self_attn(x, cos, sin)
            b = slow_attention(layer.self_attn, x, cos, sin)
            assert torch.allclose(a, b, atol=1e-12), (name, (a - b).abs().max())
            y, _ = layer.mlp(x, 0.0, True)
            y2 = slow_moe(layer.mlp, x)
            assert torch.allclose(y, y2, atol=1e-12), (name, (y - y2).abs().max())
    print("attention and MoE vs slow loops ok")


def check_fixtures():
    for name in ("tiny-v2lite", "tiny-v3", "tiny-v2", "tiny-v3-tied", "tiny-v3-widths"):
        d = os.path.join(ROOT, "tests", "fixtures", name)
        if not os.path.isdir(d):
            print("fixture %s missing (run make_fixtures.py)" % name)
            continue
        cfg = ref.Config.from_file(os.path.join(d, "config.json"))
        info = json.load(open(os.path.join(d, "reference.json")))
        w = st.load_file(os.path.join(d, "model.safetensors"))
        r = st.load_file(os.path.join(d, "reference.safetensors"))
        model = ref.DeepseekForCausalLM(cfg).double()
        model.load_checkpoint_tensors({k: torch.from_numpy(v).double() for k, v in w.items()})
        tokens, targets = torch.from_numpy(r["tokens"]), torch.from_numpy(r["targets"])
        lo = info["loss_options"]
        out = model(tokens, targets, mtp_lambda=lo["mtp_lambda"], aux_alpha=lo["aux_alpha"], seq_aux=lo["seq_aux"])
        out["loss"].backward()
        assert torch.equal(out["logits"].detach(), torch.from_numpy(r["logits"]))
        assert float(out["loss"]) == info["loss"]["total"]
        n = 0
        for pn, p in model.trainable_named_parameters():
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            assert torch.equal(g, torch.from_numpy(r["grad." + pn])), pn
            n += 1
        assert n == sum(1 for k in r if k.startswith("grad."))
        print("fixture %s reproduces (%d grads)" % (name, n))


if __name__ == "__main__":
    torch.set_num_threads(1)
    check_spec_numbers()
    check_rope()
    check_blocks()
    check_fixtures()
