//! Matrix products: FullyConnected (`[O, K]` weights, optional constant `[O]` bias, over the
//! last axis of any input: `x·Wᵀ`) and BatchMatMul (two activations, `[B, M, K]·[B, K, N]`, or
//! `[B, N, K]` with `adj_y`).
//!
//! FullyConnected with constant weights is a convolution's dot product per output (weights in
//! the verifying key). Its weights may also be an activation, as zkml's converter writes
//! attention (`Q·Kᵀ`): then, like BatchMatMul, both operands are witnesses and each
//! multiply-accumulate is a halo2-base gate, or, where that costs fewer rows, the product is
//! checked with random challenges with the second operand's cells as the weights.

use chunkproof_core::{fr_from_i64, Fr};
use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::{AssignedValue, QuantumCell};

use super::bounds::{activation_only, Interval};
use super::cost::{activation_cells, cheaper, dot_rows, product_rows, Cost, DIV_ROUND, GATE, REQUANTIZE};
use super::errors::{invalid, unsupported_raw};
use super::eval::{operand, rescale, Values};
use super::family::{Family, Shapes};
use super::zkml::{activation, at_least, RawLayerView};
use crate::circuit::cx::{cells, load, operand as cell_operand, Cx, Env};
use crate::circuit::gadgets::requantize;
use crate::circuit::product::Weights;
use crate::error::Result;
use crate::fixed::div_round;
use crate::model::graph::{Graph, Layer, Tensor};
use crate::model::kind::{Activation, LayerKind};

/// The matrix-product family.
pub(crate) struct Dense;

