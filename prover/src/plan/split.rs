//! Cutting a layer into parts, so that no chunk is bounded by its largest layer.
//!
//! A split is a rewrite of the graph into ordinary layers: each part is a layer of the same
//! kind computing a slice of the output (some output channels, rows, positions or elements),
//! fed by data movement (Reshape, Slice, Broadcast: index maps, no constraints) and followed by
//! a Concatenation (and a Reshape) that rebuilds the output tensor under its own id. The parts'
//! outputs are ordinary tensors, so where the planner cuts between parts they are boundary
//! tensors committed like any other, and a later chunk that needs the whole output reads every
//! slice. The values are those of the unsplit layer by construction (each output value depends
//! only on the inputs its part reads); `prover/tests/split.rs` checks it for every kind.
//!
//! | kind | parts over | part layer reads |
//! |---|---|---|
//! | Conv2D | output channels | the whole input, the channels' weights and biases |
//! | DepthwiseConv2D | channels | a Slice of the input's channels, their weights and biases |
//! | FullyConnected | outputs | the whole input, the outputs' weights (a Slice when they are an activation) and biases |
//! | AveragePool2D, MaxPool2D | output rows | a Slice of the input rows the windows cover |
//! | Softmax | rows of the last axis | a Slice of those rows (and of the mask) |
//! | Add, Sub, Mul, SquaredDifference, Square, Pow, Div, DivVar, Sqrt, Rsqrt, Logistic, Tanh | element ranges | Slices of the flattened (broadcast) operands |
//!
//! A convolution or dense layer split by output channels carries along the layers after it that
//! work per channel ([`fusable`]: pooling, unary elementwise and table layers, elementwise layers
//! with a per-channel or scalar constant): part `j` of each reads part `j` of the one before and
//! only the last is joined, so where a cut falls between parts, what crosses it is the run's
//! (pooled) output, not the convolution's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ProverError, Result};
use crate::layers::{broadcast_map, movement_map, Src};
use crate::model::{Graph, Layer, LayerKind, Tensor, TensorId};

/// Layer `layer` (its position in the unsplit graph's execution order) cut into `parts` parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Split {
    /// Position of the layer in the unsplit graph.
    pub layer: usize,
    /// Number of parts (at least 2).
    pub parts: usize,
    /// Layers after it cut along the same channels ([`fusable`]): part `j` of each reads part
    /// `j` of the one before, and only the last is joined.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fused: usize,
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

/// How many layers after `pos` can be cut along its output channels with it: each reads the one
/// before as its first data input (which nothing else reads), keeps the channels last, and
/// works per channel (pooling, a unary elementwise or table layer, or an elementwise layer
/// whose other operand is a per-channel or scalar constant).
pub fn fusable(graph: &Graph, pos: usize) -> usize {
    let head = &graph.layers[pos];
    let Some(Axis::Channels(c)) = axis_of(graph, head) else { return 0 };
    let readers = |t: TensorId| {
        graph.layers.iter().filter(|l| l.inputs.contains(&t)).count()
            + usize::from(graph.outputs.contains(&t))
    };
    let mut prev = head.outputs[0];
    let mut n = 0;
    for layer in &graph.layers[pos + 1..] {
        let out = layer.outputs[0];
        let keeps =
            |id: TensorId| graph.produced_shape(id) == graph.shape(id) && graph.shape(id).last() == Some(&c);
        if layer.outputs.len() != 1 || readers(prev) != 1 || !keeps(prev) || !keeps(out) {
            break;
        }
        let per_channel = match &layer.kind {
            LayerKind::AveragePool2D { .. } | LayerKind::MaxPool2D { .. } => layer.inputs == [prev],
            LayerKind::Square | LayerKind::Cube | LayerKind::Div { .. } | LayerKind::Pointwise { .. } => {
                layer.inputs == [prev]
            }
            LayerKind::Sqrt { mask } | LayerKind::Rsqrt { mask } => mask.is_empty() && layer.inputs == [prev],
            LayerKind::Add { .. } | LayerKind::Sub | LayerKind::Mul | LayerKind::SquaredDifference => {
                layer.inputs.len() == 2
                    && layer.inputs.contains(&prev)
                    && layer.inputs.iter().filter(|id| **id != prev).all(|id| {
                        graph.constants.get(id).is_some_and(|t| {
                            let last = t.shape.last().copied().unwrap_or(1);
                            (last == 1 || last == c)
                                && t.shape.len() <= graph.shape(prev).len()
                                && t.shape.iter().rev().skip(1).all(|d| *d == 1)
                        })
                    })
            }
            _ => false,
        };
        if !per_channel {
            break;
        }
        n += 1;
        prev = out;
    }
    n
}

