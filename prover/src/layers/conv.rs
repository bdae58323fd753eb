//! Convolutions: Conv2D (standard, zkml `conv_type` 0) and DepthwiseConv2D (`conv_type` 1,
//! channel multiplier 1), NHWC input, SAME or VALID padding, strides, a fused activation.
//!
//! Value: `act(rhu((b·sf + Σ x·w) / sf))` per output. Circuit: one dot product per output in the
//! custom column (weights are circuit constants, so the verifying key binds every weight and
//! zero weights cost nothing), then the rounding division and the activation.

use chunkproof_core::{fr_from_i64, Fr};
use halo2_base::AssignedValue;

use super::bounds::{activation_only, Interval};
use super::cost::{activation_cells, cheaper, dot_rows, product_rows, Cost, DIV_ROUND};
use super::dense::dense_output;
use super::errors::{invalid, unsupported_raw};
use super::eval::{operand, rescale, Values};
use super::family::{Family, Shapes};
use super::geometry::Window;
use super::zkml::{activation, positive, RawLayerView};
use crate::circuit::cx::{cells, Cx, Env};
use crate::circuit::gadgets::requantize;
use crate::error::Result;
use crate::model::graph::{Graph, Layer, Tensor};
use crate::model::kind::{LayerKind, Padding};

/// The convolution family.
pub(crate) struct Convolution;

