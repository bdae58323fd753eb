//! The one interface every layer family implements: reading its zkml records, its output
//! shapes, its values (the interpreter), its cost (the planner) and its circuit.

use std::collections::BTreeMap;

use chunkproof_core::Fr;
use halo2_base::AssignedValue;

use super::bounds::Interval;
use super::cost::Cost;
use super::errors::invalid;
use super::eval::Values;
use super::zkml::RawLayerView;
use crate::circuit::cx::{Cx, Env};
use crate::error::{ProverError, Result};
use crate::model::graph::{Graph, Layer, Tensor, TensorId};
use crate::model::kind::{LayerKind, NonLinear};

/// A family of layer kinds, in one file each (`prover/src/layers/`).
pub(crate) trait Family: Sync {
    /// The zkml layer types this family reads.
    fn zkml_names(&self) -> &'static [&'static str];

    /// Which of a zkml record's `n` inputs carry data (the others are side inputs whose values
    /// zkml repeats in `params`); by default the first only.
    fn data_inputs(&self, kind: &str, _params: &[i64], n: usize, layer: usize) -> Result<Vec<usize>> {
        super::zkml::at_least(1, n, layer, kind)?;
        Ok(vec![0])
    }

    /// The kind of a zkml record of this family whose data inputs have shapes `ins`.
    fn parse(&self, raw: &RawLayerView<'_>, layer: usize, ins: &[&[usize]], scale: u64) -> Result<LayerKind>;

    /// The shapes of the outputs of `layer`.
    fn output_shapes(&self, layer: &Layer, shapes: &Shapes<'_>) -> Result<Vec<Vec<usize>>>;

    /// The exact fixed-point values of the outputs of `layer` (the interpreter).
    fn eval(&self, graph: &Graph, values: &Values, layer: &Layer) -> Result<Vec<Vec<i128>>>;

    /// Bounds on the values of the outputs of `layer` for every model input, given bounds on its
    /// inputs (`ins[i]` for `layer.inputs[i]`; constants always have theirs). `None` where no
    /// bound is known (the default). Used to pack boundaries; see [`super::bounds`].
    fn bounds(&self, _graph: &Graph, _layer: &Layer, _ins: &[Option<Interval>]) -> Vec<Option<Interval>> {
        Vec::new()
    }

    /// The planner's estimate of the circuit of `layer`.
    fn cost(&self, graph: &Graph, layer: &Layer) -> Cost;

    /// The circuit of `layer`: its output cells, constrained to equal [`Family::eval`].
    fn synthesize(&self, cx: &mut Cx<'_>, layer: &Layer, env: &Env) -> Result<Vec<Vec<AssignedValue<Fr>>>>;

    /// How many outputs a layer of `kind` has.
    fn num_outputs(&self, _kind: &LayerKind) -> usize {
        1
    }

    /// Whether the first input of a layer of `kind` may be a constant rather than an activation.
    fn first_input_may_be_constant(&self, _kind: &LayerKind) -> bool {
        false
    }

    /// The function table the circuit of `layer` looks up, if any.
    fn table(&self, _layer: &Layer) -> Option<NonLinear> {
        None
    }
}

/// The shapes known while a graph is being built, for [`Family::output_shapes`].
pub(crate) struct Shapes<'a> {
    /// Shape of every tensor so far.
    pub shapes: &'a BTreeMap<TensorId, Vec<usize>>,
    /// The constants.
    pub constants: &'a BTreeMap<TensorId, Tensor>,
}

impl Shapes<'_> {
    /// The shape of input `i` of `layer`.
    pub(crate) fn input(&self, layer: &Layer, i: usize) -> Result<&Vec<usize>> {
        let id = layer.inputs.get(i).ok_or_else(|| invalid(layer, format!("missing input {i}")))?;
        self.shapes.get(id).ok_or_else(|| invalid(layer, format!("input tensor {id} is unknown")))
    }

    /// Input `i` of `layer`, which must be a constant (weights).
    pub(crate) fn constant(&self, layer: &Layer, i: usize) -> Result<&Tensor> {
        let id = layer.inputs.get(i).ok_or_else(|| invalid(layer, format!("missing input {i}")))?;
        self.constants.get(id).ok_or_else(|| ProverError::Unsupported {
            layer: layer.index,
            kind: layer.kind.name().into(),
            construct: format!(
                "input {i} (tensor {id}) is an activation where weights (a constant) are expected"
            ),
        })
    }

    /// True if tensor `id` is a constant.
    pub(crate) fn is_constant(&self, id: TensorId) -> bool {
        self.constants.contains_key(&id)
    }
}
