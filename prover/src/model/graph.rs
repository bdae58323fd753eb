//! The project's own model graph: layers over tensors, independent of any file format.

use std::collections::BTreeMap;

use super::kind::LayerKind;
use crate::error::{ProverError, Result};

/// Tensor identifier (zkml's `idx`).
pub type TensorId = u32;

/// A constant tensor (weights, biases, scales).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tensor {
    /// Shape; `[]` is normalised to `[1]`.
    pub shape: Vec<usize>,
    /// Row-major values at scale `sf` (shared: graphs rewritten from this one, with layers cut
    /// into parts, hold the same weights without copying them).
    pub data: std::sync::Arc<Vec<i64>>,
}

impl Tensor {
    /// Number of elements of `shape`.
    pub fn numel(shape: &[usize]) -> usize {
        shape.iter().product()
    }
}

/// A range declared for every model input value: chunk 0's circuit packs the model input in
/// 16 bits, which range-checks every value (so the declaration is enforced, not trusted), and
/// the value bounds that follow from it reach the boundaries downstream
/// ([`crate::layers::bounds`]). A proving choice, not part of the model file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputRange {
    /// `0 ..= 65535`.
    U16,
    /// `-32768 ..= 32767`.
    I16,
}

impl InputRange {
    /// The smallest and largest value allowed.
    pub fn bounds(self) -> (i64, i64) {
        match self {
            Self::U16 => (0, u16::MAX as i64),
            Self::I16 => (i16::MIN as i64, i16::MAX as i64),
        }
    }

    /// Its name on the command line: `u16` or `i16`.
    pub fn name(self) -> &'static str {
        match self {
            Self::U16 => "u16",
            Self::I16 => "i16",
        }
    }

    /// Whether `v` is allowed.
    pub fn contains(self, v: i64) -> bool {
        let (lo, hi) = self.bounds();
        (lo..=hi).contains(&v)
    }
}

impl std::fmt::Display for InputRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (lo, hi) = self.bounds();
        write!(f, "{} ({lo}..={hi})", self.name())
    }
}

impl std::str::FromStr for InputRange {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        [Self::U16, Self::I16].into_iter().find(|r| r.name() == s).ok_or_else(|| {
            format!("`{s}`: the declared input ranges are u16 (0..=65535) and i16 (-32768..=32767)")
        })
    }
}

/// One layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    /// Position in execution order.
    pub index: usize,
    /// What it computes.
    pub kind: LayerKind,
    /// Input tensors (activations or constants).
    pub inputs: Vec<TensorId>,
    /// Output tensors.
    pub outputs: Vec<TensorId>,
}

/// A model: constants, activations and layers in execution order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graph {
    /// Fixed-point scale factor (a float `x` is stored as `round(x·sf)`).
    pub scale: u64,
    /// Model input tensors.
    pub inputs: Vec<TensorId>,
    /// Model output tensors.
    pub outputs: Vec<TensorId>,
    /// Constant tensors.
    pub constants: BTreeMap<TensorId, Tensor>,
    /// Shape of every tensor (constants, inputs and layer outputs) as its readers see it.
    pub shapes: BTreeMap<TensorId, Vec<usize>>,
    /// Layer outputs whose file declares another shape with the same element count (zkml
    /// reshapes every output to its declared shape): the shape the layer itself produces. The
    /// row-major values are the same; [`Graph::shapes`] holds the declared shape.
    pub produced: BTreeMap<TensorId, Vec<usize>>,
    /// Layers in execution order.
    pub layers: Vec<Layer>,
    /// zkml layers read from the file that have no circuit: shape plumbing and data movement
    /// on constants, folded at load (their numbers).
    pub folded: Vec<usize>,
    /// Whether convolutions and dense layers may be checked with random challenges (the planner
    /// then decides per layer); `false` computes every product, which keeps every chunk circuit
    /// single-phase (what the GPU worker's prover needs). A proving choice, not part of the
    /// model: `true` when a graph is built.
    pub product_check: bool,
    /// The range declared for every model input value, if any (a proving choice: `None` when a
    /// graph is built, which allows any value in `[-2^31, 2^31)`).
    pub input_range: Option<InputRange>,
}

impl Graph {
    /// Shape of tensor `id`.
    pub fn shape(&self, id: TensorId) -> &[usize] {
        &self.shapes[&id]
    }

    /// Shape of layer output `id` as its layer computes it (before the declared reshape).
    pub fn produced_shape(&self, id: TensorId) -> &[usize] {
        self.produced.get(&id).unwrap_or(&self.shapes[&id])
    }

    /// Number of elements of tensor `id`.
    pub fn numel(&self, id: TensorId) -> usize {
        Tensor::numel(self.shape(id))
    }

    /// True if `id` is a constant tensor.
    pub fn is_constant(&self, id: TensorId) -> bool {
        self.constants.contains_key(&id)
    }

    /// Checks that every tensor a layer reads exists before it runs, that each tensor is produced
    /// once, and that the outputs are produced.
    pub fn check_dataflow(&self) -> Result<()> {
        let mut available: BTreeMap<TensorId, Option<usize>> = BTreeMap::new();
        for id in self.constants.keys() {
            available.insert(*id, None);
        }
        for id in &self.inputs {
            if self.constants.contains_key(id) {
                return Err(ProverError::InvalidModel {
                    detail: format!("input tensor {id} is also a constant"),
                });
            }
            available.insert(*id, None);
        }
        for layer in &self.layers {
            for id in &layer.inputs {
                if !available.contains_key(id) {
                    return Err(ProverError::InvalidLayer {
                        layer: layer.index,
                        kind: layer.kind.name().into(),
                        detail: format!(
                            "reads tensor {id}, which no earlier layer, input or constant provides"
                        ),
                    });
                }
            }
            for id in &layer.outputs {
                if available.insert(*id, Some(layer.index)).is_some() {
                    return Err(ProverError::InvalidLayer {
                        layer: layer.index,
                        kind: layer.kind.name().into(),
                        detail: format!("writes tensor {id}, which already exists"),
                    });
                }
            }
        }
        for id in &self.outputs {
            if !available.contains_key(id) || self.constants.contains_key(id) {
                return Err(ProverError::InvalidModel {
                    detail: format!("output tensor {id} is never computed"),
                });
            }
        }
        if self.inputs.is_empty() || self.outputs.is_empty() {
            return Err(ProverError::InvalidModel {
                detail: "the model needs at least one input and one output".into(),
            });
        }
        Ok(())
    }
}
