//! Models: the project's graph type and the loaders that produce it.

mod graph;
mod shapes;
mod zkml;

pub use graph::{Activation, Graph, Layer, LayerKind, Padding, Tensor, TensorId};
pub use shapes::{elementwise_operands, output_shape, Broadcast, Window};
pub use zkml::{load_input, load_model, parse_input, parse_model, ModelInput, MAX_MODEL_BYTES};
