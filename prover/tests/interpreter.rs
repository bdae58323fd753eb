//! The interpreter against a float reference, on zkml's MNIST when `../shared` is present.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use std::path::PathBuf;

use chunkproof_prover::interpret::{operand, run};
use chunkproof_prover::layers::{broadcast_map, elementwise_operands, Window};
use chunkproof_prover::model::{load_input, load_model, Activation, Graph, LayerKind, Padding};

fn mnist_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/zkml/mnist");
    d.join("model.msgpack").exists().then_some(d)
}

/// The same model evaluated in f64 on the same (quantised) weights.
fn float_reference(graph: &Graph, input: &std::collections::BTreeMap<u32, Vec<i64>>) -> Vec<f64> {
    let sf = graph.scale as f64;
    let mut vals: std::collections::BTreeMap<u32, Vec<f64>> =
        input.iter().map(|(k, v)| (*k, v.iter().map(|x| *x as f64 / sf).collect())).collect();
    let get = |vals: &std::collections::BTreeMap<u32, Vec<f64>>, id: u32| -> Vec<f64> {
        match graph.constants.get(&id) {
            Some(t) => t.data.iter().map(|x| *x as f64 / sf).collect(),
            None => vals[&id].clone(),
        }
    };
    let act = |v: f64, a: Activation| match a {
        Activation::None => v,
        Activation::Relu => v.max(0.0),
        Activation::Relu6 => v.clamp(0.0, 6.0),
    };
    for layer in &graph.layers {
        let out: Vec<f64> = match &layer.kind {
            LayerKind::Conv2D { padding, activation, stride } => {
                let (x, w, b) =
                    (get(&vals, layer.inputs[0]), get(&vals, layer.inputs[1]), get(&vals, layer.inputs[2]));
                let ws = graph.shape(layer.inputs[1]);
                let g = Window::new(graph.shape(layer.inputs[0]), ws[1], ws[2], *stride, *padding).unwrap();
                let mut out = vec![];
                for bb in 0..g.n {
                    for oy in 0..g.oh {
                        for ox in 0..g.ow {
                            for f in 0..ws[0] {
                                let mut acc = b[f];
                                for dy in 0..g.kh {
                                    for dx in 0..g.kw {
                                        for c in 0..g.c {
                                            if let Some(i) = g.input_index(bb, oy, ox, dy, dx, c) {
                                                acc += x[i] * w[((f * g.kh + dy) * g.kw + dx) * g.c + c];
                                            }
                                        }
                                    }
                                }
                                out.push(act(acc, *activation));
                            }
                        }
                    }
                }
                out
            }
            LayerKind::AveragePool2D { window, stride } => {
                let x = get(&vals, layer.inputs[0]);
                let g =
                    Window::new(graph.shape(layer.inputs[0]), window.0, window.1, *stride, Padding::Valid)
                        .unwrap();
                let mut out = vec![];
                for bb in 0..g.n {
                    for oy in 0..g.oh {
                        for ox in 0..g.ow {
                            for c in 0..g.c {
                                let mut s = 0.0;
                                for dy in 0..g.kh {
                                    for dx in 0..g.kw {
                                        s += x[g.input_index(bb, oy, ox, dy, dx, c).unwrap()];
                                    }
                                }
                                out.push(s / (g.kh * g.kw) as f64);
                            }
                        }
                    }
                }
                out
            }
            LayerKind::Mul | LayerKind::Add { .. } => {
                let (a, b) = elementwise_operands(layer, &graph.constants).unwrap();
                let (xa, xb) = (get(&vals, a), get(&vals, b));
                let out = graph.produced_shape(layer.outputs[0]);
                let (ia, ib) = (broadcast_map(out, graph.shape(a)), broadcast_map(out, graph.shape(b)));
                ia.iter()
                    .zip(&ib)
                    .map(|(i, j)| match &layer.kind {
                        LayerKind::Mul => xa[*i] * xb[*j],
                        LayerKind::Add { activation } => act(xa[*i] + xb[*j], *activation),
                        _ => unreachable!(),
                    })
                    .collect()
            }
            LayerKind::FullyConnected { activation } => {
                let (x, w) = (get(&vals, layer.inputs[0]), get(&vals, layer.inputs[1]));
                let ws = graph.shape(layer.inputs[1]);
                let b = if layer.inputs.len() > 2 { get(&vals, layer.inputs[2]) } else { vec![0.0; ws[0]] };
                let mut out = vec![];
                for r in 0..x.len() / ws[1] {
                    for f in 0..ws[0] {
                        let acc: f64 =
                            (0..ws[1]).map(|j| x[r * ws[1] + j] * w[f * ws[1] + j]).sum::<f64>() + b[f];
                        out.push(act(acc, *activation));
                    }
                }
                out
            }
            LayerKind::Reshape { .. } => get(&vals, layer.inputs[0]),
            other => panic!("{} is not used by this model (tests/layers.rs covers it)", other.name()),
        };
        vals.insert(layer.outputs[0], out);
    }
    graph.outputs.iter().flat_map(|id| vals[id].clone()).collect()
}

fn argmax(v: &[f64]) -> usize {
    v.iter().enumerate().max_by(|a, b| a.1.partial_cmp(b.1).unwrap()).unwrap().0
}

#[test]
fn zkml_mnist_matches_float_reference() {
    let dir = mnist_dir();
    let why = "../shared/fixtures/zkml/mnist is not present";
    if !chunkproof_prover::testing::prerequisite("shared", dir.is_some(), why) {
        return;
    }
    let dir = dir.expect("present");
    let graph = load_model(&dir.join("model.msgpack")).unwrap();
    assert_eq!(graph.layers.len(), 16);
    let input = load_input(&dir.join("inp.msgpack"), &graph).unwrap();
    let trace = run(&graph, &input).unwrap();
    let fixed: Vec<f64> = trace.outputs(&graph).iter().map(|v| *v as f64 / graph.scale as f64).collect();
    let float = float_reference(&graph, &input.tensors);
    eprintln!("fixed {fixed:?}\nfloat {float:?}");
    assert_eq!(argmax(&fixed), argmax(&float));
    let err = fixed.iter().zip(&float).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(err < 0.05, "max abs error {err}");
    let _ = operand;
}

/// The shipped fixture: the Rust interpreter reproduces the training script's fixed-point
/// evaluation (a second, independent implementation of the semantics) exactly.
#[test]
fn digits_fixture_matches_training_script() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/digits_v1");
    let graph = load_model(&dir.join("model.msgpack")).unwrap();
    let input = load_input(&dir.join("input.msgpack"), &graph).unwrap();
    let out = run(&graph, &input).unwrap().outputs(&graph);
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let want: Vec<i64> =
        expected["fixed_output"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(out, want);
    let label = expected["label"].as_u64().unwrap() as usize;
    let argmax = out.iter().enumerate().max_by_key(|(_, v)| **v).unwrap().0;
    assert_eq!(argmax, label, "the fixture's digit is classified correctly");
}
