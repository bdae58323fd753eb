//! Data movement: Noop, Reshape, Transpose (and Permute), Concatenation, Pack, Split, Slice, Pad,
//! ResizeNearestNeighbor, Broadcast, Rotate and MaskNegInf.
//!
//! Each is an index map (output position → input position, zero padding or the [`MASKED`]
//! value). The interpreter applies the map to values and the circuit to cells, so these layers
//! cost no constraints: their outputs are their inputs' cells (or one shared constant cell).

use chunkproof_core::{fr_from_i64, Fr};
use halo2_axiom::halo2curves::ff::Field;
use halo2_base::AssignedValue;

use super::bounds::Interval;
use super::cost::Cost;
use super::errors::invalid;
use super::eval::{operand, Values};
use super::family::{Family, Shapes};
use super::geometry::{broadcast_map, broadcast_shape, ravel, unravel};
use super::zkml::{at_least, axis, mask, positive, RawLayerView};
use crate::circuit::cx::{load, operand as cell_operand, Cx, Env};
use crate::error::Result;
use crate::model::graph::{Graph, Layer, Tensor};
use crate::model::kind::{LayerKind, MASKED};

/// Where one output value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    /// Position `index` (row-major) of input `input`.
    In {
        /// Which layer input.
        input: usize,
        /// Flat index in it.
        index: usize,
    },
    /// The constant 0 (padding).
    Zero,
    /// The constant [`MASKED`].
    Masked,
}

/// The data-movement family.
pub(crate) struct Movement;

