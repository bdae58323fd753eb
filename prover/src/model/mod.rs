//! Models: the project's graph type (layers over tensors, independent of any file format) and
//! the zkml loader that produces it. What each layer kind means lives in [`crate::layers`].

mod build;
pub mod graph;
pub mod kind;
mod zkml;

pub use graph::{Graph, InputRange, Layer, Tensor, TensorId};
pub use kind::{Activation, LayerKind, NonLinear, Padding, MASKED};
pub use zkml::{load_input, load_model, parse_input, parse_model, ModelInput, MAX_MODEL_BYTES};
