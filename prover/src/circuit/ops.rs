//! Gadgets of the layers added for zkml coverage: max pooling, data-dependent division, roots,
//! function tables, softmax, reductions, activation-by-activation products, and data movement
//! (which assigns nothing: outputs are the input cells).

use halo2_axiom::halo2curves::ff::Field;
use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::{AssignedValue, QuantumCell, QuantumCell::Constant};

use super::gadgets::{activation, requantize};
use super::layers::{cells, pool_windows, Cx, Env};
use super::numeric::{div_var, root, table_lookup};
use crate::circuit::Fr;
use crate::error::{ProverError, Result};
use crate::interpret::mean_slot;
use crate::model::{broadcast_map, movement_map, Activation, Layer, LayerKind, NonLinear, Src, MASKED};
use chunkproof_verifier::fr_from_i64;

/// The cells (or constants) of input `i` of `layer`.
pub fn operand(cx: &Cx<'_>, env: &Env, layer: &Layer, i: usize) -> Result<Vec<QuantumCell<Fr>>> {
    let id = layer.inputs[i];
    Ok(match cx.graph.constants.get(&id) {
        Some(t) => t.data.iter().map(|v| Constant(fr_from_i64(*v))).collect(),
        None => cells(env, layer, id)?.iter().map(|c| QuantumCell::Existing(*c)).collect(),
    })
}

fn load(cx: &mut Cx<'_>, q: QuantumCell<Fr>) -> AssignedValue<Fr> {
    match q {
        QuantumCell::Existing(c) => c,
        other => cx.ctx.load_constant(*other.value()),
    }
}

/// `max(a, b) = b + relu(a − b)`; the sign gate proves `a − b ∈ [−2^31, 2^31)`.
pub fn max2(cx: &mut Cx<'_>, a: AssignedValue<Fr>, b: AssignedValue<Fr>) -> AssignedValue<Fr> {
    let d = cx.range.gate().sub(cx.ctx, a, b);
    // halo2-base's `sub` returns its first cell, not its last
    let pos = activation(cx.ctx, cx.range, cx.custom, d, Activation::Relu, cx.graph.scale, true, false);
    cx.range.gate().add(cx.ctx, b, pos)
}

fn max_all(cx: &mut Cx<'_>, xs: &[AssignedValue<Fr>]) -> AssignedValue<Fr> {
    let mut m = xs[0];
    for x in &xs[1..] {
        m = max2(cx, *x, m);
    }
    m
}

/// Data movement: the outputs are input cells (constant cells for padding and masks).
pub fn movement(cx: &mut Cx<'_>, layer: &Layer, env: &Env) -> Result<Vec<Vec<AssignedValue<Fr>>>> {
    let ins: Vec<&[usize]> = layer.inputs.iter().map(|id| cx.graph.shape(*id)).collect();
    let outs: Vec<Vec<usize>> = layer.outputs.iter().map(|id| cx.graph.shape(*id).to_vec()).collect();
    let operands = (0..layer.inputs.len()).map(|i| operand(cx, env, layer, i)).collect::<Result<Vec<_>>>()?;
    let map = movement_map(&layer.kind, &ins, &outs);
    let (mut zero, mut masked) = (None, None);
    let mut result = Vec::with_capacity(map.len());
    for m in map {
        let mut out = Vec::with_capacity(m.len());
        for s in m {
            out.push(match s {
                Src::In { input, index } => load(cx, operands[input][index]),
                Src::Zero => *zero.get_or_insert_with(|| cx.ctx.load_constant(Fr::ZERO)),
                Src::Masked => *masked.get_or_insert_with(|| cx.ctx.load_constant(fr_from_i64(MASKED))),
            });
        }
        result.push(out);
    }
    Ok(result)
}

/// Max pooling: a chain of [`max2`] per window.
pub fn max_pool(
    cx: &mut Cx<'_>,
    layer: &Layer,
    env: &Env,
    window: (usize, usize),
    stride: (usize, usize),
) -> Result<Vec<AssignedValue<Fr>>> {
    Ok(pool_windows(cx, layer, env, window, stride)?.iter().map(|win| max_all(cx, win)).collect())
}

