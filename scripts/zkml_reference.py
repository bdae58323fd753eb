#!/usr/bin/env python3
"""An independent reference for chunkproof's interpreter, written with numpy.

Reads a zkml msgpack model and input and prints every tensor a layer computes (flattened, as a
JSON object keyed by tensor id; shape vectors left out) with the fixed-point semantics of
docs/layers.md, using numpy for broadcasting, reshaping,
slicing and transposition and exact Python integers for the arithmetic. The generated
transformer and ranking fixtures are checked against it bit for bit (prover/tests/fixtures.rs).

    python3 scripts/zkml_reference.py model.msgpack input.msgpack

Covers the layer types those fixtures use; anything else is an error.
"""

import json
import math
import sys

import msgpack
import numpy as np

MASKED = -(1 << 31)
LN_2 = math.log(2.0)


def rhu(a, d):
    """Round half up: floor((2a + d) / 2d), elementwise on object arrays of Python ints."""
    return (2 * a + d) // (2 * d)


def round_away(t):
    """f64 rounding half away from zero (Rust's f64::round), exactly."""
    r = math.floor(t)
    frac = t - r
    if frac > 0.5 or (frac == 0.5 and t > 0):
        return int(r) + 1
    return int(r)


def exp_det(x):
    """e^x from IEEE basic operations in the same order as the prover's table builder."""
    if x < -745.0:
        return 0.0
    n = float(round_away(x / LN_2))
    r = x - n * LN_2
    term, total = 1.0, 1.0
    for i in range(1, 30):
        term = term * r / float(i)
        total += term
    p = total
    e, step = int(n), (0.5 if n < 0.0 else 2.0)
    while e != 0:
        p *= step
        e -= 1 if e > 0 else -1
    return p


def table_shift(sf):
    return 1 << max((sf - 1).bit_length() - 11, 0)


def table(func, x, sf):
    """A function table's output for the integer x (clamped 16-bit table input)."""
    shift = table_shift(sf)
    u = x if shift == 1 else rhu(x, shift)
    u = max(-(1 << 15), min((1 << 15) - 1, u))
    v = float(u) * float(shift) / float(sf)
    if func == "Logistic":
        y = 1.0 / (1.0 + exp_det(-v))
    elif func == "Tanh":
        e = exp_det(-2.0 * abs(v))
        y = math.copysign((1.0 - e) / (1.0 + e), v)
    else:  # Exp
        y = exp_det(min(v, 0.0))
    return round_away(y * float(sf))


def activation(a, code, sf):
    if code == 0:
        return a
    a = np.where(a > 0, a, 0)
    if code == 1:
        return a
    if code == 3:
        return np.where(a < 6 * sf, a, 6 * sf)
    raise ValueError(f"activation code {code}")


def ints(data, shape):
    return np.array([int(v) for v in data], dtype=object).reshape(shape if shape else [1])


def mask_of(params):
    if not params:
        return None
    nd = params[0]
    shape = params[1 : 1 + nd]
    return np.array(params[1 + nd :], dtype=bool).reshape(shape)


def softmax(x, params, sf):
    mask = mask_of(params)
    masked = np.zeros(x.shape, dtype=bool) if mask is None else np.broadcast_to(mask, x.shape)
    n = x.shape[-1]
    flat, mflat = x.reshape(-1, n), masked.reshape(-1, n)
    out = np.zeros(flat.shape, dtype=object)
    for r in range(flat.shape[0]):
        live = [j for j in range(n) if not mflat[r, j]]
        if not live:
            continue
        m = max(flat[r, j] for j in live)
        e = {j: table("Exp", flat[r, j] - m, sf) for j in live}
        total = sum(e.values())
        for j in live:
            out[r, j] = rhu(e[j] * sf, total)
    return out.reshape(x.shape)


