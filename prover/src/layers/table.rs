//! Functions through a lookup table: Logistic, Tanh, and Softmax (whose exponential is a table).
//!
//! A chunk with these layers gets fixed table columns `(u, tag, f(u))`, `u ∈ [0, 2^16)`; the
//! input is `clamp(rhu(x / shift), ±2^15) + 2^15` (`docs/layers.md`: domain and precision).
//! Softmax over the last axis: `m = max`, `e_i = exp(x_i − m)`, `out_i = rhu(e_i·sf / Σe)`;
//! masked positions give 0 and are left out of the max and the sum.

use chunkproof_core::{in_value_range, Fr};
use halo2_axiom::halo2curves::ff::Field;
use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::{AssignedValue, QuantumCell};

use super::bounds::Interval;
use super::cost::{table_cells, Cost, DIV_VAR, GATE, MAX_STEP};
use super::errors::{domain, invalid};
use super::eval::{div_var as div_var_value, max_checked, operand, Values};
use super::family::{Family, Shapes};
use super::geometry::{broadcast_map, broadcast_shape};
use super::pool::max_all;
use super::zkml::{mask, RawLayerView};
use crate::circuit::cx::{cells, Cx, Env};
use crate::circuit::gadgets::sixteen_bit;
use crate::circuit::numeric::{div_var, table_lookup};
use crate::error::{ProverError, Result};
use crate::fixed::{div_round, nonlinear, table_shift, TABLE_BITS};
use crate::model::graph::{Graph, Layer, Tensor};
use crate::model::kind::{LayerKind, NonLinear};

/// The table-function family.
pub(crate) struct TableFunctions;

impl Family for TableFunctions {
    fn zkml_names(&self) -> &'static [&'static str] {
        &["Logistic", "Tanh", "Softmax"]
    }

    fn parse(
        &self,
        raw: &RawLayerView<'_>,
        layer: usize,
        _ins: &[&[usize]],
        _scale: u64,
    ) -> Result<LayerKind> {
        Ok(match raw.kind {
            "Logistic" => LayerKind::Pointwise { func: NonLinear::Logistic },
            "Tanh" => LayerKind::Pointwise { func: NonLinear::Tanh },
            kind => {
                let (mask, mask_shape) = mask(raw.params, layer, kind)?;
                LayerKind::Softmax { mask, mask_shape }
            }
        })
    }

    fn output_shapes(&self, layer: &Layer, shapes: &Shapes<'_>) -> Result<Vec<Vec<usize>>> {
        let x = shapes.input(layer, 0)?;
        if let LayerKind::Softmax { mask, mask_shape } = &layer.kind {
            let unmasked = mask.is_empty() && mask_shape.is_empty();
            if !unmasked
                && (Tensor::numel(mask_shape) != mask.len()
                    || broadcast_shape(x, mask_shape).as_deref() != Some(x.as_slice()))
            {
                return Err(invalid(layer, format!("mask {mask_shape:?} does not broadcast onto {x:?}")));
            }
        } else if layer.inputs.len() != 1 {
            return Err(invalid(layer, format!("expects 1 input, has {}", layer.inputs.len())));
        }
        Ok(vec![x.clone()])
    }

    fn eval(&self, graph: &Graph, values: &Values, layer: &Layer) -> Result<Vec<Vec<i128>>> {
        let sf = graph.scale;
        let x = operand(graph, values, layer.inputs[0]);
        Ok(vec![match &layer.kind {
            LayerKind::Pointwise { func } => x
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let v = *v as i128;
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
                .collect::<Result<_>>()?,
            LayerKind::Softmax { mask, mask_shape } => {
                let xs = graph.shape(layer.inputs[0]);
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
            _ => unreachable!("table functions only"),
        }])
    }

    fn bounds(&self, graph: &Graph, layer: &Layer, _ins: &[Option<Interval>]) -> Vec<Option<Interval>> {
        // table values are `round(f(x)·sf)` with f in [0, 1] (Logistic, Exp) or [−1, 1] (Tanh);
        // a softmax output is `rhu(e_i·sf / Σe)` with `0 ≤ e_i ≤ Σe`
        let sf = graph.scale as i128;
        vec![match &layer.kind {
            LayerKind::Pointwise { func: NonLinear::Tanh } => Interval::new(-sf, sf),
            LayerKind::Pointwise { .. } | LayerKind::Softmax { .. } => Interval::new(0, sf),
            _ => None,
        }]
    }

    fn cost(&self, graph: &Graph, layer: &Layer) -> Cost {
        let out = graph.numel(layer.outputs[0]);
        match &layer.kind {
            LayerKind::Pointwise { .. } => {
                Cost { main: out * table_cells(graph.scale), custom: 0, product: 0 }
            }
            // per element: a max step, x − max, the exp lookup, the sum, e·sf and the division
            LayerKind::Softmax { .. } => Cost {
                main: out * (MAX_STEP + GATE + table_cells(graph.scale) + 1 + GATE + DIV_VAR),
                custom: 0,
                product: 0,
            },
            _ => unreachable!("table functions only"),
        }
    }

    fn synthesize(&self, cx: &mut Cx<'_>, layer: &Layer, env: &Env) -> Result<Vec<Vec<AssignedValue<Fr>>>> {
        if !sixteen_bit(cx.range) {
            return Err(ProverError::Unsupported {
                layer: layer.index,
                kind: layer.kind.name().into(),
                construct: "function tables need the 16-bit range table".into(),
            });
        }
        let x = cells(env, layer, layer.inputs[0])?.clone();
        let sf = cx.graph.scale;
        Ok(vec![match &layer.kind {
            LayerKind::Pointwise { func } => {
                x.into_iter().map(|v| table_lookup(cx.ctx, cx.range, cx.custom, v, *func, sf)).collect()
            }
            LayerKind::Softmax { mask, mask_shape } => softmax(cx, layer, &x, mask, mask_shape),
            _ => unreachable!("table functions only"),
        }])
    }

    fn table(&self, layer: &Layer) -> Option<NonLinear> {
        match &layer.kind {
            LayerKind::Pointwise { func } => Some(*func),
            LayerKind::Softmax { .. } => Some(NonLinear::Exp),
            _ => None,
        }
    }
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
        .map(|(i, (v, m))| if *m { Ok(0) } else { div_var_value(layer, first + i, v * sf as i128, sum) })
        .collect()
}

/// Softmax over the last axis in the circuit (see [`softmax_row`]).
fn softmax(
    cx: &mut Cx<'_>,
    layer: &Layer,
    x: &[AssignedValue<Fr>],
    mask: &[bool],
    mask_shape: &[usize],
) -> Vec<AssignedValue<Fr>> {
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
                let a = cx.range.gate().mul(cx.ctx, *ei, QuantumCell::Constant(Fr::from(sf)));
                out.push(div_var(cx.ctx, cx.range, cx.custom, a, sum));
            }
        }
    }
    out
}
