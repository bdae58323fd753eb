//! Loader for zkml's msgpack model and input files (layout in `docs/zkml-format.md`).
//!
//! Everything read here is validated (known layer types, parameters, shapes, tensor references,
//! value ranges) before it becomes a [`Graph`]; nothing else in the project sees msgpack.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::graph::{Graph, Layer, Tensor, TensorId};
use crate::error::{ProverError, Result};
use crate::layers::{
    data_inputs, fold_constants, movement_shapes, moves_data, output_shapes, parse as layer_kind,
    RawLayerView,
};
use crate::model::kind::LayerKind;
use chunkproof_core::{in_value_range, read_capped};

/// Largest model or input file accepted.
pub const MAX_MODEL_BYTES: u64 = 1 << 30;
/// Largest tensor accepted (elements).
pub(super) const MAX_TENSOR_ELEMENTS: usize = 1 << 28;

#[derive(Deserialize)]
struct RawModel {
    global_sf: i64,
    #[serde(default)]
    k: Option<i64>,
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
    #[serde(default)]
    mask: Vec<i64>,
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

/// Parses a zkml model from msgpack bytes. `path` only labels errors.
pub fn parse_model(bytes: &[u8], path: &Path) -> Result<Graph> {
    let mut raw: RawModel = rmp_serde::from_slice(bytes).map_err(|e| ProverError::Malformed {
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
    // Tensors are moved, not copied: a model's weights are held once.
    let no_tensors = raw.tensors.is_empty();
    for t in std::mem::take(&mut raw.tensors) {
        let id = tensor_id(t.idx, "tensor")?;
        let shape = shape_of(&t.shape, &format!("tensor {id}"))?;
        if t.data.is_empty() {
            return Err(ProverError::Weightless { detail: format!("tensor {id} {:?} has no data", t.shape) });
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
        if constants.insert(id, Tensor { shape: shape.clone(), data: t.data.into() }).is_some() {
            return Err(ProverError::InvalidModel { detail: format!("tensor {id} is defined twice") });
        }
        shapes.insert(id, shape);
    }
    let inputs = raw.inp_idxes.iter().map(|v| tensor_id(*v, "model input")).collect::<Result<Vec<_>>>()?;
    let outputs = raw.out_idxes.iter().map(|v| tensor_id(*v, "model output")).collect::<Result<Vec<_>>>()?;
    let mut layers = Vec::with_capacity(raw.layers.len());
    let mut produced = BTreeMap::new();
    let mut plumbing = BTreeSet::new();
    let mut folded = Vec::new();
    // Input shapes come from the first layer that reads them.
    for (index, rl) in raw.layers.iter().enumerate() {
        let name = rl.layer_type.as_str();
        let all_ins = rl.inp_idxes.iter().map(|v| tensor_id(*v, name)).collect::<Result<Vec<_>>>()?;
        let which = data_inputs(name, &rl.params, all_ins.len(), index)?;
        let ins: Vec<TensorId> = which.iter().map(|i| all_ins[*i]).collect();
        let outs = rl.out_idxes.iter().map(|v| tensor_id(*v, name)).collect::<Result<Vec<_>>>()?;
        // Shape plumbing: data movement on run-time shape vectors gives shape vectors.
        if let Some(id) = ins.iter().find(|id| plumbing.contains(*id)) {
            if !moves_data(name) {
                return Err(ProverError::Unsupported {
                    layer: index,
                    kind: name.into(),
                    construct: format!(
                        "reads tensor {id}, a shape vector computed at run time (TFLite SHAPE, \
                         STRIDED_SLICE or GATHER, which zkml's converter writes as Noop)"
                    ),
                });
            }
            plumbing.extend(outs);
            folded.push(index);
            continue;
        }
        for (j, id) in which.iter().zip(&ins) {
            let dangling = || ProverError::InvalidLayer {
                layer: index,
                kind: name.into(),
                detail: format!("reads tensor {id}, which no earlier layer, input or constant provides"),
            };
            if !shapes.contains_key(id) {
                if no_tensors && !inputs.contains(id) {
                    return Err(ProverError::Weightless {
                        detail: format!(
                            "the file lists no tensors, and layer {index} ({name}) reads tensor {id}, \
                             which no earlier layer or input provides"
                        ),
                    });
                }
                let declared = rl.inp_shapes.get(*j).ok_or_else(dangling)?;
                if !inputs.contains(id) {
                    return Err(dangling());
                }
                shapes.insert(*id, shape_of(declared, &format!("layer {index} input {id}"))?);
            } else if let Some(declared) = rl.inp_shapes.get(*j) {
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
        if outs.len() != rl.out_shapes.len() {
            return Err(ProverError::InvalidLayer {
                layer: index,
                kind: name.into(),
                detail: format!("has {} outputs but {} output shapes", outs.len(), rl.out_shapes.len()),
            });
        }
        let declared = rl
            .out_shapes
            .iter()
            .map(|s| shape_of(s, &format!("layer {index} output")))
            .collect::<Result<Vec<_>>>()?;
        let in_shapes: Vec<&[usize]> = ins.iter().map(|id| shapes[id].as_slice()).collect();
        let view = RawLayerView {
            kind: name,
            params: &rl.params,
            out_shapes: declared.clone(),
            mask: &rl.mask,
            zkml_k: raw.k,
        };
        let kind = layer_kind(&view, index, &in_shapes, raw.global_sf as u64)?;
        let layer = Layer { index, kind, inputs: ins, outputs: outs };
        let on_constants = moves_data(name) && layer.inputs.iter().all(|id| constants.contains_key(id));
        let computed = if on_constants {
            movement_shapes(&layer.kind, &in_shapes).map_err(|detail| ProverError::InvalidLayer {
                layer: index,
                kind: name.into(),
                detail,
            })?
        } else {
            output_shapes(&layer, &shapes, &constants)?
        };
        // zkml reshapes every output to its declared shape: accepted when the element counts agree.
        let same_count = computed.len() == declared.len()
            && computed.iter().zip(&declared).all(|(c, d)| Tensor::numel(c) == Tensor::numel(d));
        if !same_count && matches!(layer.kind, LayerKind::Noop) {
            // A TFLite SHAPE (or a GATHER) written as Noop: its output is a shape vector, not
            // the data zkml passes through.
            plumbing.extend(layer.outputs);
            folded.push(index);
            continue;
        }
        if !same_count {
            return Err(ProverError::InvalidLayer {
                layer: index,
                kind: name.into(),
                detail: format!(
                    "declares output shapes {declared:?}, its inputs give {computed:?} (another element count)"
                ),
            });
        }
        for (id, (c, d)) in layer.outputs.iter().zip(computed.iter().zip(&declared)) {
            if c != d {
                produced.insert(*id, c.clone());
            }
        }
        if on_constants {
            // Data movement on constants only (shape vectors, transposed weights): folded.
            let ins: Vec<&Tensor> = layer.inputs.iter().map(|id| &constants[id]).collect();
            for (id, t) in layer.outputs.iter().zip(fold_constants(&layer.kind, &ins, &computed, &declared)) {
                shapes.insert(*id, t.shape.clone());
                if constants.insert(*id, t).is_some() {
                    return Err(ProverError::InvalidLayer {
                        layer: index,
                        kind: name.into(),
                        detail: format!("writes tensor {id}, which already exists"),
                    });
                }
            }
            folded.push(index);
            continue;
        }
        for (id, shape) in layer.outputs.iter().zip(declared) {
            if shapes.insert(*id, shape).is_some() {
                return Err(ProverError::InvalidLayer {
                    layer: index,
                    kind: name.into(),
                    detail: format!("writes tensor {id}, which already exists"),
                });
            }
        }
        layers.push(layer);
    }
    if let Some(id) = outputs.iter().find(|id| plumbing.contains(*id)) {
        return Err(ProverError::InvalidModel {
            detail: format!("model output {id} is a shape vector computed at run time, not data"),
        });
    }
    for id in &inputs {
        if !shapes.contains_key(id) {
            return Err(ProverError::InvalidModel { detail: format!("model input {id} is never read") });
        }
    }
    let graph = Graph {
        scale: raw.global_sf as u64,
        inputs,
        outputs,
        constants,
        shapes,
        produced,
        layers,
        folded,
        product_check: true,
        input_range: None,
    };
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
        if let Some(range) = graph.input_range {
            if let Some((index, v)) = t.data.iter().enumerate().find(|(_, v)| !range.contains(**v)) {
                return Err(ProverError::OutsideInputRange { tensor: id, index, value: *v, range });
            }
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
