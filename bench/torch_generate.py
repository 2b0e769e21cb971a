#!/usr/bin/python3
"""PyTorch peer of the inference benchmark: a generation loop with a standard (decompressed) KV cache.

Run from the repository root as

    OPENBLAS_CORETYPE=SKYLAKEX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch_generate.py \
        --config configs/small.json --batch 1 16 64 --ctx 128

(see bench/torch_step.py for why those two variables, and for leaving out the first on CPUs without
AVX-512). The model is the float32 reference
(tests/reference/deepseek_ref.py), random weights. Prefill = the layers over T prompt tokens (batch 1) and the
output head over the last one, as seek's prefill computes (the head over all T would be ~2x the work at
V2-Lite shapes, where it is 0.42 of 0.75 GFLOP per token).
Decode = for each batch size B: the cache holds `ctx` positions of random keys/values per sequence (as the C++
benchmark fills its cache), then one step feeds B tokens at position ctx through every layer: MLA in the naive
form with K = [k_nope | k_pe] and V per head appended to the cache, attention over ctx + 1 keys, dense / MoE
FFN via the reference modules, final norm, lm_head and a greedy argmax. Prints one JSON line per measurement.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import deepseek_ref as ref  # noqa: E402


class KVGenerator:
    def __init__(self, model, max_len, batch):
        self.m = model
        cfg = model.cfg
        self.cfg = cfg
        H, dq, dv = cfg.num_attention_heads, cfg.qk_head_dim, cfg.v_head_dim
        L = cfg.num_hidden_layers
        self.k = [torch.randn(batch, H, max_len, dq) * 0.1 for _ in range(L)]
        self.v = [torch.randn(batch, H, max_len, dv) * 0.1 for _ in range(L)]
        self.cos, self.sin = ref.rope_cos_sin(cfg, max_len, torch.float32)

    @torch.no_grad()
    def step(self, tokens, pos):
        """tokens [B] at position pos -> next tokens [B] (greedy)."""
        cfg, m = self.cfg, self.m
        B = tokens.shape[0]
        H, dn, dr, dv, r = (cfg.num_attention_heads, cfg.qk_nope_head_dim, cfg.qk_rope_head_dim,
                            cfg.v_head_dim, cfg.kv_lora_rank)
        cos, sin = self.cos[pos:pos + 1], self.sin[pos:pos + 1]
        h = F.embedding(tokens, m.model.embed_tokens.weight).unsqueeze(1)  # [B, 1, d]
        for li, layer in enumerate(m.main_layers()):
            x = layer.input_layernorm(h)
            at = layer.self_attn
            q = at.q_proj(x) if cfg.q_lora_rank is None else at.q_b_proj(at.q_a_layernorm(at.q_a_proj(x)))
            q = q.view(B, 1, H, dn + dr).transpose(1, 2)  # [B, H, 1, dq]
            q_nope, q_pe = q.split([dn, dr], dim=-1)
            a = at.kv_a_proj_with_mqa(x)
            latent, k_pe = a.split([r, dr], dim=-1)
            kv = at.kv_b_proj(at.kv_a_layernorm(latent)).view(B, 1, H, dn + dv).transpose(1, 2)
            k_nope, v = kv.split([dn, dv], dim=-1)
            q_pe = ref.apply_rope_interleaved(q_pe, cos, sin)
            k_pe = ref.apply_rope_interleaved(k_pe.unsqueeze(1), cos, sin).expand(B, H, 1, dr)
            self.k[li][:, :, pos:pos + 1] = torch.cat((k_nope, k_pe), dim=-1)
            self.v[li][:, :, pos:pos + 1] = v
            K, V = self.k[li][:, :, :pos + 1], self.v[li][:, :, :pos + 1]
            scores = torch.matmul(torch.cat((q_nope, q_pe), dim=-1), K.transpose(-1, -2)) * at.softmax_scale
            o = torch.matmul(torch.softmax(scores, dim=-1), V).transpose(1, 2).reshape(B, 1, H * dv)
            h = h + at.o_proj(o)
            x = layer.post_attention_layernorm(h)
            y = layer.mlp(x, 0.0, True)[0] if isinstance(layer.mlp, ref.MoE) else layer.mlp(x)
            h = h + y
        logits = F.linear(m.model.norm(h[:, 0]), m.head_weight())
        return logits.argmax(dim=-1)


@torch.no_grad()
def prefill(model, tokens):
    """tokens [1, T] -> logits [1, vocab] of the last position."""
    cfg = model.cfg
    emb_w = model.model.embed_tokens.weight
    cos, sin = ref.rope_cos_sin(cfg, tokens.shape[1], emb_w.dtype)
    h = F.embedding(tokens, emb_w)
    for layer in model.main_layers():
        h, _ = layer(h, cos, sin, 0.0, True)
    return F.linear(model.model.norm(h[:, -1]), model.head_weight())


def timed(fn, min_time, min_iters=2):
    fn()  # warm-up
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time and n >= min_iters:
            return dt / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "small.json"))
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--ctx", type=int, nargs="+", default=[128])
    ap.add_argument("--prefill", type=int, default=0, help="prompt length of the prefill measurement (0: skip)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=1.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = ref.Config.from_file(args.config)
    cfg.num_nextn_predict_layers = 0
    model = ref.DeepseekForCausalLM(cfg).float().eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.uniform_(-0.0346, 0.0346)
    name = os.path.basename(args.config)
    common = {"config": name, "threads": args.threads, "torch": torch.__version__}
    if args.prefill:
        toks = torch.randint(0, cfg.vocab_size, (1, args.prefill))
        with torch.no_grad():
            dt = timed(lambda: prefill(model, toks), args.min_time, 1)
        print(json.dumps(dict(common, kind="prefill", T=args.prefill, tok_s=args.prefill / dt)), flush=True)
    for ctx in args.ctx:
        for B in args.batch:
            gen = KVGenerator(model, ctx + 1, B)
            toks = torch.randint(0, cfg.vocab_size, (B,))
            dt = timed(lambda: gen.step(toks, ctx), args.min_time)
            print(json.dumps(dict(common, kind="decode", batch=B, ctx=ctx, step_ms=dt * 1e3, tok_s=B / dt)),
                  flush=True)
            del gen


if __name__ == "__main__":
    main()
