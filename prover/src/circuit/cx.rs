//! What a layer's circuit works with: the halo2-base column, the range chip, the custom column,
//! the model, and the cells of every tensor computed so far.

use std::collections::BTreeMap;

use chunkproof_core::{fr_from_i64, Fr};
use halo2_base::gates::RangeChip;
use halo2_base::{AssignedValue, Context, QuantumCell};

use crate::error::{ProverError, Result};
use crate::model::graph::{Graph, Layer};

/// Cells of every activation tensor computed so far.
pub type Env = BTreeMap<u32, Vec<AssignedValue<Fr>>>;

/// What a layer gadget works with.
pub struct Cx<'a> {
    /// The halo2-base column.
    pub ctx: &'a mut Context<Fr>,
    /// Range and gate chips.
    pub range: &'a RangeChip<Fr>,
    /// The custom column.
    pub custom: &'a mut super::custom::CustomRegion,
    /// The randomized product check's columns.
    pub product: &'a mut super::product::ProductRegion,
    /// The model.
    pub graph: &'a Graph,
}

impl Cx<'_> {
    /// `Y = X·W + b` checked with the random challenge (see [`super::product`]).
    pub fn product(
        &mut self,
        rows: &[super::product::FactorRow],
        weights: super::product::Weights<'_>,
        bias: &[Fr],
    ) -> Vec<Vec<AssignedValue<Fr>>> {
        let ctx = &mut *self.ctx;
        self.product.product(
            || (ctx.load_constant(Fr::from(0u64)), ctx.load_constant(Fr::from(1u64))),
            rows,
            weights,
            bias,
        )
    }
}

/// The cells of activation tensor `id`, an input of `layer`.
pub fn cells<'e>(env: &'e Env, layer: &Layer, id: u32) -> Result<&'e Vec<AssignedValue<Fr>>> {
    env.get(&id).ok_or_else(|| ProverError::InvalidLayer {
        layer: layer.index,
        kind: layer.kind.name().into(),
        detail: format!("tensor {id} is not available in this chunk"),
    })
}

/// The cells (or constants) of input `i` of `layer`.
pub fn operand(cx: &Cx<'_>, env: &Env, layer: &Layer, i: usize) -> Result<Vec<QuantumCell<Fr>>> {
    let id = layer.inputs[i];
    Ok(match cx.graph.constants.get(&id) {
        Some(t) => t.data.iter().map(|v| QuantumCell::Constant(fr_from_i64(*v))).collect(),
        None => cells(env, layer, id)?.iter().map(|c| QuantumCell::Existing(*c)).collect(),
    })
}

/// A cell holding `q`: `q` itself, or a new constant cell.
pub fn load(cx: &mut Cx<'_>, q: QuantumCell<Fr>) -> AssignedValue<Fr> {
    match q {
        QuantumCell::Existing(c) => c,
        other => cx.ctx.load_constant(*other.value()),
    }
}
