//! Loader for zkml's msgpack model and input files (layout in `docs/zkml-format.md`).
//!
//! Everything read here is validated (known layer types, parameters, shapes, tensor references,
//! value ranges) before it becomes a [`Graph`]; nothing else in the project sees msgpack.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::graph::{Activation, Graph, Layer, LayerKind, Padding, Tensor, TensorId};
use super::shapes::output_shape;
use crate::error::{ProverError, Result};
use chunkproof_verifier::{in_value_range, read_capped};

/// Largest model or input file accepted.
pub const MAX_MODEL_BYTES: u64 = 1 << 30;
/// Largest tensor accepted (elements).
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 28;

#[derive(Deserialize)]
struct RawModel {
    global_sf: i64,
    inp_idxes: Vec<i64>,
    out_idxes: Vec<i64>,
    tensors: Vec<RawTensor>,
    layers: Vec<RawLayer>,
}

#[derive(Deserialize)]
struct RawTensor {
    idx: i64,
    shape: Vec<i64>,
    data: Vec<i64>,
}

#[derive(Deserialize)]
struct RawLayer {
    layer_type: String,
    params: Vec<i64>,
    inp_idxes: Vec<i64>,
    #[serde(default)]
    inp_shapes: Vec<Vec<i64>>,
    out_idxes: Vec<i64>,
    out_shapes: Vec<Vec<i64>>,
}

/// A model input: one tensor per model input id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInput {
    /// Values per input tensor, row-major at scale `sf`.
    pub tensors: BTreeMap<TensorId, Vec<i64>>,
}

fn tensor_id(v: i64, what: &str) -> Result<TensorId> {
    u32::try_from(v)
        .map_err(|_| ProverError::InvalidModel { detail: format!("{what}: tensor index {v} is not valid") })
}

fn shape_of(dims: &[i64], what: &str) -> Result<Vec<usize>> {
    if dims.is_empty() {
        return Ok(vec![1]);
    }
    let shape = dims
        .iter()
        .map(|d| usize::try_from(*d).ok().filter(|d| *d > 0))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| ProverError::InvalidModel { detail: format!("{what}: invalid shape {dims:?}") })?;
    let n = shape.iter().try_fold(1usize, |a, d| a.checked_mul(*d));
    match n {
        Some(n) if n <= MAX_TENSOR_ELEMENTS => Ok(shape),
        _ => Err(ProverError::InvalidModel { detail: format!("{what}: shape {dims:?} is too large") }),
    }
}

fn activation(code: i64, layer: usize, kind: &str) -> Result<Activation> {
    match code {
        0 => Ok(Activation::None),
        1 => Ok(Activation::Relu),
        3 => Ok(Activation::Relu6),
        other => Err(ProverError::UnsupportedLayer {
            layer,
            kind: kind.into(),
            detail: format!("activation code {other} (supported: 0 none, 1 relu, 3 relu6)"),
        }),
    }
}

fn positive(v: i64, what: &str, layer: usize, kind: &str) -> Result<usize> {
    usize::try_from(v).ok().filter(|v| *v > 0).ok_or_else(|| ProverError::InvalidLayer {
        layer,
        kind: kind.into(),
        detail: format!("{what} = {v} must be positive"),
    })
}