impl Family for Dense {
    fn zkml_names(&self) -> &'static [&'static str] {
        &["FullyConnected", "BatchMatMul"]
    }

    fn data_inputs(&self, kind: &str, _params: &[i64], n: usize, layer: usize) -> Result<Vec<usize>> {
        Ok(if kind == "FullyConnected" {
            at_least(1, n, layer, kind)?;
            (0..n).collect()
        } else {
            at_least(2, n, layer, kind)?;
            vec![0, 1]
        })
    }

    fn parse(
        &self,
        raw: &RawLayerView<'_>,
        layer: usize,
        _ins: &[&[usize]],
        _scale: u64,
    ) -> Result<LayerKind> {
        let (kind, p) = (raw.kind, raw.params);
        Ok(match kind {
            "FullyConnected" => LayerKind::FullyConnected {
                activation: activation(p.first().copied().unwrap_or(0), layer, kind)?,
            },
            _ => {
                if p.first().is_some_and(|v| *v != 0) {
                    return Err(unsupported_raw(layer, kind, "adj_x = 1".into()));
                }
                LayerKind::BatchMatMul { adj_y: p.get(1).is_some_and(|v| *v != 0) }
            }
        })
    }

    fn output_shapes(&self, layer: &Layer, shapes: &Shapes<'_>) -> Result<Vec<Vec<usize>>> {
        let out = match &layer.kind {
            LayerKind::FullyConnected { .. } => {
                let x = shapes.input(layer, 0)?;
                let w = shapes.input(layer, 1)?;
                let [o, k] = <[usize; 2]>::try_from(w.as_slice())
                    .map_err(|_| invalid(layer, format!("weights shape {w:?} is not [O,K]")))?;
                if x.last() != Some(&k) {
                    return Err(invalid(layer, format!("input {x:?} does not end in K = {k}")));
                }
                if layer.inputs.len() > 3 {
                    return Err(invalid(layer, format!("expects 2 or 3 inputs, has {}", layer.inputs.len())));
                }
                if layer.inputs.len() == 3 && Tensor::numel(&shapes.constant(layer, 2)?.shape) != o {
                    return Err(invalid(layer, format!("bias does not have {o} values")));
                }
                let mut out = x.clone();
                *out.last_mut().expect("non-empty") = o;
                out
            }
            LayerKind::BatchMatMul { adj_y } => {
                let (a, b) = (shapes.input(layer, 0)?, shapes.input(layer, 1)?);
                let ok = a.len() == 3 && b.len() == 3 && a[0] == b[0];
                let (k, n) = if *adj_y { (b.get(2), b.get(1)) } else { (b.get(1), b.get(2)) };
                if !ok || k != a.get(2) {
                    return Err(invalid(layer, format!("cannot multiply {a:?} by {b:?} (adj_y = {adj_y})")));
                }
                vec![a[0], a[1], *n.expect("rank 3")]
            }
            _ => unreachable!("matrix products only"),
        };
        Ok(vec![out])
    }

    fn eval(&self, graph: &Graph, values: &Values, layer: &Layer) -> Result<Vec<Vec<i128>>> {
        let sf = graph.scale;
        let input = |i: usize| operand(graph, values, layer.inputs[i]);
        let shape = |i: usize| graph.shape(layer.inputs[i]);
        Ok(vec![match &layer.kind {
            LayerKind::FullyConnected { activation } => {
                let (x, w) = (input(0), input(1));
                let [o, k] = [shape(1)[0], shape(1)[1]];
                let bias = if layer.inputs.len() > 2 { input(2).to_vec() } else { vec![0; o] };
                let rows = x.len() / k;
                let mut accs = Vec::with_capacity(rows * o);
                for r in 0..rows {
                    for f in 0..o {
                        let dot: i128 = (0..k).map(|j| x[r * k + j] as i128 * w[f * k + j] as i128).sum();
                        accs.push(bias[f] as i128 * sf as i128 + dot);
                    }
                }
                rescale(accs, *activation, sf)
            }
            LayerKind::BatchMatMul { adj_y } => {
                let (a, b) = (input(0), input(1));
                let (bs, m, k) = (shape(0)[0], shape(0)[1], shape(0)[2]);
                let n = graph.produced_shape(layer.outputs[0])[2];
                let mut out = Vec::with_capacity(bs * m * n);
                for t in 0..bs {
                    for i in 0..m {
                        for j in 0..n {
                            let acc: i128 = (0..k)
                                .map(|l| {
                                    let bv =
                                        if *adj_y { b[(t * n + j) * k + l] } else { b[(t * k + l) * n + j] };
                                    a[(t * m + i) * k + l] as i128 * bv as i128
                                })
                                .sum();
                            out.push(div_round(acc, sf).0);
                        }
                    }
                }
                out
            }
            _ => unreachable!("matrix products only"),
        }])
    }

    fn bounds(&self, graph: &Graph, layer: &Layer, ins: &[Option<Interval>]) -> Vec<Option<Interval>> {
        let sf = graph.scale;
        let input = |i: usize| ins.get(i).copied().flatten();
        match &layer.kind {
            LayerKind::FullyConnected { activation } => {
                let computed = (|| {
                    let x = input(0)?;
                    let k = *graph.shapes.get(layer.inputs.get(1)?)?.get(1)?;
                    let acc = match graph.constants.get(&layer.inputs[1]) {
                        // constant weights: output f's bound from its own weights and bias
                        Some(w) => {
                            let bias = match layer.inputs.get(2) {
                                Some(id) => Some(&graph.constants.get(id)?.data),
                                None => None,
                            };
                            w.data
                                .chunks(k.max(1))
                                .enumerate()
                                .map(|(f, taps)| {
                                    let b = bias.map_or(Some(0), |b| b.get(f).copied())?;
                                    x.affine(taps, b as i128 * sf as i128)
                                })
                                .collect::<Option<Vec<Interval>>>()?
                                .into_iter()
                                .reduce(Interval::union)?
                        }
                        None => {
                            let bias = match layer.inputs.get(2) {
                                Some(_) => input(2)?.product(Interval::new(sf as i128, sf as i128)?)?,
                                None => Interval::new(0, 0)?,
                            };
                            x.product(input(1)?)?.times(k)?.plus(bias)?
                        }
                    };
                    Some(acc.rescale(*activation, sf))
                })();
                vec![computed.or_else(|| activation_only(*activation, sf))]
            }
            LayerKind::BatchMatMul { .. } => {
                let computed = (|| {
                    let k = *graph.shapes.get(layer.inputs.first()?)?.get(2)?;
                    Some(input(0)?.product(input(1)?)?.times(k)?.div_round(sf))
                })();
                vec![computed]
            }
            _ => Vec::new(),
        }
    }

    fn cost(&self, graph: &Graph, layer: &Layer) -> Cost {
        match &layer.kind {
            LayerKind::FullyConnected { .. } | LayerKind::BatchMatMul { .. } => choice(graph, layer).0,
            _ => unreachable!("matrix products only"),
        }
    }

    fn synthesize(&self, cx: &mut Cx<'_>, layer: &Layer, env: &Env) -> Result<Vec<Vec<AssignedValue<Fr>>>> {
        Ok(vec![match &layer.kind {
            LayerKind::FullyConnected { activation } if !cx.graph.is_constant(layer.inputs[1]) => {
                let o = cx.graph.shape(layer.inputs[1])[0];
                let bias = match layer.inputs.get(2) {
                    Some(id) => cx.graph.constants[id].data.to_vec(),
                    None => vec![0; o],
                };
                let (x, w) = (cell_operand(cx, env, layer, 0)?, cell_operand(cx, env, layer, 1)?);
                let k = w.len() / o;
                activation_product(cx, layer, &x, &w, (1, x.len() / k, k, o), true, &bias, *activation)
            }
            LayerKind::FullyConnected { activation } => {
                let x = cells(env, layer, layer.inputs[0])?.clone();
                let w = cx.graph.constants[&layer.inputs[1]].clone();
                let (o, k) = (w.shape[0], w.shape[1]);
                let bias = match layer.inputs.get(2) {
                    Some(id) => cx.graph.constants[id].data.to_vec(),
                    None => vec![0; o],
                };
                if choice(cx.graph, layer).1 {
                    let sf = cx.graph.scale;
                    let weights: Vec<Vec<Fr>> =
                        (0..k).map(|j| (0..o).map(|f| fr_from_i64(w.data[f * k + j])).collect()).collect();
                    let bias: Vec<Fr> = bias.iter().map(|b| fr_from_i64(*b) * Fr::from(sf)).collect();
                    let rows: Vec<_> =
                        x.chunks(k).map(|r| r.iter().copied().zip(0..k).collect::<Vec<_>>()).collect();
                    let ys = cx.product(&rows, Weights::Constant(&weights), &bias);
                    return Ok(vec![ys
                        .into_iter()
                        .flatten()
                        .map(|y| requantize(cx.ctx, cx.range, cx.custom, y, sf, *activation, sf))
                        .collect()]);
                }
                let mut out = Vec::with_capacity(x.len() / k * o);
                for r in 0..x.len() / k {
                    for (f, b) in bias.iter().enumerate().take(o) {
                        let terms: Vec<_> = (0..k).map(|j| (x[r * k + j], w.data[f * k + j])).collect();
                        out.push(dense_output(cx, &terms, *b, *activation));
                    }
                }
                out
            }
            LayerKind::BatchMatMul { adj_y } => {
                let (a, b) = (cell_operand(cx, env, layer, 0)?, cell_operand(cx, env, layer, 1)?);
                let s = cx.graph.shape(layer.inputs[0]);
                let (bs, m, k) = (s[0], s[1], s[2]);
                let n = cx.graph.produced_shape(layer.outputs[0])[2];
                activation_product(cx, layer, &a, &b, (bs, m, k, n), *adj_y, &vec![0; n], Activation::None)
            }
            _ => unreachable!("matrix products only"),
        }])
    }
}

