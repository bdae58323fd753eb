//! The reference interpreter: the exact fixed-point values every circuit must reproduce.

use std::collections::BTreeMap;

use chunkproof_verifier::in_value_range;

use crate::error::{ProverError, Result};
use crate::fixed::{
    activate, div_round, floor_div, nonlinear, rsqrt_round, sqrt_round, table_shift, TABLE_BITS,
};
use crate::model::{
    broadcast_map, elementwise_operands, movement_map, unravel, Activation, Broadcast, Graph, Layer,
    LayerKind, ModelInput, NonLinear, Padding, Src, Tensor, TensorId, Window, MASKED,
};

/// Every activation tensor of one inference: model inputs and all layer outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Values per tensor id, row-major.
    pub values: BTreeMap<TensorId, Vec<i64>>,
}

impl Trace {
    /// Values of tensor `id` (must be an activation).
    pub fn get(&self, id: TensorId) -> &[i64] {
        &self.values[&id]
    }

    /// The model outputs, concatenated in output order.
    pub fn outputs(&self, graph: &Graph) -> Vec<i64> {
        graph.outputs.iter().flat_map(|id| self.get(*id).iter().copied()).collect()
    }
}

/// Values of an input tensor of `layer`: from the trace or the constants.
pub fn operand<'a>(graph: &'a Graph, trace: &'a BTreeMap<TensorId, Vec<i64>>, id: TensorId) -> &'a [i64] {
    match graph.constants.get(&id) {
        Some(t) => &t.data,
        None => &trace[&id],
    }
}

/// Convolution accumulators before rounding: `b·sf + Σ x·w` per output, NHWC order.
pub fn conv_accumulators(
    x: &[i64],
    x_shape: &[usize],
    weights: &Tensor,
    bias: &[i64],
    stride: (usize, usize),
    padding: Padding,
    scale: u64,
) -> Vec<i128> {
    let (w, o, kh, kw) = (&weights.data, weights.shape[0], weights.shape[1], weights.shape[2]);
    let g = Window::new(x_shape, kh, kw, stride, padding).expect("validated geometry");
    let mut out = Vec::with_capacity(g.n * g.oh * g.ow * o);
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                for f in 0..o {
                    let mut acc = bias[f] as i128 * scale as i128;
                    for dy in 0..kh {
                        for dx in 0..kw {
                            for ch in 0..g.c {
                                if let Some(i) = g.input_index(b, oy, ox, dy, dx, ch) {
                                    acc += x[i] as i128 * w[((f * kh + dy) * kw + dx) * g.c + ch] as i128;
                                }
                            }
                        }
                    }
                    out.push(acc);
                }
            }
        }
    }
    out
}

fn domain(layer: &Layer, index: usize, value: i128, detail: &str) -> ProverError {
    ProverError::OutsideDomain {
        layer: layer.index,
        kind: layer.kind.name().into(),
        index,
        value,
        detail: detail.into(),
    }
}

/// The largest of `values`, refusing pairwise differences outside the proven range (the max
/// gadget proves the sign of each difference).
pub fn max_checked(layer: &Layer, index: usize, values: impl IntoIterator<Item = i128>) -> Result<i128> {
    let mut it = values.into_iter();
    let mut m = it.next().expect("non-empty window");
    for v in it {
        if !in_value_range(v - m) {
            return Err(domain(
                layer,
                index,
                v - m,
                "a difference of two compared values must be in [-2^31, 2^31)",
            ));
        }
        m = m.max(v);
    }
    Ok(m)
}

/// `rhu(a / b)` for a divisor `b ∈ [1, 2^31)` taken from the data.
pub fn div_var(layer: &Layer, index: usize, a: i128, b: i128) -> Result<i128> {
    if !(1..1 << 31).contains(&b) {
        return Err(domain(layer, index, b, "a divisor must be in [1, 2^31)"));
    }
    Ok(div_round(a, b as u64).0)
}

