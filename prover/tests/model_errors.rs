//! Bad model and input files give typed errors naming the problem, never panics.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use std::path::Path;

use chunkproof_prover::interpret::run;
use chunkproof_prover::model::{parse_input, parse_model};
use chunkproof_prover::ProverError;
use serde_json::{json, Value};

fn model(layers: Value, tensors: Value) -> Vec<u8> {
    rmp_serde::to_vec_named(&json!({
        "global_sf": 64, "k": 10, "num_cols": 2, "inp_idxes": [0], "out_idxes": [11],
        "tensors": tensors, "layers": layers,
    }))
    .unwrap()
}

fn conv(inputs: Value, out_shape: Value) -> Value {
    json!({"layer_type": "Conv2D", "params": [0, 1, 1, 1, 1], "inp_idxes": inputs,
           "inp_shapes": [[1, 4, 4, 1], [2, 3, 3, 1], [2]], "out_idxes": [11], "out_shapes": [out_shape], "mask": []})
}

fn weights() -> Value {
    json!([{"idx": 1, "shape": [2, 3, 3, 1], "data": vec![1; 18]}, {"idx": 2, "shape": [2], "data": [0, 0]}])
}

fn parse(bytes: &[u8]) -> Result<chunkproof_prover::model::Graph, ProverError> {
    parse_model(bytes, Path::new("test.msgpack"))
}

#[test]
fn a_valid_model_parses() {
    let g = parse(&model(json!([conv(json!([0, 1, 2]), json!([1, 2, 2, 2]))]), weights())).unwrap();
    assert_eq!(g.layers.len(), 1);
}

#[test]
fn unknown_layer_type_is_named() {
    let layer = json!({"layer_type": "Gather", "params": [], "inp_idxes": [0], "inp_shapes": [[1, 4]], "out_idxes": [11], "out_shapes": [[1, 4]], "mask": []});
    let e = parse(&model(json!([layer]), json!([]))).unwrap_err();
    assert!(matches!(&e, ProverError::Unsupported { layer: 0, kind, .. } if kind == "Gather"), "{e}");
}

#[test]
fn dangling_tensor_index_is_named() {
    let e = parse(&model(json!([conv(json!([0, 1, 9]), json!([1, 2, 2, 2]))]), weights())).unwrap_err();
    assert!(e.to_string().contains("layer 0 (Conv2D)") && e.to_string().contains('9'), "{e}");
}

#[test]
fn shape_mismatch_is_named() {
    let e = parse(&model(json!([conv(json!([0, 1, 2]), json!([1, 3, 3, 2]))]), weights())).unwrap_err();
    assert!(matches!(e, ProverError::InvalidLayer { layer: 0, .. }), "{e}");
    assert!(e.to_string().contains("[1, 3, 3, 2]"), "{e}");
}

#[test]
fn value_out_of_fixed_point_range_is_named() {
    let mut w = weights();
    w[0]["data"][3] = json!(1i64 << 40);
    let e = parse(&model(json!([conv(json!([0, 1, 2]), json!([1, 2, 2, 2]))]), w)).unwrap_err();
    assert!(matches!(e, ProverError::ValueOutOfRange { index: 3, .. }), "{e}");
}

#[test]
fn overflow_during_inference_names_the_layer() {
    let w = json!([{"idx": 1, "shape": [2, 3, 3, 1], "data": vec![1i64 << 30; 18]}, {"idx": 2, "shape": [2], "data": [0, 0]}]);
    let g = parse(&model(json!([conv(json!([0, 1, 2]), json!([1, 2, 2, 2]))]), w)).unwrap();
    let inp =
        rmp_serde::to_vec_named(&json!([{"idx": 0, "shape": [1, 4, 4, 1], "data": vec![1i64 << 20; 16]}]))
            .unwrap();
    let input = parse_input(&inp, Path::new("i"), &g).unwrap();
    let e = run(&g, &input).unwrap_err();
    assert!(matches!(&e, ProverError::ValueOutOfRange { layer: 0, kind, .. } if kind == "Conv2D"), "{e}");
}

#[test]
fn bad_inputs_are_named() {
    let g = parse(&model(json!([conv(json!([0, 1, 2]), json!([1, 2, 2, 2]))]), weights())).unwrap();
    let short =
        rmp_serde::to_vec_named(&json!([{"idx": 0, "shape": [1, 4, 4, 1], "data": [1, 2, 3]}])).unwrap();
    assert!(matches!(parse_input(&short, Path::new("i"), &g), Err(ProverError::InvalidInput { .. })));
    let other = rmp_serde::to_vec_named(&json!([{"idx": 5, "shape": [1], "data": [1]}])).unwrap();
    assert!(matches!(parse_input(&other, Path::new("i"), &g), Err(ProverError::InvalidInput { .. })));
    assert!(matches!(parse_input(b"\xc1garbage", Path::new("i"), &g), Err(ProverError::Malformed { .. })));
}

