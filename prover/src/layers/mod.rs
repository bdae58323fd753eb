//! Every layer kind, one family per file, each owning its kinds' zkml parameters, output shapes,
//! exact values (the interpreter), cost (the planner's estimate) and circuit, behind one
//! interface (the crate-private `Family` trait):
//!
//! | family | kinds | file |
//! |---|---|---|
//! | convolution | Conv2D, DepthwiseConv2D | [`conv`] |
//! | matrix products | FullyConnected, BatchMatMul | [`dense`] |
//! | pooling | AveragePool2D, MaxPool2D, Mean | [`pool`] |
//! | elementwise | Add, Sub, Mul, Square, SquaredDifference, Pow, Div, DivVar, Sqrt, Rsqrt, Update | [`elementwise`] |
//! | table functions | Logistic, Tanh, Softmax | [`table`](mod@table) |
//! | data movement | Noop, Reshape, Transpose, Permute, Concatenation, Pack, Split, Slice, Pad, ResizeNearestNeighbor, Broadcast, Rotate, MaskNegInf | [`movement`] |
//!
//! This file is the registry: a new kind is written in its family's file and named once in
//! `family()` (a new family once more in `FAMILIES`).

pub mod bounds;
pub mod conv;
pub mod cost;
pub mod dense;
pub mod elementwise;
mod errors;
pub mod eval;
pub(crate) mod family;
pub mod geometry;
pub mod movement;
pub mod pool;
pub mod table;
pub mod zkml;

use std::collections::BTreeMap;

use chunkproof_core::Fr;
use halo2_base::AssignedValue;

pub use cost::Cost;
pub use eval::{operand, Values};
pub use geometry::{broadcast_map, broadcast_shape, elementwise_operands, ravel, unravel, Window};
pub use movement::{fold_constants, movement_map, movement_shapes, Src};
pub use zkml::RawLayerView;

use crate::circuit::cx::{Cx, Env};
use crate::error::Result;
use crate::model::graph::{Graph, Layer, Tensor, TensorId};
use crate::model::kind::{LayerKind, NonLinear};
use errors::{invalid, unsupported_raw};
use family::{Family, Shapes};

/// Every family, for reading zkml records by type name.
const FAMILIES: [&dyn Family; 6] = [
    &conv::Convolution,
    &dense::Dense,
    &pool::Pooling,
    &elementwise::Elementwise,
    &table::TableFunctions,
    &movement::Movement,
];

/// The family of a kind.
fn family(kind: &LayerKind) -> &'static dyn Family {
    match kind {
        LayerKind::Conv2D { .. } | LayerKind::DepthwiseConv2D { .. } => &conv::Convolution,
        LayerKind::FullyConnected { .. } | LayerKind::BatchMatMul { .. } => &dense::Dense,
        LayerKind::AveragePool2D { .. } | LayerKind::MaxPool2D { .. } | LayerKind::Mean { .. } => {
            &pool::Pooling
        }
        LayerKind::Add { .. }
        | LayerKind::Sub
        | LayerKind::Mul
        | LayerKind::Square
        | LayerKind::SquaredDifference
        | LayerKind::Cube
        | LayerKind::Div { .. }
        | LayerKind::DivVar
        | LayerKind::Sqrt { .. }
        | LayerKind::Rsqrt { .. }
        | LayerKind::Update { .. } => &elementwise::Elementwise,
        LayerKind::Pointwise { .. } | LayerKind::Softmax { .. } => &table::TableFunctions,
        LayerKind::Noop
        | LayerKind::Reshape { .. }
        | LayerKind::Transpose { .. }
        | LayerKind::Concatenation { .. }
        | LayerKind::Pack { .. }
        | LayerKind::Split { .. }
        | LayerKind::Slice { .. }
        | LayerKind::Pad { .. }
        | LayerKind::ResizeNearestNeighbor { .. }
        | LayerKind::Broadcast { .. }
        | LayerKind::Rotate { .. }
        | LayerKind::MaskNegInf { .. } => &movement::Movement,
    }
}

