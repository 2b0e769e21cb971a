#!/usr/bin/python3
"""PyTorch peer of the training-step benchmark: configs/small.json, float32, full training steps.

Run from the repository root as

    OPENBLAS_CORETYPE=SKYLAKEX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch_step.py

Those two environment variables are what PyTorch needs on this CPU: OPENBLAS_CORETYPE pins the BLAS kernel
family for this (AMD EPYC, AVX-512) machine, which OpenBLAS 0.3.21 misdetects (leave it out on a CPU without
AVX-512: SKYLAKEX kernels use it; bench/step-vs-torch.sh sets it only where /proc/cpuinfo shows avx512f), and
OMP_WAIT_POLICY=PASSIVE stops idle OpenMP threads from spinning on the 2 cores shared with other jobs.
(/usr/bin/python3 is Debian's python3-torch 1.13; it links the system libblas.so.3, which is OpenBLAS:
scripts/install-deps.sh installs libopenblas0-pthread with PyTorch, and its alternative outranks the reference
BLAS.)

The model is the same code as the float64 fixture reference (tests/reference/deepseek_ref.py): batched
matmuls over heads, attention as matmul + causal mask + softmax, MoE by grouping (token, slot)
assignments per expert (index_select / index_add), plus MTP and the balance loss.

One step = forward (loss incl. MTP and balance) + backward + global grad-norm clip (1.0) + torch.optim.AdamW
(lr 1e-3, betas 0.9/0.95, eps 1e-8, weight decay 0.1 on 2-D weights only) + aux-loss-free bias update.
--no-optimizer times forward + backward only.

Prints one JSON line: {"tokens_per_s", "step_ms", "peak_rss_mb", "threads", "torch", ...}.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import deepseek_ref as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "small.json"))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3, help="timed steps")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-optimizer", action="store_true", help="forward + backward only")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = ref.Config.from_file(args.config)
    model = ref.DeepseekForCausalLM(cfg).float()
    model.init_weights()
    model.train()
    n_params = sum(p.numel() for p in model.parameters())

    params = [p for _, p in model.trainable_named_parameters()]
    opt = None
    if not args.no_optimizer:
        decay = [p for p in params if p.dim() == 2]
        no_decay = [p for p in params if p.dim() != 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=1e-3, betas=(0.9, 0.95), eps=1e-8)

    g = torch.Generator().manual_seed(args.seed + 1)

    def step():
        # A new batch every step, as seek's bench_train_step draws one: routing, and so each expert's GEMM
        # shapes, change from step to step.
        seq = torch.randint(0, cfg.vocab_size, (args.batch, args.seq + 1), generator=g)
        tokens, targets = seq[:, :-1].contiguous(), seq[:, 1:].contiguous()
        model.zero_grad(set_to_none=True)
        out = model(tokens, targets, mtp_lambda=0.3)
        out["loss"].backward()
        if opt is not None:
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            model.update_bias(1e-3)
        return float(out["loss"])

    for _ in range(args.warmup):
        step()
    times, losses = [], []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        losses.append(step())
        times.append(time.perf_counter() - t0)
    step_s = sum(times) / len(times)
    res = {
        "tokens_per_s": round(args.batch * args.seq / step_s, 1),
        "step_ms": round(step_s * 1e3, 1),
        "step_ms_min": round(min(times) * 1e3, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "batch": args.batch,
        "seq": args.seq,
        "steps": args.steps,
        "warmup": args.warmup,
        "optimizer": opt is not None,
        "params": n_params,
        "config": os.path.relpath(args.config, ROOT),
        "losses": [round(x, 5) for x in losses],
    }
    print(json.dumps(res))


if __name__ == "__main__":
    main()