#[test]
fn garbage_and_truncated_models_are_malformed() {
    let good = model(json!([conv(json!([0, 1, 2]), json!([1, 2, 2, 2]))]), weights());
    for len in 0..good.len() {
        assert!(parse(&good[..len]).is_err(), "prefix {len}");
    }
    assert!(matches!(parse(b"\x00\x01\x02"), Err(ProverError::Malformed { .. })));
}

#[test]
fn weightless_config_file_is_explained() {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/zkml/mnist/config.msgpack");
    let why = "../shared/fixtures/zkml/mnist/config.msgpack is not present";
    if !chunkproof_prover::testing::prerequisite("shared", cfg.is_file(), why) {
        return;
    }
    let e = parse(&std::fs::read(&cfg).unwrap()).unwrap_err();
    assert!(matches!(e, ProverError::Weightless { .. }), "{e}");
}

fn layer(
    kind: &str,
    params: Value,
    inputs: Value,
    in_shapes: Value,
    outputs: Value,
    out_shapes: Value,
) -> Value {
    json!({"layer_type": kind, "params": params, "inp_idxes": inputs, "inp_shapes": in_shapes,
           "out_idxes": outputs, "out_shapes": out_shapes, "mask": []})
}

fn graph_of(layers: Value, out: i64) -> Vec<u8> {
    rmp_serde::to_vec_named(&json!({
        "global_sf": 64, "k": 10, "num_cols": 2, "inp_idxes": [0], "out_idxes": [out],
        "tensors": [], "layers": layers,
    }))
    .unwrap()
}

/// zkml lists constant side inputs (a Split's axis, a Transpose's permutation, …) among a layer's
/// inputs and may not write them; their values are in `params`, and only data inputs are read.
#[test]
fn zkml_side_inputs_and_params_of_shape_layers() {
    let layers = json!([
        // Split: inputs [axis tensor (never written), data]; params [axis, n]
        layer(
            "Split",
            json!([-1, 2]),
            json!([90, 0]),
            json!([[1], [1, 4, 6]]),
            json!([1, 2]),
            json!([[1, 4, 3], [1, 4, 3]])
        ),
        // Transpose: params [*in_shape, *perm]; the perm tensor 91 is never written
        layer(
            "Transpose",
            json!([1, 4, 3, 0, 2, 1]),
            json!([1, 91]),
            json!([[1, 4, 3], [3]]),
            json!([3]),
            json!([[1, 3, 4]])
        ),
        layer("Permute", json!([0, 2, 1]), json!([2]), json!([[1, 4, 3]]), json!([10]), json!([[1, 3, 4]])),
        layer(
            "Concatenation",
            json!([-1]),
            json!([3, 10]),
            json!([[1, 3, 4], [1, 3, 4]]),
            json!([4]),
            json!([[1, 3, 8]])
        ),
        // Slice: params [*begin, *size], -1 = to the end
        layer(
            "Slice",
            json!([0, 1, 2, -1, -1, 3]),
            json!([4]),
            json!([[1, 3, 8]]),
            json!([5]),
            json!([[1, 2, 3]])
        ),
        layer(
            "Pad",
            json!([0, 0, 1, 0, 0, 2]),
            json!([5]),
            json!([[1, 2, 3]]),
            json!([6]),
            json!([[1, 3, 5]])
        ),
        layer("Mean", json!([-1]), json!([6]), json!([[1, 3, 5]]), json!([7]), json!([[1, 3]])),
        layer("Softmax", json!([1, 3, 0, 1, 0]), json!([7]), json!([[1, 3]]), json!([8]), json!([[1, 3]])),
    ]);
    let g = parse(&graph_of(layers, 8)).unwrap();
    assert_eq!(g.layers[0].inputs, vec![0], "the Split reads its data input only");
    assert_eq!(g.layers[0].outputs, vec![1, 2]);
    assert_eq!(g.shape(8), &[1, 3]);
    let inp = rmp_serde::to_vec_named(
        &json!([{"idx": 0, "shape": [1, 4, 6], "data": (0..24).collect::<Vec<i64>>()}]),
    )
    .unwrap();
    let input = parse_input(&inp, Path::new("i.msgpack"), &g).unwrap();
    let out = run(&g, &input).unwrap().outputs(&g);
    assert_eq!(out[1], 0, "the masked position gives 0");
    assert!((out[0] + out[2] - 64).abs() <= 1, "the rest sums to 1: {out:?}");
}