/// Sub and SquaredDifference with numpy broadcasting.
pub fn difference(cx: &mut Cx<'_>, layer: &Layer, env: &Env) -> Result<Vec<AssignedValue<Fr>>> {
    let (a, b) = (operand(cx, env, layer, 0)?, operand(cx, env, layer, 1)?);
    let out = cx.graph.shape(layer.outputs[0]).to_vec();
    let (ia, ib) = (
        broadcast_map(&out, cx.graph.shape(layer.inputs[0])),
        broadcast_map(&out, cx.graph.shape(layer.inputs[1])),
    );
    let sf = cx.graph.scale;
    let gate = cx.range.gate();
    Ok(ia
        .iter()
        .zip(&ib)
        .map(|(i, j)| {
            let d = gate.sub(cx.ctx, a[*i], b[*j]);
            if matches!(layer.kind, LayerKind::Sub) {
                d
            } else {
                let sq = gate.mul(cx.ctx, d, d);
                requantize(cx.ctx, cx.range, cx.custom, sq, sf, Activation::None, sf)
            }
        })
        .collect())
}

/// Square, Cube, Div, DivVar, Sqrt, Rsqrt and the table functions, element by element.
pub fn unary(cx: &mut Cx<'_>, layer: &Layer, env: &Env) -> Result<Vec<AssignedValue<Fr>>> {
    let x = cells(env, layer, layer.inputs[0])?.clone();
    let sf = cx.graph.scale;
    let divisor = match &layer.kind {
        LayerKind::DivVar => Some(load(cx, operand(cx, env, layer, 1)?[0])),
        _ => None,
    };
    if matches!(layer.kind, LayerKind::Pointwise { .. }) && !super::gadgets::fast(cx.range) {
        return Err(ProverError::UnsupportedLayer {
            layer: layer.index,
            kind: layer.kind.name().into(),
            detail: "function tables need the 16-bit range table".into(),
        });
    }
    let mut out = Vec::with_capacity(x.len());
    for v in x {
        let gate = cx.range.gate();
        out.push(match &layer.kind {
            LayerKind::Square => {
                let sq = gate.mul(cx.ctx, v, v);
                requantize(cx.ctx, cx.range, cx.custom, sq, sf, Activation::None, sf)
            }
            LayerKind::Cube => {
                let sq = gate.mul(cx.ctx, v, v);
                let sq = requantize(cx.ctx, cx.range, cx.custom, sq, sf, Activation::None, sf);
                let cube = gate.mul(cx.ctx, sq, v);
                requantize(cx.ctx, cx.range, cx.custom, cube, sf, Activation::None, sf)
            }
            LayerKind::Div { divisor } => {
                requantize(cx.ctx, cx.range, cx.custom, v, *divisor, Activation::None, sf)
            }
            LayerKind::DivVar => {
                let a = gate.mul(cx.ctx, v, Constant(Fr::from(sf)));
                div_var(cx.ctx, cx.range, cx.custom, a, divisor.expect("DivVar has a divisor"))
            }
            LayerKind::Sqrt => {
                let n = gate.mul(cx.ctx, v, Constant(Fr::from(4 * sf)));
                root(cx.ctx, cx.range, QuantumCell::Existing(n), Constant(Fr::ONE))
            }
            LayerKind::Rsqrt => {
                let d1 = gate.sub(cx.ctx, v, Constant(Fr::ONE));
                cx.range.range_check(cx.ctx, d1, 31);
                let n = Fr::from(4) * Fr::from(sf).pow([3]);
                root(cx.ctx, cx.range, Constant(n), QuantumCell::Existing(v))
            }
            LayerKind::Pointwise { func } => table_lookup(cx.ctx, cx.range, cx.custom, v, *func, sf),
            _ => unreachable!("unary layers only"),
        });
    }
    Ok(out)
}

/// `rhu(Σ a·b / sf)` over a batch of matrix products of two activations.
pub fn batch_mat_mul(
    cx: &mut Cx<'_>,
    layer: &Layer,
    env: &Env,
    adj_y: bool,
) -> Result<Vec<AssignedValue<Fr>>> {
    let (a, b) = (operand(cx, env, layer, 0)?, operand(cx, env, layer, 1)?);
    let s = cx.graph.shape(layer.inputs[0]);
    let (bs, m, k) = (s[0], s[1], s[2]);
    let n = cx.graph.shape(layer.outputs[0])[2];
    let sf = cx.graph.scale;
    let mut out = Vec::with_capacity(bs * m * n);
    for t in 0..bs {
        for i in 0..m {
            for j in 0..n {
                let row = (0..k).map(|l| a[(t * m + i) * k + l]);
                let col = (0..k).map(|l| if adj_y { b[(t * n + j) * k + l] } else { b[(t * k + l) * n + j] });
                let acc = cx.range.gate().inner_product(cx.ctx, row, col);
                out.push(requantize(cx.ctx, cx.range, cx.custom, acc, sf, Activation::None, sf));
            }
        }
    }
    Ok(out)
}

