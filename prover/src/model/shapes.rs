//! Shape rules shared by the loader, the interpreter and the circuits: convolution geometry,
//! broadcasting, and output-shape inference.

use std::collections::BTreeMap;

use super::graph::{Layer, Tensor, TensorId};
use super::kind::{LayerKind, Padding};
use super::movement::{broadcast_shape, movement_shapes};
use crate::error::{ProverError, Result};

/// Geometry of a 2-D convolution or pooling over an NHWC tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Batch.
    pub n: usize,
    /// Input height, width, channels.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Input channels.
    pub c: usize,
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Strides.
    pub sh: usize,
    /// Stride w.
    pub sw: usize,
    /// Padding before the first row / column.
    pub pad_top: usize,
    /// Padding before the first column.
    pub pad_left: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

impl Window {
    /// Geometry for `input` `[N,H,W,C]`, window `kh×kw`, strides and padding.
    pub fn new(
        input: &[usize],
        kh: usize,
        kw: usize,
        stride: (usize, usize),
        padding: Padding,
    ) -> Option<Self> {
        let [n, h, w, c] = <[usize; 4]>::try_from(input).ok()?;
        let (sh, sw) = stride;
        let (oh, ow, pad_top, pad_left) = match padding {
            Padding::Valid => {
                if kh > h || kw > w {
                    return None;
                }
                ((h - kh) / sh + 1, (w - kw) / sw + 1, 0, 0)
            }
            Padding::Same => {
                let oh = h.div_ceil(sh);
                let ow = w.div_ceil(sw);
                let pad_h = ((oh - 1) * sh + kh).saturating_sub(h);
                let pad_w = ((ow - 1) * sw + kw).saturating_sub(w);
                (oh, ow, pad_h / 2, pad_w / 2)
            }
        };
        Some(Self { n, h, w, c, kh, kw, sh, sw, pad_top, pad_left, oh, ow })
    }

    /// Flat NHWC index of input position `(b, y, x, ch)` if it is inside the input (not padding).
    pub fn input_index(
        &self,
        b: usize,
        oy: usize,
        ox: usize,
        dy: usize,
        dx: usize,
        ch: usize,
    ) -> Option<usize> {
        let y = (oy * self.sh + dy).checked_sub(self.pad_top)?;
        let x = (ox * self.sw + dx).checked_sub(self.pad_left)?;
        (y < self.h && x < self.w).then(|| ((b * self.h + y) * self.w + x) * self.c + ch)
    }
}

/// How the second operand of an elementwise layer maps onto the first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Broadcast {
    /// Same number of elements: position `i` pairs with `i`.
    Same,
    /// A single value.
    Scalar,
    /// A vector along the last axis of length `len`: `i` pairs with `i % len`.
    LastAxis(usize),
}

impl Broadcast {
    /// The rule for `a ∘ b`, if any.
    pub fn new(a: &[usize], b: &[usize]) -> Option<Self> {
        let (na, nb) = (Tensor::numel(a), Tensor::numel(b));
        if na == nb {
            Some(Self::Same)
        } else if nb == 1 {
            Some(Self::Scalar)
        } else if a.last() == Some(&nb) {
            Some(Self::LastAxis(nb))
        } else {
            None
        }
    }

    /// Index into `b` paired with index `i` of `a`.
    pub fn index(&self, i: usize) -> usize {
        match self {
            Self::Same => i,
            Self::Scalar => 0,
            Self::LastAxis(n) => i % n,
        }
    }
}

fn invalid(layer: &Layer, detail: String) -> ProverError {
    ProverError::InvalidLayer { layer: layer.index, kind: layer.kind.name().into(), detail }
}

/// For an elementwise layer: (activation operand, other operand), with the activation first.
pub fn elementwise_operands(
    layer: &Layer,
    constants: &BTreeMap<TensorId, Tensor>,
) -> Result<(TensorId, TensorId)> {
    let [a, b] = <[TensorId; 2]>::try_from(layer.inputs.as_slice())
        .map_err(|_| invalid(layer, format!("expects 2 inputs, has {}", layer.inputs.len())))?;
    match (constants.contains_key(&a), constants.contains_key(&b)) {
        (false, _) => Ok((a, b)),
        (true, false) => Ok((b, a)),
        (true, true) => Err(invalid(layer, "both operands are constants".into())),
    }
}

