//! Models: the project's graph type and the loaders that produce it.

mod graph;
mod kind;
mod movement;
mod shapes;
mod zkml;
mod zkml_layers;

pub use graph::{Graph, Layer, Tensor, TensorId};
pub use kind::{Activation, LayerKind, NonLinear, Padding, MASKED};
pub use movement::{broadcast_map, broadcast_shape, movement_map, movement_shapes, ravel, unravel, Src};
pub use shapes::{elementwise_operands, output_shape, output_shapes, Broadcast, Window};
pub use zkml::{load_input, load_model, parse_input, parse_model, ModelInput, MAX_MODEL_BYTES};