/// Mean over axes: a dot product with unit weights per output, then `rhu(Σ / count)`.
pub fn mean(cx: &mut Cx<'_>, layer: &Layer, env: &Env, axes: &[usize]) -> Result<Vec<AssignedValue<Fr>>> {
    let x = cells(env, layer, layer.inputs[0])?.clone();
    let shape = cx.graph.shape(layer.inputs[0]).to_vec();
    let count: usize = axes.iter().map(|a| shape[*a]).product();
    let mut groups: Vec<Vec<(AssignedValue<Fr>, Fr)>> = vec![Vec::with_capacity(count); x.len() / count];
    for (i, c) in x.iter().enumerate() {
        groups[mean_slot(i, &shape, axes)].push((*c, Fr::ONE));
    }
    Ok(groups
        .iter()
        .map(|g| {
            let sum = cx.custom.dot(g, Fr::ZERO);
            requantize(cx.ctx, cx.range, cx.custom, sum, count as u64, Activation::None, cx.graph.scale)
        })
        .collect())
}

/// SGD step `⌊(w·sf − dw·eta) / sf⌋ = rhu((2·sf·w − 2·eta·dw − sf) / 2sf)`.
pub fn update(cx: &mut Cx<'_>, layer: &Layer, env: &Env, eta: u64) -> Result<Vec<AssignedValue<Fr>>> {
    let (w, dw) = (operand(cx, env, layer, 0)?, operand(cx, env, layer, 1)?);
    let sf = cx.graph.scale;
    let gate = cx.range.gate();
    Ok(w.iter()
        .zip(&dw)
        .map(|(w, d)| {
            let a = gate.mul(cx.ctx, *w, Constant(Fr::from(2 * sf)));
            let b = gate.mul(cx.ctx, *d, Constant(Fr::from(2 * eta)));
            let acc = gate.sub(cx.ctx, a, b);
            let acc = gate.sub(cx.ctx, acc, Constant(Fr::from(sf)));
            requantize(cx.ctx, cx.range, cx.custom, acc, 2 * sf, Activation::None, sf)
        })
        .collect())
}

/// Softmax over the last axis (see [`crate::interpret::softmax_row`]).
pub fn softmax(
    cx: &mut Cx<'_>,
    layer: &Layer,
    env: &Env,
    mask: &[bool],
    mask_shape: &[usize],
) -> Result<Vec<AssignedValue<Fr>>> {
    if !super::gadgets::fast(cx.range) {
        return Err(ProverError::UnsupportedLayer {
            layer: layer.index,
            kind: layer.kind.name().into(),
            detail: "function tables need the 16-bit range table".into(),
        });
    }
    let x = cells(env, layer, layer.inputs[0])?.clone();
    let shape = cx.graph.shape(layer.inputs[0]).to_vec();
    let n = *shape.last().expect("rank >= 1");
    let masked: Vec<bool> = if mask.is_empty() {
        vec![false; x.len()]
    } else {
        broadcast_map(&shape, mask_shape).into_iter().map(|m| mask[m]).collect()
    };
    let sf = cx.graph.scale;
    let zero = cx.ctx.load_constant(Fr::ZERO);
    let mut out = Vec::with_capacity(x.len());
    for r in 0..x.len() / n {
        let row = &x[r * n..(r + 1) * n];
        let live: Vec<usize> = (0..n).filter(|i| !masked[r * n + i]).collect();
        if live.is_empty() {
            out.extend(std::iter::repeat_n(zero, n));
            continue;
        }
        let live_cells: Vec<_> = live.iter().map(|i| row[*i]).collect();
        let m = max_all(cx, &live_cells);
        let mut e = vec![zero; n];
        for i in &live {
            let d = cx.range.gate().sub(cx.ctx, row[*i], m);
            e[*i] = table_lookup(cx.ctx, cx.range, cx.custom, d, NonLinear::Exp, sf);
        }
        let sum = cx.range.gate().sum(cx.ctx, live.iter().map(|i| e[*i]));
        for (i, ei) in e.iter().enumerate() {
            if masked[r * n + i] {
                out.push(zero);
            } else {
                let a = cx.range.gate().mul(cx.ctx, *ei, Constant(Fr::from(sf)));
                out.push(div_var(cx.ctx, cx.range, cx.custom, a, sum));
            }
        }
    }
    Ok(out)
}
