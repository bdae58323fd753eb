//! Elementwise arithmetic: Add, Mul, Sub and SquaredDifference (numpy broadcasting of both
//! operands, either of them constant), Square, Pow (a cube, as zkml's
//! always is), Div (by a plain integer), DivVar (by a value of the data), Sqrt and Rsqrt (exact
//! integer roots, no table) and Update (an SGD step).
//!
//! Every product is rescaled by the rounding division `rhu(a / sf)`; the gadgets are in
//! `circuit::gadgets` and `circuit::numeric` (`docs/layers.md` has each one's constraints).

use chunkproof_core::{in_value_range, Fr};
use halo2_axiom::halo2curves::ff::Field;
use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::{AssignedValue, QuantumCell};

use super::bounds::{activation_only, Interval};
use super::cost::{
    activation_cells, Cost, DIV_ROUND, DIV_VAR, GATE, RANGE32, REQUANTIZE, ROOT, SIGN_ON_LAST,
};
use super::errors::{domain, invalid, invalid_raw};
use super::eval::{div_var as div_var_value, operand, Values};
use super::family::{Family, Shapes};
use super::geometry::{broadcast_map, broadcast_shape, elementwise_operands};
use super::zkml::{activation as activation_code, at_least, positive, root_mask, RawLayerView};
use crate::circuit::cx::{cells, load, operand as cell_operand, Cx, Env};
use crate::circuit::gadgets::{activation, fr_i128, requantize};
use crate::circuit::numeric::{div_var, root};
use crate::error::Result;
use crate::fixed::{activate, div_round, floor_div, rsqrt_round, sqrt_round};
use crate::model::graph::{Graph, Layer, Tensor};
use crate::model::kind::{Activation, LayerKind};

/// The elementwise family.
pub(crate) struct Elementwise;

const TWO_OPERANDS: [&str; 6] = ["Add", "Sub", "Mul", "SquaredDifference", "DivVar", "Update"];

