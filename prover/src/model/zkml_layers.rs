//! zkml layer records → [`LayerKind`]s: parameters, which inputs carry data, and checks.
//!
//! zkml's converter lists constant side inputs (a Reshape's shape, a Transpose's permutation, a
//! Split's axis …) among a layer's inputs, and may not write them at all; their values are
//! repeated in `params`. Only the data inputs become graph inputs here.

use super::graph::{Tensor, TensorId};
use super::kind::{Activation, LayerKind, NonLinear, Padding};
use crate::error::{ProverError, Result};

/// A layer record as zkml writes it, already decoded.
pub struct RawLayerView<'a> {
    /// `layer_type`.
    pub kind: &'a str,
    /// `params`.
    pub params: &'a [i64],
    /// `out_shapes`, validated.
    pub out_shapes: Vec<Vec<usize>>,
    /// `mask` (only Rsqrt/Sqrt use it in zkml).
    pub mask: &'a [i64],
}

fn invalid(layer: usize, kind: &str, detail: String) -> ProverError {
    ProverError::InvalidLayer { layer, kind: kind.into(), detail }
}

fn unsupported(layer: usize, kind: &str, detail: String) -> ProverError {
    ProverError::UnsupportedLayer { layer, kind: kind.into(), detail }
}

fn activation(code: i64, layer: usize, kind: &str) -> Result<Activation> {
    match code {
        0 => Ok(Activation::None),
        1 => Ok(Activation::Relu),
        3 => Ok(Activation::Relu6),
        other => Err(unsupported(
            layer,
            kind,
            format!("activation code {other} (supported: 0 none, 1 relu, 3 relu6)"),
        )),
    }
}

/// Every layer type zkml's loader knows (and this project implements).
pub const KNOWN: [&str; 33] = [
    "AveragePool2D",
    "Add",
    "BatchMatMul",
    "Broadcast",
    "Concatenation",
    "Conv2D",
    "Div",
    "DivVar",
    "FullyConnected",
    "Logistic",
    "MaskNegInf",
    "MaxPool2D",
    "Mean",
    "Mul",
    "Noop",
    "Pack",
    "Pad",
    "Pow",
    "Permute",
    "Reshape",
    "ResizeNearestNeighbor",
    "Rotate",
    "Rsqrt",
    "Slice",
    "Softmax",
    "Split",
    "Sqrt",
    "Square",
    "SquaredDifference",
    "Sub",
    "Tanh",
    "Transpose",
    "Update",
];

/// Which of a zkml layer's inputs carry data (the others are side inputs repeated in params).
pub fn data_inputs(kind: &str, params: &[i64], n: usize, layer: usize) -> Result<Vec<usize>> {
    if !KNOWN.contains(&kind) {
        return Err(unsupported(layer, kind, "unknown layer type".into()));
    }
    let all = (0..n).collect();
    let need = |k: usize| -> Result<()> {
        if n < k {
            return Err(invalid(layer, kind, format!("expects at least {k} inputs, has {n}")));
        }
        Ok(())
    };
    Ok(match kind {
        "Conv2D" | "FullyConnected" | "Concatenation" | "Pack" => {
            need(1)?;
            all
        }
        "Add" | "Sub" | "Mul" | "SquaredDifference" | "BatchMatMul" | "DivVar" | "Update" => {
            need(2)?;
            vec![0, 1]
        }
        "Split" => {
            need(2)?;
            vec![1]
        }
        "Noop" => {
            let i = params.first().copied().unwrap_or(0);
            let i = usize::try_from(i)
                .ok()
                .filter(|i| *i < n)
                .ok_or_else(|| invalid(layer, kind, format!("returns input {i}, but has {n} inputs")))?;
            vec![i]
        }
        _ => {
            need(1)?;
            vec![0]
        }
    })
}

fn axis(v: i64, rank: usize, layer: usize, kind: &str) -> Result<usize> {
    let a = if v < 0 { v + rank as i64 } else { v };
    usize::try_from(a)
        .ok()
        .filter(|a| *a < rank)
        .ok_or_else(|| invalid(layer, kind, format!("axis {v} is out of range for rank {rank}")))
}

