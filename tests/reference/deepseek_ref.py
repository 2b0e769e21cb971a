"""Independent PyTorch reference of the DeepSeek-V2 / V2-Lite / V3 model and training loss.

Written from docs/model.md (the contract) and shared/spec/deepseek-architecture.md (sections 3-5), not from
the Hugging Face code. Module and parameter names follow the Hugging Face checkpoint names, so
`state_dict()` keys are checkpoint tensor names (model.layers.{i}.self_attn.q_a_proj.weight, ...).

The same code serves two purposes:
  * the float64 fixture reference (tests/reference/make_fixtures.py), and
  * the float32 PyTorch peer of the training benchmark (bench/torch_step.py),
so it is written with batched tensor ops: attention batched over heads with a causal mask, MoE by grouping
the (token, slot) assignments per expert (index_select / index_add), never a per-token loop.

Summary of the math (d = hidden, H heads, dn/dr/dv head dims, r = kv_lora_rank):
  h = Emb(tokens); per layer: h += MLA(norm_in(h)); h += FFN(norm_post(h)); logits = head(norm(h))
  MLA (naive form): q = q_proj(x) or q_b(norm_qa(q_a(x))), per head [nope dn | rope dr];
      a = kv_a_proj_with_mqa(x) = [latent r | k_pe dr]; c = norm_kva(latent); kv_b(c) per head [k_nope | v];
      interleaved (adjacent pair) RoPE with YaRN inv_freq on q_pe and on the single shared k_pe;
      softmax scale = dq^-0.5 * m^2, m = 0.1*mscale_all_dim*ln(factor) + 1.
  MoE: router logits in the compute dtype; greedy / group_limited_greedy (softmax) / noaux_tc (sigmoid+bias).
  Loss = CE_main + lambda/D * sum_k CE_mtp_k + sum over MoE layers (MTP layers included) of L_bal.
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------------------
# configuration

class Config:
    """A Hugging Face DeepSeek config.json, with the defaults this code relies on."""

    def __init__(self, d):
        self.raw = dict(d)
        g = d.get
        self.vocab_size = d["vocab_size"]
        self.hidden_size = d["hidden_size"]
        self.intermediate_size = d["intermediate_size"]
        self.moe_intermediate_size = g("moe_intermediate_size", d["intermediate_size"])
        self.num_hidden_layers = d["num_hidden_layers"]
        self.num_attention_heads = d["num_attention_heads"]
        self.n_shared_experts = g("n_shared_experts") or 0
        self.n_routed_experts = g("n_routed_experts")
        self.num_experts_per_tok = g("num_experts_per_tok")
        self.n_group = g("n_group") or 1
        self.topk_group = g("topk_group") or 1
        self.topk_method = g("topk_method", "greedy")
        self.scoring_func = g("scoring_func", "softmax")
        self.norm_topk_prob = bool(g("norm_topk_prob", False))
        self.routed_scaling_factor = float(g("routed_scaling_factor", 1.0))
        self.first_k_dense_replace = g("first_k_dense_replace", 0)
        self.moe_layer_freq = g("moe_layer_freq", 1)
        self.q_lora_rank = g("q_lora_rank")  # None -> plain q_proj (0 is treated the same way)
        if not self.q_lora_rank:
            self.q_lora_rank = None
        self.kv_lora_rank = d["kv_lora_rank"]
        self.qk_nope_head_dim = d["qk_nope_head_dim"]
        self.qk_rope_head_dim = d["qk_rope_head_dim"]
        self.v_head_dim = d["v_head_dim"]
        self.rope_theta = float(g("rope_theta", 10000.0))
        self.rope_scaling = g("rope_scaling")
        self.rms_norm_eps = float(g("rms_norm_eps", 1e-6))
        self.tie_word_embeddings = bool(g("tie_word_embeddings", False))
        self.num_nextn_predict_layers = g("num_nextn_predict_layers") or 0
        self.aux_loss_alpha = float(g("aux_loss_alpha") or 0.0)
        self.seq_aux = bool(g("seq_aux", True))
        self.initializer_range = float(g("initializer_range", 0.02))
        if g("hidden_act", "silu") != "silu":
            raise ValueError("only silu is supported")
        if g("attention_bias", False):
            raise ValueError("attention_bias is not supported")

    @classmethod
    def from_file(cls, path):
        with open(path) as f:
            return cls(json.load(f))

    def is_moe_layer(self, i):
        return (self.n_routed_experts is not None and i >= self.first_k_dense_replace
                and i % self.moe_layer_freq == 0)

    @property
    def qk_head_dim(self):
        return self.qk_nope_head_dim + self.qk_rope_head_dim


def _yarn_m(scale, mscale):
    if scale <= 1.0:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def rope_parameters(cfg):
    """-> (inv_freq float64 [dr/2], cos/sin multiplier, softmax scale). YaRN as spec section 3.4 / 3.5."""
    dr = cfg.qk_rope_head_dim
    base = cfg.rope_theta
    i = torch.arange(0, dr // 2, dtype=torch.float64)
    freq_extra = base ** (-2.0 * i / dr)
    scale = cfg.qk_head_dim ** -0.5
    mult = 1.0
    rs = cfg.rope_scaling
    if rs and rs.get("type", rs.get("rope_type")) == "yarn":
        s = float(rs["factor"])  # as given in the config (not max_pos / original)
        L0 = float(rs["original_max_position_embeddings"])
        beta_fast = float(rs.get("beta_fast", 32))
        beta_slow = float(rs.get("beta_slow", 1))
        mscale = float(rs.get("mscale", 1.0))
        mscale_all_dim = float(rs.get("mscale_all_dim", 0.0))

        def corr_dim(n):
            return dr * math.log(L0 / (2 * math.pi * n)) / (2 * math.log(base))

        low = max(math.floor(corr_dim(beta_fast)), 0)
        high = min(math.ceil(corr_dim(beta_slow)), dr - 1)
        if low == high:
            high += 0.001
        ramp = ((i - low) / (high - low)).clamp(0.0, 1.0)
        keep = 1.0 - ramp
        freq_inter = freq_extra / s
        inv_freq = freq_inter * (1.0 - keep) + freq_extra * keep
        mult = _yarn_m(s, mscale) / _yarn_m(s, mscale_all_dim)
        if mscale_all_dim:
            m = _yarn_m(s, mscale_all_dim)
            scale = scale * m * m
        return inv_freq, mult, scale
    if rs:
        raise ValueError("unsupported rope_scaling %r" % (rs,))
    return freq_extra, mult, scale


def rope_cos_sin(cfg, T, dtype, device=None):
    inv_freq, mult, _ = rope_parameters(cfg)
    pos = torch.arange(T, dtype=torch.float64)
    ang = pos[:, None] * inv_freq[None, :]  # [T, dr/2]
    return (ang.cos() * mult).to(dtype=dtype, device=device), (ang.sin() * mult).to(dtype=dtype, device=device)


def apply_rope_interleaved(x, cos, sin):
    """x [..., T, dr]; rotate adjacent pairs (x[2i], x[2i+1]) by angle pos*inv_freq[i]."""
    shape = x.shape
    xr = x.reshape(*shape[:-1], shape[-1] // 2, 2)
    x0, x1 = xr[..., 0], xr[..., 1]
    y0 = x0 * cos - x1 * sin
    y1 = x0 * sin + x1 * cos
    return torch.stack((y0, y1), dim=-1).reshape(shape)


# ----------------------------------------------------------------------------------------------------------
# modules

class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def _linear(n_in, n_out):
    return nn.Linear(n_in, n_out, bias=False)


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, d, inter):
        super().__init__()
        self.gate_proj = _linear(d, inter)
        self.up_proj = _linear(d, inter)
        self.down_proj = _linear(inter, d)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Attention(nn.Module):
    """MLA in the naive (decompressed) form."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d, H = cfg.hidden_size, cfg.num_attention_heads
        dq, r, dr = cfg.qk_head_dim, cfg.kv_lora_rank, cfg.qk_rope_head_dim
        if cfg.q_lora_rank is None:
            self.q_proj = _linear(d, H * dq)
        else:
            self.q_a_proj = _linear(d, cfg.q_lora_rank)
            # The module default, whatever rms_norm_eps says, as in DeepSeek's and Hugging Face's code.
            self.q_a_layernorm = RMSNorm(cfg.q_lora_rank, 1e-6)
            self.q_b_proj = _linear(cfg.q_lora_rank, H * dq)
        self.kv_a_proj_with_mqa = _linear(d, r + dr)
        self.kv_a_layernorm = RMSNorm(r, 1e-6)
        self.kv_b_proj = _linear(r, H * (cfg.qk_nope_head_dim + cfg.v_head_dim))
        self.o_proj = _linear(H * cfg.v_head_dim, d)
        self.softmax_scale = rope_parameters(cfg)[2]

    def forward(self, x, cos, sin):
        cfg = self.cfg
        B, T, _ = x.shape
        H, dn, dr, dv, r = (cfg.num_attention_heads, cfg.qk_nope_head_dim, cfg.qk_rope_head_dim,
                            cfg.v_head_dim, cfg.kv_lora_rank)
        if cfg.q_lora_rank is None:
            q = self.q_proj(x)
        else:
            q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        q = q.view(B, T, H, dn + dr).transpose(1, 2)  # [B, H, T, dq]
        q_nope, q_pe = q.split([dn, dr], dim=-1)
        a = self.kv_a_proj_with_mqa(x)  # [B, T, r + dr]
        latent, k_pe = a.split([r, dr], dim=-1)
        c = self.kv_a_layernorm(latent)  # the norm covers the latent only
        kv = self.kv_b_proj(c).view(B, T, H, dn + dv).transpose(1, 2)  # [B, H, T, dn + dv]
        k_nope, v = kv.split([dn, dv], dim=-1)
        q_pe = apply_rope_interleaved(q_pe, cos, sin)
        k_pe = apply_rope_interleaved(k_pe.unsqueeze(1), cos, sin)  # [B, 1, T, dr], shared by all heads
        # Q.K over the concatenation [nope ; rope] = nope part + rope part (k_pe broadcast over heads)
        scores = torch.matmul(q_nope, k_nope.transpose(-1, -2)) + torch.matmul(q_pe, k_pe.transpose(-1, -2))
        scores = scores * self.softmax_scale
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        o = torch.matmul(probs, v)  # [B, H, T, dv]
        o = o.transpose(1, 2).reshape(B, T, H * dv)
        return self.o_proj(o)