/// A graph with some layers split, and where each of its layers came from.
#[derive(Clone, Debug)]
pub struct SplitGraph {
    /// The rewritten graph.
    pub graph: Graph,
    /// For each layer of `graph`: its position in the unsplit graph, and `Some((j, parts))` for
    /// part `j` (0-based) of a split layer.
    pub origin: Vec<(usize, Option<(usize, usize)>)>,
}

/// What a split layer is cut along, and into how many parts at most.
enum Axis {
    /// Output channels (the last axis) of a convolution or a dense layer.
    Channels(usize),
    /// Output rows (axis 1) of a pooling layer.
    Rows(usize),
    /// Rows of a softmax (all axes but the last).
    SoftmaxRows(usize),
    /// Elements of an elementwise layer's output.
    Elements(usize),
}

fn axis_of(graph: &Graph, layer: &Layer) -> Option<Axis> {
    let out = graph.produced_shape(*layer.outputs.first()?);
    let n = Tensor::numel(out);
    match &layer.kind {
        LayerKind::Conv2D { .. } | LayerKind::DepthwiseConv2D { .. } | LayerKind::FullyConnected { .. } => {
            Some(Axis::Channels(*out.last()?))
        }
        LayerKind::AveragePool2D { .. } | LayerKind::MaxPool2D { .. } => Some(Axis::Rows(out[1])),
        LayerKind::Softmax { .. } => Some(Axis::SoftmaxRows(n / out.last()?)),
        LayerKind::Add { .. }
        | LayerKind::Sub
        | LayerKind::Mul
        | LayerKind::SquaredDifference
        | LayerKind::Square
        | LayerKind::Cube
        | LayerKind::Div { .. }
        | LayerKind::DivVar
        | LayerKind::Pointwise { .. } => Some(Axis::Elements(n)),
        LayerKind::Sqrt { mask } | LayerKind::Rsqrt { mask } if mask.is_empty() => Some(Axis::Elements(n)),
        _ => None,
    }
}

/// The most parts the planner cuts one layer into (its search grows with the square of the
/// number of layers).
pub const MAX_PARTS: usize = 64;

/// The most parts layer `pos` of `graph` can be cut into (1: it cannot be split).
pub fn max_parts(graph: &Graph, pos: usize) -> usize {
    match axis_of(graph, &graph.layers[pos]) {
        Some(Axis::Channels(n) | Axis::Rows(n) | Axis::SoftmaxRows(n) | Axis::Elements(n)) => {
            n.min(MAX_PARTS)
        }
        None => 1,
    }
}

/// `n` split into `parts` near-equal contiguous ranges `(start, len)`.
fn ranges(n: usize, parts: usize) -> Vec<(usize, usize)> {
    (0..parts).map(|j| (j * n / parts, (j + 1) * n / parts - j * n / parts)).collect()
}

/// Builds the rewritten graph.
struct Rewriter<'g> {
    graph: &'g Graph,
    next: TensorId,
    constants: BTreeMap<TensorId, Tensor>,
    layers: Vec<Layer>,
    origin: Vec<(usize, Option<(usize, usize)>)>,
    shapes: BTreeMap<TensorId, Vec<usize>>,
}

