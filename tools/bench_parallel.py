#!/usr/bin/env python3
"""Local-worker benchmark: W = 1 and 2 workers on a 4-chunk model, and the monolithic proof.

    tools/bench_parallel.py [--model M --input I] [--chunks 4 | --max-k K] [--workers 1,2] [--width 1] [--reps 2] [--out FILE]

Runs `chunkproof prove --json` (dev setup; verifying and proving keys generated once in a
warm-up run and kept, so every measured run does the same work: witness, loading the keys,
proof, self-check), measures the whole process's wall time, and takes each chunk's peak RSS
from its worker's report (Linux VmHWM of that worker process). Writes a Markdown table to
--out (default docs/bench-parallel.md) and prints it. Default model: zkml's MNIST from
../shared when present, else the shipped fixture.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


WIDTH = 1


def run(binary, model, inp, plan, workers, keys, extra=()):
    with tempfile.TemporaryDirectory() as d:
        cmd = [binary, "prove", "--model", model, "--input", inp, *plan,
               "--workers", str(workers), "--keys", keys, "--out", os.path.join(d, "b.bundle"),
               "--dev-setup", "--json", "--width", str(WIDTH), *extra]
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        if p.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
        return wall, json.loads(p.stdout)


def main():
    mnist = os.path.join(ROOT, "..", "shared", "fixtures", "zkml", "mnist")
    have_mnist = os.path.exists(os.path.join(mnist, "model.msgpack"))
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(mnist, "model.msgpack") if have_mnist
                    else os.path.join(ROOT, "fixtures/digits_v1/model.msgpack"))
    ap.add_argument("--input", default=os.path.join(mnist, "inp.msgpack") if have_mnist
                    else os.path.join(ROOT, "fixtures/digits_v1/input.msgpack"))
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--max-k", type=int, help="plan chunks of at most 2^K rows (prove --max-k) instead of --chunks")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--width", type=int, default=1, help="most advice columns of each kind (prove --width)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                                   "release", "chunkproof"))
    ap.add_argument("--keys", default=os.path.join(ROOT, "out", "bench-parallel-keys"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "bench-parallel.md"))
    a = ap.parse_args()
    global WIDTH
    WIDTH = a.width
    workers = [int(w) for w in a.workers.split(",")]
    name = os.path.basename(os.path.dirname(a.model))

    plan = ["--max-k", str(a.max_k)] if a.max_k else ["--chunks", str(a.chunks)]
    mono = ["--chunks", "1"]
    # Warm-up: generate and cache the keys of both plans.
    _, warm = run(a.bin, a.model, a.input, plan, max(workers), a.keys)
    n = len(warm["report"]["chunks"])
    run(a.bin, a.model, a.input, mono, 1, a.keys)
    what = f"{n} chunks" + (f" (`--max-k {a.max_k}`)" if a.max_k else "")

    rows = []
    mono_walls, mono_peak = [], 0
    for _ in range(a.reps):
        w, r = run(a.bin, a.model, a.input, mono, 1, a.keys)
        mono_walls.append(w)
        mono_peak = max(mono_peak, r["report"]["chunks"][0]["peak_rss_kib"] or 0)
    mono_k = r["report"]["chunks"][0]["params"]["k"]
    cores = os.cpu_count()
    # Default threads (cores/W per worker), then 1 thread per worker; no configuration twice.
    configs = []
    for w, t in [(w, None) for w in workers] + [(w, 1) for w in workers]:
        if t is None and cores // w <= 1:
            t = 1
        if (w, t) not in configs:
            configs.append((w, t))
    for w, threads in configs:
        walls, peaks, prove_sum, ks = [], None, [], None
        extra = ["--threads", str(threads)] if threads else []
        for _ in range(a.reps):
            wall, r = run(a.bin, a.model, a.input, plan, w, a.keys, extra)
            walls.append(wall)
            ch = r["report"]["chunks"]
            cur = [c["peak_rss_kib"] or 0 for c in ch]
            peaks = cur if peaks is None else [max(x, y) for x, y in zip(peaks, cur)]
            prove_sum.append(sum(c["prove_ms"] for c in ch) / 1e3)
            ks = [c["params"]["k"] for c in ch]
        rows.append((w, threads, statistics.median(walls), min(walls), max(walls), peaks, ks))
    wall_of = {(w, t): med for w, t, med, *_ in rows}
    base_all = wall_of.get((1, None)) or wall_of.get((1, 1))
    base_one = wall_of.get((1, 1))

    lines = [
        f"# Local workers: {name}, {what}"
        + (f", --width {a.width}" if a.width != 1 else "")
        + " (generated by tools/bench_parallel.py)",
        "",
        f"Machine: {cores} cores, {platform.machine()}, {platform.system()}; dev setup; verifying and "
        f"proving keys kept from a warm-up run; {a.reps} run(s) each, median wall time "
        "of the whole `chunkproof prove` process. Workers prove with cores/W threads (the default), or "
        "with 1 thread each (what chunk-level parallelism alone gives, e.g. one core per cluster worker); "
        "speed-ups against W = 1 with all cores, and against W = 1 with 1 thread.",
        "",
        "| run | wall (s) | range (s) | speed-up vs W = 1, all cores | vs W = 1, 1 thread | chunk k | "
        "peak RSS per chunk worker (MiB) | largest / monolithic |",
        "|---|---|---|---|---|---|---|---|",
        f"| monolithic (1 chunk) | {statistics.median(mono_walls):.1f} | {min(mono_walls):.1f}–{max(mono_walls):.1f} "
        f"| – | – | {mono_k} | {mono_peak // 1024} | 1.00 |",
    ]
    for w, threads, med, lo, hi, peaks, ks in rows:
        big = max(peaks)
        t = "1 thread each" if threads == 1 else f"{max(1, cores // w)} threads each"
        vs_one = f"{base_one / med:.2f}×" if base_one and threads == 1 else "–"
        lines.append(
            f"| {n} chunks, W = {w}, {t} | {med:.1f} | {lo:.1f}–{hi:.1f} | {base_all / med:.2f}× | {vs_one} | "
            f"{'/'.join(map(str, ks))} | {' / '.join(str(p // 1024) for p in peaks)} | {big / mono_peak:.2f} |"
        )
    lines += [
        "",
        f"Targets: speed-up ≥ 0.8·W for W ≤ cores; largest chunk's peak RSS ≤ 1.3/N = "
        f"{1.3 / n:.3f} of the monolithic proof's.",
    ]
    table = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out + ".tmp", "w") as f:
        f.write(table)
    os.replace(a.out + ".tmp", a.out)
    print(table)


if __name__ == "__main__":
    main()