/// The family that reads zkml layer type `name`.
fn zkml_family(name: &str, layer: usize) -> Result<&'static dyn Family> {
    FAMILIES
        .iter()
        .copied()
        .find(|f| f.zkml_names().contains(&name))
        .ok_or_else(|| unsupported_raw(layer, name, "unknown layer type".into()))
}

/// Whether zkml layer type `name` only moves data (no arithmetic).
pub fn moves_data(name: &str) -> bool {
    movement::Movement.zkml_names().contains(&name)
}

/// Every zkml layer type implemented here.
pub fn zkml_names() -> impl Iterator<Item = &'static str> {
    FAMILIES.iter().flat_map(|f| f.zkml_names().iter().copied())
}

/// Which of zkml layer `layer`'s `n` inputs carry data (the others are side inputs repeated in
/// its params).
pub fn data_inputs(kind: &str, params: &[i64], n: usize, layer: usize) -> Result<Vec<usize>> {
    zkml_family(kind, layer)?.data_inputs(kind, params, n, layer)
}

/// The kind of zkml layer `layer` whose data inputs have shapes `ins`.
pub fn parse(raw: &RawLayerView<'_>, layer: usize, ins: &[&[usize]], scale: u64) -> Result<LayerKind> {
    let family = zkml_family(raw.kind, layer)?;
    if !raw.mask.is_empty() && !matches!(raw.kind, "Sqrt" | "Rsqrt") {
        return Err(unsupported_raw(
            layer,
            raw.kind,
            "the per-element `mask` override (a model-specific zkml hack)".into(),
        ));
    }
    family.parse(raw, layer, ins, scale)
}

/// The output shapes of `layer` (one per output) given the shapes known so far.
pub fn output_shapes(
    layer: &Layer,
    shapes: &BTreeMap<TensorId, Vec<usize>>,
    constants: &BTreeMap<TensorId, Tensor>,
) -> Result<Vec<Vec<usize>>> {
    let family = family(&layer.kind);
    let expected = family.num_outputs(&layer.kind);
    if layer.outputs.len() != expected {
        return Err(invalid(layer, format!("has {} outputs, expected {expected}", layer.outputs.len())));
    }
    if layer.inputs.first().is_some_and(|id| constants.contains_key(id))
        && !family.first_input_may_be_constant(&layer.kind)
    {
        return Err(invalid(layer, "its first input is a constant, not an activation".into()));
    }
    family.output_shapes(layer, &Shapes { shapes, constants })
}

/// The exact values of `layer`'s outputs given the values computed so far (the interpreter).
pub fn eval(graph: &Graph, values: &Values, layer: &Layer) -> Result<Vec<Vec<i128>>> {
    family(&layer.kind).eval(graph, values, layer)
}

/// The planner's estimate of layer `index` of `graph`.
pub fn cost(graph: &Graph, index: usize) -> Cost {
    let layer = &graph.layers[index];
    family(&layer.kind).cost(graph, layer)
}

/// Bounds on the values of `layer`'s outputs (one per output, `None` where none is known) given
/// bounds on its inputs (`ins`, one per input).
pub fn bounds_of(
    graph: &Graph,
    layer: &Layer,
    ins: &[Option<bounds::Interval>],
) -> Vec<Option<bounds::Interval>> {
    let mut out = family(&layer.kind).bounds(graph, layer, ins);
    out.resize(layer.outputs.len(), None);
    out
}

/// The function table the circuit of `layer` looks up, if any.
pub fn table(layer: &Layer) -> Option<NonLinear> {
    family(&layer.kind).table(layer)
}

/// Constrains `layer` and records its output cells in `env`.
pub fn synthesize(cx: &mut Cx<'_>, layer: &Layer, env: &mut Env) -> Result<()> {
    let outs: Vec<Vec<AssignedValue<Fr>>> = family(&layer.kind).synthesize(cx, layer, env)?;
    for (id, out) in layer.outputs.iter().zip(outs) {
        env.insert(*id, out);
    }
    Ok(())
}