impl Family for Convolution {
    fn zkml_names(&self) -> &'static [&'static str] {
        &["Conv2D"]
    }

    fn data_inputs(&self, _kind: &str, _params: &[i64], n: usize, layer: usize) -> Result<Vec<usize>> {
        super::zkml::at_least(1, n, layer, "Conv2D")?;
        Ok((0..n).collect())
    }

    fn parse(
        &self,
        raw: &RawLayerView<'_>,
        layer: usize,
        _ins: &[&[usize]],
        _scale: u64,
    ) -> Result<LayerKind> {
        let (kind, p) = (raw.kind, raw.params);
        raw.need(5, layer)?;
        let padding = match p[1] {
            0 => Padding::Same,
            1 => Padding::Valid,
            other => {
                return Err(super::errors::invalid_raw(
                    layer,
                    kind,
                    format!("padding code {other} (0 SAME, 1 VALID)"),
                ))
            }
        };
        let activation = activation(p[2], layer, kind)?;
        let stride = (positive(p[3], "stride_h", layer, kind)?, positive(p[4], "stride_w", layer, kind)?);
        match p[0] {
            0 => Ok(LayerKind::Conv2D { padding, activation, stride }),
            1 => Ok(LayerKind::DepthwiseConv2D { padding, activation, stride }),
            other => {
                Err(unsupported_raw(layer, kind, format!("conv_type {other} (0 standard, 1 depthwise)")))
            }
        }
    }

    fn output_shapes(&self, layer: &Layer, shapes: &Shapes<'_>) -> Result<Vec<Vec<usize>>> {
        let x = shapes.input(layer, 0)?;
        let w = shapes.constant(layer, 1)?;
        let b = shapes.constant(layer, 2)?;
        let out = match &layer.kind {
            LayerKind::Conv2D { padding, stride, .. } => {
                let [o, kh, kw, i] = <[usize; 4]>::try_from(w.shape.as_slice())
                    .map_err(|_| invalid(layer, format!("weights shape {:?} is not [O,kh,kw,I]", w.shape)))?;
                if x.len() != 4 || x[3] != i {
                    return Err(invalid(
                        layer,
                        format!("input {x:?} does not match weights [O,kh,kw,I] = {:?}", w.shape),
                    ));
                }
                if Tensor::numel(&b.shape) != o {
                    return Err(invalid(
                        layer,
                        format!("bias has {} values for {o} filters", Tensor::numel(&b.shape)),
                    ));
                }
                let g = Window::new(x, kh, kw, *stride, *padding)
                    .ok_or_else(|| invalid(layer, format!("window {kh}x{kw} does not fit input {x:?}")))?;
                vec![g.n, g.oh, g.ow, o]
            }
            LayerKind::DepthwiseConv2D { padding, stride, .. } => {
                let [one, kh, kw, c] = <[usize; 4]>::try_from(w.shape.as_slice())
                    .map_err(|_| invalid(layer, format!("weights shape {:?} is not [1,kh,kw,C]", w.shape)))?;
                if one != 1 || x.len() != 4 || x[3] != c || Tensor::numel(&b.shape) != c {
                    return Err(invalid(
                        layer,
                        format!(
                            "input {x:?}, weights {:?} and bias {:?} do not match (channel multiplier 1)",
                            w.shape, b.shape
                        ),
                    ));
                }
                let g = Window::new(x, kh, kw, *stride, *padding)
                    .ok_or_else(|| invalid(layer, format!("window {kh}x{kw} does not fit input {x:?}")))?;
                vec![g.n, g.oh, g.ow, c]
            }
            _ => unreachable!("convolutions only"),
        };
        Ok(vec![out])
    }

    fn eval(&self, graph: &Graph, values: &Values, layer: &Layer) -> Result<Vec<Vec<i128>>> {
        let sf = graph.scale;
        let input = |i: usize| operand(graph, values, layer.inputs[i]);
        let shape = |i: usize| graph.shape(layer.inputs[i]);
        Ok(vec![match &layer.kind {
            LayerKind::Conv2D { padding, activation, stride } => {
                let weights = &graph.constants[&layer.inputs[1]];
                let accs = conv_accumulators(input(0), shape(0), weights, input(2), *stride, *padding, sf);
                rescale(accs, *activation, sf)
            }
            LayerKind::DepthwiseConv2D { padding, activation, stride } => {
                let (x, w, bias) = (input(0), input(1), input(2));
                let (kh, kw) = (shape(1)[1], shape(1)[2]);
                let g = Window::new(shape(0), kh, kw, *stride, *padding).expect("validated geometry");
                let mut accs = Vec::with_capacity(g.n * g.oh * g.ow * g.c);
                for b in 0..g.n {
                    for oy in 0..g.oh {
                        for ox in 0..g.ow {
                            for ch in 0..g.c {
                                let mut acc = bias[ch] as i128 * sf as i128;
                                for dy in 0..kh {
                                    for dx in 0..kw {
                                        if let Some(i) = g.input_index(b, oy, ox, dy, dx, ch) {
                                            acc += x[i] as i128 * w[(dy * kw + dx) * g.c + ch] as i128;
                                        }
                                    }
                                }
                                accs.push(acc);
                            }
                        }
                    }
                }
                rescale(accs, *activation, sf)
            }
            _ => unreachable!("convolutions only"),
        }])
    }

    fn bounds(&self, graph: &Graph, layer: &Layer, ins: &[Option<Interval>]) -> Vec<Option<Interval>> {
        let (activation, depthwise) = match &layer.kind {
            LayerKind::Conv2D { activation, .. } => (*activation, false),
            LayerKind::DepthwiseConv2D { activation, .. } => (*activation, true),
            _ => return Vec::new(),
        };
        let sf = graph.scale;
        let computed = (|| {
            // padding reads zeros: include 0 in the input's bound
            let x = ins.first().copied().flatten()?.with_zero();
            let w = graph.constants.get(layer.inputs.get(1)?)?;
            let bias = &graph.constants.get(layer.inputs.get(2)?)?.data;
            let per_output = if depthwise {
                // w is [1, kh, kw, C]: channel c's weights are every C-th
                let c = *w.shape.last()?;
                (0..c)
                    .map(|ch| {
                        let taps: Vec<i64> = w.data.iter().skip(ch).step_by(c).copied().collect();
                        x.affine(&taps, *bias.get(ch)? as i128 * sf as i128)
                    })
                    .collect::<Option<Vec<Interval>>>()?
            } else {
                let o = w.shape[0];
                w.data
                    .chunks(w.data.len() / o.max(1))
                    .enumerate()
                    .map(|(f, taps)| x.affine(taps, *bias.get(f)? as i128 * sf as i128))
                    .collect::<Option<Vec<Interval>>>()?
            };
            let acc = per_output.into_iter().reduce(Interval::union)?;
            Some(acc.rescale(activation, sf))
        })();
        vec![computed.or_else(|| activation_only(activation, sf))]
    }

    fn cost(&self, graph: &Graph, layer: &Layer) -> Cost {
        let out = graph.numel(layer.outputs[0]);
        match &layer.kind {
            LayerKind::Conv2D { .. } => conv2d_choice(graph, layer).0,
            LayerKind::DepthwiseConv2D { activation, .. } => {
                let w = graph.shape(layer.inputs[1]);
                Cost {
                    main: out * (DIV_ROUND + activation_cells(*activation, true)),
                    custom: out * dot_rows(w[1] * w[2]),
                    product: 0,
                }
            }
            _ => unreachable!("convolutions only"),
        }
    }

    fn synthesize(&self, cx: &mut Cx<'_>, layer: &Layer, env: &Env) -> Result<Vec<Vec<AssignedValue<Fr>>>> {
        Ok(vec![match &layer.kind {
            LayerKind::Conv2D { padding, activation, stride } => {
                let x = cells(env, layer, layer.inputs[0])?.clone();
                let w = &cx.graph.constants[&layer.inputs[1]];
                let bias = cx.graph.constants[&layer.inputs[2]].data.clone();
                let (o, kh, kw) = (w.shape[0], w.shape[1], w.shape[2]);
                let wdata = w.data.clone();
                let g = Window::new(cx.graph.shape(layer.inputs[0]), kh, kw, *stride, *padding)
                    .expect("validated geometry");
                if conv2d_choice(cx.graph, layer).1 {
                    return Ok(vec![conv2d_randomized(cx, layer, &x, &g, *activation)]);
                }
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
                                                terms.push((
                                                    x[i],
                                                    wdata[((f * kh + dy) * kw + dx) * g.c + ch],
                                                ));
                                            }
                                        }
                                    }
                                }
                                out.push(dense_output(cx, &terms, bias[f], *activation));
                            }
                        }
                    }
                }
                out
            }
            LayerKind::DepthwiseConv2D { padding, activation, stride } => {
                let x = cells(env, layer, layer.inputs[0])?.clone();
                let w = cx.graph.constants[&layer.inputs[1]].clone();
                let bias = cx.graph.constants[&layer.inputs[2]].data.clone();
                let (kh, kw) = (w.shape[1], w.shape[2]);
                let g = Window::new(cx.graph.shape(layer.inputs[0]), kh, kw, *stride, *padding)
                    .expect("validated geometry");
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
                                out.push(dense_output(cx, &terms, *bc, *activation));
                            }
                        }
                    }
                }
                out
            }
            _ => unreachable!("convolutions only"),
        }])
    }
}