#[test]
fn bad_shape_layer_params_are_named() {
    let split = layer(
        "Split",
        json!([2, 4]),
        json!([90, 0]),
        json!([[1], [1, 4, 6]]),
        json!([1, 2, 3, 4]),
        json!([[1, 4, 1], [1, 4, 1], [1, 4, 1], [1, 4, 1]]),
    );
    let e = parse(&graph_of(json!([split]), 1)).unwrap_err();
    assert!(matches!(&e, ProverError::InvalidLayer { layer: 0, kind, .. } if kind == "Split"), "{e}");
    let perm = layer(
        "Transpose",
        json!([1, 4, 6, 0, 0, 1]),
        json!([0]),
        json!([[1, 4, 6]]),
        json!([1]),
        json!([[1, 1, 4]]),
    );
    let e = parse(&graph_of(json!([perm]), 1)).unwrap_err();
    assert!(e.to_string().contains("layer 0 (Transpose)") && e.to_string().contains("permutation"), "{e}");
    let pow = layer("Pow", json!([2]), json!([0]), json!([[1, 4, 6]]), json!([1]), json!([[1, 4, 6]]));
    let e = parse(&graph_of(json!([pow]), 1)).unwrap_err();
    assert!(matches!(&e, ProverError::Unsupported { layer: 0, .. }) && e.to_string().contains("cube"), "{e}");
    let mut masked = layer("Tanh", json!([]), json!([0]), json!([[1, 4, 6]]), json!([1]), json!([[1, 4, 6]]));
    masked["mask"] = json!([0, 1]);
    let e = parse(&graph_of(json!([masked]), 1)).unwrap_err();
    assert!(matches!(&e, ProverError::Unsupported { layer: 0, .. }), "{e}");
    let slice = layer(
        "Slice",
        json!([0, 3, 0, 1, 2, 6]),
        json!([0]),
        json!([[1, 4, 6]]),
        json!([1]),
        json!([[1, 2, 6]]),
    );
    let e = parse(&graph_of(json!([slice]), 1)).unwrap_err();
    assert!(e.to_string().contains("outside"), "{e}");
}

/// A model over input 0 (shape `[1, 4]`) and the constant tensor 5 (shape `[1, 4]`).
fn with_constant(layers: Value, out: u32) -> Vec<u8> {
    rmp_serde::to_vec_named(&json!({
        "global_sf": 64, "k": 10, "num_cols": 2, "inp_idxes": [0], "out_idxes": [out],
        "tensors": [{"idx": 5, "shape": [1, 4], "data": [1, 2, 3, 4]}], "layers": layers,
    }))
    .unwrap()
}

fn two_operand(kind: &str, inputs: [u32; 2]) -> Value {
    json!({"layer_type": kind, "params": [], "inp_idxes": inputs, "inp_shapes": [[1, 4], [1, 4]],
           "out_idxes": [11], "out_shapes": [[1, 4]], "mask": []})
}

#[test]
fn a_constant_first_input_is_refused_where_an_activation_belongs() {
    // Either side of these may be a constant.
    for kind in ["Add", "Mul", "Sub", "SquaredDifference"] {
        parse(&with_constant(json!([two_operand(kind, [5, 0])]), 11))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    // The dividend of DivVar and the first input of a table layer must be activations.
    for layer in [
        two_operand("DivVar", [5, 0]),
        json!({"layer_type": "Softmax", "params": [], "inp_idxes": [5], "inp_shapes": [[1, 4]],
               "out_idxes": [11], "out_shapes": [[1, 4]], "mask": []}),
    ] {
        let e = parse(&with_constant(json!([layer]), 11)).unwrap_err();
        assert!(matches!(e, ProverError::InvalidLayer { layer: 0, .. }), "{e}");
        assert!(e.to_string().contains("not an activation"), "{e}");
    }
}

#[test]
fn the_number_of_outputs_is_checked() {
    // Split into 2 along axis 1: two outputs, not one.
    let split = |outs: Value, shapes: Value| {
        json!({"layer_type": "Split", "params": [1, 2], "inp_idxes": [6, 0], "inp_shapes": [[], [1, 4]],
               "out_idxes": outs, "out_shapes": shapes, "mask": []})
    };
    parse(&with_constant(json!([split(json!([11, 12]), json!([[1, 2], [1, 2]]))]), 12)).unwrap();
    let e = parse(&with_constant(json!([split(json!([11]), json!([[1, 2]]))]), 11)).unwrap_err();
    assert!(e.to_string().contains("has 1 outputs, expected 2"), "{e}");
    let add = json!({"layer_type": "Add", "params": [], "inp_idxes": [0, 5], "inp_shapes": [[1, 4], [1, 4]],
                     "out_idxes": [11, 12], "out_shapes": [[1, 4], [1, 4]], "mask": []});
    let e = parse(&with_constant(json!([add]), 12)).unwrap_err();
    assert!(e.to_string().contains("has 2 outputs, expected 1"), "{e}");
}
