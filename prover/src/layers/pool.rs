//! Reductions over windows and axes: AveragePool2D and MaxPool2D (VALID, NHWC) and Mean (over
//! any set of axes).
//!
//! Average and mean: `rhu(Σ / count)`, a dot product with unit weights and a rounding division.
//! Max: exact, a chain of `max` gates (`max(a, b) = b + s·(a − b)`, `s` the sign of `a − b`),
//! each proving its difference in range (the interpreter refuses differences outside it).

use chunkproof_core::Fr;
use halo2_base::AssignedValue;

use super::bounds::Interval;
use super::cost::{dot_rows, max_chain, Cost, DIV_ROUND, REQUANTIZE, SIGN_ON_LAST};
use super::errors::invalid;
use super::eval::{max_checked, operand, Values};
use super::family::{Family, Shapes};
use super::geometry::{mean_slot, Window};
use super::zkml::{axis, positive, RawLayerView};
use crate::circuit::cx::{cells, Cx, Env};
use crate::circuit::gadgets::{maximum, requantize};
use crate::error::Result;
use crate::fixed::div_round;
use crate::model::graph::{Graph, Layer};
use crate::model::kind::{Activation, LayerKind, Padding};

/// The pooling family.
pub(crate) struct Pooling;

impl Family for Pooling {
    fn zkml_names(&self) -> &'static [&'static str] {
        &["AveragePool2D", "MaxPool2D", "Mean"]
    }

    fn parse(
        &self,
        raw: &RawLayerView<'_>,
        layer: usize,
        ins: &[&[usize]],
        _scale: u64,
    ) -> Result<LayerKind> {
        let (kind, p) = (raw.kind, raw.params);
        if kind == "Mean" {
            let rank = ins[0].len();
            let mut axes = p.iter().map(|a| axis(*a, rank, layer, kind)).collect::<Result<Vec<_>>>()?;
            axes.sort_unstable();
            axes.dedup();
            return Ok(LayerKind::Mean { axes, keep_dims: raw.out0(layer)?.len() == rank });
        }
        raw.need(4, layer)?;
        let window = (positive(p[0], "window_h", layer, kind)?, positive(p[1], "window_w", layer, kind)?);
        let stride = (positive(p[2], "stride_h", layer, kind)?, positive(p[3], "stride_w", layer, kind)?);
        Ok(if kind == "MaxPool2D" {
            LayerKind::MaxPool2D { window, stride }
        } else {
            LayerKind::AveragePool2D { window, stride }
        })
    }

    fn output_shapes(&self, layer: &Layer, shapes: &Shapes<'_>) -> Result<Vec<Vec<usize>>> {
        let x = shapes.input(layer, 0)?;
        let out = match &layer.kind {
            LayerKind::AveragePool2D { window, stride } | LayerKind::MaxPool2D { window, stride } => {
                let g = Window::new(x, window.0, window.1, *stride, Padding::Valid)
                    .ok_or_else(|| invalid(layer, format!("window {window:?} does not fit input {x:?}")))?;
                vec![g.n, g.oh, g.ow, g.c]
            }
            LayerKind::Mean { axes, keep_dims } => {
                if axes.is_empty()
                    || axes.iter().any(|a| *a >= x.len())
                    || axes.windows(2).any(|w| w[0] >= w[1])
                {
                    return Err(invalid(layer, format!("axes {axes:?} are not sorted axes of {x:?}")));
                }
                let out: Vec<usize> = if *keep_dims {
                    x.iter().enumerate().map(|(d, n)| if axes.contains(&d) { 1 } else { *n }).collect()
                } else {
                    x.iter().enumerate().filter(|(d, _)| !axes.contains(d)).map(|(_, n)| *n).collect()
                };
                if out.is_empty() {
                    vec![1]
                } else {
                    out
                }
            }
            _ => unreachable!("pooling layers only"),
        };
        Ok(vec![out])
    }

    fn eval(&self, graph: &Graph, values: &Values, layer: &Layer) -> Result<Vec<Vec<i128>>> {
        let x = operand(graph, values, layer.inputs[0]);
        let xs = graph.shape(layer.inputs[0]);
        Ok(vec![match &layer.kind {
            LayerKind::AveragePool2D { window, stride } | LayerKind::MaxPool2D { window, stride } => {
                let g = Window::new(xs, window.0, window.1, *stride, Padding::Valid).expect("validated");
                let is_max = matches!(layer.kind, LayerKind::MaxPool2D { .. });
                let mut out = Vec::with_capacity(g.n * g.oh * g.ow * g.c);
                for b in 0..g.n {
                    for oy in 0..g.oh {
                        for ox in 0..g.ow {
                            for ch in 0..g.c {
                                let vals = (0..g.kh).flat_map(|dy| (0..g.kw).map(move |dx| (dy, dx))).map(
                                    |(dy, dx)| {
                                        x[g.input_index(b, oy, ox, dy, dx, ch).expect("valid")] as i128
                                    },
                                );
                                let index = out.len();
                                out.push(if is_max {
                                    max_checked(layer, index, vals)?
                                } else {
                                    div_round(vals.sum(), (window.0 * window.1) as u64).0
                                });
                            }
                        }
                    }
                }
                out
            }
            LayerKind::Mean { axes, .. } => {
                let count: usize = axes.iter().map(|a| xs[*a]).product();
                let mut sums = vec![0i128; x.len() / count];
                for (i, v) in x.iter().enumerate() {
                    sums[mean_slot(i, xs, axes)] += *v as i128;
                }
                sums.into_iter().map(|s| div_round(s, count as u64).0).collect()
            }
            _ => unreachable!("pooling layers only"),
        }])
    }

    fn bounds(&self, _graph: &Graph, _layer: &Layer, ins: &[Option<Interval>]) -> Vec<Option<Interval>> {
        // an average (rounded) or a maximum of values in [lo, hi] is in [lo, hi]
        vec![ins.first().copied().flatten()]
    }

    fn cost(&self, graph: &Graph, layer: &Layer) -> Cost {
        let out = graph.numel(layer.outputs[0]);
        match &layer.kind {
            LayerKind::AveragePool2D { window, .. } => Cost {
                main: out * (DIV_ROUND + SIGN_ON_LAST),
                custom: out * dot_rows(window.0 * window.1),
                product: 0,
            },
            LayerKind::MaxPool2D { window, .. } => {
                Cost { main: out * max_chain(window.0 * window.1), custom: 0, product: 0 }
            }
            LayerKind::Mean { axes, .. } => {
                let x = graph.shape(layer.inputs[0]);
                let count: usize = axes.iter().map(|a| x[*a]).product();
                Cost { main: out * REQUANTIZE, custom: out * dot_rows(count), product: 0 }
            }
            _ => unreachable!("pooling layers only"),
        }
    }

    fn synthesize(&self, cx: &mut Cx<'_>, layer: &Layer, env: &Env) -> Result<Vec<Vec<AssignedValue<Fr>>>> {
        let sf = cx.graph.scale;
        Ok(vec![match &layer.kind {
            LayerKind::AveragePool2D { window, stride } => {
                let d = (window.0 * window.1) as u64;
                pool_windows(cx, layer, env, *window, *stride)?
                    .into_iter()
                    .map(|win| {
                        let terms: Vec<_> = win.into_iter().map(|c| (c, Fr::one())).collect();
                        let sum = cx.custom.dot(&terms, Fr::zero());
                        requantize(cx.ctx, cx.range, cx.custom, sum, d, Activation::None, sf)
                    })
                    .collect()
            }
            LayerKind::MaxPool2D { window, stride } => {
                pool_windows(cx, layer, env, *window, *stride)?.iter().map(|win| max_all(cx, win)).collect()
            }
            LayerKind::Mean { axes, .. } => {
                let x = cells(env, layer, layer.inputs[0])?.clone();
                let shape = cx.graph.shape(layer.inputs[0]).to_vec();
                let count: usize = axes.iter().map(|a| shape[*a]).product();
                let mut groups: Vec<Vec<(AssignedValue<Fr>, Fr)>> =
                    vec![Vec::with_capacity(count); x.len() / count];
                for (i, c) in x.iter().enumerate() {
                    groups[mean_slot(i, &shape, axes)].push((*c, Fr::one()));
                }
                groups
                    .iter()
                    .map(|g| {
                        let sum = cx.custom.dot(g, Fr::zero());
                        requantize(cx.ctx, cx.range, cx.custom, sum, count as u64, Activation::None, sf)
                    })
                    .collect()
            }
            _ => unreachable!("pooling layers only"),
        }])
    }
}

/// The input cells of every pooling window (VALID), in NHWC output order. Assigns nothing.
fn pool_windows(
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

/// The maximum of `xs` (at least one) by a chain of [`maximum`]s.
pub(crate) fn max_all(cx: &mut Cx<'_>, xs: &[AssignedValue<Fr>]) -> AssignedValue<Fr> {
    let mut m = xs[0];
    for (i, x) in xs[1..].iter().enumerate() {
        // from the second step on, the running maximum is the last cell
        m = maximum(cx.ctx, cx.range, cx.custom, *x, m, i > 0);
    }
    m
}
