#!/usr/bin/python3
"""The ratios of bench/infer/run.sh, each against its peer measured in the same run (the figures that
BENCHMARKS.md's "Inference" section cites).

Usage: python3 bench/infer/summary.py bench/infer/results
Reads the Google Benchmark JSON files run.sh writes there (cpp_small.json, cpp_v2lite.json,
cpp_v2lite_decode.json, cpp_4k.json, cpp_4k_bf16.json, cpp_layer.json, cpp_cache_attention.json; a missing or
unreadable one is skipped with a note, cpp_generate.json and cpp_sample.json are not summarised). Each figure
is a row's median over its repetitions (the median aggregate; without aggregates, the median of the plain
rows), a missing row prints "-", and a figure whose repetitions have a coefficient of variation above 10% (the
cv aggregate, else stddev / mean) is marked '*', as in BENCHMARKS.md; a ratio is not marked, read its two
rows. Every table names the file its rows come from, since run.sh's runs see different memory bandwidths.
Printed, in order:
  the files read: when their run started, their number of rows, and their memory_bandwidth row (GB/s);
  (a) decode tok/s at batch 1 / 16 / 64 (ctx 128) and batch 64 / batch 1, small.json and V2-Lite-shaped,
      fp32 and bf16 weights, packed and -rowmajor, and packed / row-major per batch;
  (b) absorbed / naive MLA decode tok/s per batch: context/v2lite at ctx 128 / 1K / 4K with fp32 caches, at 4K
      with bf16 caches (and the fp8 latent cache against naive bf16), context/v2lite-bf16 (bf16 weights; f32
      and bf16 caches), layer/ (one MoE layer; fp32, and bf16 weights with bf16 caches);
  (c) KV cache bytes per token (cache_B_tok) of the absorbed and naive rows, and naive / absorbed;
  (d) decode GB/s of each decode/v2lite row, and as a % of the memory_bandwidth median of the same file;
  (e) one layer's attention alone (cache_attention): absorbed and naive ms, naive / absorbed.
Exit status: 0; 2 for bad usage (no such directory, or none of the files readable in it).
"""
import json
import os
import re
import statistics
import sys

FILES = ("cpp_small.json", "cpp_v2lite.json", "cpp_v2lite_decode.json", "cpp_4k.json", "cpp_4k_bf16.json",
         "cpp_layer.json", "cpp_cache_attention.json")
MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
NOISY = 0.10  # coefficient of variation above which a figure is marked '*'
BATCHES = (1, 16, 64)


class Row:
    """One benchmark's median (fields: tok_s, GB_s, cache_B_tok, ms) and coefficient of variation per field."""

    def __init__(self, median, cv):
        self.median, self.cv = median, cv

    def get(self, field):
        return self.median.get(field)

    def noisy(self, field):
        cv = self.cv.get(field)
        return cv is not None and cv > NOISY


def fields(b):
    """The numeric fields of one JSON row, its time as ms (real time: the bench's rows use it)."""
    out = {k: v for k, v in b.items() if k in ("tok_s", "GB_s", "cache_B_tok", "GFLOP_s")}
    if "real_time" in b:
        out["ms"] = b["real_time"] * MS.get(b.get("time_unit", "ns"), 1e-6)
    return out


