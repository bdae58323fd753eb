//! Bad model and input files give typed errors naming the problem, never panics.

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
    let layer = json!({"layer_type": "Softmax", "params": [], "inp_idxes": [0], "inp_shapes": [[1, 4]], "out_idxes": [11], "out_shapes": [[1, 4]], "mask": []});
    let e = parse(&model(json!([layer]), json!([]))).unwrap_err();
    assert!(matches!(&e, ProverError::UnsupportedLayer { layer: 0, kind, .. } if kind == "Softmax"), "{e}");
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
    let Ok(bytes) = std::fs::read(&cfg) else { return };
    let e = parse(&bytes).unwrap_err();
    assert!(e.to_string().contains("no data"), "{e}");
}