impl Family for Movement {
    fn zkml_names(&self) -> &'static [&'static str] {
        &[
            "Noop",
            "Reshape",
            "Transpose",
            "Permute",
            "Concatenation",
            "Pack",
            "Split",
            "Slice",
            "Pad",
            "ResizeNearestNeighbor",
            "Broadcast",
            "Rotate",
            "MaskNegInf",
        ]
    }

    fn data_inputs(&self, kind: &str, params: &[i64], n: usize, layer: usize) -> Result<Vec<usize>> {
        Ok(match kind {
            "Concatenation" | "Pack" => {
                at_least(1, n, layer, kind)?;
                (0..n).collect()
            }
            "Split" => {
                at_least(2, n, layer, kind)?;
                vec![1]
            }
            "Noop" => {
                let i = params.first().copied().unwrap_or(0);
                let i = usize::try_from(i).ok().filter(|i| *i < n).ok_or_else(|| {
                    super::errors::invalid_raw(layer, kind, format!("returns input {i}, but has {n} inputs"))
                })?;
                vec![i]
            }
            _ => {
                at_least(1, n, layer, kind)?;
                vec![0]
            }
        })
    }

    fn parse(
        &self,
        raw: &RawLayerView<'_>,
        layer: usize,
        ins: &[&[usize]],
        _scale: u64,
    ) -> Result<LayerKind> {
        let (kind, p) = (raw.kind, raw.params);
        let rank = ins[0].len();
        Ok(match kind {
            "MaskNegInf" => {
                let (mask, mask_shape) = mask(p, layer, kind)?;
                if mask.is_empty() {
                    return Err(super::errors::invalid_raw(layer, kind, "has no mask".into()));
                }
                LayerKind::MaskNegInf { mask, mask_shape }
            }
            "Noop" => LayerKind::Noop,
            "Reshape" => LayerKind::Reshape { shape: raw.out0(layer)? },
            "Transpose" | "Permute" => {
                let perm_raw = if kind == "Transpose" {
                    raw.need(2 * rank, layer)?;
                    let declared: Vec<i64> = ins[0].iter().map(|d| *d as i64).collect();
                    if p[..rank] != declared[..] {
                        return Err(super::errors::invalid_raw(
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
                raw.need(1, layer)?;
                LayerKind::Concatenation { axis: axis(p[0], rank, layer, kind)? }
            }
            "Pack" => {
                raw.need(1, layer)?;
                LayerKind::Pack { axis: axis(p[0], rank + 1, layer, kind)? }
            }
            "Split" => {
                raw.need(2, layer)?;
                LayerKind::Split {
                    axis: axis(p[0], rank, layer, kind)?,
                    parts: positive(p[1], "num_splits", layer, kind)?,
                }
            }
            "Slice" => {
                raw.need(2 * rank, layer)?;
                let begin: Vec<usize> = p[..rank]
                    .iter()
                    .map(|b| {
                        usize::try_from(*b).map_err(|_| {
                            super::errors::invalid_raw(layer, kind, format!("begin {b} is negative"))
                        })
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
                raw.need(2 * rank, layer)?;
                let v = |x: i64| {
                    usize::try_from(x).map_err(|_| {
                        super::errors::invalid_raw(layer, kind, format!("padding {x} is negative"))
                    })
                };
                LayerKind::Pad {
                    pads: (0..rank).map(|d| Ok((v(p[2 * d])?, v(p[2 * d + 1])?))).collect::<Result<_>>()?,
                }
            }
            "ResizeNearestNeighbor" => {
                let out = raw.out0(layer)?;
                if out.len() != 4 {
                    return Err(super::errors::invalid_raw(
                        layer,
                        kind,
                        format!("output {out:?} is not NHWC"),
                    ));
                }
                LayerKind::ResizeNearestNeighbor { size: (out[1], out[2]) }
            }
            "Broadcast" => LayerKind::Broadcast { shape: raw.out0(layer)? },
            _ => LayerKind::Rotate {
                axes: p.iter().map(|a| axis(*a, rank, layer, kind)).collect::<Result<_>>()?,
            },
        })
    }

    fn output_shapes(&self, layer: &Layer, shapes: &Shapes<'_>) -> Result<Vec<Vec<usize>>> {
        let ins = (0..layer.inputs.len())
            .map(|i| shapes.input(layer, i).map(Vec::as_slice))
            .collect::<Result<Vec<&[usize]>>>()?;
        movement_shapes(&layer.kind, &ins).map_err(|d| invalid(layer, d))
    }

    fn eval(&self, graph: &Graph, values: &Values, layer: &Layer) -> Result<Vec<Vec<i128>>> {
        let ins: Vec<&[usize]> = layer.inputs.iter().map(|id| graph.shape(*id)).collect();
        let outs: Vec<Vec<usize>> =
            layer.outputs.iter().map(|id| graph.produced_shape(*id).to_vec()).collect();
        let input = |i: usize| operand(graph, values, layer.inputs[i]);
        Ok(movement_map(&layer.kind, &ins, &outs)
            .into_iter()
            .map(|m| {
                m.into_iter()
                    .map(|s| match s {
                        Src::In { input: j, index } => input(j)[index] as i128,
                        Src::Zero => 0,
                        Src::Masked => MASKED as i128,
                    })
                    .collect()
            })
            .collect())
    }

    fn bounds(&self, _graph: &Graph, layer: &Layer, ins: &[Option<Interval>]) -> Vec<Option<Interval>> {
        // data moved keeps its values; padding adds zeros; masking writes the smallest value
        let all =
            || ins.iter().copied().collect::<Option<Vec<Interval>>>()?.into_iter().reduce(Interval::union);
        let b = match &layer.kind {
            LayerKind::MaskNegInf { .. } => None,
            LayerKind::Pad { .. } => all().map(Interval::with_zero),
            _ => all(),
        };
        vec![b; layer.outputs.len()]
    }

    fn cost(&self, _graph: &Graph, _layer: &Layer) -> Cost {
        // copies only (and a constant cell for padding or masks)
        Cost { main: 1, custom: 0, product: 0 }
    }

    fn synthesize(&self, cx: &mut Cx<'_>, layer: &Layer, env: &Env) -> Result<Vec<Vec<AssignedValue<Fr>>>> {
        let ins: Vec<&[usize]> = layer.inputs.iter().map(|id| cx.graph.shape(*id)).collect();
        let outs: Vec<Vec<usize>> =
            layer.outputs.iter().map(|id| cx.graph.produced_shape(*id).to_vec()).collect();
        let operands =
            (0..layer.inputs.len()).map(|i| cell_operand(cx, env, layer, i)).collect::<Result<Vec<_>>>()?;
        let map = movement_map(&layer.kind, &ins, &outs);
        let (mut zero, mut masked) = (None, None);
        let mut result = Vec::with_capacity(map.len());
        for m in map {
            let mut out = Vec::with_capacity(m.len());
            for s in m {
                out.push(match s {
                    Src::In { input, index } => load(cx, operands[input][index]),
                    Src::Zero => *zero.get_or_insert_with(|| cx.ctx.load_constant(Fr::ZERO)),
                    Src::Masked => *masked.get_or_insert_with(|| cx.ctx.load_constant(fr_from_i64(MASKED))),
                });
            }
            result.push(out);
        }
        Ok(result)
    }

    fn num_outputs(&self, kind: &LayerKind) -> usize {
        match kind {
            LayerKind::Split { parts, .. } => *parts,
            _ => 1,
        }
    }
}

fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

fn same_rank_except(shapes: &[&[usize]], axis: usize) -> Result<(), String> {
    let first = shapes[0];
    check(axis < first.len(), || format!("axis {axis} is out of range for rank {}", first.len()))?;
    for s in shapes {
        check(
            s.len() == first.len() && s.iter().zip(first).enumerate().all(|(d, (a, b))| d == axis || a == b),
            || format!("inputs {shapes:?} differ outside axis {axis}"),
        )?;
    }
    Ok(())
}

/// Output shapes of a data-movement layer from its input shapes.
pub fn movement_shapes(kind: &LayerKind, ins: &[&[usize]]) -> Result<Vec<Vec<usize>>, String> {
    check(!ins.is_empty(), || "has no inputs".into())?;
    let x = ins[0];
    let one = |s: Vec<usize>| Ok(vec![s]);
    match kind {
        LayerKind::Reshape { shape } => {
            check(Tensor::numel(x) == Tensor::numel(shape), || {
                format!("cannot reshape {x:?} into {shape:?}")
            })?;
            one(shape.clone())
        }
        LayerKind::Noop => one(x.to_vec()),
        LayerKind::Transpose { perm } => {
            let mut seen = perm.clone();
            seen.sort_unstable();
            check(seen == (0..x.len()).collect::<Vec<_>>(), || {
                format!("perm {perm:?} is not a permutation of the axes of {x:?}")
            })?;
            one(perm.iter().map(|p| x[*p]).collect())
        }
        LayerKind::Concatenation { axis } => {
            same_rank_except(ins, *axis)?;
            let mut s = x.to_vec();
            s[*axis] = ins.iter().map(|s| s[*axis]).sum();
            one(s)
        }
        LayerKind::Pack { axis } => {
            check(ins.iter().all(|s| *s == x), || format!("inputs {ins:?} differ in shape"))?;
            check(*axis <= x.len(), || format!("axis {axis} is out of range for rank {}", x.len()))?;
            let mut s = x.to_vec();
            s.insert(*axis, ins.len());
            one(s)
        }
        LayerKind::Split { axis, parts } => {
            check(*axis < x.len(), || format!("axis {axis} is out of range for {x:?}"))?;
            check(*parts > 0 && x[*axis].is_multiple_of(*parts), || {
                format!("{x:?} does not split into {parts} along {axis}")
            })?;
            let mut s = x.to_vec();
            s[*axis] /= parts;
            Ok(vec![s; *parts])
        }
        LayerKind::Slice { begin, size } => {
            check(begin.len() == x.len() && size.len() == x.len(), || {
                format!("begin/size rank differs from {x:?}")
            })?;
            check((0..x.len()).all(|d| size[d] > 0 && begin[d] + size[d] <= x[d]), || {
                format!("slice begin {begin:?} size {size:?} is outside {x:?}")
            })?;
            one(size.clone())
        }
        LayerKind::Pad { pads } => {
            check(pads.len() == x.len(), || format!("{} padding pairs for rank {}", pads.len(), x.len()))?;
            one(x.iter().zip(pads).map(|(n, (b, a))| n + b + a).collect())
        }
        LayerKind::ResizeNearestNeighbor { size } => {
            check(x.len() == 4 && size.0 > 0 && size.1 > 0, || format!("needs an NHWC input, has {x:?}"))?;
            one(vec![x[0], size.0, size.1, x[3]])
        }
        LayerKind::Broadcast { shape } => {
            check(shape.len() == x.len() && x.iter().zip(shape).all(|(a, b)| a == b || *a == 1), || {
                format!("cannot broadcast {x:?} to {shape:?}")
            })?;
            one(shape.clone())
        }
        LayerKind::Rotate { axes } => {
            check(axes.iter().all(|a| *a < x.len()), || format!("axes {axes:?} out of range for {x:?}"))?;
            one(x.to_vec())
        }
        LayerKind::MaskNegInf { mask, mask_shape } => {
            check(Tensor::numel(mask_shape) == mask.len(), || "mask length differs from its shape".into())?;
            check(broadcast_shape(x, mask_shape).as_deref() == Some(x), || {
                format!("mask {mask_shape:?} does not broadcast onto {x:?}")
            })?;
            one(x.to_vec())
        }
        other => Err(format!("{} is not a data-movement layer", other.name())),
    }
}

/// For each output of a data-movement layer, where each of its values comes from. `ins` and
/// `outs` must have passed [`movement_shapes`].
pub fn movement_map(kind: &LayerKind, ins: &[&[usize]], outs: &[Vec<usize>]) -> Vec<Vec<Src>> {
    let x = ins[0];
    let src = |index: usize| Src::In { input: 0, index };
    let per_coord = |out: &[usize], f: &dyn Fn(&[usize]) -> Src| -> Vec<Src> {
        (0..Tensor::numel(out)).map(|i| f(&unravel(i, out))).collect()
    };
    match kind {
        LayerKind::Reshape { .. } | LayerKind::Noop => vec![(0..Tensor::numel(x)).map(src).collect()],
        LayerKind::Transpose { perm } => vec![per_coord(&outs[0], &|c| {
            let mut ic = vec![0; x.len()];
            for (i, p) in perm.iter().enumerate() {
                ic[*p] = c[i];
            }
            src(ravel(&ic, x))
        })],
        LayerKind::Concatenation { axis } => vec![per_coord(&outs[0], &|c| {
            let mut ic = c.to_vec();
            let mut input = 0;
            while ic[*axis] >= ins[input][*axis] {
                ic[*axis] -= ins[input][*axis];
                input += 1;
            }
            Src::In { input, index: ravel(&ic, ins[input]) }
        })],
        LayerKind::Pack { axis } => vec![per_coord(&outs[0], &|c| {
            let mut ic = c.to_vec();
            let input = ic.remove(*axis);
            Src::In { input, index: ravel(&ic, x) }
        })],
        LayerKind::Split { axis, .. } => outs
            .iter()
            .enumerate()
            .map(|(j, out)| {
                per_coord(out, &|c| {
                    let mut ic = c.to_vec();
                    ic[*axis] += j * out[*axis];
                    src(ravel(&ic, x))
                })
            })
            .collect(),
        LayerKind::Slice { begin, .. } => vec![per_coord(&outs[0], &|c| {
            let ic: Vec<usize> = c.iter().zip(begin).map(|(a, b)| a + b).collect();
            src(ravel(&ic, x))
        })],
        LayerKind::Pad { pads } => vec![per_coord(&outs[0], &|c| {
            let ic: Option<Vec<usize>> = c
                .iter()
                .zip(pads)
                .zip(x)
                .map(|((v, (b, _)), n)| v.checked_sub(*b).filter(|i| i < n))
                .collect();
            ic.map_or(Src::Zero, |ic| src(ravel(&ic, x)))
        })],
        LayerKind::ResizeNearestNeighbor { size } => vec![per_coord(&outs[0], &|c| {
            let y = c[1] * x[1] / size.0;
            let w = c[2] * x[2] / size.1;
            src(ravel(&[c[0], y, w, c[3]], x))
        })],
        LayerKind::Broadcast { shape } => vec![broadcast_map(shape, x).into_iter().map(src).collect()],
        LayerKind::Rotate { axes } => vec![per_coord(&outs[0], &|c| {
            let ic: Vec<usize> = c
                .iter()
                .enumerate()
                .map(|(d, v)| if axes.contains(&d) { x[d] - 1 - v } else { *v })
                .collect();
            src(ravel(&ic, x))
        })],
        LayerKind::MaskNegInf { mask, mask_shape } => vec![broadcast_map(x, mask_shape)
            .into_iter()
            .enumerate()
            .map(|(i, m)| if mask[m] { Src::Masked } else { src(i) })
            .collect()],
        _ => unreachable!("movement layers only"),
    }
}

/// The outputs of a data-movement layer whose inputs are all constants `ins`: `produced` are its
/// own output shapes (they passed [`movement_shapes`]), `declared` the shapes they take.
pub fn fold_constants(
    kind: &LayerKind,
    ins: &[&Tensor],
    produced: &[Vec<usize>],
    declared: &[Vec<usize>],
) -> Vec<Tensor> {
    let shapes: Vec<&[usize]> = ins.iter().map(|t| t.shape.as_slice()).collect();
    movement_map(kind, &shapes, produced)
        .into_iter()
        .zip(declared)
        .map(|(map, shape)| Tensor {
            shape: shape.clone(),
            data: map
                .into_iter()
                .map(|s| match s {
                    Src::In { input, index } => ins[input].data[index],
                    Src::Zero => 0,
                    Src::Masked => MASKED,
                })
                .collect::<Vec<_>>()
                .into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(kind: &LayerKind, ins: &[&[usize]], vals: &[Vec<i64>]) -> Vec<Vec<i64>> {
        let outs = movement_shapes(kind, ins).unwrap();
        movement_map(kind, ins, &outs)
            .into_iter()
            .map(|m| {
                m.into_iter()
                    .map(|s| match s {
                        Src::In { input, index } => vals[input][index],
                        Src::Zero => 0,
                        Src::Masked => MASKED,
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn maps_match_numpy_semantics() {
        let x: Vec<i64> = (0..6).collect(); // [[0,1,2],[3,4,5]]
        let t = apply(&LayerKind::Transpose { perm: vec![1, 0] }, &[&[2, 3]], std::slice::from_ref(&x));
        assert_eq!(t, vec![vec![0, 3, 1, 4, 2, 5]]);
        let c = apply(&LayerKind::Concatenation { axis: 1 }, &[&[2, 3], &[2, 1]], &[x.clone(), vec![9, 8]]);
        assert_eq!(c, vec![vec![0, 1, 2, 9, 3, 4, 5, 8]]);
        let p = apply(&LayerKind::Pack { axis: 1 }, &[&[3], &[3]], &[vec![1, 2, 3], vec![4, 5, 6]]);
        assert_eq!(p, vec![vec![1, 4, 2, 5, 3, 6]]);
        let s = apply(&LayerKind::Split { axis: 1, parts: 3 }, &[&[2, 3]], std::slice::from_ref(&x));
        assert_eq!(s, vec![vec![0, 3], vec![1, 4], vec![2, 5]]);
        let sl = apply(
            &LayerKind::Slice { begin: vec![1, 1], size: vec![1, 2] },
            &[&[2, 3]],
            std::slice::from_ref(&x),
        );
        assert_eq!(sl, vec![vec![4, 5]]);
        let pd = apply(&LayerKind::Pad { pads: vec![(0, 0), (1, 0)] }, &[&[2, 3]], std::slice::from_ref(&x));
        assert_eq!(pd, vec![vec![0, 0, 1, 2, 0, 3, 4, 5]]);
        let r = apply(&LayerKind::Rotate { axes: vec![1] }, &[&[2, 3]], std::slice::from_ref(&x));
        assert_eq!(r, vec![vec![2, 1, 0, 5, 4, 3]]);
        let b = apply(&LayerKind::Broadcast { shape: vec![2, 3] }, &[&[1, 3]], &[vec![7, 8, 9]]);
        assert_eq!(b, vec![vec![7, 8, 9, 7, 8, 9]]);
        let up = apply(&LayerKind::ResizeNearestNeighbor { size: (2, 4) }, &[&[1, 1, 2, 1]], &[vec![1, 2]]);
        assert_eq!(up, vec![vec![1, 1, 2, 2, 1, 1, 2, 2]]);
        let m = apply(
            &LayerKind::MaskNegInf { mask: vec![false, true, false], mask_shape: vec![3] },
            &[&[2, 3]],
            &[x],
        );
        assert_eq!(m, vec![vec![0, MASKED, 2, 3, MASKED, 5]]);
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(movement_shapes(&LayerKind::Transpose { perm: vec![0, 0] }, &[&[2, 3]]).is_err());
        assert!(movement_shapes(&LayerKind::Concatenation { axis: 0 }, &[&[2, 3], &[2, 2]]).is_err());
        assert!(movement_shapes(&LayerKind::Split { axis: 1, parts: 2 }, &[&[2, 3]]).is_err());
        assert!(
            movement_shapes(&LayerKind::Slice { begin: vec![1, 2], size: vec![1, 2] }, &[&[2, 3]]).is_err()
        );
        assert!(movement_shapes(&LayerKind::Reshape { shape: vec![5] }, &[&[2, 3]]).is_err());
        assert_eq!(broadcast_shape(&[2, 1, 3], &[4, 1]), Some(vec![2, 4, 3]));
        assert_eq!(broadcast_shape(&[2, 3], &[2]), None);
    }
}
