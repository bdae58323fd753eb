//! The reference interpreter: the exact fixed-point values every circuit must reproduce. Each
//! layer's values are defined by its family in [`crate::layers`]; this runs them in order and
//! refuses any value outside the fixed-point range.

use std::collections::BTreeMap;

use chunkproof_core::in_value_range;

use crate::error::{ProverError, Result};
pub use crate::layers::eval::operand;
use crate::model::{Graph, ModelInput, TensorId};

/// Every activation tensor of one inference: model inputs and all layer outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Values per tensor id, row-major.
    pub values: BTreeMap<TensorId, Vec<i64>>,
}

impl Trace {
    /// Values of tensor `id` (must be an activation).
    pub fn get(&self, id: TensorId) -> &[i64] {
        &self.values[&id]
    }

    /// The model outputs, concatenated in output order.
    pub fn outputs(&self, graph: &Graph) -> Vec<i64> {
        graph.outputs.iter().flat_map(|id| self.get(*id).iter().copied()).collect()
    }
}

/// Runs the model on `input`, checking that every value stays in the fixed-point range.
pub fn run(graph: &Graph, input: &ModelInput) -> Result<Trace> {
    let mut values: BTreeMap<TensorId, Vec<i64>> = input.tensors.clone();
    for layer in &graph.layers {
        for (id, out) in layer.outputs.iter().zip(crate::layers::eval(graph, &values, layer)?) {
            let mut vals = Vec::with_capacity(out.len());
            for (index, v) in out.into_iter().enumerate() {
                if !in_value_range(v) {
                    return Err(ProverError::ValueOutOfRange {
                        layer: layer.index,
                        kind: layer.kind.name().into(),
                        what: format!("output tensor {id}"),
                        index,
                        value: v,
                    });
                }
                vals.push(v as i64);
            }
            values.insert(*id, vals);
        }
    }
    Ok(Trace { values })
}