fn layer_kind(raw: &RawLayer, layer: usize) -> Result<LayerKind> {
    if raw.layer_type == "Reshape" {
        let target = raw.out_shapes.first().ok_or_else(|| ProverError::InvalidLayer {
            layer,
            kind: "Reshape".into(),
            detail: "has no output shape".into(),
        })?;
        return Ok(LayerKind::Reshape { shape: shape_of(target, &format!("layer {layer} output"))? });
    }
    let kind = raw.layer_type.as_str();
    let p = &raw.params;
    let need = |n: usize| -> Result<()> {
        if p.len() < n {
            return Err(ProverError::InvalidLayer {
                layer,
                kind: kind.into(),
                detail: format!("expects {n} params, has {}", p.len()),
            });
        }
        Ok(())
    };
    Ok(match kind {
        "Conv2D" => {
            need(5)?;
            if p[0] != 0 {
                return Err(ProverError::UnsupportedLayer {
                    layer,
                    kind: kind.into(),
                    detail: format!("conv_type {} (only 0, standard convolution, is supported)", p[0]),
                });
            }
            let padding = match p[1] {
                0 => Padding::Same,
                1 => Padding::Valid,
                other => {
                    return Err(ProverError::InvalidLayer {
                        layer,
                        kind: kind.into(),
                        detail: format!("padding code {other} (0 SAME, 1 VALID)"),
                    })
                }
            };
            LayerKind::Conv2D {
                padding,
                activation: activation(p[2], layer, kind)?,
                stride: (positive(p[3], "stride_h", layer, kind)?, positive(p[4], "stride_w", layer, kind)?),
            }
        }
        "AveragePool2D" => {
            need(4)?;
            LayerKind::AveragePool2D {
                window: (positive(p[0], "window_h", layer, kind)?, positive(p[1], "window_w", layer, kind)?),
                stride: (positive(p[2], "stride_h", layer, kind)?, positive(p[3], "stride_w", layer, kind)?),
            }
        }
        "Mul" => LayerKind::Mul,
        "Add" => LayerKind::Add { activation: activation(p.first().copied().unwrap_or(0), layer, kind)? },
        "FullyConnected" => LayerKind::FullyConnected {
            activation: activation(p.first().copied().unwrap_or(0), layer, kind)?,
        },
        other => {
            return Err(ProverError::UnsupportedLayer {
                layer,
                kind: other.into(),
                detail: "unknown layer type".into(),
            })
        }
    })
}

/// Parses a zkml model from msgpack bytes. `path` only labels errors.
pub fn parse_model(bytes: &[u8], path: &Path) -> Result<Graph> {
    let raw: RawModel = rmp_serde::from_slice(bytes).map_err(|e| ProverError::Malformed {
        path: path.into(),
        what: "model",
        detail: e.to_string(),
    })?;
    if raw.global_sf <= 0 || raw.global_sf > 1 << 20 {
        return Err(ProverError::InvalidModel {
            detail: format!("scale factor {} is not in [1, 2^20]", raw.global_sf),
        });
    }
    let mut constants = BTreeMap::new();
    let mut shapes = BTreeMap::new();
    for t in &raw.tensors {
        let id = tensor_id(t.idx, "tensor")?;
        let shape = shape_of(&t.shape, &format!("tensor {id}"))?;
        if t.data.is_empty() {
            return Err(ProverError::InvalidModel {
                detail: format!("tensor {id} has no data (is this a weight-less config file?)"),
            });
        }
        if t.data.len() != Tensor::numel(&shape) {
            return Err(ProverError::InvalidModel {
                detail: format!(
                    "tensor {id}: shape {shape:?} needs {} values, has {}",
                    Tensor::numel(&shape),
                    t.data.len()
                ),
            });
        }
        if let Some((i, v)) = t.data.iter().enumerate().find(|(_, v)| !in_value_range(**v as i128)) {
            return Err(ProverError::ValueOutOfRange {
                layer: usize::MAX,
                kind: "constant".into(),
                what: format!("tensor {id}"),
                index: i,
                value: *v as i128,
            });
        }
        if constants.insert(id, Tensor { shape: shape.clone(), data: t.data.clone() }).is_some() {
            return Err(ProverError::InvalidModel { detail: format!("tensor {id} is defined twice") });
        }
        shapes.insert(id, shape);
    }
    let inputs = raw.inp_idxes.iter().map(|v| tensor_id(*v, "model input")).collect::<Result<Vec<_>>>()?;
    let outputs = raw.out_idxes.iter().map(|v| tensor_id(*v, "model output")).collect::<Result<Vec<_>>>()?;
    let mut layers = Vec::with_capacity(raw.layers.len());
    // Input shapes come from the first layer that reads them.
    for (index, rl) in raw.layers.iter().enumerate() {
        let kind = layer_kind(rl, index)?;
        let name = kind.name();
        let ins = rl.inp_idxes.iter().map(|v| tensor_id(*v, name)).collect::<Result<Vec<_>>>()?;
        let outs = rl.out_idxes.iter().map(|v| tensor_id(*v, name)).collect::<Result<Vec<_>>>()?;
        for (j, id) in ins.iter().enumerate() {
            if !shapes.contains_key(id) {
                let declared = rl.inp_shapes.get(j).ok_or_else(|| ProverError::InvalidLayer {
                    layer: index,
                    kind: name.into(),
                    detail: format!("reads tensor {id}, which no earlier layer, input or constant provides"),
                })?;
                if !inputs.contains(id) {
                    return Err(ProverError::InvalidLayer {
                        layer: index,
                        kind: name.into(),
                        detail: format!(
                            "reads tensor {id}, which no earlier layer, input or constant provides"
                        ),
                    });
                }
                shapes.insert(*id, shape_of(declared, &format!("layer {index} input {id}"))?);
            } else if let Some(declared) = rl.inp_shapes.get(j) {
                let declared = shape_of(declared, &format!("layer {index} input {id}"))?;
                if Tensor::numel(&declared) != Tensor::numel(&shapes[id]) {
                    return Err(ProverError::InvalidLayer {
                        layer: index,
                        kind: name.into(),
                        detail: format!("input {id} declared {declared:?} but is {:?}", shapes[id]),
                    });
                }
            }
        }
        if outs.len() != 1 || rl.out_shapes.len() != 1 {
            return Err(ProverError::InvalidLayer {
                layer: index,
                kind: name.into(),
                detail: format!("has {} outputs (exactly one is supported)", outs.len()),
            });
        }
        let layer = Layer { index, kind, inputs: ins, outputs: outs };
        let computed = output_shape(&layer, &shapes, &constants)?;
        let declared = shape_of(&rl.out_shapes[0], &format!("layer {index} output"))?;
        if computed != declared {
            return Err(ProverError::InvalidLayer {
                layer: index,
                kind: name.into(),
                detail: format!("declares output shape {declared:?}, its inputs give {computed:?}"),
            });
        }
        if shapes.insert(layer.outputs[0], declared).is_some() {
            return Err(ProverError::InvalidLayer {
                layer: index,
                kind: name.into(),
                detail: format!("writes tensor {}, which already exists", layer.outputs[0]),
            });
        }
        layers.push(layer);
    }
    for id in &inputs {
        if !shapes.contains_key(id) {
            return Err(ProverError::InvalidModel { detail: format!("model input {id} is never read") });
        }
    }
    let graph = Graph { scale: raw.global_sf as u64, inputs, outputs, constants, shapes, layers };
    graph.check_dataflow()?;
    Ok(graph)
}

