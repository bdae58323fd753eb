//! What every family reads from a zkml layer record: the record itself and the decoding of its
//! parameters (activation codes, axes, masks, positive sizes).
//!
//! zkml's converter lists constant side inputs (a Reshape's shape, a Transpose's permutation, a
//! Split's axis …) among a layer's inputs, and may not write them at all; their values are
//! repeated in `params`. Only the data inputs become graph inputs.

use super::errors::{invalid_raw, unsupported_raw};
use crate::error::Result;
use crate::model::graph::Tensor;
use crate::model::kind::{Activation, RootMask};

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
    /// The model's `k` (zkml's circuit size, which sets the values a `mask` substitutes).
    pub zkml_k: Option<i64>,
}

impl RawLayerView<'_> {
    /// The first declared output shape.
    pub(crate) fn out0(&self, index: usize) -> Result<Vec<usize>> {
        self.out_shapes
            .first()
            .cloned()
            .ok_or_else(|| invalid_raw(index, self.kind, "has no output shape".into()))
    }

    /// Fails unless the record has at least `n` params.
    pub(crate) fn need(&self, n: usize, index: usize) -> Result<()> {
        if self.params.len() < n {
            return Err(invalid_raw(
                index,
                self.kind,
                format!("expects {n} params, has {}", self.params.len()),
            ));
        }
        Ok(())
    }
}

/// A Sqrt or Rsqrt `mask` as zkml reads it: pairs `(position, 1 | −1)`; 1 substitutes zkml's
/// `max_val = 2^(k−1) − 10`, −1 its `min_val`, whose table output is 0.
pub(crate) fn root_mask(raw: &RawLayerView<'_>, layer: usize, numel: usize) -> Result<RootMask> {
    if raw.mask.is_empty() {
        return Ok(vec![]);
    }
    let bad = |d: String| invalid_raw(layer, raw.kind, d);
    if !raw.mask.len().is_multiple_of(2) {
        return Err(bad(format!("mask has {} values, not (position, value) pairs", raw.mask.len())));
    }
    let max_val = match raw.zkml_k {
        Some(k @ 2..=32) => (1i64 << (k - 1)) - 10,
        Some(k) => return Err(bad(format!("the model's k = {k} gives no mask value in range"))),
        None => return Err(bad("a mask needs the model's `k`, which the file does not give".into())),
    };
    let mut out: RootMask = Vec::with_capacity(raw.mask.len() / 2);
    for pair in raw.mask.chunks(2) {
        let pos = usize::try_from(pair[0]).ok().filter(|p| *p < numel);
        let pos =
            pos.ok_or_else(|| bad(format!("mask position {} is outside the {numel} inputs", pair[0])))?;
        let value = match pair[1] {
            1 => Some(max_val),
            -1 => None,
            v => return Err(bad(format!("mask value {v} at position {pos} (zkml knows 1 and -1)"))),
        };
        out.push((pos, value));
    }
    out.sort_unstable_by_key(|(p, _)| *p);
    if out.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(bad("mask names a position twice".into()));
    }
    Ok(out)
}

/// zkml's activation code.
pub(crate) fn activation(code: i64, layer: usize, kind: &str) -> Result<Activation> {
    match code {
        0 => Ok(Activation::None),
        1 => Ok(Activation::Relu),
        3 => Ok(Activation::Relu6),
        other => Err(unsupported_raw(
            layer,
            kind,
            format!("activation code {other} (supported: 0 none, 1 relu, 3 relu6)"),
        )),
    }
}

/// An axis of a tensor of rank `rank`; negative axes count from the end.
pub(crate) fn axis(v: i64, rank: usize, layer: usize, kind: &str) -> Result<usize> {
    let a = if v < 0 { v + rank as i64 } else { v };
    usize::try_from(a)
        .ok()
        .filter(|a| *a < rank)
        .ok_or_else(|| invalid_raw(layer, kind, format!("axis {v} is out of range for rank {rank}")))
}

/// A mask given as `[rank, *shape, *flat values]` in params (empty params: no mask).
pub(crate) fn mask(params: &[i64], layer: usize, kind: &str) -> Result<(Vec<bool>, Vec<usize>)> {
    if params.is_empty() {
        return Ok((vec![], vec![]));
    }
    let nd = usize::try_from(params[0]).map_err(|_| invalid_raw(layer, kind, "negative mask rank".into()))?;
    let shape: Vec<usize> = params
        .get(1..1 + nd)
        .ok_or_else(|| invalid_raw(layer, kind, "mask shape is cut short".into()))?
        .iter()
        .map(|d| usize::try_from(*d).ok().filter(|d| *d > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| invalid_raw(layer, kind, "mask shape has a non-positive dimension".into()))?;
    let flat = &params[1 + nd..];
    if flat.len() != Tensor::numel(&shape) {
        return Err(invalid_raw(
            layer,
            kind,
            format!("mask {shape:?} needs {} values, has {}", Tensor::numel(&shape), flat.len()),
        ));
    }
    Ok((flat.iter().map(|v| *v != 0).collect(), shape))
}

/// A strictly positive size.
pub(crate) fn positive(v: i64, what: &str, layer: usize, kind: &str) -> Result<usize> {
    usize::try_from(v)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| invalid_raw(layer, kind, format!("{what} = {v} must be positive")))
}

/// Fails unless a layer has at least `k` inputs.
pub(crate) fn at_least(k: usize, n: usize, layer: usize, kind: &str) -> Result<()> {
    if n < k {
        return Err(invalid_raw(layer, kind, format!("expects at least {k} inputs, has {n}")));
    }
    Ok(())
}