/// Softmax of one row: `rhu(e_i·sf / Σ e)` over unmasked positions, `e_i = exp(x_i − max)`.
pub fn softmax_row(layer: &Layer, first: usize, x: &[i128], masked: &[bool], sf: u64) -> Result<Vec<i128>> {
    let live: Vec<i128> = x.iter().zip(masked).filter(|(_, m)| !**m).map(|(v, _)| *v).collect();
    if live.is_empty() {
        return Ok(vec![0; x.len()]);
    }
    let m = max_checked(layer, first, live.iter().copied())?;
    if let Some(v) = live.iter().find(|v| !in_value_range(**v - m)) {
        return Err(domain(layer, first, *v - m, "x − max of a softmax row must be in [-2^31, 2^31)"));
    }
    let e: Vec<i128> = x.iter().map(|v| nonlinear(NonLinear::Exp, v - m, sf)).collect();
    let sum: i128 = e.iter().zip(masked).filter(|(_, m)| !**m).map(|(v, _)| *v).sum();
    e.iter()
        .zip(masked)
        .enumerate()
        .map(|(i, (v, m))| if *m { Ok(0) } else { div_var(layer, first + i, v * sf as i128, sum) })
        .collect()
}

fn window_outputs(
    g: &Window,
    c_out: usize,
    mut f: impl FnMut(usize, usize, usize, usize) -> Result<i128>,
) -> Result<Vec<i128>> {
    let mut out = Vec::with_capacity(g.n * g.oh * g.ow * c_out);
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                for ch in 0..c_out {
                    out.push(f(b, oy, ox, ch)?);
                }
            }
        }
    }
    Ok(out)
}