fn mask(params: &[i64], layer: usize, kind: &str) -> Result<(Vec<bool>, Vec<usize>)> {
    if params.is_empty() {
        return Ok((vec![], vec![]));
    }
    let nd = usize::try_from(params[0]).map_err(|_| invalid(layer, kind, "negative mask rank".into()))?;
    let shape: Vec<usize> = params
        .get(1..1 + nd)
        .ok_or_else(|| invalid(layer, kind, "mask shape is cut short".into()))?
        .iter()
        .map(|d| usize::try_from(*d).ok().filter(|d| *d > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| invalid(layer, kind, "mask shape has a non-positive dimension".into()))?;
    let flat = &params[1 + nd..];
    if flat.len() != Tensor::numel(&shape) {
        return Err(invalid(
            layer,
            kind,
            format!("mask {shape:?} needs {} values, has {}", Tensor::numel(&shape), flat.len()),
        ));
    }
    Ok((flat.iter().map(|v| *v != 0).collect(), shape))
}

fn positive(v: i64, what: &str, layer: usize, kind: &str) -> Result<usize> {
    usize::try_from(v)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| invalid(layer, kind, format!("{what} = {v} must be positive")))
}

/// The kind of a zkml layer whose data inputs have shapes `ins`.
pub fn layer_kind(raw: &RawLayerView<'_>, layer: usize, ins: &[&[usize]], scale: u64) -> Result<LayerKind> {
    let kind = raw.kind;
    let p = raw.params;
    let need = |n: usize| -> Result<()> {
        if p.len() < n {
            return Err(invalid(layer, kind, format!("expects {n} params, has {}", p.len())));
        }
        Ok(())
    };
    let rank = ins[0].len();
    let out0 =
        || raw.out_shapes.first().cloned().ok_or_else(|| invalid(layer, kind, "has no output shape".into()));
    let window = |p: &[i64]| -> Result<((usize, usize), (usize, usize))> {
        Ok((
            (positive(p[0], "window_h", layer, kind)?, positive(p[1], "window_w", layer, kind)?),
            (positive(p[2], "stride_h", layer, kind)?, positive(p[3], "stride_w", layer, kind)?),
        ))
    };
    if !raw.mask.is_empty() {
        return Err(unsupported(
            layer,
            kind,
            "the per-element `mask` override (a model-specific zkml hack)".into(),
        ));
    }
    Ok(match kind {
        "Conv2D" => {
            need(5)?;
            let padding = match p[1] {
                0 => Padding::Same,
                1 => Padding::Valid,
                other => return Err(invalid(layer, kind, format!("padding code {other} (0 SAME, 1 VALID)"))),
            };
            let activation = activation(p[2], layer, kind)?;
            let stride = (positive(p[3], "stride_h", layer, kind)?, positive(p[4], "stride_w", layer, kind)?);
            match p[0] {
                0 => LayerKind::Conv2D { padding, activation, stride },
                1 => LayerKind::DepthwiseConv2D { padding, activation, stride },
                other => {
                    return Err(unsupported(
                        layer,
                        kind,
                        format!("conv_type {other} (0 standard, 1 depthwise)"),
                    ))
                }
            }
        }
        "AveragePool2D" | "MaxPool2D" => {
            need(4)?;
            let (window, stride) = window(p)?;
            if kind == "MaxPool2D" {
                LayerKind::MaxPool2D { window, stride }
            } else {
                LayerKind::AveragePool2D { window, stride }
            }
        }
        "Mul" => LayerKind::Mul,
        "Add" => LayerKind::Add { activation: activation(p.first().copied().unwrap_or(0), layer, kind)? },
        "FullyConnected" => LayerKind::FullyConnected {
            activation: activation(p.first().copied().unwrap_or(0), layer, kind)?,
        },
        "Sub" => LayerKind::Sub,
        "Square" => LayerKind::Square,
        "SquaredDifference" => LayerKind::SquaredDifference,
        "Div" => {
            need(1)?;
            LayerKind::Div { divisor: positive(p[0], "divisor", layer, kind)? as u64 }
        }
        "DivVar" => LayerKind::DivVar,
        "BatchMatMul" => {
            if p.first().is_some_and(|v| *v != 0) {
                return Err(unsupported(layer, kind, "adj_x = 1".into()));
            }
            LayerKind::BatchMatMul { adj_y: p.get(1).is_some_and(|v| *v != 0) }
        }
        "Mean" => {
            let mut axes = p.iter().map(|a| axis(*a, rank, layer, kind)).collect::<Result<Vec<_>>>()?;
            axes.sort_unstable();
            axes.dedup();
            LayerKind::Mean { axes, keep_dims: out0()?.len() == rank }
        }
        "Update" => LayerKind::Update { eta: scale / 1000 },
        "Logistic" => LayerKind::Pointwise { func: NonLinear::Logistic },
        "Tanh" => LayerKind::Pointwise { func: NonLinear::Tanh },
        "Sqrt" => LayerKind::Sqrt,
        "Rsqrt" => LayerKind::Rsqrt,
        "Pow" => {
            if p.first().is_some_and(|e| *e != 3) {
                return Err(unsupported(
                    layer,
                    kind,
                    format!("exponent {} (zkml's Pow is always a cube)", p[0]),
                ));
            }
            LayerKind::Cube
        }
        "Softmax" => {
            let (mask, mask_shape) = mask(p, layer, kind)?;
            LayerKind::Softmax { mask, mask_shape }
        }
        "MaskNegInf" => {
            let (mask, mask_shape) = mask(p, layer, kind)?;
            if mask.is_empty() {
                return Err(invalid(layer, kind, "has no mask".into()));
            }
            LayerKind::MaskNegInf { mask, mask_shape }
        }
        "Noop" => LayerKind::Noop,
        "Reshape" => LayerKind::Reshape { shape: out0()? },
        "Transpose" | "Permute" => {
            let perm_raw = if kind == "Transpose" {
                need(2 * rank)?;
                let declared: Vec<i64> = ins[0].iter().map(|d| *d as i64).collect();
                if p[..rank] != declared[..] {
                    return Err(invalid(
                        layer,
                        kind,
                        format!("declares input shape {:?}, has {:?}", &p[..rank], ins[0]),
                    ));
                }
                &p[rank..2 * rank]
            } else {
                p
            };
            LayerKind::Transpose {
                perm: perm_raw.iter().map(|a| axis(*a, rank, layer, kind)).collect::<Result<_>>()?,
            }
        }
        "Concatenation" => {
            need(1)?;
            LayerKind::Concatenation { axis: axis(p[0], rank, layer, kind)? }
        }
        "Pack" => {
            need(1)?;
            LayerKind::Pack { axis: axis(p[0], rank + 1, layer, kind)? }
        }
        "Split" => {
            need(2)?;
            LayerKind::Split {
                axis: axis(p[0], rank, layer, kind)?,
                parts: positive(p[1], "num_splits", layer, kind)?,
            }
        }
        "Slice" => {
            need(2 * rank)?;
            let begin: Vec<usize> = p[..rank]
                .iter()
                .map(|b| {
                    usize::try_from(*b).map_err(|_| invalid(layer, kind, format!("begin {b} is negative")))
                })
                .collect::<Result<_>>()?;
            let size = p[rank..2 * rank]
                .iter()
                .enumerate()
                .map(|(d, s)| match *s {
                    -1 => Ok(ins[0][d].saturating_sub(begin[d])),
                    s => positive(s, "size", layer, kind),
                })
                .collect::<Result<_>>()?;
            LayerKind::Slice { begin, size }
        }
        "Pad" => {
            need(2 * rank)?;
            let v = |x: i64| {
                usize::try_from(x).map_err(|_| invalid(layer, kind, format!("padding {x} is negative")))
            };
            LayerKind::Pad {
                pads: (0..rank).map(|d| Ok((v(p[2 * d])?, v(p[2 * d + 1])?))).collect::<Result<_>>()?,
            }
        }
        "ResizeNearestNeighbor" => {
            let out = out0()?;
            if out.len() != 4 {
                return Err(invalid(layer, kind, format!("output {out:?} is not NHWC")));
            }
            LayerKind::ResizeNearestNeighbor { size: (out[1], out[2]) }
        }
        "Broadcast" => LayerKind::Broadcast { shape: out0()? },
        "Rotate" => {
            LayerKind::Rotate { axes: p.iter().map(|a| axis(*a, rank, layer, kind)).collect::<Result<_>>()? }
        }
        other => return Err(unsupported(layer, other, "unknown layer type".into())),
    })
}

/// Data inputs referenced by id, for the loader.
pub fn select(ids: &[TensorId], which: &[usize]) -> Vec<TensorId> {
    which.iter().map(|i| ids[*i]).collect()
}