impl Rewriter<'_> {
    fn fresh(&mut self, shape: Vec<usize>) -> TensorId {
        let id = self.next;
        self.next = self.next.saturating_add(1);
        self.shapes.insert(id, shape);
        id
    }

    fn constant(&mut self, t: Tensor) -> TensorId {
        let id = self.fresh(t.shape.clone());
        self.constants.insert(id, t);
        id
    }

    fn shape(&self, id: TensorId) -> Vec<usize> {
        self.shapes.get(&id).cloned().unwrap_or_else(|| self.graph.shape(id).to_vec())
    }

    /// Appends a layer of `kind` (zkml number `index`, from position `pos`) and returns its output.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        index: usize,
        pos: usize,
        part: Option<(usize, usize)>,
        kind: LayerKind,
        inputs: Vec<TensorId>,
        out: Option<TensorId>,
        out_shape: Vec<usize>,
    ) -> TensorId {
        let id = match out {
            Some(id) => id,
            None => self.fresh(out_shape),
        };
        self.layers.push(Layer { index, kind, inputs, outputs: vec![id] });
        self.origin.push((pos, part));
        id
    }

    /// A Slice of activation `x` (`begin`, `size` per axis).
    fn slice(
        &mut self,
        index: usize,
        pos: usize,
        x: TensorId,
        begin: Vec<usize>,
        size: Vec<usize>,
    ) -> TensorId {
        let s = size.clone();
        self.push(index, pos, None, LayerKind::Slice { begin, size }, vec![x], None, s)
    }

    /// Activation `x` as shape `shape` (a Reshape when it differs).
    fn reshape(
        &mut self,
        index: usize,
        pos: usize,
        x: TensorId,
        shape: Vec<usize>,
        out: Option<TensorId>,
    ) -> TensorId {
        if self.shape(x) == shape && out.is_none() {
            return x;
        }
        let s = shape.clone();
        self.push(index, pos, None, LayerKind::Reshape { shape }, vec![x], out, s)
    }

    /// Rebuilds `out` (with its readers' shape) from the parts, joined along `axis` of `shape`.
    fn join(
        &mut self,
        index: usize,
        pos: usize,
        parts: Vec<TensorId>,
        axis: usize,
        shape: Vec<usize>,
        out: TensorId,
    ) {
        let declared = self.graph.shape(out).to_vec();
        let direct = declared == shape;
        let joined = self.push(
            index,
            pos,
            None,
            LayerKind::Concatenation { axis },
            parts,
            direct.then_some(out),
            shape,
        );
        if !direct {
            self.reshape(index, pos, joined, declared, Some(out));
        }
    }

    /// Leading-axis slice `[a, a + len)` of constant `t` along `axis`.
    fn constant_slice(&mut self, t: &Tensor, axis: usize, a: usize, len: usize) -> TensorId {
        let mut begin = vec![0; t.shape.len()];
        let mut size = t.shape.clone();
        begin[axis] = a;
        size[axis] = len;
        let kind = LayerKind::Slice { begin, size: size.clone() };
        let map = movement_map(&kind, &[&t.shape], std::slice::from_ref(&size));
        let data = map[0]
            .iter()
            .map(|s| match s {
                Src::In { index, .. } => t.data[*index],
                _ => 0,
            })
            .collect::<Vec<_>>();
        self.constant(Tensor { shape: size, data: data.into() })
    }

    /// Operand `id` broadcast to `out`, flattened, elements `[a, a + len)`: a constant slice,
    /// or data movement on an activation.
    fn element_slice(
        &mut self,
        index: usize,
        pos: usize,
        id: TensorId,
        out: &[usize],
        a: usize,
        len: usize,
    ) -> TensorId {
        let shape = self.shape(id);
        if let Some(t) = self.graph.constants.get(&id) {
            let map = broadcast_map(out, &shape);
            let data = map[a..a + len].iter().map(|i| t.data[*i]).collect::<Vec<_>>();
            return self.constant(Tensor { shape: vec![len], data: data.into() });
        }
        let n = Tensor::numel(out);
        let flat = if shape == out {
            self.reshape(index, pos, id, vec![n], None)
        } else {
            // prepend size-1 axes, broadcast, flatten: index maps only
            let mut ranked = vec![1; out.len() - shape.len()];
            ranked.extend(&shape);
            let r = self.reshape(index, pos, id, ranked, None);
            let b = self.push(
                index,
                pos,
                None,
                LayerKind::Broadcast { shape: out.to_vec() },
                vec![r],
                None,
                out.to_vec(),
            );
            self.reshape(index, pos, b, vec![n], None)
        };
        self.slice(index, pos, flat, vec![a], vec![len])
    }

    fn split(&mut self, pos: usize, parts: usize, fused: usize) -> Result<()> {
        let layer = &self.graph.layers[pos];
        let (index, out) = (layer.index, layer.outputs[0]);
        let produced = self.graph.produced_shape(out).to_vec();
        let axis = axis_of(self.graph, layer).ok_or_else(|| ProverError::Plan {
            chunks: 0,
            detail: format!("layer {} ({}) cannot be split", layer.index, layer.kind.name()),
        })?;
        let n = match axis {
            Axis::Channels(n) | Axis::Rows(n) | Axis::SoftmaxRows(n) | Axis::Elements(n) => n,
        };
        if fused > 0 && (!matches!(axis, Axis::Channels(_)) || fused > fusable(self.graph, pos)) {
            return Err(ProverError::Plan {
                chunks: 0,
                detail: format!(
                    "layer {} ({}) cannot take the {fused} layers after it along its channels",
                    layer.index,
                    layer.kind.name()
                ),
            });
        }
        if parts < 2 || parts > n {
            return Err(ProverError::Plan {
                chunks: 0,
                detail: format!(
                    "layer {} ({}) splits into 2 to {n} parts, not {parts}",
                    layer.index,
                    layer.kind.name()
                ),
            });
        }
        let mut outs = Vec::with_capacity(parts);
        for (j, (a, len)) in ranges(n, parts).into_iter().enumerate() {
            let part = Some((j, parts));
            let mut shape = produced.clone();
            let y = match (&axis, &layer.kind) {
                (Axis::Channels(_), LayerKind::Conv2D { .. } | LayerKind::DepthwiseConv2D { .. }) => {
                    let depthwise = matches!(layer.kind, LayerKind::DepthwiseConv2D { .. });
                    let x = if depthwise {
                        let xs = self.shape(layer.inputs[0]);
                        let mut begin = vec![0; xs.len()];
                        let mut size = xs.clone();
                        begin[3] = a;
                        size[3] = len;
                        self.slice(index, pos, layer.inputs[0], begin, size)
                    } else {
                        layer.inputs[0]
                    };
                    let w = self.graph.constants[&layer.inputs[1]].clone();
                    let b = self.graph.constants[&layer.inputs[2]].clone();
                    let w = self.constant_slice(&w, if depthwise { 3 } else { 0 }, a, len);
                    let b = self.constant_slice(&b, 0, a, len);
                    shape[3] = len;
                    self.push(index, pos, part, layer.kind.clone(), vec![x, w, b], None, shape.clone())
                }
                (Axis::Channels(_), _) => {
                    // FullyConnected: weights [O, K], bias [O]
                    let wid = layer.inputs[1];
                    let w = match self.graph.constants.get(&wid) {
                        Some(t) => {
                            let t = t.clone();
                            self.constant_slice(&t, 0, a, len)
                        }
                        None => {
                            let k = self.shape(wid)[1];
                            self.slice(index, pos, wid, vec![a, 0], vec![len, k])
                        }
                    };
                    let mut inputs = vec![layer.inputs[0], w];
                    if let Some(bid) = layer.inputs.get(2) {
                        let b = self.graph.constants[bid].clone();
                        inputs.push(self.constant_slice(&b, 0, a, len));
                    }
                    *shape.last_mut().expect("rank >= 1") = len;
                    self.push(index, pos, part, layer.kind.clone(), inputs, None, shape.clone())
                }
                (
                    Axis::Rows(_),
                    LayerKind::AveragePool2D { window, stride } | LayerKind::MaxPool2D { window, stride },
                ) => {
                    let xs = self.shape(layer.inputs[0]);
                    let rows = (len - 1) * stride.0 + window.0;
                    let x = self.slice(
                        index,
                        pos,
                        layer.inputs[0],
                        vec![0, a * stride.0, 0, 0],
                        vec![xs[0], rows, xs[2], xs[3]],
                    );
                    shape[1] = len;
                    self.push(index, pos, part, layer.kind.clone(), vec![x], None, shape.clone())
                }
                (Axis::SoftmaxRows(_), LayerKind::Softmax { mask, mask_shape }) => {
                    let last = *produced.last().expect("rank >= 1");
                    let rows_shape = vec![n, last];
                    let flat = self.reshape(index, pos, layer.inputs[0], rows_shape, None);
                    let x = self.slice(index, pos, flat, vec![a, 0], vec![len, last]);
                    let kind = if mask.is_empty() {
                        layer.kind.clone()
                    } else {
                        let full = broadcast_map(&produced, mask_shape);
                        let part_mask = full[a * last..(a + len) * last].iter().map(|m| mask[*m]).collect();
                        LayerKind::Softmax { mask: part_mask, mask_shape: vec![len, last] }
                    };
                    shape = vec![len, last];
                    self.push(index, pos, part, kind, vec![x], None, shape.clone())
                }
                (Axis::Elements(_), kind) => {
                    let inputs = (0..layer.inputs.len())
                        .map(|i| {
                            let id = layer.inputs[i];
                            if matches!(kind, LayerKind::DivVar) && i == 1 {
                                id // the one divisor, whole
                            } else {
                                self.element_slice(index, pos, id, &produced, a, len)
                            }
                        })
                        .collect();
                    shape = vec![len];
                    self.push(index, pos, part, kind.clone(), inputs, None, shape.clone())
                }
                _ => unreachable!("axis_of matches the kinds"),
            };
            // the fused layers, part by part along the same channels
            let (mut y, mut shape) = (y, shape);
            for q in pos + 1..=pos + fused {
                let lq = &self.graph.layers[q];
                let prev = self.graph.layers[q - 1].outputs[0];
                let inputs = lq
                    .inputs
                    .iter()
                    .map(|id| {
                        if *id == prev {
                            return y;
                        }
                        let t = self.graph.constants[id].clone();
                        if t.shape.last() == Some(&n) && n > 1 {
                            self.constant_slice(&t, t.shape.len() - 1, a, len)
                        } else {
                            *id
                        }
                    })
                    .collect();
                let mut s = self.graph.produced_shape(lq.outputs[0]).to_vec();
                *s.last_mut().expect("rank >= 1") = len;
                y = self.push(lq.index, q, part, lq.kind.clone(), inputs, None, s.clone());
                shape = s;
            }
            outs.push((y, shape));
        }
        let ids: Vec<TensorId> = outs.iter().map(|(id, _)| *id).collect();
        let (index, out) = {
            let last = &self.graph.layers[pos + fused];
            (last.index, last.outputs[0])
        };
        let produced = self.graph.produced_shape(out).to_vec();
        match axis {
            Axis::Channels(_) => self.join(index, pos + fused, ids, produced.len() - 1, produced, out),
            Axis::Rows(_) => self.join(index, pos, ids, 1, produced, out),
            Axis::SoftmaxRows(n) => {
                let last = *produced.last().expect("rank >= 1");
                self.join(index, pos, ids, 0, vec![n, last], out)
            }
            Axis::Elements(n) => self.join(index, pos, ids, 0, vec![n], out),
        }
        Ok(())
    }
}