/// The output shapes of `layer` (one per output) given the shapes known so far.
pub fn output_shapes(
    layer: &Layer,
    shapes: &BTreeMap<TensorId, Vec<usize>>,
    constants: &BTreeMap<TensorId, Tensor>,
) -> Result<Vec<Vec<usize>>> {
    let expected = match &layer.kind {
        LayerKind::Split { parts, .. } => *parts,
        _ => 1,
    };
    if layer.outputs.len() != expected {
        return Err(invalid(layer, format!("has {} outputs, expected {expected}", layer.outputs.len())));
    }
    if layer.kind.is_movement() {
        let ins = layer
            .inputs
            .iter()
            .map(|id| {
                shapes
                    .get(id)
                    .map(Vec::as_slice)
                    .ok_or_else(|| invalid(layer, format!("input tensor {id} is unknown")))
            })
            .collect::<Result<Vec<&[usize]>>>()?;
        if layer.inputs.first().is_some_and(|id| constants.contains_key(id)) {
            return Err(invalid(layer, "its first input is a constant, not an activation".into()));
        }
        return movement_shapes(&layer.kind, &ins).map_err(|d| invalid(layer, d));
    }
    Ok(vec![output_shape(layer, shapes, constants)?])
}

/// The output shape of a single-output arithmetic `layer` given the shapes known so far.
pub fn output_shape(
    layer: &Layer,
    shapes: &BTreeMap<TensorId, Vec<usize>>,
    constants: &BTreeMap<TensorId, Tensor>,
) -> Result<Vec<usize>> {
    let shape = |i: usize| -> Result<&Vec<usize>> {
        let id = layer.inputs.get(i).ok_or_else(|| invalid(layer, format!("missing input {i}")))?;
        shapes.get(id).ok_or_else(|| invalid(layer, format!("input tensor {id} is unknown")))
    };
    let constant = |i: usize| -> Result<&Tensor> {
        let id = layer.inputs.get(i).ok_or_else(|| invalid(layer, format!("missing input {i}")))?;
        constants.get(id).ok_or_else(|| ProverError::UnsupportedLayer {
            layer: layer.index,
            kind: layer.kind.name().into(),
            detail: format!("input {i} (tensor {id}) must be a constant (weights)"),
        })
    };
    if layer.inputs.first().is_some_and(|id| constants.contains_key(id))
        && !layer.kind.commutes()
        && !matches!(layer.kind, LayerKind::Sub | LayerKind::SquaredDifference | LayerKind::Update { .. })
    {
        return Err(invalid(layer, "its first input is a constant, not an activation".into()));
    }
    match &layer.kind {
        LayerKind::Conv2D { padding, stride, .. } => {
            let x = shape(0)?;
            let w = constant(1)?;
            let b = constant(2)?;
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
            Ok(vec![g.n, g.oh, g.ow, o])
        }
        LayerKind::AveragePool2D { window, stride } => {
            let x = shape(0)?;
            let g = Window::new(x, window.0, window.1, *stride, Padding::Valid)
                .ok_or_else(|| invalid(layer, format!("window {window:?} does not fit input {x:?}")))?;
            Ok(vec![g.n, g.oh, g.ow, g.c])
        }
        LayerKind::Mul | LayerKind::Add { .. } => {
            let (a, b) = elementwise_operands(layer, constants)?;
            let (sa, sb) =
                (&shapes[&a], shapes.get(&b).ok_or_else(|| invalid(layer, format!("tensor {b} unknown")))?);
            let rule = Broadcast::new(sa, sb)
                .ok_or_else(|| invalid(layer, format!("cannot broadcast {sb:?} onto {sa:?}")))?;
            if rule != Broadcast::Same && !constants.contains_key(&b) && Tensor::numel(sb) != 1 {
                return Err(invalid(layer, "broadcasting is supported for constant operands only".into()));
            }
            Ok(sa.clone())
        }
        LayerKind::FullyConnected { .. } => {
            let x = shape(0)?;
            let w = constant(1)?;
            let [o, k] = <[usize; 2]>::try_from(w.shape.as_slice())
                .map_err(|_| invalid(layer, format!("weights shape {:?} is not [O,K]", w.shape)))?;
            if x.last() != Some(&k) {
                return Err(invalid(layer, format!("input {x:?} does not end in K = {k}")));
            }
            if layer.inputs.len() > 2 && Tensor::numel(&constant(2)?.shape) != o {
                return Err(invalid(layer, format!("bias does not have {o} values")));
            }
            let mut out = x.clone();
            *out.last_mut().expect("non-empty") = o;
            Ok(out)
        }
        LayerKind::DepthwiseConv2D { padding, stride, .. } => {
            let x = shape(0)?;
            let w = constant(1)?;
            let b = constant(2)?;
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
            Ok(vec![g.n, g.oh, g.ow, c])
        }
        LayerKind::MaxPool2D { window, stride } => {
            let x = shape(0)?;
            let g = Window::new(x, window.0, window.1, *stride, Padding::Valid)
                .ok_or_else(|| invalid(layer, format!("window {window:?} does not fit input {x:?}")))?;
            Ok(vec![g.n, g.oh, g.ow, g.c])
        }
        LayerKind::Sub | LayerKind::SquaredDifference => {
            if layer.inputs.len() != 2 {
                return Err(invalid(layer, format!("expects 2 inputs, has {}", layer.inputs.len())));
            }
            if layer.inputs.iter().all(|id| constants.contains_key(id)) {
                return Err(invalid(layer, "both operands are constants".into()));
            }
            let (a, b) = (shape(0)?, shape(1)?);
            broadcast_shape(a, b).ok_or_else(|| invalid(layer, format!("cannot broadcast {a:?} with {b:?}")))
        }
        LayerKind::Square
        | LayerKind::Div { .. }
        | LayerKind::Pointwise { .. }
        | LayerKind::Sqrt
        | LayerKind::Rsqrt
        | LayerKind::Cube => {
            if layer.inputs.len() != 1 {
                return Err(invalid(layer, format!("expects 1 input, has {}", layer.inputs.len())));
            }
            Ok(shape(0)?.clone())
        }
        LayerKind::DivVar => {
            let d = shape(1)?;
            if Tensor::numel(d) != 1 || layer.inputs.len() != 2 {
                return Err(invalid(layer, format!("the divisor must be one value, has shape {d:?}")));
            }
            Ok(shape(0)?.clone())
        }
        LayerKind::BatchMatMul { adj_y } => {
            let (a, b) = (shape(0)?, shape(1)?);
            let ok = a.len() == 3 && b.len() == 3 && a[0] == b[0];
            let (k, n) = if *adj_y { (b.get(2), b.get(1)) } else { (b.get(1), b.get(2)) };
            if !ok || k != a.get(2) {
                return Err(invalid(layer, format!("cannot multiply {a:?} by {b:?} (adj_y = {adj_y})")));
            }
            Ok(vec![a[0], a[1], *n.expect("rank 3")])
        }
        LayerKind::Mean { axes, keep_dims } => {
            let x = shape(0)?;
            if axes.is_empty() || axes.iter().any(|a| *a >= x.len()) || axes.windows(2).any(|w| w[0] >= w[1])
            {
                return Err(invalid(layer, format!("axes {axes:?} are not sorted axes of {x:?}")));
            }
            let out: Vec<usize> = if *keep_dims {
                x.iter().enumerate().map(|(d, n)| if axes.contains(&d) { 1 } else { *n }).collect()
            } else {
                x.iter().enumerate().filter(|(d, _)| !axes.contains(d)).map(|(_, n)| *n).collect()
            };
            Ok(if out.is_empty() { vec![1] } else { out })
        }
        LayerKind::Update { .. } => {
            let (w, dw) = (shape(0)?, shape(1)?);
            if w != dw {
                return Err(invalid(layer, format!("weights {w:?} and gradient {dw:?} differ in shape")));
            }
            Ok(w.clone())
        }
        LayerKind::Softmax { mask, mask_shape } => {
            let x = shape(0)?;
            let unmasked = mask.is_empty() && mask_shape.is_empty();
            if !unmasked
                && (Tensor::numel(mask_shape) != mask.len()
                    || broadcast_shape(x, mask_shape).as_deref() != Some(x.as_slice()))
            {
                return Err(invalid(layer, format!("mask {mask_shape:?} does not broadcast onto {x:?}")));
            }
            Ok(x.clone())
        }
        _ => Err(invalid(layer, "is a data-movement layer".into())),
    }
}
