#!/usr/bin/python3
"""Table of bench/infer/vs-torch.sh: seek's and PyTorch's tokens/s per row, each the median over the rounds.

Usage: python3 bench/infer/vs_torch_table.py bench/infer/results/vs-torch
Reads seek-N.json and seek-active-N.json (Google Benchmark output of bench_infer with seek's default OpenMP
wait and with OMP_WAIT_POLICY=ACTIVE) and torch-N.jsonl (bench/torch_generate.py) for every round N, and prints one line per row:
the medians, the ratio of seek's (default wait) to PyTorch's, the spread over the rounds (max / min) of those
two, and the memory bandwidth measured in seek's runs.
"""
import glob
import json
import os
import statistics
import sys


def seek_rows(path):
    """{(config, kind, batch): tok_s} of one bench_infer run, and its bandwidth in GB/s."""
    rows, bandwidth = {}, None
    for b in json.load(open(path))["benchmarks"]:
        name = b["name"]
        if name.startswith("memory_bandwidth"):
            bandwidth = b["GB_s"]
            continue
        parts = name.split("/")
        config = {"small": "small.json", "v2lite": "v2lite-2layer.json"}[parts[1]]
        if parts[0] == "prefill":
            rows[(config, "prefill", 1)] = b["tok_s"]
        else:
            rows[(config, "decode", int(parts[3].split(":")[1]))] = b["tok_s"]
    return rows, bandwidth


def torch_rows(path):
    rows = {}
    for line in open(path):
        r = json.loads(line)
        rows[(r["config"], r["kind"], r.get("batch", 1))] = r["tok_s"]
    return rows


def main():
    folder = sys.argv[1]
    seek_runs = sorted(glob.glob(os.path.join(folder, "seek-[0-9]*.json")))
    active_runs = sorted(glob.glob(os.path.join(folder, "seek-active-*.json")))
    torch_runs = sorted(glob.glob(os.path.join(folder, "torch-*.jsonl")))
    if not seek_runs or not len(seek_runs) == len(active_runs) == len(torch_runs):
        sys.exit(f"{folder}: expected as many seek-N.json as seek-active-N.json and torch-N.jsonl files, found "
                 f"{len(seek_runs)}, {len(active_runs)} and {len(torch_runs)}")
    seek, active, torch, bandwidths = {}, {}, {}, []
    for runs, into in ((seek_runs, seek), (active_runs, active)):
        for path in runs:
            rows, bw = seek_rows(path)
            bandwidths.append(bw)
            for k, v in rows.items():
                into.setdefault(k, []).append(v)
    for path in torch_runs:
        for k, v in torch_rows(path).items():
            torch.setdefault(k, []).append(v)
    print(f"{len(seek_runs)} rounds; memory bandwidth in seek's runs: "
          + ", ".join(f"{b:.0f}" for b in bandwidths if b) + " GB/s")
    print(f"{'config':<20} {'row':<9} {'seek':>9} {'seek ACTIVE':>12} {'PyTorch':>9} {'seek/PyTorch':>13} "
          f"{'spread':>12}")
    for key in sorted(seek, key=lambda k: (k[0], k[1] != "prefill", k[2])):
        if key not in torch or key not in active:
            sys.exit(f"a run lacks the row {key}")
        s, a, t = (statistics.median(r[key]) for r in (seek, active, torch))
        row = "prefill" if key[1] == "prefill" else f"batch {key[2]}"
        spread = f"{max(seek[key]) / min(seek[key]):.2f} / {max(torch[key]) / min(torch[key]):.2f}"
        print(f"{key[0]:<20} {row:<9} {s:>9,.1f} {a:>12,.1f} {t:>9,.1f} {s / t:>12.1f}x {spread:>12}")


if __name__ == "__main__":
    main()
