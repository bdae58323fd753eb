//! The reference interpreter: the exact fixed-point values every circuit must reproduce.

use std::collections::BTreeMap;

use chunkproof_verifier::in_value_range;

use crate::error::{ProverError, Result};
use crate::fixed::{activate, div_round};
use crate::model::{
    elementwise_operands, Activation, Broadcast, Graph, Layer, LayerKind, ModelInput, Padding, Tensor,
    TensorId, Window,
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

fn layer_values(graph: &Graph, trace: &BTreeMap<TensorId, Vec<i64>>, layer: &Layer) -> Result<Vec<i128>> {
    let sf = graph.scale;
    let input = |i: usize| operand(graph, trace, layer.inputs[i]);
    let shape = |i: usize| graph.shape(layer.inputs[i]);
    let finish = |accs: Vec<i128>, act: Activation| -> Vec<i128> {
        accs.into_iter().map(|a| activate(div_round(a, sf).0, act, sf)).collect()
    };
    Ok(match &layer.kind {
        LayerKind::Conv2D { padding, activation, stride } => {
            let weights = &graph.constants[&layer.inputs[1]];
            let accs = conv_accumulators(input(0), shape(0), weights, input(2), *stride, *padding, sf);
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
        LayerKind::AveragePool2D { window, stride } => {
            let x = input(0);
            let g = Window::new(shape(0), window.0, window.1, *stride, Padding::Valid).expect("validated");
            let d = (window.0 * window.1) as u64;
            let mut out = Vec::with_capacity(g.n * g.oh * g.ow * g.c);
            for b in 0..g.n {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        for ch in 0..g.c {
                            let sum: i128 = (0..g.kh)
                                .flat_map(|dy| (0..g.kw).map(move |dx| (dy, dx)))
                                .map(|(dy, dx)| {
                                    x[g.input_index(b, oy, ox, dy, dx, ch).expect("valid")] as i128
                                })
                                .sum();
                            out.push(div_round(sum, d).0);
                        }
                    }
                }
            }
            out
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
        LayerKind::Reshape { .. } => input(0).iter().map(|v| *v as i128).collect(),
    })
}

/// Runs the model on `input`, checking that every value stays in the fixed-point range.
pub fn run(graph: &Graph, input: &ModelInput) -> Result<Trace> {
    let mut values: BTreeMap<TensorId, Vec<i64>> = input.tensors.clone();
    for layer in &graph.layers {
        let out = layer_values(graph, &values, layer)?;
        let id = layer.outputs[0];
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
        values.insert(id, vals);
    }
    Ok(Trace { values })
}
