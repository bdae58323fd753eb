//! What a verifier and an auditor know of the chunk plan: per chunk, which layers it runs, which
//! tensors cross its boundaries, and its circuit shape. The plan is bound into the model id.

use serde::{Deserialize, Serialize};

use crate::linkage::Packing;
use crate::shape::ChunkCircuitParams;

fn wide() -> Packing {
    Packing::WIDE
}

fn is_wide(p: &Packing) -> bool {
    *p == Packing::WIDE
}

/// Version of [`PlanSummary`]'s meaning.
pub const PLAN_VERSION: u32 = 1;

/// The chunk plan of a model, as committed to by the model id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// Fixed-point scale factor of the model.
    pub scale: u64,
    /// Whether the model input values are public instances of chunk 0.
    pub input_public: bool,
    /// Whether the model output values are public instances of the last chunk.
    pub output_public: bool,
    /// Number of model input values (flattened).
    pub num_inputs: usize,
    /// Number of model output values (flattened).
    pub num_outputs: usize,
    /// Shapes of the model outputs, in output order.
    pub output_shapes: Vec<Vec<usize>>,
    /// One entry per chunk, in order.
    pub chunks: Vec<ChunkSummary>,
}

/// One chunk of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkSummary {
    /// Position of the chunk (0-based).
    pub index: usize,
    /// First layer (index in the model's execution order).
    pub first_layer: usize,
    /// One past the last layer.
    pub end_layer: usize,
    /// Layer kinds, in order (`Conv2D`, `AveragePool2D`, …).
    pub layer_kinds: Vec<String>,
    /// Tensor ids in the boundary set entering the chunk (`A_i`).
    pub input_tensors: Vec<u32>,
    /// Number of values in `A_i`.
    pub input_len: usize,
    /// Tensor ids in the boundary set leaving the chunk (`A_{i+1}`).
    pub output_tensors: Vec<u32>,
    /// Number of values in `A_{i+1}`.
    pub output_len: usize,
    /// How `A_i`'s values are packed into its leaf (absent: the wide packing).
    #[serde(default = "wide", skip_serializing_if = "is_wide")]
    pub input_packing: Packing,
    /// How `A_{i+1}`'s values are packed into its leaf (absent: the wide packing).
    #[serde(default = "wide", skip_serializing_if = "is_wide")]
    pub output_packing: Packing,
    /// Shape of the chunk circuit.
    pub params: ChunkCircuitParams,
}

impl PlanSummary {
    /// Number of chunks.
    pub fn num_chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Number of public instances of chunk `i`: the root, then inputs and outputs when public.
    pub fn num_instances(&self, i: usize) -> usize {
        let mut n = 1;
        if i == 0 && self.input_public {
            n += self.num_inputs;
        }
        if i + 1 == self.num_chunks() && self.output_public {
            n += self.num_outputs;
        }
        n
    }

    /// Checks internal consistency (indices, contiguity, chained boundaries).
    pub fn validate(&self) -> Result<(), String> {
        if self.version != PLAN_VERSION {
            return Err(format!("plan version {} (expected {PLAN_VERSION})", self.version));
        }
        if self.chunks.is_empty() {
            return Err("plan has no chunks".into());
        }
        if self.scale == 0 {
            return Err("scale factor is zero".into());
        }
        let mut next_layer = 0;
        for (i, c) in self.chunks.iter().enumerate() {
            if c.index != i {
                return Err(format!("chunk at position {i} has index {}", c.index));
            }
            if c.first_layer != next_layer || c.end_layer <= c.first_layer {
                return Err(format!(
                    "chunk {i} covers layers {}..{} but should start at {next_layer}",
                    c.first_layer, c.end_layer
                ));
            }
            if c.layer_kinds.len() != c.end_layer - c.first_layer {
                return Err(format!("chunk {i} lists {} layer kinds", c.layer_kinds.len()));
            }
            c.params.validate().map_err(|e| format!("chunk {i}: {e}"))?;
            for p in [c.input_packing, c.output_packing] {
                p.validate().map_err(|e| format!("chunk {i}: {e}"))?;
            }
            if i > 0 {
                let prev = &self.chunks[i - 1];
                if prev.output_tensors != c.input_tensors
                    || prev.output_len != c.input_len
                    || prev.output_packing != c.input_packing
                {
                    return Err(format!("chunk {i}'s input boundary differs from chunk {}'s output", i - 1));
                }
            }
            next_layer = c.end_layer;
        }
        if self.chunks[0].input_len != self.num_inputs {
            return Err("chunk 0's input boundary is not the model input".into());
        }
        if self.chunks[self.chunks.len() - 1].output_len != self.num_outputs {
            return Err("the last chunk's output boundary is not the model output".into());
        }
        Ok(())
    }
}
