//! One gadget per layer kind, reproducing [`crate::interpret`] exactly.
//!
//! Products with constant weights (convolution, dense, pooling) run in the custom column's dot
//! gate; rescaling, activations and elementwise layers run on the halo2-base column. Weights are
//! circuit constants, so zero weights cost nothing and the verifying key binds every weight.

use std::collections::BTreeMap;

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};

use super::custom::CustomRegion;
use super::gadgets::{activation, requantize};
use super::ops;
use crate::circuit::Fr;
use crate::error::{ProverError, Result};
use crate::model::{elementwise_operands, Activation, Broadcast, Graph, Layer, LayerKind, Padding, Window};
use chunkproof_verifier::fr_from_i64;

/// Cells of every activation tensor computed so far.
pub type Env = BTreeMap<u32, Vec<AssignedValue<Fr>>>;

/// What a layer gadget works with.
pub struct Cx<'a> {
    /// The halo2-base column.
    pub ctx: &'a mut Context<Fr>,
    /// Range and gate chips.
    pub range: &'a RangeChip<Fr>,
    /// The custom column.
    pub custom: &'a mut CustomRegion,
    /// The model.
    pub graph: &'a Graph,
}

pub(super) fn cells<'e>(env: &'e Env, layer: &Layer, id: u32) -> Result<&'e Vec<AssignedValue<Fr>>> {
    env.get(&id).ok_or_else(|| ProverError::InvalidLayer {
        layer: layer.index,
        kind: layer.kind.name().into(),
        detail: format!("tensor {id} is not available in this chunk"),
    })
}

/// `b·sf + Σ x·w` in the dot gate, then rounding and the activation.
fn dense_output(
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

fn conv2d(
    cx: &mut Cx<'_>,
    layer: &Layer,
    env: &Env,
    padding: Padding,
    act: Activation,
    stride: (usize, usize),
) -> Result<Vec<AssignedValue<Fr>>> {
    let x = cells(env, layer, layer.inputs[0])?.clone();
    let w = &cx.graph.constants[&layer.inputs[1]];
    let bias = cx.graph.constants[&layer.inputs[2]].data.clone();
    let (o, kh, kw) = (w.shape[0], w.shape[1], w.shape[2]);
    let wdata = w.data.clone();
    let g =
        Window::new(cx.graph.shape(layer.inputs[0]), kh, kw, stride, padding).expect("validated geometry");
    let mut out = Vec::with_capacity(g.n * g.oh * g.ow * o);
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                for f in 0..o {
                    let mut terms = Vec::with_capacity(kh * kw * g.c);
                    for dy in 0..kh {
                        for dx in 0..kw {
                            for ch in 0..g.c {
                                if let Some(i) = g.input_index(b, oy, ox, dy, dx, ch) {
                                    terms.push((x[i], wdata[((f * kh + dy) * kw + dx) * g.c + ch]));
                                }
                            }
                        }
                    }
                    out.push(dense_output(cx, &terms, bias[f], act));
                }
            }
        }
    }
    Ok(out)
}

fn depthwise(
    cx: &mut Cx<'_>,
    layer: &Layer,
    env: &Env,
    padding: Padding,
    act: Activation,
    stride: (usize, usize),
) -> Result<Vec<AssignedValue<Fr>>> {
    let x = cells(env, layer, layer.inputs[0])?.clone();
    let w = cx.graph.constants[&layer.inputs[1]].clone();
    let bias = cx.graph.constants[&layer.inputs[2]].data.clone();
    let (kh, kw) = (w.shape[1], w.shape[2]);
    let g =
        Window::new(cx.graph.shape(layer.inputs[0]), kh, kw, stride, padding).expect("validated geometry");
    let mut out = Vec::with_capacity(g.n * g.oh * g.ow * g.c);
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                for (ch, bc) in bias.iter().enumerate() {
                    let terms: Vec<_> = (0..kh)
                        .flat_map(|dy| (0..kw).map(move |dx| (dy, dx)))
                        .filter_map(|(dy, dx)| {
                            g.input_index(b, oy, ox, dy, dx, ch)
                                .map(|i| (x[i], w.data[(dy * kw + dx) * g.c + ch]))
                        })
                        .collect();
                    out.push(dense_output(cx, &terms, *bc, act));
                }
            }
        }
    }
    Ok(out)
}

fn fully_connected(
    cx: &mut Cx<'_>,
    layer: &Layer,
    env: &Env,
    act: Activation,
) -> Result<Vec<AssignedValue<Fr>>> {
    let x = cells(env, layer, layer.inputs[0])?.clone();
    let w = cx.graph.constants[&layer.inputs[1]].clone();
    let (o, k) = (w.shape[0], w.shape[1]);
    let bias = match layer.inputs.get(2) {
        Some(id) => cx.graph.constants[id].data.clone(),
        None => vec![0; o],
    };
    let mut out = Vec::with_capacity(x.len() / k * o);
    for r in 0..x.len() / k {
        for (f, b) in bias.iter().enumerate().take(o) {
            let terms: Vec<_> = (0..k).map(|j| (x[r * k + j], w.data[f * k + j])).collect();
            out.push(dense_output(cx, &terms, *b, act));
        }
    }
    Ok(out)
}