fn layer_values(
    graph: &Graph,
    trace: &BTreeMap<TensorId, Vec<i64>>,
    layer: &Layer,
) -> Result<Vec<Vec<i128>>> {
    let sf = graph.scale;
    let input = |i: usize| operand(graph, trace, layer.inputs[i]);
    let shape = |i: usize| graph.shape(layer.inputs[i]);
    let finish = |accs: Vec<i128>, act: Activation| -> Vec<i128> {
        accs.into_iter().map(|a| activate(div_round(a, sf).0, act, sf)).collect()
    };
    let unary = |f: &dyn Fn(usize, i128) -> Result<i128>| -> Result<Vec<Vec<i128>>> {
        Ok(vec![input(0).iter().enumerate().map(|(i, v)| f(i, *v as i128)).collect::<Result<_>>()?])
    };
    if layer.kind.is_movement() {
        let ins: Vec<&[usize]> = layer.inputs.iter().map(|id| graph.shape(*id)).collect();
        let outs: Vec<Vec<usize>> = layer.outputs.iter().map(|id| graph.shape(*id).to_vec()).collect();
        return Ok(movement_map(&layer.kind, &ins, &outs)
            .into_iter()
            .map(|m| {
                m.into_iter()
                    .map(|s| match s {
                        Src::In { input: j, index } => input(j)[index] as i128,
                        Src::Zero => 0,
                        Src::Masked => MASKED as i128,
                    })
                    .collect()
            })
            .collect());
    }
    Ok(vec![match &layer.kind {
        LayerKind::Conv2D { padding, activation, stride } => {
            let weights = &graph.constants[&layer.inputs[1]];
            let accs = conv_accumulators(input(0), shape(0), weights, input(2), *stride, *padding, sf);
            finish(accs, *activation)
        }
        LayerKind::DepthwiseConv2D { padding, activation, stride } => {
            let (x, w, bias) = (input(0), input(1), input(2));
            let (kh, kw) = (shape(1)[1], shape(1)[2]);
            let g = Window::new(shape(0), kh, kw, *stride, *padding).expect("validated geometry");
            let accs = window_outputs(&g, g.c, |b, oy, ox, ch| {
                let mut acc = bias[ch] as i128 * sf as i128;
                for dy in 0..kh {
                    for dx in 0..kw {
                        if let Some(i) = g.input_index(b, oy, ox, dy, dx, ch) {
                            acc += x[i] as i128 * w[(dy * kw + dx) * g.c + ch] as i128;
                        }
                    }
                }
                Ok(acc)
            })?;
            finish(accs, *activation)
        }
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
            finish(accs, *activation)
        }
        LayerKind::AveragePool2D { window, stride } | LayerKind::MaxPool2D { window, stride } => {
            let x = input(0);
            let g = Window::new(shape(0), window.0, window.1, *stride, Padding::Valid).expect("validated");
            let is_max = matches!(layer.kind, LayerKind::MaxPool2D { .. });
            let mut index = 0;
            window_outputs(&g, g.c, |b, oy, ox, ch| {
                let vals = (0..g.kh)
                    .flat_map(|dy| (0..g.kw).map(move |dx| (dy, dx)))
                    .map(|(dy, dx)| x[g.input_index(b, oy, ox, dy, dx, ch).expect("valid")] as i128);
                index += 1;
                if is_max {
                    max_checked(layer, index - 1, vals)
                } else {
                    Ok(div_round(vals.sum(), (window.0 * window.1) as u64).0)
                }
            })?
        }
        LayerKind::Mul | LayerKind::Add { .. } => {
            let (a, b) = elementwise_operands(layer, &graph.constants)?;
            let (xa, xb) = (operand(graph, trace, a), operand(graph, trace, b));
            let rule = Broadcast::new(graph.shape(a), graph.shape(b)).expect("validated");
            let pairs = xa.iter().enumerate().map(|(i, v)| (*v as i128, xb[rule.index(i)] as i128));
            match &layer.kind {
                LayerKind::Mul => pairs.map(|(u, v)| div_round(u * v, sf).0).collect(),
                LayerKind::Add { activation } => {
                    pairs.map(|(u, v)| activate(u + v, *activation, sf)).collect()
                }
                _ => unreachable!("matched above"),
            }
        }
        LayerKind::Sub | LayerKind::SquaredDifference => {
            let out = graph.shape(layer.outputs[0]);
            let (ia, ib) = (broadcast_map(out, shape(0)), broadcast_map(out, shape(1)));
            let (xa, xb) = (input(0), input(1));
            let diffs = ia.iter().zip(&ib).map(|(i, j)| xa[*i] as i128 - xb[*j] as i128);
            match layer.kind {
                LayerKind::Sub => diffs.collect(),
                _ => diffs.map(|d| div_round(d * d, sf).0).collect(),
            }
        }
        LayerKind::Square => return unary(&|_, v| Ok(div_round(v * v, sf).0)),
        LayerKind::Cube => {
            return unary(&|i, v| {
                let sq = div_round(v * v, sf).0;
                if !in_value_range(sq) {
                    return Err(domain(layer, i, v, "x^2 / sf must be in [-2^31, 2^31)"));
                }
                Ok(div_round(sq * v, sf).0)
            });
        }
        LayerKind::Div { divisor } => return unary(&|_, v| Ok(div_round(v, *divisor).0)),
        LayerKind::DivVar => {
            let d = input(1)[0] as i128;
            return unary(&|i, v| div_var(layer, i, v * sf as i128, d));
        }
        LayerKind::Pointwise { func } => {
            return unary(&|i, v| {
                let shift = table_shift(sf);
                let q = if shift == 1 { v } else { div_round(v, shift).0 };
                if !in_value_range(q + (1 << (TABLE_BITS - 1))) {
                    return Err(domain(
                        layer,
                        i,
                        v,
                        "a table input must stay below 2^31 - 2^15 (after the shift)",
                    ));
                }
                Ok(nonlinear(*func, v, sf))
            })
        }
        LayerKind::Sqrt => {
            return unary(&|i, v| {
                if v < 0 {
                    return Err(domain(layer, i, v, "Sqrt needs x >= 0"));
                }
                Ok(sqrt_round(v * sf as i128))
            })
        }
        LayerKind::Rsqrt => {
            return unary(&|i, v| {
                if v < 1 {
                    return Err(domain(layer, i, v, "Rsqrt needs x >= 1"));
                }
                Ok(rsqrt_round(v, sf))
            })
        }
        LayerKind::BatchMatMul { adj_y } => {
            let (a, b) = (input(0), input(1));
            let (bs, m, k) = (shape(0)[0], shape(0)[1], shape(0)[2]);
            let n = graph.shape(layer.outputs[0])[2];
            let mut out = Vec::with_capacity(bs * m * n);
            for t in 0..bs {
                for i in 0..m {
                    for j in 0..n {
                        let acc: i128 = (0..k)
                            .map(|l| {
                                let bv = if *adj_y { b[(t * n + j) * k + l] } else { b[(t * k + l) * n + j] };
                                a[(t * m + i) * k + l] as i128 * bv as i128
                            })
                            .sum();
                        out.push(div_round(acc, sf).0);
                    }
                }
            }
            out
        }
        LayerKind::Mean { axes, .. } => {
            let (x, xs) = (input(0), shape(0));
            let count: usize = axes.iter().map(|a| xs[*a]).product();
            let mut sums = vec![0i128; x.len() / count];
            for (i, v) in x.iter().enumerate() {
                sums[mean_slot(i, xs, axes)] += *v as i128;
            }
            sums.into_iter().map(|s| div_round(s, count as u64).0).collect()
        }
        LayerKind::Update { eta } => {
            let (w, dw) = (input(0), input(1));
            w.iter()
                .zip(dw)
                .map(|(w, d)| floor_div(*w as i128 * sf as i128 - *d as i128 * *eta as i128, sf))
                .collect()
        }
        LayerKind::Softmax { mask, mask_shape } => {
            let (x, xs) = (input(0), shape(0));
            let n = *xs.last().expect("rank >= 1");
            let masked: Vec<bool> = if mask.is_empty() {
                vec![false; x.len()]
            } else {
                broadcast_map(xs, mask_shape).into_iter().map(|m| mask[m]).collect()
            };
            let mut out = Vec::with_capacity(x.len());
            for r in 0..x.len() / n {
                let row: Vec<i128> = x[r * n..(r + 1) * n].iter().map(|v| *v as i128).collect();
                out.extend(softmax_row(layer, r * n, &row, &masked[r * n..(r + 1) * n], sf)?);
            }
            out
        }
        _ => unreachable!("data-movement layers are handled above"),
    }])
}