def load(path):
    """{name without /real_time: Row} of one bench_infer JSON file, and the date it was run."""
    with open(path) as f:
        doc = json.load(f)
    aggregates, plain = {}, {}
    for b in doc.get("benchmarks", []):
        if b.get("error_occurred") or b.get("skipped"):
            continue
        name = b.get("run_name", b.get("name", "")).removesuffix("/real_time")
        if b.get("run_type") == "aggregate":
            aggregates.setdefault(name, {})[b.get("aggregate_name")] = b
        else:
            plain.setdefault(name, []).append(fields(b))
    rows = {}
    for name in set(aggregates) | set(plain):
        agg = aggregates.get(name, {})
        if "median" in agg or "mean" in agg:  # the mean only where a run wrote no median
            median = fields(agg.get("median", agg.get("mean")))
            if "cv" in agg:
                # the cv row holds each field's stddev / mean as a fraction, its time included
                cv = fields({**agg["cv"], "time_unit": "ms"})
            elif "stddev" in agg and "mean" in agg:
                sd, mean = fields(agg["stddev"]), fields(agg["mean"])
                cv = {k: sd[k] / mean[k] for k in sd if mean.get(k)}
            else:
                cv = {}
        elif name in plain:
            runs = plain[name]
            keys = set.intersection(*(set(r) for r in runs))
            median = {k: statistics.median(r[k] for r in runs) for k in keys}
            cv = {}
            if len(runs) > 1:
                for k in keys:
                    mean = statistics.mean(r[k] for r in runs)
                    if mean:
                        cv[k] = statistics.stdev(r[k] for r in runs) / mean
        else:
            continue
        rows[name] = Row(median, cv)
    return rows, doc.get("context", {}).get("date", "-")


def num(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}" if abs(v) >= 1 else f"{v:.3g}"


def cell(row, field):
    """A row's median with '*' when noisy, or '-'."""
    if row is None or row.get(field) is None:
        return "-"
    return num(row.get(field)) + ("*" if row.noisy(field) else "")


def ratio(a, b, field):
    if a is None or b is None or not a.get(field) or not b.get(field):
        return "-"
    r = a.get(field) / b.get(field)
    return f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def table(title, header, lines, left):
    """Print an aligned table: the first `left` columns aligned left, the others right."""
    print()
    print(title)
    if not lines:
        print("  (none of these rows in the files read)")
        return
    widths = [max(len(str(x[i])) for x in [header] + lines) for i in range(len(header))]
    for line in [header] + lines:
        print("  " + "  ".join(str(x).ljust(w) if i < left else str(x).rjust(w)
                               for i, (x, w) in enumerate(zip(line, widths))).rstrip())


def labelled(file, lines):
    """Show the file's name on the first of its lines only."""
    return [[file if i == 0 else ""] + line for i, line in enumerate(lines)]