impl Family for Elementwise {
    fn zkml_names(&self) -> &'static [&'static str] {
        &[
            "Add",
            "Sub",
            "Mul",
            "SquaredDifference",
            "DivVar",
            "Update",
            "Square",
            "Div",
            "Sqrt",
            "Rsqrt",
            "Pow",
        ]
    }

    fn data_inputs(&self, kind: &str, _params: &[i64], n: usize, layer: usize) -> Result<Vec<usize>> {
        if TWO_OPERANDS.contains(&kind) {
            at_least(2, n, layer, kind)?;
            Ok(vec![0, 1])
        } else {
            at_least(1, n, layer, kind)?;
            Ok(vec![0])
        }
    }

    fn parse(&self, raw: &RawLayerView<'_>, layer: usize, ins: &[&[usize]], scale: u64) -> Result<LayerKind> {
        let (kind, p) = (raw.kind, raw.params);
        let numel = ins.first().map_or(0, |s| Tensor::numel(s));
        Ok(match kind {
            "Mul" => LayerKind::Mul,
            "Add" => {
                LayerKind::Add { activation: activation_code(p.first().copied().unwrap_or(0), layer, kind)? }
            }
            "Sub" => LayerKind::Sub,
            "Square" => LayerKind::Square,
            "SquaredDifference" => LayerKind::SquaredDifference,
            "Div" => {
                raw.need(1, layer)?;
                LayerKind::Div { divisor: positive(p[0], "divisor", layer, kind)? as u64 }
            }
            "DivVar" => LayerKind::DivVar,
            "Update" => LayerKind::Update { eta: scale / 1000 },
            "Sqrt" => LayerKind::Sqrt { mask: root_mask(raw, layer, numel)? },
            "Rsqrt" => LayerKind::Rsqrt { mask: root_mask(raw, layer, numel)? },
            "Pow" => {
                if p.first().is_some_and(|e| *e != 3) {
                    return Err(super::errors::unsupported_raw(
                        layer,
                        kind,
                        format!("exponent {} (zkml's Pow is always a cube)", p[0]),
                    ));
                }
                LayerKind::Cube
            }
            other => return Err(invalid_raw(layer, other, "is not an elementwise layer".into())),
        })
    }

    fn output_shapes(&self, layer: &Layer, shapes: &Shapes<'_>) -> Result<Vec<Vec<usize>>> {
        let out = match &layer.kind {
            LayerKind::Mul | LayerKind::Add { .. } | LayerKind::Sub | LayerKind::SquaredDifference => {
                if layer.inputs.len() != 2 {
                    return Err(invalid(layer, format!("expects 2 inputs, has {}", layer.inputs.len())));
                }
                if layer.inputs.iter().all(|id| shapes.is_constant(*id)) {
                    return Err(invalid(layer, "both operands are constants".into()));
                }
                let (a, b) = (shapes.input(layer, 0)?, shapes.input(layer, 1)?);
                broadcast_shape(a, b)
                    .ok_or_else(|| invalid(layer, format!("cannot broadcast {a:?} with {b:?}")))?
            }
            LayerKind::Square
            | LayerKind::Div { .. }
            | LayerKind::Sqrt { .. }
            | LayerKind::Rsqrt { .. }
            | LayerKind::Cube => {
                if layer.inputs.len() != 1 {
                    return Err(invalid(layer, format!("expects 1 input, has {}", layer.inputs.len())));
                }
                shapes.input(layer, 0)?.clone()
            }
            LayerKind::DivVar => {
                let d = shapes.input(layer, 1)?;
                if Tensor::numel(d) != 1 || layer.inputs.len() != 2 {
                    return Err(invalid(layer, format!("the divisor must be one value, has shape {d:?}")));
                }
                shapes.input(layer, 0)?.clone()
            }
            LayerKind::Update { .. } => {
                let (w, dw) = (shapes.input(layer, 0)?, shapes.input(layer, 1)?);
                if w != dw {
                    return Err(invalid(layer, format!("weights {w:?} and gradient {dw:?} differ in shape")));
                }
                w.clone()
            }
            _ => unreachable!("elementwise layers only"),
        };
        Ok(vec![out])
    }

    fn eval(&self, graph: &Graph, values: &Values, layer: &Layer) -> Result<Vec<Vec<i128>>> {
        let sf = graph.scale;
        let input = |i: usize| operand(graph, values, layer.inputs[i]);
        let shape = |i: usize| graph.shape(layer.inputs[i]);
        let unary = |f: &dyn Fn(usize, i128) -> Result<i128>| -> Result<Vec<i128>> {
            input(0).iter().enumerate().map(|(i, v)| f(i, *v as i128)).collect()
        };
        Ok(vec![match &layer.kind {
            LayerKind::Mul | LayerKind::Add { .. } => {
                let (a, b) = elementwise_operands(layer, &graph.constants)?;
                let out = graph.produced_shape(layer.outputs[0]);
                let (ia, ib) = (broadcast_map(out, graph.shape(a)), broadcast_map(out, graph.shape(b)));
                let (xa, xb) = (operand(graph, values, a), operand(graph, values, b));
                let pairs = ia.iter().zip(&ib).map(|(i, j)| (xa[*i] as i128, xb[*j] as i128));
                match &layer.kind {
                    LayerKind::Mul => pairs.map(|(u, v)| div_round(u * v, sf).0).collect(),
                    LayerKind::Add { activation } => {
                        pairs.map(|(u, v)| activate(u + v, *activation, sf)).collect()
                    }
                    _ => unreachable!("matched above"),
                }
            }
            LayerKind::Sub | LayerKind::SquaredDifference => {
                let out = graph.produced_shape(layer.outputs[0]);
                let (ia, ib) = (broadcast_map(out, shape(0)), broadcast_map(out, shape(1)));
                let (xa, xb) = (input(0), input(1));
                let diffs = ia.iter().zip(&ib).map(|(i, j)| xa[*i] as i128 - xb[*j] as i128);
                match layer.kind {
                    LayerKind::Sub => diffs.collect(),
                    _ => diffs.map(|d| div_round(d * d, sf).0).collect(),
                }
            }
            LayerKind::Square => unary(&|_, v| Ok(div_round(v * v, sf).0))?,
            LayerKind::Cube => unary(&|i, v| {
                let sq = div_round(v * v, sf).0;
                if !in_value_range(sq) {
                    return Err(domain(layer, i, v, "x^2 / sf must be in [-2^31, 2^31)"));
                }
                Ok(div_round(sq * v, sf).0)
            })?,
            LayerKind::Div { divisor } => unary(&|_, v| Ok(div_round(v, *divisor).0))?,
            LayerKind::DivVar => {
                let d = input(1)[0] as i128;
                unary(&|i, v| div_var_value(layer, i, v * sf as i128, d))?
            }
            LayerKind::Sqrt { mask } | LayerKind::Rsqrt { mask } => {
                let mut out = input(0).iter().map(|v| *v as i128).collect::<Vec<_>>();
                let mut masked = mask.iter().peekable();
                for (i, v) in out.iter_mut().enumerate() {
                    *v = match masked.next_if(|(p, _)| *p == i) {
                        Some((_, m)) => root_value(&layer.kind, m.map(i128::from), sf),
                        None if matches!(layer.kind, LayerKind::Sqrt { .. }) && *v < 0 => {
                            return Err(domain(layer, i, *v, "Sqrt needs x >= 0"));
                        }
                        None if matches!(layer.kind, LayerKind::Rsqrt { .. }) && *v < 1 => {
                            return Err(domain(layer, i, *v, "Rsqrt needs x >= 1"));
                        }
                        None => root_value(&layer.kind, Some(*v), sf),
                    };
                }
                out
            }
            LayerKind::Update { eta } => {
                let (w, dw) = (input(0), input(1));
                w.iter()
                    .zip(dw)
                    .map(|(w, d)| floor_div(*w as i128 * sf as i128 - *d as i128 * *eta as i128, sf))
                    .collect()
            }
            _ => unreachable!("elementwise layers only"),
        }])
    }

    fn bounds(&self, graph: &Graph, layer: &Layer, ins: &[Option<Interval>]) -> Vec<Option<Interval>> {
        let sf = graph.scale;
        let input = |i: usize| ins.get(i).copied().flatten();
        let two = || Some((input(0)?, input(1)?));
        let computed = match &layer.kind {
            LayerKind::Mul => two().and_then(|(a, b)| Some(a.product(b)?.div_round(sf))),
            LayerKind::Add { activation } => {
                two().and_then(|(a, b)| Some(a.plus(b)?.activate(*activation, sf)))
            }
            LayerKind::Sub => two().and_then(|(a, b)| a.minus(b)),
            LayerKind::Square => input(0).and_then(|a| Some(a.square()?.div_round(sf))),
            LayerKind::SquaredDifference => {
                two().and_then(|(a, b)| Some(a.minus(b)?.square()?.div_round(sf)))
            }
            LayerKind::Div { divisor } => input(0).map(|a| a.div_round(*divisor)),
            _ => None,
        };
        let computed = match &layer.kind {
            LayerKind::Add { activation } => computed.or_else(|| activation_only(*activation, sf)),
            _ => computed,
        };
        vec![computed]
    }

    fn cost(&self, graph: &Graph, layer: &Layer) -> Cost {
        let out = graph.numel(layer.outputs[0]);
        let main = match &layer.kind {
            LayerKind::Mul => GATE + DIV_ROUND + SIGN_ON_LAST,
            LayerKind::Add { activation } => GATE + activation_cells(*activation, false),
            LayerKind::Sub => GATE,
            LayerKind::SquaredDifference => 2 * GATE + REQUANTIZE,
            LayerKind::Square => GATE + REQUANTIZE,
            LayerKind::Cube => 2 * (GATE + REQUANTIZE),
            LayerKind::Div { .. } => REQUANTIZE,
            LayerKind::DivVar => GATE + DIV_VAR,
            LayerKind::Sqrt { .. } => GATE + ROOT,
            LayerKind::Rsqrt { .. } => GATE + RANGE32 + ROOT,
            LayerKind::Update { .. } => 4 * GATE + REQUANTIZE,
            _ => unreachable!("elementwise layers only"),
        };
        Cost { main: out * main, custom: 0, product: 0 }
    }

    fn synthesize(&self, cx: &mut Cx<'_>, layer: &Layer, env: &Env) -> Result<Vec<Vec<AssignedValue<Fr>>>> {
        let sf = cx.graph.scale;
        Ok(vec![match &layer.kind {
            LayerKind::Mul | LayerKind::Add { .. } => {
                // the activation operand first: a constant operand becomes a constant cell
                let (a, b) = elementwise_operands(layer, &cx.graph.constants)?;
                let out = cx.graph.produced_shape(layer.outputs[0]).to_vec();
                let (ia, ib) =
                    (broadcast_map(&out, cx.graph.shape(a)), broadcast_map(&out, cx.graph.shape(b)));
                let xa = cells(env, layer, a)?.clone();
                let other: Vec<QuantumCell<Fr>> = match cx.graph.constants.get(&b) {
                    Some(t) => t
                        .data
                        .iter()
                        .map(|v| QuantumCell::Constant(chunkproof_core::fr_from_i64(*v)))
                        .collect(),
                    None => cells(env, layer, b)?.iter().map(|c| QuantumCell::Existing(*c)).collect(),
                };
                let gate = cx.range.gate();
                ia.iter()
                    .zip(&ib)
                    .map(|(i, j)| {
                        let (x, y) = (xa[*i], other[*j]);
                        match &layer.kind {
                            LayerKind::Mul => {
                                let prod = gate.mul(cx.ctx, x, y);
                                requantize(cx.ctx, cx.range, cx.custom, prod, sf, Activation::None, sf)
                            }
                            LayerKind::Add { activation: act } => {
                                let sum = gate.add(cx.ctx, x, y);
                                activation(cx.ctx, cx.range, cx.custom, sum, *act, sf, false, true)
                            }
                            _ => unreachable!("matched above"),
                        }
                    })
                    .collect()
            }
            LayerKind::Sub | LayerKind::SquaredDifference => {
                let (a, b) = (cell_operand(cx, env, layer, 0)?, cell_operand(cx, env, layer, 1)?);
                let out = cx.graph.produced_shape(layer.outputs[0]).to_vec();
                let (ia, ib) = (
                    broadcast_map(&out, cx.graph.shape(layer.inputs[0])),
                    broadcast_map(&out, cx.graph.shape(layer.inputs[1])),
                );
                let gate = cx.range.gate();
                ia.iter()
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
                    .collect()
            }
            LayerKind::Update { eta } => {
                let (w, dw) = (cell_operand(cx, env, layer, 0)?, cell_operand(cx, env, layer, 1)?);
                let gate = cx.range.gate();
                w.iter()
                    .zip(&dw)
                    .map(|(w, d)| {
                        let a = gate.mul(cx.ctx, *w, QuantumCell::Constant(Fr::from(2 * sf)));
                        let b = gate.mul(cx.ctx, *d, QuantumCell::Constant(Fr::from(2 * eta)));
                        let acc = gate.sub(cx.ctx, a, b);
                        let acc = gate.sub(cx.ctx, acc, QuantumCell::Constant(Fr::from(sf)));
                        requantize(cx.ctx, cx.range, cx.custom, acc, 2 * sf, Activation::None, sf)
                    })
                    .collect()
            }
            _ => unary(cx, layer, env)?,
        }])
    }

    /// Mul and Add commute; Sub, SquaredDifference and Update take a constant on either side.
    fn first_input_may_be_constant(&self, kind: &LayerKind) -> bool {
        matches!(
            kind,
            LayerKind::Mul
                | LayerKind::Add { .. }
                | LayerKind::Sub
                | LayerKind::SquaredDifference
                | LayerKind::Update { .. }
        )
    }
}

