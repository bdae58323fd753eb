//! The project's own model graph: layers over tensors, independent of any file format.

use std::collections::BTreeMap;

use crate::error::{ProverError, Result};

/// Tensor identifier (zkml's `idx`).
pub type TensorId = u32;

/// A constant tensor (weights, biases, scales).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tensor {
    /// Shape; `[]` is normalised to `[1]`.
    pub shape: Vec<usize>,
    /// Row-major values at scale `sf`.
    pub data: Vec<i64>,
}

impl Tensor {
    /// Number of elements of `shape`.
    pub fn numel(shape: &[usize]) -> usize {
        shape.iter().product()
    }
}

/// Activation applied after a layer's arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// Identity.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)` (6 at scale `sf`).
    Relu6,
}

/// Convolution padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Output size `ceil(in / stride)`, zero padding split as TensorFlow does.
    Same,
    /// No padding.
    Valid,
}

/// What a layer computes (with its parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// 2-D convolution, NHWC input, `[O, kh, kw, I]` weights, `[O]` bias.
    Conv2D {
        /// Padding mode.
        padding: Padding,
        /// Activation.
        activation: Activation,
        /// Strides (h, w).
        stride: (usize, usize),
    },
    /// Average pooling over `window` with `stride`, no padding.
    AveragePool2D {
        /// Window (h, w).
        window: (usize, usize),
        /// Strides (h, w).
        stride: (usize, usize),
    },
    /// Elementwise product with broadcasting, rescaled by `sf`.
    Mul,
    /// Elementwise sum with broadcasting.
    Add {
        /// Activation.
        activation: Activation,
    },
    /// Dense layer: `[.., K]` input, `[O, K]` weights, `[O]` bias.
    FullyConnected {
        /// Activation.
        activation: Activation,
    },
    /// Same values, new shape.
    Reshape {
        /// The output shape.
        shape: Vec<usize>,
    },
}

impl LayerKind {
    /// zkml's name of the layer type.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Conv2D { .. } => "Conv2D",
            Self::AveragePool2D { .. } => "AveragePool2D",
            Self::Mul => "Mul",
            Self::Add { .. } => "Add",
            Self::FullyConnected { .. } => "FullyConnected",
            Self::Reshape { .. } => "Reshape",
        }
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
    /// Shape of every tensor (constants, inputs and layer outputs).
    pub shapes: BTreeMap<TensorId, Vec<usize>>,
    /// Layers in execution order.
    pub layers: Vec<Layer>,
}

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
            let shape = super::shapes::output_shape(layer, &shapes, &constants)?;
            if shapes.insert(layer.outputs[0], shape).is_some() {
                return Err(ProverError::InvalidLayer {
                    layer: layer.index,
                    kind: layer.kind.name().into(),
                    detail: format!("writes tensor {}, which already exists", layer.outputs[0]),
                });
            }
        }
        let graph = Self {
            scale,
            inputs: inputs.into_iter().map(|(id, _)| id).collect(),
            outputs,
            constants,
            shapes,
            layers,
        };
        graph.check_dataflow()?;
        Ok(graph)
    }

    /// Shape of tensor `id`.
    pub fn shape(&self, id: TensorId) -> &[usize] {
        &self.shapes[&id]
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
