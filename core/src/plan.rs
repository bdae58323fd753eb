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

/// One leaf of the linkage tree as the plan describes it: leaf 0 holds the model inputs (chunk
/// 0's input fields), leaf `i + 1` what chunk `i` writes (its output fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeafSummary<'a> {
    /// Tensor ids, in leaf order.
    pub tensors: &'a [u32],
    /// Number of values.
    pub len: usize,
    /// How its values are packed.
    pub packing: Packing,
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
    /// The leaves the chunk opens and reads, increasing, each at most `index` (absent: only
    /// leaf `index`, the one its predecessor writes; never written as `[index]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reads: Option<Vec<usize>>,
    /// Tensor ids of the leaves it reads, leaf after leaf (for one leaf: `A_i`).
    pub input_tensors: Vec<u32>,
    /// Number of values in the leaves it reads.
    pub input_len: usize,
    /// Tensor ids of the leaf it writes, leaf `index + 1` (`A_{i+1}`).
    pub output_tensors: Vec<u32>,
    /// Number of values in `A_{i+1}`.
    pub output_len: usize,
    /// How the values of the last leaf it reads are packed (absent: the wide packing).
    #[serde(default = "wide", skip_serializing_if = "is_wide")]
    pub input_packing: Packing,
    /// How `A_{i+1}`'s values are packed into its leaf (absent: the wide packing).
    #[serde(default = "wide", skip_serializing_if = "is_wide")]
    pub output_packing: Packing,
    /// Shape of the chunk circuit.
    pub params: ChunkCircuitParams,
}

impl ChunkSummary {
    /// The leaves the chunk reads (`[index]` when [`ChunkSummary::reads`] is absent).
    pub fn leaves_read(&self) -> Vec<usize> {
        self.reads.clone().unwrap_or_else(|| vec![self.index])
    }
}

impl PlanSummary {
    /// Leaf `j` (`0 ..= N`), if the plan has it.
    pub fn leaf(&self, j: usize) -> Option<LeafSummary<'_>> {
        if j == 0 {
            let c = self.chunks.first()?;
            return Some(LeafSummary {
                tensors: &c.input_tensors,
                len: c.input_len,
                packing: c.input_packing,
            });
        }
        let c = self.chunks.get(j - 1)?;
        Some(LeafSummary { tensors: &c.output_tensors, len: c.output_len, packing: c.output_packing })
    }

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

    /// Checks internal consistency (indices, contiguity, and that what each chunk reads is the
    /// leaves it names, as their writers describe them).
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
            if c.reads.as_deref() == Some(&[i][..]) {
                return Err(format!("chunk {i} lists reads [{i}] (written as absent)"));
            }
            let reads = c.leaves_read();
            if reads.is_empty() || reads.windows(2).any(|w| w[0] >= w[1]) || reads.iter().any(|r| *r > i) {
                return Err(format!(
                    "chunk {i} reads leaves {reads:?} (at least one, increasing, none after leaf {i})"
                ));
            }
            if i == 0 && reads != [0] {
                return Err(format!("chunk 0 reads leaves {reads:?} (only leaf 0 exists before it)"));
            }
            if i > 0 {
                let leaves: Vec<LeafSummary<'_>> = reads.iter().filter_map(|r| self.leaf(*r)).collect();
                let tensors: Vec<u32> = leaves.iter().flat_map(|l| l.tensors.iter().copied()).collect();
                let len: usize = leaves.iter().map(|l| l.len).sum();
                let packing = leaves.last().map(|l| l.packing);
                if tensors != c.input_tensors || len != c.input_len || packing != Some(c.input_packing) {
                    return Err(if reads == [i] {
                        format!("chunk {i}'s input boundary differs from chunk {}'s output", i - 1)
                    } else {
                        format!("chunk {i}'s input differs from the leaves {reads:?} it reads")
                    });
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Three chunks: chunk 1 reads only its predecessor's leaf, chunk 2 reads leaves 0 and 2.
    fn plan() -> PlanSummary {
        let short = Packing { bits: 16, offset: 0 };
        let chunk = |index: usize,
                     reads: Option<Vec<usize>>,
                     input: (Vec<u32>, usize, Packing),
                     out: (Vec<u32>, usize)| {
            ChunkSummary {
                index,
                first_layer: index,
                end_layer: index + 1,
                layer_kinds: vec!["Add".into()],
                reads,
                input_tensors: input.0,
                input_len: input.1,
                output_tensors: out.0,
                output_len: out.1,
                input_packing: input.2,
                output_packing: if index == 1 { short } else { Packing::WIDE },
                params: ChunkCircuitParams::default(),
            }
        };
        PlanSummary {
            version: PLAN_VERSION,
            scale: 64,
            input_public: false,
            output_public: true,
            num_inputs: 4,
            num_outputs: 2,
            output_shapes: vec![vec![1, 2]],
            chunks: vec![
                chunk(0, None, (vec![0], 4, Packing::WIDE), (vec![5], 3)),
                chunk(1, None, (vec![5], 3, Packing::WIDE), (vec![6], 3)),
                chunk(2, Some(vec![0, 2]), (vec![0, 6], 7, short), (vec![7], 2)),
            ],
        }
    }

    #[test]
    fn reads_are_the_leaves_their_writers_describe() {
        let p = plan();
        p.validate().unwrap();
        assert_eq!(p.chunks[1].leaves_read(), vec![1]);
        let json = serde_json::to_value(&p).unwrap();
        assert!(json["chunks"][1].get("reads").is_none(), "[index] is written as absent");
        assert_eq!(json["chunks"][2]["reads"], serde_json::json!([0, 2]));
        let back: PlanSummary = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
        let refused = |f: &dyn Fn(&mut PlanSummary), what: &str| {
            let mut q = plan();
            f(&mut q);
            let e = q.validate().expect_err(what);
            assert!(e.contains("chunk"), "{what}: {e}");
        };
        refused(&|q| q.chunks[2].reads = Some(vec![2, 0]), "reads out of order");
        refused(&|q| q.chunks[2].reads = Some(vec![0, 0, 2]), "a leaf read twice");
        refused(&|q| q.chunks[2].reads = Some(vec![0, 3]), "a leaf written after the chunk");
        refused(&|q| q.chunks[2].reads = Some(vec![]), "no leaf");
        refused(&|q| q.chunks[2].reads = Some(vec![2]), "[index] written out");
        refused(&|q| q.chunks[0].reads = Some(vec![0, 1]), "chunk 0 reading a later leaf");
        refused(&|q| q.chunks[2].reads = Some(vec![1, 2]), "another leaf than the tensors say");
        refused(&|q| q.chunks[2].input_tensors = vec![6, 0], "tensors in another order");
        refused(&|q| q.chunks[2].input_len = 6, "another length");
        refused(&|q| q.chunks[2].input_packing = Packing::WIDE, "another packing");
        refused(&|q| q.chunks[1].output_len = 4, "a writer describing another leaf");
        refused(&|q| q.chunks[1].input_tensors = vec![4], "a chain chunk with another input");
    }
}