def root(kind, x, sf):
    if kind == "Sqrt":
        return (math.isqrt(4 * x * sf) + 1) // 2
    return (math.isqrt(4 * sf**3 // x) + 1) // 2


def run(model, inputs):
    sf = model["global_sf"]
    vals = {t["idx"]: ints(t["data"], t["shape"]) for t in model["tensors"]}
    for t in inputs:
        vals[t["idx"]] = ints(t["data"], t["shape"])
    plumbing = set()
    movement = {"Noop", "Reshape", "Transpose", "Concatenation", "Pack", "Split", "Slice", "MaskNegInf"}
    for layer in model["layers"]:
        kind, p = layer["layer_type"], layer["params"]
        ins, outs = layer["inp_idxes"], layer["out_idxes"]
        declared = [s if s else [1] for s in layer["out_shapes"]]
        data = {
            "Noop": [p[0] if p else 0],
            "Split": [1],
            "Concatenation": list(range(len(ins))),
            "Pack": list(range(len(ins))),
            "FullyConnected": list(range(len(ins))),
        }.get(kind)
        if data is None:
            two = {"Add", "Sub", "Mul", "SquaredDifference", "DivVar"}
            data = [0, 1] if kind in two else [0]
        x = [ins[i] for i in data]
        if any(i in plumbing for i in x):
            if kind not in movement:
                raise ValueError(f"{kind} reads a shape vector")
            plumbing.update(outs)
            continue
        a = [vals[i] for i in x]
        if kind == "Noop" and math.prod(declared[0]) != a[0].size:
            plumbing.update(outs)
            continue
        if kind in ("Noop", "Reshape"):
            res = [a[0]]
        elif kind == "Add":
            res = [activation(a[0] + a[1], p[0] if p else 0, sf)]
        elif kind == "Sub":
            res = [a[0] - a[1]]
        elif kind == "Mul":
            res = [rhu(a[0] * a[1], sf)]
        elif kind == "SquaredDifference":
            d = a[0] - a[1]
            res = [rhu(d * d, sf)]
        elif kind == "DivVar":
            res = [rhu(a[0] * sf, int(a[1].reshape(-1)[0]))]
        elif kind == "Pow":
            sq = rhu(a[0] * a[0], sf)
            res = [rhu(sq * a[0], sf)]
        elif kind in ("Sqrt", "Rsqrt"):
            res = [np.vectorize(lambda v: root(kind, v, sf), otypes=[object])(a[0])]
        elif kind in ("Tanh", "Logistic"):
            res = [np.vectorize(lambda v: table(kind, v, sf), otypes=[object])(a[0])]
        elif kind == "Softmax":
            res = [softmax(a[0], p, sf)]
        elif kind == "Mean":
            axes = tuple(sorted(set(q % a[0].ndim for q in p)))
            count = math.prod(a[0].shape[q] for q in axes)
            res = [rhu(a[0].sum(axis=axes), count)]
        elif kind == "FullyConnected":
            w = a[1]
            rows = a[0].reshape(-1, w.shape[1])
            acc = rows.dot(w.T)
            if len(a) > 2:
                acc = acc + a[2].reshape(-1) * sf
            res = [activation(rhu(acc, sf), p[0] if p else 0, sf)]
        elif kind == "Split":
            res = np.split(a[0], p[1], axis=p[0])
        elif kind == "Slice":
            r = a[0].ndim
            res = [a[0][tuple(slice(b, b + s) for b, s in zip(p[:r], p[r : 2 * r]))]]
        elif kind == "Transpose":
            r = a[0].ndim
            res = [a[0].reshape(p[:r]).transpose(p[r : 2 * r])]
        elif kind == "Concatenation":
            res = [np.concatenate(a, axis=p[0])]
        elif kind == "Pack":
            res = [np.stack(a, axis=p[0])]
        elif kind == "MaskNegInf":
            m = np.broadcast_to(mask_of(p), a[0].shape)
            res = [np.where(m, MASKED, a[0])]
        else:
            raise ValueError(f"layer type {kind} is not covered by this reference")
        for i, r, shape in zip(outs, res, declared):
            vals[i] = np.asarray(r, dtype=object).reshape(shape)
    computed = {i for layer in model["layers"] for i in layer["out_idxes"]} - plumbing
    return {str(i): [int(v) for v in vals[i].reshape(-1)] for i in sorted(computed)}


def main():
    with open(sys.argv[1], "rb") as f:
        model = msgpack.unpackb(f.read(), raw=False)
    with open(sys.argv[2], "rb") as f:
        inputs = msgpack.unpackb(f.read(), raw=False)
    json.dump(run(model, inputs), sys.stdout)
    print()


if __name__ == "__main__":
    main()
