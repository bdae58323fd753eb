#!/usr/bin/env python3
"""Mutation check of the custom gates: remove one constraint of core/src/shape.rs at a time and
run the tests that fault it (the soundness tests, or the named ones); every removal must make
them fail. About 30 minutes on 2 cores; names given on the command line run only those.

    make mutation
    scripts/mutate_gates.py "max out"
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P = os.path.join(ROOT, "core/src/shape.rs")
orig = open(P).read()
SOUNDNESS = ["--test", "soundness"]
MAX_TESTS = ["--test", "width", "--", "max_pooling"]
M=[
 ("decomposition eq","eq - c(two31) * b.clone(),","eq.clone() - eq,",1),
 ("decomposition double","d[n].clone() - c(limbs.top_scale()) * d[n - 1].clone(),","d[n].clone() - d[n].clone(),",1),
 ("decomposition bool","b.clone() * (b - c(1)),","b.clone() - b,",1),
 ("div eq","q.clone() * (c(2) * x + d.clone() - c(2) * d.clone() * quot - r.clone()),","q.clone() * (x.clone() - x),",1),
 ("div bound","q * (r2 - (c(2) * d - c(1) - r)),","q * (r2.clone() - r2),",1),
 ("sign relu","out.push(pos - b * a[0].clone());","out.push(pos.clone() - pos);",1),
 ("clamp diff","let mut cons = vec![t.clone() - (pos.clone() - cap)];","let mut cons = vec![t.clone() - t.clone()];",1),
 ("clamp out","cons.push(out - (pos - sign * t));","cons.push(out.clone() - out);",1),
 ("max out","cons.push(out - (b + s * diff));","cons.push(out.clone() - out);",1,MAX_TESTS),
 ("horner","qh * (v1.clone() - rho * v0.clone() - f1 - x1.clone())","qh * (v1.clone() - rho * v0.clone() - f1 - x1.clone()) * Expression::Constant(Fr::zero())",1),
 ("fold","qf * (v1 - sigma * v0 - x1)","qf * (v1 - sigma * v0 - x1) * Expression::Constant(Fr::zero())",1),
 ("pair","vec![q * (vs[PAIR_STRIDE].clone() - sum + align)]","vec![q * (vs[PAIR_STRIDE].clone() - sum + align) * Expression::Constant(Fr::zero())]",1),
 ("dot_first","vec![q * (a[DOT_STRIDE - 1].clone() - rhs)]","vec![q * (a[DOT_STRIDE - 1].clone() - a[DOT_STRIDE - 1].clone() + rhs.clone() - rhs)]",1),
 ("dot","vec![q * (a[DOT_STRIDE].clone() - rhs)]","vec![q * (a[DOT_STRIDE].clone() - a[DOT_STRIDE].clone() + rhs.clone() - rhs)]",1),
 ("full w","out.push(q.clone() * (w[j].clone() - x[j].clone() * x[j].clone()));","out.push(q.clone() * (w[j].clone() - w[j].clone()));",1),
 ("full out","out.push(q.clone() * (a[2 * WIDTH + i].clone() - sum));","out.push(q.clone() * (a[2 * WIDTH + i].clone() - a[2 * WIDTH + i].clone() + sum.clone() - sum));",1),
 ("partial w","let mut out = vec![q.clone() * (w0.clone() - x[0].clone() * x[0].clone())];","let mut out = vec![q.clone() * (w0.clone() - w0.clone())];",1),
 ("partial out","out.push(q.clone() * (a[WIDTH + 1 + i].clone() - sum));","out.push(q.clone() * (a[WIDTH + 1 + i].clone() - a[WIDTH + 1 + i].clone() + sum.clone() - sum));",1),
 ("pair w0","            q.clone() * (w0.clone() - x[0].clone() * x[0].clone()),\n            q.clone() * (t0","            q.clone() * (w0.clone() - w0.clone()),\n            q.clone() * (t0",1),
 ("pair t0","q.clone() * (t0 - s1[0].clone()),","q.clone() * (t0.clone() - t0),",1),
 ("pair v0","q.clone() * (v0 - xp0.clone() * xp0),","q.clone() * (v0.clone() - v0),",1),
 ("pair out","out.push(q.clone() * (a[2 * WIDTH + i].clone() - sum));","out.push(q.clone() * (a[2 * WIDTH + i].clone() - a[2 * WIDTH + i].clone() + sum.clone() - sum));",2),
]
missed = []
try:
    only = set(sys.argv[1:])
    for name, old, new, occ, *tests in M:
        if only and name not in only:
            continue
        tests = tests[0] if tests else SOUNDNESS
        idx = -1
        for _ in range(occ):
            idx = orig.index(old, idx + 1)
        open(P, "w").write(orig[:idx] + new + orig[idx + len(old):])
        out = subprocess.run(
            ["cargo", "test", "--release", "--locked", "-p", "chunkproof-prover", *tests],
            cwd=ROOT, capture_output=True, text=True,
        ).stdout
        detected = "test result: FAILED" in out
        print(f"{name:22s} {'detected' if detected else 'NOT DETECTED'}", flush=True)
        if not detected:
            missed.append(name)
finally:
    open(P, "w").write(orig)
print("all mutations detected" if not missed else f"undetected: {missed}")
sys.exit(1 if missed else 0)