/// The output position of a mean that input position `i` adds to.
pub fn mean_slot(i: usize, shape: &[usize], axes: &[usize]) -> usize {
    let c = unravel(i, shape);
    let kept: Vec<(usize, usize)> = c
        .iter()
        .zip(shape)
        .enumerate()
        .filter(|(d, _)| !axes.contains(d))
        .map(|(_, (v, n))| (*v, *n))
        .collect();
    kept.iter().fold(0, |acc, (v, n)| acc * n + v)
}

/// Runs the model on `input`, checking that every value stays in the fixed-point range.
pub fn run(graph: &Graph, input: &ModelInput) -> Result<Trace> {
    let mut values: BTreeMap<TensorId, Vec<i64>> = input.tensors.clone();
    for layer in &graph.layers {
        for (id, out) in layer.outputs.iter().zip(layer_values(graph, &values, layer)?) {
            let mut vals = Vec::with_capacity(out.len());
            for (index, v) in out.into_iter().enumerate() {
                if !in_value_range(v) {
                    return Err(ProverError::ValueOutOfRange {
                        layer: layer.index,
                        kind: layer.kind.name().into(),
                        what: format!("output tensor {id}"),
                        index,
                        value: v,
                    });
                }
                vals.push(v as i64);
            }
            values.insert(*id, vals);
        }
    }
    Ok(Trace { values })
}