/// A dense layer's cost with one dot product per output, and with the randomized product check
/// (the planner and the circuit both take the cheaper: [`choice`]).
fn fully_connected_costs(graph: &Graph, layer: &Layer) -> (Cost, Cost) {
    let LayerKind::FullyConnected { activation } = &layer.kind else { unreachable!("dense layers only") };
    let out = graph.numel(layer.outputs[0]);
    let [o, k] = [graph.shape(layer.inputs[1])[0], graph.shape(layer.inputs[1])[1]];
    let rows = graph.numel(layer.inputs[0]) / k.max(1);
    let main = out * (DIV_ROUND + activation_cells(*activation, true));
    let bias = layer.inputs.get(2).is_some_and(|id| graph.constants[id].data.iter().any(|b| *b != 0));
    if !graph.is_constant(layer.inputs[1]) {
        return product_of_activations_costs(out, (1, rows, k, o), bias, main);
    }
    (
        Cost { main, custom: out * dot_rows(k), product: 0 },
        Cost { main: main + 2, custom: 0, product: product_rows(rows, k, o, bias) },
    )
}

/// A batched product of two activations.
fn batch_matmul_costs(graph: &Graph, layer: &Layer) -> (Cost, Cost) {
    let out = graph.numel(layer.outputs[0]);
    let s = graph.shape(layer.inputs[0]);
    let (bs, m, k) = (s[0], s[1], s[2]);
    let n = graph.produced_shape(layer.outputs[0])[2];
    product_of_activations_costs(out, (bs, m, k, n), false, out * REQUANTIZE)
}