/// The input cells of every pooling window (VALID), in NHWC output order. Assigns nothing.
pub(super) fn pool_windows(
    cx: &Cx<'_>,
    layer: &Layer,
    env: &Env,
    window: (usize, usize),
    stride: (usize, usize),
) -> Result<Vec<Vec<AssignedValue<Fr>>>> {
    let x = cells(env, layer, layer.inputs[0])?;
    let g = Window::new(cx.graph.shape(layer.inputs[0]), window.0, window.1, stride, Padding::Valid)
        .expect("validated");
    let mut out = Vec::with_capacity(g.n * g.oh * g.ow * g.c);
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                for ch in 0..g.c {
                    out.push(
                        (0..g.kh)
                            .flat_map(|dy| (0..g.kw).map(move |dx| (dy, dx)))
                            .map(|(dy, dx)| x[g.input_index(b, oy, ox, dy, dx, ch).expect("valid")])
                            .collect(),
                    );
                }
            }
        }
    }
    Ok(out)
}

fn avg_pool(
    cx: &mut Cx<'_>,
    layer: &Layer,
    env: &Env,
    window: (usize, usize),
    stride: (usize, usize),
) -> Result<Vec<AssignedValue<Fr>>> {
    let d = (window.0 * window.1) as u64;
    Ok(pool_windows(cx, layer, env, window, stride)?
        .into_iter()
        .map(|win| {
            let terms: Vec<_> = win.into_iter().map(|c| (c, Fr::one())).collect();
            let sum = cx.custom.dot(&terms, Fr::zero());
            requantize(cx.ctx, cx.range, cx.custom, sum, d, Activation::None, cx.graph.scale)
        })
        .collect())
}

fn elementwise(cx: &mut Cx<'_>, layer: &Layer, env: &Env) -> Result<Vec<AssignedValue<Fr>>> {
    let (a, b) = elementwise_operands(layer, &cx.graph.constants)?;
    let xa = cells(env, layer, a)?.clone();
    let rule = Broadcast::new(cx.graph.shape(a), cx.graph.shape(b)).expect("validated");
    let other: Vec<halo2_base::QuantumCell<Fr>> = match cx.graph.constants.get(&b) {
        Some(t) => t.data.iter().map(|v| Constant(fr_from_i64(*v))).collect(),
        None => cells(env, layer, b)?.iter().map(|c| halo2_base::QuantumCell::Existing(*c)).collect(),
    };
    let gate = cx.range.gate();
    let sf = cx.graph.scale;
    Ok(xa
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let y = other[rule.index(i)];
            match &layer.kind {
                LayerKind::Mul => {
                    let prod = gate.mul(cx.ctx, *x, y);
                    requantize(cx.ctx, cx.range, cx.custom, prod, sf, Activation::None, sf)
                }
                LayerKind::Add { activation: act } => {
                    let sum = gate.add(cx.ctx, *x, y);
                    activation(cx.ctx, cx.range, cx.custom, sum, *act, sf, false, true)
                }
                _ => unreachable!("elementwise layers only"),
            }
        })
        .collect())
}

/// Constrains `layer` and records its output cells in `env`.
pub fn assign_layer(cx: &mut Cx<'_>, layer: &Layer, env: &mut Env) -> Result<()> {
    if layer.kind.is_movement() {
        for (id, out) in layer.outputs.iter().zip(ops::movement(cx, layer, env)?) {
            env.insert(*id, out);
        }
        return Ok(());
    }
    let out = match &layer.kind {
        LayerKind::Conv2D { padding, activation, stride } => {
            conv2d(cx, layer, env, *padding, *activation, *stride)?
        }
        LayerKind::FullyConnected { activation } => fully_connected(cx, layer, env, *activation)?,
        LayerKind::AveragePool2D { window, stride } => avg_pool(cx, layer, env, *window, *stride)?,
        LayerKind::Mul | LayerKind::Add { .. } => elementwise(cx, layer, env)?,
        LayerKind::DepthwiseConv2D { padding, activation, stride } => {
            depthwise(cx, layer, env, *padding, *activation, *stride)?
        }
        LayerKind::MaxPool2D { window, stride } => ops::max_pool(cx, layer, env, *window, *stride)?,
        LayerKind::Sub | LayerKind::SquaredDifference => ops::difference(cx, layer, env)?,
        LayerKind::Square
        | LayerKind::Cube
        | LayerKind::Div { .. }
        | LayerKind::DivVar
        | LayerKind::Sqrt
        | LayerKind::Rsqrt
        | LayerKind::Pointwise { .. } => ops::unary(cx, layer, env)?,
        LayerKind::BatchMatMul { adj_y } => ops::batch_mat_mul(cx, layer, env, *adj_y)?,
        LayerKind::Mean { axes, .. } => ops::mean(cx, layer, env, axes)?,
        LayerKind::Update { eta } => ops::update(cx, layer, env, *eta)?,
        LayerKind::Softmax { mask, mask_shape } => ops::softmax(cx, layer, env, mask, mask_shape)?,
        _ => unreachable!("data-movement layers are handled above"),
    };
    env.insert(layer.outputs[0], out);
    Ok(())
}