/// Square, Cube, Div, DivVar, Sqrt and Rsqrt, element by element.
fn unary(cx: &mut Cx<'_>, layer: &Layer, env: &Env) -> Result<Vec<AssignedValue<Fr>>> {
    let x = cells(env, layer, layer.inputs[0])?.clone();
    let sf = cx.graph.scale;
    let divisor = match &layer.kind {
        LayerKind::DivVar => Some(load(cx, cell_operand(cx, env, layer, 1)?[0])),
        _ => None,
    };
    let mask = match &layer.kind {
        LayerKind::Sqrt { mask } | LayerKind::Rsqrt { mask } => mask.as_slice(),
        _ => &[],
    };
    let mut masked = mask.iter().peekable();
    let mut out = Vec::with_capacity(x.len());
    for (i, v) in x.into_iter().enumerate() {
        if let Some((_, m)) = masked.next_if(|(p, _)| *p == i) {
            // zkml reads a constant here, whatever the input: the output is a constant.
            let value = root_value(&layer.kind, m.map(i128::from), sf);
            out.push(cx.ctx.load_constant(fr_i128(value)));
            continue;
        }
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
                let a = gate.mul(cx.ctx, v, QuantumCell::Constant(Fr::from(sf)));
                div_var(cx.ctx, cx.range, cx.custom, a, divisor.expect("DivVar has a divisor"))
            }
            LayerKind::Sqrt { .. } => {
                let n = gate.mul(cx.ctx, v, QuantumCell::Constant(Fr::from(4 * sf)));
                root(cx.ctx, cx.range, QuantumCell::Existing(n), QuantumCell::Constant(Fr::ONE))
            }
            LayerKind::Rsqrt { .. } => {
                let d1 = gate.sub(cx.ctx, v, QuantumCell::Constant(Fr::ONE));
                cx.range.range_check(cx.ctx, d1, 31);
                let n = Fr::from(4) * Fr::from(sf).pow([3]);
                root(cx.ctx, cx.range, QuantumCell::Constant(n), QuantumCell::Existing(v))
            }
            _ => unreachable!("unary elementwise layers only"),
        });
    }
    Ok(out)
}

/// What Sqrt or Rsqrt gives for input `x` (`None`: zkml's `min_val`, whose table output is 0).
fn root_value(kind: &LayerKind, x: Option<i128>, sf: u64) -> i128 {
    match (kind, x) {
        (_, None) => 0,
        (LayerKind::Sqrt { .. }, Some(v)) => sqrt_round(v * sf as i128),
        (_, Some(v)) => rsqrt_round(v, sf),
    }
}