/// `graph` with each layer of `splits` cut into its parts (see the module documentation).
pub fn apply(graph: &Graph, splits: &[Split]) -> Result<SplitGraph> {
    let by_layer: BTreeMap<usize, (usize, usize)> =
        splits.iter().map(|s| (s.layer, (s.parts, s.fused))).collect();
    // each split's run inside the graph, none starting inside another's (job files are not
    // trusted: refused, never a panic)
    let in_range =
        splits.iter().all(|s| s.layer.checked_add(s.fused).is_some_and(|end| end < graph.layers.len()));
    let overlap = in_range
        && splits.iter().any(|s| splits.iter().any(|t| t.layer > s.layer && t.layer <= s.layer + s.fused));
    if by_layer.len() != splits.len() || !in_range || overlap {
        return Err(ProverError::Plan { chunks: 0, detail: format!("invalid splits {splits:?}") });
    }
    let max_id = graph.shapes.keys().max().copied().unwrap_or(0);
    let mut rw = Rewriter {
        graph,
        // ids past the largest (a clash near u32::MAX is refused by the data-flow check)
        next: max_id.saturating_add(1),
        constants: graph.constants.clone(),
        layers: Vec::with_capacity(graph.layers.len()),
        origin: Vec::with_capacity(graph.layers.len()),
        shapes: BTreeMap::new(),
    };
    let mut skip_to = 0;
    for (pos, layer) in graph.layers.iter().enumerate() {
        if pos < skip_to {
            continue; // fused into the split before
        }
        match by_layer.get(&pos) {
            Some((parts, fused)) => {
                rw.split(pos, *parts, *fused)?;
                skip_to = pos + fused + 1;
            }
            None => {
                rw.layers.push(layer.clone());
                rw.origin.push((pos, None));
            }
        }
    }
    // Shapes: the unsplit layers' outputs keep theirs (declared reshapes included); the new
    // layers' are inferred and checked by their families.
    let mut shapes: BTreeMap<TensorId, Vec<usize>> =
        rw.constants.iter().map(|(id, t)| (*id, t.shape.clone())).collect();
    for id in &graph.inputs {
        shapes.insert(*id, graph.shape(*id).to_vec());
    }
    let originals: std::collections::BTreeSet<TensorId> =
        graph.layers.iter().flat_map(|l| l.outputs.iter().copied()).collect();
    for (layer, (_, part)) in rw.layers.iter().zip(&rw.origin) {
        let original = part.is_none() && layer.outputs.iter().all(|id| originals.contains(id));
        let out_shapes = if original {
            layer.outputs.iter().map(|id| graph.shape(*id).to_vec()).collect()
        } else {
            crate::layers::output_shapes(layer, &shapes, &rw.constants)?
        };
        for (id, shape) in layer.outputs.iter().zip(out_shapes) {
            shapes.insert(*id, shape);
        }
    }
    let out = Graph {
        scale: graph.scale,
        inputs: graph.inputs.clone(),
        outputs: graph.outputs.clone(),
        constants: rw.constants,
        shapes,
        produced: graph
            .produced
            .iter()
            .filter(|(id, _)| {
                !splits
                    .iter()
                    .any(|s| graph.layers[s.layer..=s.layer + s.fused].iter().any(|l| l.outputs.contains(id)))
            })
            .map(|(id, s)| (*id, s.clone()))
            .collect(),
        layers: rw.layers,
        folded: graph.folded.clone(),
        product_check: graph.product_check,
        input_range: graph.input_range,
    };
    out.check_dataflow()?;
    let origin = rw.origin;
    Ok(SplitGraph { graph: out, origin })
}
