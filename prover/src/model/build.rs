//! Building a graph from its parts: every layer's output shape inferred by its family, and the
//! data flow checked.

use std::collections::BTreeMap;

use super::graph::{Graph, Layer, Tensor, TensorId};
use crate::error::{ProverError, Result};

impl Graph {
    /// Builds and validates a graph from its parts, inferring every layer's output shape.
    pub fn new(
        scale: u64,
        inputs: Vec<(TensorId, Vec<usize>)>,
        outputs: Vec<TensorId>,
        constants: BTreeMap<TensorId, Tensor>,
        layers: Vec<Layer>,
    ) -> Result<Self> {
        let mut shapes: BTreeMap<TensorId, Vec<usize>> =
            constants.iter().map(|(id, t)| (*id, t.shape.clone())).collect();
        for (id, shape) in &inputs {
            shapes.insert(*id, shape.clone());
        }
        for layer in &layers {
            let out = crate::layers::output_shapes(layer, &shapes, &constants)?;
            for (id, shape) in layer.outputs.iter().zip(out) {
                if shapes.insert(*id, shape).is_some() {
                    return Err(ProverError::InvalidLayer {
                        layer: layer.index,
                        kind: layer.kind.name().into(),
                        detail: format!("writes tensor {id}, which already exists"),
                    });
                }
            }
        }
        let graph = Self {
            scale,
            inputs: inputs.into_iter().map(|(id, _)| id).collect(),
            outputs,
            constants,
            shapes,
            produced: BTreeMap::new(),
            product_check: true,
            input_range: None,
            layers,
            folded: Vec::new(),
        };
        graph.check_dataflow()?;
        Ok(graph)
    }
}
