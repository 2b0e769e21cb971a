#!/usr/bin/python3
"""Write tests/fixtures/tiny-v3-fp8/: a tiny DeepSeek-V3 checkpoint stored the way the real V3 release is
(spec section 2.3), with PyTorch float64 reference logits for the inference parity test.

    /usr/bin/python3 tests/reference/make_fp8_fixture.py

* Config: configs/tiny-v3.json with hidden_size 160 and intermediate_size 200, so weights have partial 128x128
  edge blocks in both directions (e.g. q_a_proj [24, 160] has a [1, 2] scale grid whose second block is 32
  columns wide; the dense up_proj [200, 160] has a [2, 2] grid with a 72-row edge block). One MTP module
  (model.layers.3) is present, as in V3, and must be skipped by plain decoding.
* Weights: N(0, 0.02) from the seeded reference init. The attention projections, the dense MLP, routed and
  shared experts (also inside the MTP layer) are F8_E4M3 with a float32 `<name>_scale_inv` sibling of shape
  [ceil(rows/128), ceil(cols/128)]: scale = amax(block)/448, q = round-to-nearest-even e4m3(w / scale), and
  the dequantized weight is float32(q) * scale_inv (multiply, not divide). Embeddings, lm_head, norms, the
  router and eh_proj are BF16; e_score_correction_bias is F32 (N(0, 0.05) so that it changes routing).
* reference.safetensors: `tokens` (I64 [2, 12]) and `logits` (F64 [2, 12, vocab]) computed by
  tests/reference/deepseek_ref.py in float64 from exactly the dequantized / bf16-rounded values.
Deterministic: the same bytes on every run.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import deepseek_ref as ref  # noqa: E402
import safetensors_io as st  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "tests", "fixtures", "tiny-v3-fp8")
SEED = 1005
B, T = 2, 12
BLOCK = 128
FP8_SUFFIXES = ("q_proj.weight", "q_a_proj.weight", "q_b_proj.weight", "kv_a_proj_with_mqa.weight",
                "kv_b_proj.weight", "o_proj.weight", "gate_proj.weight", "up_proj.weight", "down_proj.weight")


def e4m3_table():
    """Values of the 127 non-negative finite e4m3fn codes 0x00..0x7E (0x7F is NaN)."""
    vals = []
    for code in range(0x7F):
        e, m = code >> 3, code & 7
        vals.append(m / 8.0 * 2.0 ** -6 if e == 0 else (1 + m / 8.0) * 2.0 ** (e - 7))
    return np.array(vals, dtype=np.float64)


TABLE = e4m3_table()


def to_e4m3(x):
    """float array -> uint8 e4m3fn codes, round to nearest, ties to even code, saturating at 448."""
    a = np.abs(x.astype(np.float64)).ravel()
    hi = np.clip(np.searchsorted(TABLE, a), 1, len(TABLE) - 1)
    lo = hi - 1
    dlo, dhi = a - TABLE[lo], TABLE[hi] - a
    pick = np.where(dlo < dhi, lo, np.where(dhi < dlo, hi, np.where(lo % 2 == 0, lo, hi)))
    pick = np.where(a >= TABLE[-1], len(TABLE) - 1, pick)
    codes = pick.astype(np.uint8) | np.where(x.ravel() < 0, 0x80, 0).astype(np.uint8)
    return codes.reshape(x.shape)


def quantize(w):
    """w float32 [R, C] -> (codes uint8 [R, C], scale_inv float32 [ceil(R/128), ceil(C/128)], dequantized)."""
    R, C = w.shape
    gr, gc = -(-R // BLOCK), -(-C // BLOCK)
    scale = np.zeros((gr, gc), dtype=np.float32)
    codes = np.zeros((R, C), dtype=np.uint8)
    deq = np.zeros((R, C), dtype=np.float32)
    for i in range(gr):
        for j in range(gc):
            blk = w[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK]
            s = np.float32(max(float(np.abs(blk).max()), 1e-12) / 448.0)
            q = to_e4m3(blk / s)
            scale[i, j] = s
            codes[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK] = q
            vals = TABLE[q & 0x7F].astype(np.float32) * np.where(q & 0x80, -1.0, 1.0).astype(np.float32)
            deq[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK] = vals * s  # float32 product, as C++
    return codes, scale, deq


def write_safetensors(path, entries):
    """entries: name -> (dtype string, shape, raw bytes). Larger elements first so all stay aligned."""
    size = {"F64": 8, "I64": 8, "F32": 4, "BF16": 2, "F8_E4M3": 1}
    items = sorted(entries.items(), key=lambda kv: (-size[kv[1][0]], kv[0]))
    header, off = {"__metadata__": {"format": "pt", "generator": "tests/reference/make_fp8_fixture.py"}}, 0
    for name, (dt, shape, raw) in items:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for _, (_, _, raw) in items:
            f.write(raw)


def main():
    with open(os.path.join(ROOT, "configs", "tiny-v3.json")) as f:
        cfg_dict = json.load(f)
    cfg_dict.update({"hidden_size": 160, "intermediate_size": 200})
    cfg_dict["quantization_config"] = {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                                       "weight_block_size": [BLOCK, BLOCK]}
    cfg = ref.Config(cfg_dict)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        f.write(json.dumps(cfg_dict, indent=2) + "\n")

    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    model = ref.DeepseekForCausalLM(cfg)
    model.init_weights(generator=gen, bias_std=0.05)
    entries, values = {}, {}
    partial = []
    for name, t in model.checkpoint_tensors().items():
        w = t.to(torch.float32).numpy()
        if name.endswith("e_score_correction_bias"):
            entries[name] = ("F32", w.shape, w.astype("<f4").tobytes())
            values[name] = w
        elif w.ndim == 2 and name.endswith(FP8_SUFFIXES):
            codes, scale, deq = quantize(w)
            entries[name] = ("F8_E4M3", w.shape, codes.tobytes())
            entries[name + "_scale_inv"] = ("F32", scale.shape, scale.astype("<f4").tobytes())
            values[name] = deq
            if w.shape[0] % BLOCK or w.shape[1] % BLOCK:
                partial.append(name)
        else:
            bits = st.f32_to_bf16_bits(w)
            entries[name] = ("BF16", w.shape, bits.astype("<u2").tobytes())
            values[name] = st.bf16_bits_to_f32(bits).reshape(w.shape)
    assert partial, "no weight with a partial edge block"
    write_safetensors(os.path.join(OUT, "model.safetensors"), entries)

    model = model.double()
    model.load_checkpoint_tensors({k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in values.items()})
    tokens = torch.randint(0, cfg.vocab_size, (B, T), generator=gen)
    with torch.no_grad():
        logits = model(tokens)["logits"]
    st.save_file(os.path.join(OUT, "reference.safetensors"),
                 {"tokens": tokens.to(torch.int64), "logits": logits.to(torch.float64)},
                 metadata={"generator": "tests/reference/make_fp8_fixture.py"})
    fp8 = sorted(n for n, e in entries.items() if e[0] == "F8_E4M3")
    meta = {
        "command": "/usr/bin/python3 tests/reference/make_fp8_fixture.py",
        "torch": torch.__version__,
        "seed": SEED,
        "fp8_tensors": len(fp8),
        "partial_edge_block_examples": partial[:6],
        "dequant": "W = float32(e4m3 code) * weight_scale_inv[i // 128, j // 128]",
    }
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        f.write(json.dumps(meta, indent=2) + "\n")
    print("wrote %s: %d FP8 tensors, e.g. partial blocks in %s" % (OUT, len(fp8), partial[:3]))


if __name__ == "__main__":
    main()
