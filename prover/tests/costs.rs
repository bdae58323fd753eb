//! The planner's cost model against circuits actually built: for one layer of every kind, the
//! estimated halo2-base cells and custom rows must be close to what the gadgets assign (the
//! planner balances chunks and picks `k` from these). Prints the per-layer cost table of
//! `docs/layers.md` (`cargo test --release --test costs -- --nocapture`).
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use std::collections::BTreeMap;

use chunkproof_core::shape::{ChunkCircuitParams, Columns};
use chunkproof_prover::model::{Activation, Graph, Layer, LayerKind, ModelInput, NonLinear, Padding, Tensor};
use chunkproof_prover::plan::layer_cost;
use chunkproof_prover::testing::{tensor, values, Prepared};

fn model(shapes: &[&[usize]], kind: LayerKind, consts: Vec<Tensor>) -> Graph {
    let mut inputs: Vec<u32> = (0..shapes.len() as u32).collect();
    let mut constants = BTreeMap::new();
    for (i, t) in consts.into_iter().enumerate() {
        constants.insert(50 + i as u32, t);
        inputs.push(50 + i as u32);
    }
    let outputs: Vec<u32> = match &kind {
        LayerKind::Split { parts, .. } => (0..*parts as u32).map(|i| 100 + i).collect(),
        _ => vec![100],
    };
    let layers = vec![Layer { index: 0, kind, inputs, outputs: outputs.clone() }];
    let ins = shapes.iter().enumerate().map(|(i, s)| (i as u32, s.to_vec())).collect();
    Graph::new(256, ins, outputs, constants, layers).unwrap()
}

#[test]
fn estimated_layer_costs_match_built_circuits() {
    let x: &[usize] = &[1, 8, 8, 8];
    let cases: Vec<(Graph, i64, i64)> = vec![
        (
            model(
                &[x],
                LayerKind::Conv2D { padding: Padding::Valid, activation: Activation::Relu, stride: (1, 1) },
                vec![tensor(&[8, 3, 3, 8], values(576, 1, -60, 60)), tensor(&[8], vec![1; 8])],
            ),
            -400,
            400,
        ),
        (
            model(
                &[x],
                LayerKind::DepthwiseConv2D {
                    padding: Padding::Same,
                    activation: Activation::Relu6,
                    stride: (1, 1),
                },
                vec![tensor(&[1, 3, 3, 8], values(72, 2, -60, 60)), tensor(&[8], vec![1; 8])],
            ),
            -400,
            400,
        ),
        (
            model(
                &[&[1, 128]],
                LayerKind::FullyConnected { activation: Activation::None },
                vec![tensor(&[16, 128], values(2048, 3, -60, 60))],
            ),
            -400,
            400,
        ),
        (
            model(
                &[&[6, 64]],
                LayerKind::FullyConnected { activation: Activation::Relu },
                vec![tensor(&[32, 64], values(2048, 4, -60, 60)), tensor(&[32], values(32, 6, -9, 9))],
            ),
            -400,
            400,
        ),
        (model(&[x], LayerKind::MaxPool2D { window: (2, 2), stride: (2, 2) }, vec![]), -400, 400),
        (model(&[x], LayerKind::AveragePool2D { window: (2, 2), stride: (2, 2) }, vec![]), -400, 400),
        (model(&[x], LayerKind::Mean { axes: vec![1, 2], keep_dims: false }, vec![]), -400, 400),
        (model(&[x, x], LayerKind::Sub, vec![]), -400, 400),
        (model(&[x, x], LayerKind::SquaredDifference, vec![]), -400, 400),
        (model(&[x], LayerKind::Square, vec![]), -400, 400),
        (model(&[x], LayerKind::Cube, vec![]), -300, 300),
        (model(&[x], LayerKind::Div { divisor: 3 }, vec![]), -400, 400),
        (model(&[x, &[1]], LayerKind::DivVar, vec![]), 1, 400),
        (model(&[x], LayerKind::Sqrt { mask: vec![] }, vec![]), 0, 4000),
        (model(&[x], LayerKind::Rsqrt { mask: vec![] }, vec![]), 1, 4000),
        (model(&[x], LayerKind::Pointwise { func: NonLinear::Logistic }, vec![]), -2000, 2000),
        (model(&[&[8, 8]], LayerKind::Softmax { mask: vec![], mask_shape: vec![] }, vec![]), -900, 900),
        (model(&[&[4, 4, 8], &[4, 8, 4]], LayerKind::BatchMatMul { adj_y: false }, vec![]), -300, 300),
        (model(&[x], LayerKind::Transpose { perm: vec![0, 3, 1, 2] }, vec![]), -400, 400),
        (model(&[x], LayerKind::Pad { pads: vec![(0, 0), (1, 1), (1, 1), (0, 0)] }, vec![]), -400, 400),
    ];
    println!(
        "| layer | outputs | MACs | cells/output (built) | estimated | custom rows/output (built) | estimated | product rows/output (built) | estimated |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (g, lo, hi) in cases {
        let input = ModelInput {
            tensors: g.inputs.iter().map(|id| (*id, values(g.numel(*id), 5 + *id as i64, lo, hi))).collect(),
        };
        let p = Prepared::new(g.clone(), &input, 1).unwrap();
        let c = p
            .mock_circuit_with(
                0,
                ChunkCircuitParams {
                    k: 18,
                    lookup_bits: 16,
                    tables: 0,
                    products: false,
                    narrow_limbs: false,
                    max_gate: false,
                    columns: Columns::NARROW,
                },
            )
            .unwrap();
        let main = c.stats.main_cells - c.stats.linkage_main_cells - 1;
        let custom = c.stats.custom_rows - c.stats.linkage_custom_rows;
        let product = c.stats.product_rows;
        let est = layer_cost(&g, 0);
        let out: usize = g.layers[0].outputs.iter().map(|id| g.numel(*id)).sum();
        let macs = match &g.layers[0].kind {
            LayerKind::Conv2D { .. } => out * 3 * 3 * 8,
            LayerKind::DepthwiseConv2D { .. } => out * 9,
            LayerKind::FullyConnected { .. } => out * g.shape(0).last().copied().unwrap_or(0),
            LayerKind::BatchMatMul { .. } => out * 8,
            _ => 0,
        };
        let name = g.layers[0].kind.name();
        println!(
            "| {name} | {out} | {macs} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} |",
            main as f64 / out as f64,
            est.main as f64 / out as f64,
            custom as f64 / out as f64,
            est.custom as f64 / out as f64,
            product as f64 / out as f64,
            est.product as f64 / out as f64
        );
        let close = |built: usize, est: usize| built.abs_diff(est) as f64 <= 0.25 * built as f64 + 16.0;
        assert!(close(main, est.main), "{name}: {main} cells built, {} estimated", est.main);
        assert!(close(custom, est.custom), "{name}: {custom} custom rows built, {} estimated", est.custom);
        assert!(
            close(product, est.product),
            "{name}: {product} product rows built, {} estimated",
            est.product
        );
    }
}
