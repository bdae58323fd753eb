//! Index arithmetic shared by the layers: NHWC windows (convolution, pooling), broadcasting
//! (numpy's rule), row-major coordinates.

use std::collections::BTreeMap;

use super::errors::invalid;
use crate::error::Result;
use crate::model::graph::{Layer, Tensor, TensorId};
use crate::model::kind::Padding;

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

    /// Every output position `(b, oy, ox, ch)` for `c_out` output channels, in NHWC order.
    pub fn outputs(&self, c_out: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> + '_ {
        (0..self.n).flat_map(move |b| {
            (0..self.oh).flat_map(move |oy| {
                (0..self.ow).flat_map(move |ox| (0..c_out).map(move |ch| (b, oy, ox, ch)))
            })
        })
    }

    /// The window's offsets `(dy, dx)`, row by row.
    pub fn offsets(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.kh).flat_map(move |dy| (0..self.kw).map(move |dx| (dy, dx)))
    }
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

/// Row-major coordinates of flat index `i` in `shape`.
pub fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut c = vec![0; shape.len()];
    for (d, n) in shape.iter().enumerate().rev() {
        c[d] = i % n;
        i /= n;
    }
    c
}

/// Flat row-major index of coordinates `c` in `shape`.
pub fn ravel(c: &[usize], shape: &[usize]) -> usize {
    c.iter().zip(shape).fold(0, |acc, (x, n)| acc * n + x)
}

/// numpy broadcasting of `a` and `b` (right-aligned; each pair of dims equal or one of them 1).
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let r = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() < r { 1 } else { s[i + s.len() - r] };
    (0..r)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// For each position of `out` (a broadcast of `shape`), the position of `shape` it reads.
pub fn broadcast_map(out: &[usize], shape: &[usize]) -> Vec<usize> {
    let skip = out.len() - shape.len();
    (0..Tensor::numel(out))
        .map(|i| {
            let c = unravel(i, out);
            let src: Vec<usize> =
                shape.iter().enumerate().map(|(d, n)| if *n == 1 { 0 } else { c[skip + d] }).collect();
            ravel(&src, shape)
        })
        .collect()
}

/// The output position of a mean over `axes` that input position `i` adds to.
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