/// Reads a zkml model file.
pub fn load_model(path: &Path) -> Result<Graph> {
    let bytes = read_capped(path, MAX_MODEL_BYTES, "model")?;
    parse_model(&bytes, path)
}

/// Parses a zkml input file (a msgpack array of `{idx, shape, data}`) for `graph`.
pub fn parse_input(bytes: &[u8], path: &Path, graph: &Graph) -> Result<ModelInput> {
    let raw: Vec<RawTensor> = rmp_serde::from_slice(bytes).map_err(|e| ProverError::Malformed {
        path: path.into(),
        what: "input",
        detail: e.to_string(),
    })?;
    let mut tensors = BTreeMap::new();
    let wanted: BTreeSet<TensorId> = graph.inputs.iter().copied().collect();
    for t in raw {
        let id = u32::try_from(t.idx).map_err(|_| ProverError::InvalidInput {
            detail: format!("tensor index {} is not valid", t.idx),
        })?;
        if !wanted.contains(&id) {
            return Err(ProverError::InvalidInput {
                detail: format!("tensor {id} is not a model input ({wanted:?})"),
            });
        }
        let n = graph.numel(id);
        if t.data.len() != n {
            return Err(ProverError::InvalidInput {
                detail: format!(
                    "tensor {id} has {} values, the model expects {n} ({:?})",
                    t.data.len(),
                    graph.shape(id)
                ),
            });
        }
        if let Some((i, v)) = t.data.iter().enumerate().find(|(_, v)| !in_value_range(**v as i128)) {
            return Err(ProverError::ValueOutOfRange {
                layer: usize::MAX,
                kind: "input".into(),
                what: format!("tensor {id}"),
                index: i,
                value: *v as i128,
            });
        }
        if tensors.insert(id, t.data).is_some() {
            return Err(ProverError::InvalidInput { detail: format!("tensor {id} is given twice") });
        }
    }
    if let Some(missing) = wanted.iter().find(|id| !tensors.contains_key(id)) {
        return Err(ProverError::InvalidInput { detail: format!("model input {missing} is missing") });
    }
    Ok(ModelInput { tensors })
}

/// Reads a zkml input file for `graph`.
pub fn load_input(path: &Path, graph: &Graph) -> Result<ModelInput> {
    let bytes = read_capped(path, MAX_MODEL_BYTES, "input")?;
    parse_input(&bytes, path, graph)
}