/// A standard convolution's cost with one dot product per output, and with the randomized
/// product check (the planner and the circuit both take the cheaper: [`conv2d_choice`]).
fn conv2d_costs(graph: &Graph, layer: &Layer) -> (Cost, Cost) {
    let LayerKind::Conv2D { padding, activation, stride } = &layer.kind else {
        unreachable!("standard convolutions only")
    };
    let out = graph.numel(layer.outputs[0]);
    let w = &graph.constants[&layer.inputs[1]];
    let (o, kh, kw) = (w.shape[0], w.shape[1], w.shape[2]);
    let g = Window::new(graph.shape(layer.inputs[0]), kh, kw, *stride, *padding);
    let cin = g.as_ref().map(|g| g.c).unwrap_or(1);
    let positions = g.map(|g| g.n * g.oh * g.ow).unwrap_or(1);
    // Border outputs of SAME padding see fewer inputs; estimate with the full window.
    let nonzero = w.data.iter().filter(|v| **v != 0).count() as f64 / w.data.len().max(1) as f64;
    let terms = ((kh * kw * cin) as f64 * nonzero).ceil().max(1.0) as usize;
    let main = out * (DIV_ROUND + activation_cells(*activation, true));
    let bias = graph.constants[&layer.inputs[2]].data.iter().any(|b| *b != 0);
    (
        Cost { main, custom: out * dot_rows(terms), product: 0 },
        Cost { main: main + 2, custom: 0, product: product_rows(positions, kh * kw * cin, o, bias) },
    )
}

/// A standard convolution's cost, and whether its product is checked with random challenges.
fn conv2d_choice(graph: &Graph, layer: &Layer) -> (Cost, bool) {
    let (direct, checked) = conv2d_costs(graph, layer);
    cheaper(graph.product_check, direct, checked)
}

/// A standard convolution as one product `Y = X·W + b·sf` (`X`: one row per output position,
/// its window in im2col order, padding left out), checked with the challenge, then the
/// rounding and the activation per output.
fn conv2d_randomized(
    cx: &mut Cx<'_>,
    layer: &Layer,
    x: &[AssignedValue<Fr>],
    g: &Window,
    act: crate::model::kind::Activation,
) -> Vec<AssignedValue<Fr>> {
    let sf = cx.graph.scale;
    let w = &cx.graph.constants[&layer.inputs[1]];
    let (o, kh, kw) = (w.shape[0], w.shape[1], w.shape[2]);
    let k = kh * kw * g.c;
    let weights: Vec<Vec<Fr>> =
        (0..k).map(|j| (0..o).map(|f| fr_from_i64(w.data[f * k + j])).collect()).collect();
    let bias: Vec<Fr> =
        cx.graph.constants[&layer.inputs[2]].data.iter().map(|b| fr_from_i64(*b) * Fr::from(sf)).collect();
    let mut rows = Vec::with_capacity(g.n * g.oh * g.ow);
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let mut row = Vec::with_capacity(k);
                for dy in 0..kh {
                    for dx in 0..kw {
                        for ch in 0..g.c {
                            if let Some(i) = g.input_index(b, oy, ox, dy, dx, ch) {
                                row.push((x[i], (dy * kw + dx) * g.c + ch));
                            }
                        }
                    }
                }
                rows.push(row);
            }
        }
    }
    let ys = cx.product(&rows, crate::circuit::product::Weights::Constant(&weights), &bias);
    ys.into_iter().flatten().map(|y| requantize(cx.ctx, cx.range, cx.custom, y, sf, act, sf)).collect()
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