def main():
    if sys.argv[1:] in (["-h"], ["--help"]):
        print(__doc__)
        return
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print("usage: python3 bench/infer/summary.py RESULTS_DIR (bench/infer/run.sh writes bench/infer/results)",
              file=sys.stderr)
        sys.exit(2)
    folder = sys.argv[1]
    if not os.path.isdir(folder):
        print(f"summary.py: {folder}: no such directory (bench/infer/run.sh writes its JSON files there)",
              file=sys.stderr)
        sys.exit(2)
    runs, dates, notes = {}, {}, []
    for file in FILES:
        path = os.path.join(folder, file)
        if not os.path.exists(path):
            notes.append(f"{file}: missing, skipped")
            continue
        try:
            runs[file], dates[file] = load(path)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            notes.append(f"{file}: unreadable ({e}), skipped")
    if not runs:
        unreadable = [n for n in notes if "unreadable" in n]
        print(f"summary.py: {folder}: " + ("; ".join(unreadable) if unreadable else f"none of {', '.join(FILES)}")
              + "; run bench/infer/run.sh first", file=sys.stderr)
        sys.exit(2)

    print(f"bench_infer summary of {folder}: medians, * = coefficient of variation above {NOISY:.0%}")
    machine = os.path.join(folder, "machine.txt")
    if os.path.exists(machine):
        for line in open(machine):
            if line.startswith("Model name"):
                print("  " + " ".join(line.split()))
    for n in notes:
        print("  " + n)

    def row(file, name):
        return runs.get(file, {}).get(name)

    bw = {file: rows.get("memory_bandwidth") for file, rows in runs.items()}
    table("files read: when run, rows, memory bandwidth measured in the run (memory_bandwidth row)",
          ["file", "run started", "rows", "GB/s"],
          [[file, dates[file], str(len(rows)), cell(bw[file], "GB_s")] for file, rows in runs.items()], 2)

    # (a) decode at ctx 128
    lines = []
    for file, model in (("cpp_small.json", "small"), ("cpp_v2lite.json", "v2lite"),
                        ("cpp_v2lite_decode.json", "v2lite")):
        if file not in runs or not any(n.startswith(f"decode/{model}/") for n in runs[file]):
            continue
        block = []
        for weights, suffix in (("fp32", ""), ("bf16", "-bf16")):
            packed = [row(file, f"decode/{model}/absorbed{suffix}/batch:{b}/ctx:128") for b in BATCHES]
            rowmajor = [row(file, f"decode/{model}/absorbed{suffix}-rowmajor/batch:{b}/ctx:128") for b in BATCHES]
            for layout, rs in (("packed", packed), ("row-major", rowmajor)):
                block.append([model, weights, layout] + [cell(r, "tok_s") for r in rs]
                             + [ratio(rs[2], rs[0], "tok_s")])
            block.append([model, weights, "packed / row-major"]
                         + [ratio(p, r, "tok_s") for p, r in zip(packed, rowmajor)] + [""])
        lines += labelled(file, block)
    table("(a) decode tok/s, ctx 128", ["file", "model", "weights", "layout"]
          + [f"batch {b}" for b in BATCHES] + ["64 / 1"], lines, 4)

    # (b) absorbed vs naive
    groups = [  # file, row prefix, ctx, absorbed cache, naive cache
        ("cpp_v2lite.json", "context/v2lite", 128, "f32", "f32"),
        ("cpp_v2lite.json", "context/v2lite", 1024, "f32", "f32"),
        ("cpp_v2lite.json", "context/v2lite", 4096, "f32", "f32"),
        ("cpp_v2lite.json", "context/v2lite", 4096, "bf16", "bf16"),
        ("cpp_v2lite.json", "context/v2lite", 4096, "fp8", "bf16"),
        ("cpp_4k.json", "context/v2lite", 4096, "f32", "f32"),
        ("cpp_4k.json", "context/v2lite", 4096, "bf16", "bf16"),
        ("cpp_4k.json", "context/v2lite", 4096, "fp8", "bf16"),
        ("cpp_4k.json", "layer/moe", 4096, "f32", "f32"),
        ("cpp_4k.json", "layer/moe-bf16", 4096, "bf16", "bf16"),
        ("cpp_4k_bf16.json", "context/v2lite-bf16", 4096, "f32", "f32"),
        ("cpp_4k_bf16.json", "context/v2lite-bf16", 4096, "bf16", "bf16"),
        ("cpp_layer.json", "layer/moe", 128, "f32", "f32"),
        ("cpp_layer.json", "layer/moe", 4096, "f32", "f32"),
        ("cpp_layer.json", "layer/moe-bf16", 128, "bf16", "bf16"),
        ("cpp_layer.json", "layer/moe-bf16", 4096, "bf16", "bf16"),
    ]
    lines, last = [], None
    for file, prefix, ctx, ca, cn in groups:
        if file not in runs:
            continue
        a = [row(file, f"{prefix}/absorbed-{ca}/batch:{b}/ctx:{ctx}") for b in BATCHES]
        n = [row(file, f"{prefix}/naive-{cn}/batch:{b}/ctx:{ctx}") for b in BATCHES]
        if not any(a):  # e.g. cpp_4k.json written without the bf16 / fp8 cache rows: nothing to say
            continue
        ctx_s = f"{ctx // 1024}K" if ctx >= 1024 else str(ctx)
        fn = "" if file == last else file
        last = file
        lines.append([fn, prefix, ctx_s, f"absorbed-{ca}"] + [cell(r, "tok_s") for r in a])
        if ca == cn:  # the fp8 line is compared with the naive-bf16 line printed above it
            lines.append(["", "", "", f"naive-{cn}"] + [cell(r, "tok_s") for r in n])
        lines.append(["", "", "", f"absorbed-{ca} / naive-{cn}"] + [ratio(x, y, "tok_s") for x, y in zip(a, n)])
    table("(b) absorbed vs naive MLA, decode tok/s", ["file", "rows", "ctx", "form"]
          + [f"batch {b}" for b in BATCHES], lines, 4)

    # (c) cache bytes per token: constant per row kind, so from the first row of that kind in any file
    pattern = re.compile(r"^(context/v2lite(?:-bf16)?|layer/moe(?:-bf16)?)/(absorbed|naive)-(\w+)/batch:\d+/ctx:\d+$")
    seen = {}
    for file, rows in runs.items():
        for name in sorted(rows):
            m = pattern.match(name)
            if m and rows[name].get("cache_B_tok") is not None:
                seen.setdefault((m[1], m[2], m[3]), (rows[name].get("cache_B_tok"), file))
    lines, last = [], None
    for prefix in ("context/v2lite", "context/v2lite-bf16", "layer/moe", "layer/moe-bf16"):
        for ct in ("f32", "bf16", "fp8"):
            a, n = seen.get((prefix, "absorbed", ct)), seen.get((prefix, "naive", ct))
            if not a and not n:
                continue
            against = f"{n[0] / a[0]:.1f}x" if a and n else "-"
            if a and not n and ct == "fp8":  # no naive fp8 decode rows: against the naive bf16 and f32 caches
                others = [(c, seen.get((prefix, "naive", c))) for c in ("bf16", "f32")]
                against = ", ".join(f"{o[0] / a[0]:.1f}x naive-{c}" for c, o in others if o) or "-"
            files = ", ".join(sorted({x[1] for x in (a, n) if x}))
            shown = "" if lines and files == last else files
            last = files
            lines.append([shown, prefix, ct, num(a[0]) if a else "-", num(n[0]) if n else "-", against])
    table("(c) KV cache bytes per token (cache_B_tok; all the model's layers)",
          ["file", "rows", "cache", "absorbed", "naive", "naive / absorbed"], lines, 3)

    # (d) decode GB/s against the measured bandwidth
    lines = []
    for file in ("cpp_v2lite.json", "cpp_v2lite_decode.json"):
        if file not in runs or not any(n.startswith("decode/v2lite/") for n in runs[file]):
            continue
        ref = bw[file].get("GB_s") if bw[file] else None
        block = []
        for variant in ("", "-rowmajor", "-bf16", "-bf16-rowmajor"):
            cells = []
            for b in BATCHES:
                r = row(file, f"decode/v2lite/absorbed{variant}/batch:{b}/ctx:128")
                c = cell(r, "GB_s")
                if r is not None and r.get("GB_s") is not None and ref:
                    c += f" ({100 * r.get('GB_s') / ref:.0f}%)"
                cells.append(c)
            block.append([f"absorbed{variant}"] + cells)
        block[0].insert(1, cell(bw[file], "GB_s"))
        for line in block[1:]:
            line.insert(1, "")
        lines += labelled(file, block)
    table("(d) decode/v2lite GB/s (weights + cache read per step), and % of memory_bandwidth in the same file",
          ["file", "row", "memory GB/s"] + [f"batch {b}" for b in BATCHES], lines, 2)

    # (e) one layer's attention alone
    lines = []
    file = "cpp_cache_attention.json"
    if file in runs:
        block = []
        att_batches = (1, 64)
        for ct in ("f32", "bf16", "fp8"):
            a = [row(file, f"cache_attention/absorbed-{ct}/batch:{b}/ctx:4096") for b in att_batches]
            n = [row(file, f"cache_attention/naive-{ct}/batch:{b}/ctx:4096") for b in att_batches]
            if not any(a) and not any(n):
                continue
            block.append([ct, "absorbed ms"] + [cell(r, "ms") for r in a])
            block.append(["", "naive ms"] + [cell(r, "ms") for r in n])
            block.append(["", "naive / absorbed"] + [ratio(y, x, "ms") for x, y in zip(a, n)])
        lines = labelled(file, block)
    table("(e) one layer's attention (cache_attention, 16 heads, ctx 4K), ms per step",
          ["file", "cache", ""] + ["batch 1", "batch 64"], lines, 3)


if __name__ == "__main__":
    main()