class Gate(nn.Module):
    """Router. forward(x [N, d]) -> (idx [N, K] long, weights [N, K], scores s [N, E])."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        E = cfg.n_routed_experts
        self.weight = nn.Parameter(torch.empty(E, cfg.hidden_size))
        if cfg.topk_method == "noaux_tc":
            # not trained by gradient; updated by the sign rule (update_bias)
            self.register_buffer("e_score_correction_bias", torch.zeros(E))
        else:
            self.e_score_correction_bias = None
        if cfg.topk_method not in ("greedy", "group_limited_greedy", "noaux_tc"):
            raise ValueError("unknown topk_method %r" % cfg.topk_method)

    def select(self, s, use_bias=True):
        """Expert choice (piecewise constant, no gradient). s [N, E] detached scores -> (idx, keep-mask)."""
        cfg = self.cfg
        N, E = s.shape
        K, G = cfg.num_experts_per_tok, cfg.n_group
        if cfg.topk_method == "greedy":
            return torch.topk(s, K, dim=-1).indices, None
        if cfg.topk_method == "group_limited_greedy":
            c = s
            gscore = c.view(N, G, E // G).max(dim=-1).values  # group MAX
        else:  # noaux_tc
            c = s
            if use_bias:
                c = s + self.e_score_correction_bias.to(s.dtype)
            top2 = min(2, E // G)
            gscore = c.view(N, G, E // G).topk(top2, dim=-1).values.sum(dim=-1)  # top-2 SUM
        gidx = torch.topk(gscore, cfg.topk_group, dim=-1).indices
        gmask = torch.zeros(N, G, dtype=torch.bool, device=s.device).scatter_(1, gidx, True)
        emask = gmask.unsqueeze(-1).expand(N, G, E // G).reshape(N, E)
        masked = c.masked_fill(~emask, 0.0)  # HF fill value 0.0
        idx = torch.topk(masked, K, dim=-1).indices
        return idx, emask

    def forward(self, x):
        cfg = self.cfg
        logits = F.linear(x, self.weight)  # in the compute dtype
        if cfg.scoring_func == "softmax":
            s = torch.softmax(logits, dim=-1)
        elif cfg.scoring_func == "sigmoid":
            s = torch.sigmoid(logits)
        else:
            raise ValueError("unknown scoring_func %r" % cfg.scoring_func)
        with torch.no_grad():
            idx, emask = self.select(s.detach())
        w = s.gather(1, idx)
        if cfg.topk_method == "noaux_tc":
            # weights from the unbiased scores
            if cfg.norm_topk_prob:
                w = w / (w.sum(dim=-1, keepdim=True) + 1e-20)
            w = w * cfg.routed_scaling_factor
        else:
            if emask is not None:  # HF takes the weights from the masked scores (0 outside kept groups)
                w = w * emask.gather(1, idx).to(w.dtype)
            if cfg.num_experts_per_tok > 1 and cfg.norm_topk_prob:
                w = w / (w.sum(dim=-1, keepdim=True) + 1e-20)
            else:
                w = w * cfg.routed_scaling_factor
        return idx, w, s


class MoE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.gate = Gate(cfg)
        self.experts = nn.ModuleList(
            [MLP(cfg.hidden_size, cfg.moe_intermediate_size) for _ in range(cfg.n_routed_experts)])
        if cfg.n_shared_experts:
            self.shared_experts = MLP(cfg.hidden_size, cfg.n_shared_experts * cfg.moe_intermediate_size)
        else:
            self.shared_experts = None
        self.last_load = None   # [E] number of (token, slot) assignments in the last forward
        self.last_idx = None

    def forward(self, x, aux_alpha, seq_aux):
        """x [B, T, d] -> (y [B, T, d], balance loss scalar)."""
        cfg = self.cfg
        B, T, d = x.shape
        E, K = cfg.n_routed_experts, cfg.num_experts_per_tok
        xf = x.reshape(B * T, d)
        idx, w, s = self.gate(xf)
        flat = idx.reshape(-1)
        order = torch.sort(flat, stable=True).indices
        counts = torch.bincount(flat, minlength=E)
        tok = order // K
        wts = w.reshape(-1).index_select(0, order)
        out = torch.zeros_like(xf)
        start = 0
        for e, n in enumerate(counts.tolist()):
            if n == 0:
                continue
            t = tok[start:start + n]
            y = self.experts[e](xf.index_select(0, t)) * wts[start:start + n].unsqueeze(-1)
            out.index_add_(0, t, y)
            start += n
        if self.shared_experts is not None:
            out = out + self.shared_experts(xf)
        self.last_load = counts.detach().clone()
        self.last_idx = idx.detach().clone()

        bal = xf.new_zeros(())
        if aux_alpha:
            sp = s if cfg.scoring_func == "softmax" else s / s.sum(dim=-1, keepdim=True)
            with torch.no_grad():
                sel = torch.zeros(B * T, E, dtype=x.dtype, device=x.device)
                sel.scatter_(1, idx, 1.0)
            if seq_aux:
                f = sel.view(B, T, E).sum(1) * (E / (K * T))  # [B, E]
                P = sp.view(B, T, E).mean(1)
                bal = aux_alpha * (f * P).sum(-1).mean()
            else:
                f = sel.sum(0) * (E / (K * B * T))
                P = sp.mean(0)
                bal = aux_alpha * (f * P).sum()
        return out.view(B, T, d), bal


class DecoderLayer(nn.Module):
    def __init__(self, cfg, layer_idx):
        super().__init__()
        self.layer_idx = layer_idx
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        if cfg.is_moe_layer(layer_idx):
            self.mlp = MoE(cfg)
        else:
            self.mlp = MLP(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, h, cos, sin, aux_alpha, seq_aux):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin)
        x = self.post_attention_layernorm(h)
        if isinstance(self.mlp, MoE):
            y, bal = self.mlp(x, aux_alpha, seq_aux)
        else:
            y, bal = self.mlp(x), h.new_zeros(())
        return h + y, bal


class SharedHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        # shared_head.head is the main lm_head (a copy only in the checkpoint)


class MTPLayer(DecoderLayer):
    """MTP module k: tensors model.layers.{L+k-1}.{enorm,hnorm,eh_proj,shared_head.norm} + a decoder layer."""

    def __init__(self, cfg, layer_idx):
        super().__init__(cfg, layer_idx)
        d = cfg.hidden_size
        self.enorm = RMSNorm(d, cfg.rms_norm_eps)
        self.hnorm = RMSNorm(d, cfg.rms_norm_eps)
        self.eh_proj = _linear(2 * d, d)
        self.shared_head = SharedHead(cfg)


class DeepseekModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        L = cfg.num_hidden_layers
        layers = [DecoderLayer(cfg, i) for i in range(L)]
        layers += [MTPLayer(cfg, L + k) for k in range(cfg.num_nextn_predict_layers)]
        self.layers = nn.ModuleList(layers)
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


def _masked_ce(logits, targets):
    """Mean over targets != -1 of -log softmax(logits)[target]; 0 when none is valid."""
    V = logits.shape[-1]
    t = targets.reshape(-1)
    valid = t != -1
    if int(valid.sum()) == 0:
        return logits.new_zeros(())
    lp = torch.log_softmax(logits.reshape(-1, V), dim=-1)
    picked = lp[valid].gather(1, t[valid].unsqueeze(1)).squeeze(1)
    return -picked.mean()


class DeepseekForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if isinstance(cfg, dict):
            cfg = Config(cfg)
        self.cfg = cfg
        self.model = DeepseekModel(cfg)
        if not cfg.tie_word_embeddings:
            self.lm_head = _linear(cfg.hidden_size, cfg.vocab_size)
        else:
            self.lm_head = None

    # -- helpers -------------------------------------------------------------------------------------------
    def head_weight(self):
        return self.model.embed_tokens.weight if self.lm_head is None else self.lm_head.weight

    def main_layers(self):
        return list(self.model.layers)[: self.cfg.num_hidden_layers]

    def mtp_layers(self):
        return list(self.model.layers)[self.cfg.num_hidden_layers:]

    def moe_blocks(self):
        return [l.mlp for l in self.model.layers if isinstance(l.mlp, MoE)]

    def init_weights(self, generator=None, bias_std=0.0):
        """docs/model.md init: N(0, initializer_range) for 2-D weights, ones for norms; bias N(0, bias_std)."""
        std = self.cfg.initializer_range
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.dim() == 2:
                    p.normal_(0.0, std, generator=generator)
                else:
                    p.fill_(1.0)
            for m in self.moe_blocks():
                b = m.gate.e_score_correction_bias
                if b is not None:
                    if bias_std:
                        b.normal_(0.0, bias_std, generator=generator)
                    else:
                        b.zero_()

    # -- forward / loss ------------------------------------------------------------------------------------
    def forward(self, tokens, targets=None, mtp_lambda=0.3, aux_alpha=None, seq_aux=None, with_mtp=True):
        """tokens, targets: long [B, T]. Returns a dict: logits, and (with targets) loss, ce, mtp, mtp_ce,
        balance, balance_layers (per MoE layer index)."""
        cfg = self.cfg
        if aux_alpha is None:
            aux_alpha = cfg.aux_loss_alpha
        if seq_aux is None:
            seq_aux = cfg.seq_aux
        B, T = tokens.shape
        emb_w = self.model.embed_tokens.weight
        dtype = emb_w.dtype
        cos, sin = rope_cos_sin(cfg, T, dtype, emb_w.device)
        h = F.embedding(tokens, emb_w)
        bal_layers = {}
        for layer in self.main_layers():
            h, bal = layer(h, cos, sin, aux_alpha, seq_aux)
            if isinstance(layer.mlp, MoE):
                bal_layers[layer.layer_idx] = bal
        head_w = self.head_weight()
        logits = F.linear(self.model.norm(h), head_w)
        out = {"logits": logits}
        if targets is None:
            return out
        ce = _masked_ce(logits, targets)
        mtp_ce = []
        D = cfg.num_nextn_predict_layers
        if with_mtp and D > 0:
            h_prev = h  # h^0: final hidden state before model.norm
            for k, layer in enumerate(self.mtp_layers(), start=1):
                Tk = T - k
                if Tk <= 0:
                    mtp_ce.append(logits.new_zeros(()))
                    continue
                e = F.embedding(tokens[:, k:], emb_w)                      # Emb(tokens[b, i+k])
                x = layer.eh_proj(torch.cat((layer.enorm(e), layer.hnorm(h_prev[:, :Tk])), dim=-1))
                hk, bal = layer(x, cos[:Tk], sin[:Tk], aux_alpha, seq_aux)
                if isinstance(layer.mlp, MoE):
                    bal_layers[layer.layer_idx] = bal
                lk = F.linear(layer.shared_head.norm(hk), head_w)
                mtp_ce.append(_masked_ce(lk, targets[:, k:]))
                h_prev = hk
        mtp = (mtp_lambda / D) * torch.stack(mtp_ce).sum() if mtp_ce else logits.new_zeros(())
        balance = torch.stack(list(bal_layers.values())).sum() if bal_layers else logits.new_zeros(())
        out.update(loss=ce + mtp + balance, ce=ce, mtp=mtp, mtp_ce=mtp_ce, balance=balance,
                   balance_layers=bal_layers)
        return out

    # -- training-side helpers -----------------------------------------------------------------------------
    @torch.no_grad()
    def update_bias(self, speed):
        """Aux-loss-free balancing: b_i += speed * sign(mean_load - load_i), per noaux_tc MoE layer."""
        for m in self.moe_blocks():
            b = m.gate.e_score_correction_bias
            if b is None or m.last_load is None:
                continue
            load = m.last_load.to(torch.float64)
            mean = load.sum() / load.numel()
            b.add_((speed * torch.sign(mean - load)).to(b.dtype))

    # -- checkpoint names ------------------------------------------------------------------------------------
    def trainable_named_parameters(self):
        """(HF name, parameter) for every tensor trained by gradient (not the bias, no MTP embed/head copies)."""
        return list(self.named_parameters())

    def checkpoint_tensors(self):
        """HF-named tensors of a checkpoint, including the bias and the MTP embed/head copies."""
        sd = {}
        for name, p in self.named_parameters():
            sd[name] = p.detach()
        for name, b in self.named_buffers():
            sd[name] = b.detach()
        L = self.cfg.num_hidden_layers
        for k in range(self.cfg.num_nextn_predict_layers):
            sd["model.layers.%d.embed_tokens.weight" % (L + k)] = self.model.embed_tokens.weight.detach()
            sd["model.layers.%d.shared_head.head.weight" % (L + k)] = self.head_weight().detach()
        return sd

    def load_checkpoint_tensors(self, tensors):
        """Inverse of checkpoint_tensors (copies are ignored). tensors: name -> torch tensor/numpy."""
        L = self.cfg.num_hidden_layers
        ignore = set()
        for k in range(self.cfg.num_nextn_predict_layers):
            ignore.add("model.layers.%d.embed_tokens.weight" % (L + k))
            ignore.add("model.layers.%d.shared_head.head.weight" % (L + k))
        own = dict(self.named_parameters())
        own.update(dict(self.named_buffers()))
        with torch.no_grad():
            for name, v in tensors.items():
                if name in ignore:
                    continue
                if name not in own:
                    raise KeyError("unexpected tensor %s" % name)
                own[name].copy_(torch.as_tensor(v))
        missing = set(own) - set(tensors)
        if missing:
            raise KeyError("missing tensors: %s" % sorted(missing))


# ----------------------------------------------------------------------------------------------------------
# optimizer (hand-written, exactly as docs/model.md)

def clip_grad_norm_(params, max_norm):
    """Global L2 clipping: if ||g|| > max_norm, g *= max_norm / (||g|| + 1e-6). Returns the norm before."""
    grads = [p.grad for p in params if p.grad is not None]
    total = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
    if float(total) > max_norm:
        coef = max_norm / (float(total) + 1e-6)
        for g in grads:
            g.mul_(coef)
    return float(total)


class RefAdamW:
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (m_hat/(sqrt(v_hat)+eps) + wd p) [wd on 2-D only]."""

    def __init__(self, named_params, lr, beta1, beta2, eps, weight_decay):
        self.params = [(n, p) for n, p in named_params]
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, beta1, beta2, eps, weight_decay
        self.m = {n: torch.zeros_like(p) for n, p in self.params}
        self.v = {n: torch.zeros_like(p) for n, p in self.params}
        self.t = 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        c1 = 1.0 - self.b1 ** self.t
        c2 = 1.0 - self.b2 ** self.t
        for n, p in self.params:
            g = p.grad
            if g is None:
                continue
            m, v = self.m[n], self.v[n]
            m.mul_(self.b1).add_(g, alpha=1.0 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1.0 - self.b2)
            upd = (m / c1) / (torch.sqrt(v / c2) + self.eps)
            if p.dim() == 2:
                upd = upd + self.wd * p
            p.sub_(self.lr * upd)