/// A product of two activations (`bs` products of `m × k` by `k × n`), with `main` cells of
/// rounding and activation: `3K + 1` halo2-base cells per output (and a gate for a bias) when
/// computed (an inner product), or the product check with the second factor's cells as
/// weights.
fn product_of_activations_costs(
    out: usize,
    (bs, m, k, n): (usize, usize, usize, usize),
    bias: bool,
    main: usize,
) -> (Cost, Cost) {
    let add_bias = if bias { GATE } else { 0 };
    (
        Cost { main: out * (3 * k + 1 + add_bias) + main, custom: 0, product: 0 },
        Cost { main: main + 2, custom: 0, product: bs * product_rows(m, k, n, bias) },
    )
}

/// A dense layer's or batched product's cost, and whether its product is checked with random
/// challenges.
fn choice(graph: &Graph, layer: &Layer) -> (Cost, bool) {
    let (direct, checked) = match &layer.kind {
        LayerKind::FullyConnected { .. } => fully_connected_costs(graph, layer),
        _ => batch_matmul_costs(graph, layer),
    };
    cheaper(graph.product_check, direct, checked)
}

/// `bs` products of two activations, `a` (`[bs, m, k]`) by `b` (`[bs, k, n]`, or `[bs, n, k]`
/// when `transposed`), plus `bias·sf`, each output rounded and activated: computed with inner
/// products, or checked with random challenges (the second factor's cells as the weights),
/// whichever [`choice`] picks.
#[allow(clippy::too_many_arguments)]
fn activation_product(
    cx: &mut Cx<'_>,
    layer: &Layer,
    a: &[QuantumCell<Fr>],
    b: &[QuantumCell<Fr>],
    (bs, m, k, n): (usize, usize, usize, usize),
    transposed: bool,
    bias: &[i64],
    act: Activation,
) -> Vec<AssignedValue<Fr>> {
    let sf = cx.graph.scale;
    let at =
        |t: usize, l: usize, j: usize| if transposed { (t * n + j) * k + l } else { (t * k + l) * n + j };
    let mut out = Vec::with_capacity(bs * m * n);
    if choice(cx.graph, layer).1 {
        let a: Vec<_> = a.iter().map(|q| load(cx, *q)).collect();
        let b: Vec<_> = b.iter().map(|q| load(cx, *q)).collect();
        let bias: Vec<Fr> = bias.iter().map(|v| fr_from_i64(*v) * Fr::from(sf)).collect();
        for t in 0..bs {
            let rows: Vec<_> =
                (0..m).map(|i| (0..k).map(|l| (a[(t * m + i) * k + l], l)).collect::<Vec<_>>()).collect();
            let weights: Vec<Vec<_>> = (0..k).map(|l| (0..n).map(|j| b[at(t, l, j)]).collect()).collect();
            let ys = cx.product(&rows, Weights::Cells(&weights), &bias);
            for y in ys.into_iter().flatten() {
                out.push(requantize(cx.ctx, cx.range, cx.custom, y, sf, act, sf));
            }
        }
        return out;
    }
    for t in 0..bs {
        for i in 0..m {
            for (j, bj) in bias.iter().enumerate().take(n) {
                let row = (0..k).map(|l| a[(t * m + i) * k + l]);
                let col = (0..k).map(|l| b[at(t, l, j)]);
                let mut acc = cx.range.gate().inner_product(cx.ctx, row, col);
                if *bj != 0 {
                    let c = QuantumCell::Constant(fr_from_i64(*bj) * Fr::from(sf));
                    acc = cx.range.gate().add(cx.ctx, acc, c);
                }
                out.push(requantize(cx.ctx, cx.range, cx.custom, acc, sf, act, sf));
            }
        }
    }
    out
}

/// `b·sf + Σ x·w` in the dot gate (zero weights skipped), then rounding and the activation: the
/// output of a convolution or a dense layer.
pub(crate) fn dense_output(
    cx: &mut Cx<'_>,
    terms: &[(AssignedValue<Fr>, i64)],
    bias: i64,
    act: Activation,
) -> AssignedValue<Fr> {
    let sf = cx.graph.scale;
    let terms: Vec<(AssignedValue<Fr>, Fr)> =
        terms.iter().filter(|(_, w)| *w != 0).map(|(x, w)| (*x, fr_from_i64(*w))).collect();
    let acc = cx.custom.dot(&terms, fr_from_i64(bias) * Fr::from(sf));
    requantize(cx.ctx, cx.range, cx.custom, acc, sf, act, sf)
}
