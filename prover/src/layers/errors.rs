//! The layers' errors, each naming the layer: an invalid layer, an unsupported variant, a value
//! outside a layer's domain.

use crate::error::ProverError;
use crate::model::graph::Layer;

/// `layer` is inconsistent (shapes, inputs, parameters).
pub(crate) fn invalid(layer: &Layer, detail: String) -> ProverError {
    ProverError::InvalidLayer { layer: layer.index, kind: layer.kind.name().into(), detail }
}

/// Layer `index` of zkml type `kind` is inconsistent (while it is being read).
pub(crate) fn invalid_raw(index: usize, kind: &str, detail: String) -> ProverError {
    ProverError::InvalidLayer { layer: index, kind: kind.into(), detail }
}

/// Layer `index` of zkml type `kind` uses something this project does not implement.
pub(crate) fn unsupported_raw(index: usize, kind: &str, construct: String) -> ProverError {
    ProverError::Unsupported { layer: index, kind: kind.into(), construct }
}

/// A value reaching `layer` at output position `index` is outside what its circuit can prove.
pub(crate) fn domain(layer: &Layer, index: usize, value: i128, detail: &str) -> ProverError {
    ProverError::OutsideDomain {
        layer: layer.index,
        kind: layer.kind.name().into(),
        index,
        value,
        detail: detail.into(),
    }
}
