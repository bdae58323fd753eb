//! Every layer kind beyond the MNIST set, one layer per model: the interpreter against a float
//! reference within the error bound documented in `docs/layers.md`, and the negative battery
//! (honest witness accepted; each gadget's faults, a changed output, salt, leaf, root or public
//! output rejected).
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

mod common;

use std::collections::BTreeMap;

use chunkproof_prover::fault::{self, Site};
use chunkproof_prover::interpret::run;
use chunkproof_prover::model::{
    Activation, Graph, Layer, LayerKind, ModelInput, NonLinear, Padding, Tensor, MASKED,
};
use chunkproof_prover::testing::{mock_verify, tensor, values, Prepared};
use chunkproof_prover::witness::Linkage;
use common::*;

/// A one-layer model over activation inputs `0, 1, …` of `shapes` and constants `consts`
/// (ids from 50), with outputs `100, 101, …`.
fn model(sf: u64, shapes: &[&[usize]], kind: LayerKind, consts: Vec<Tensor>, outputs: usize) -> Graph {
    let mut inputs: Vec<u32> = (0..shapes.len() as u32).collect();
    let mut constants = BTreeMap::new();
    for (i, t) in consts.into_iter().enumerate() {
        constants.insert(50 + i as u32, t);
        inputs.push(50 + i as u32);
    }
    let outs: Vec<u32> = (0..outputs as u32).map(|i| 100 + i).collect();
    let layers = vec![Layer { index: 0, kind, inputs, outputs: outs.clone() }];
    let ins = shapes.iter().enumerate().map(|(i, s)| (i as u32, s.to_vec())).collect();
    Graph::new(sf, ins, outs, constants, layers).expect("valid test model")
}

fn inputs(g: &Graph, lo: i64, hi: i64) -> ModelInput {
    ModelInput {
        tensors: g.inputs.iter().map(|id| (*id, values(g.numel(*id), 3 + *id as i64, lo, hi))).collect(),
    }
}

/// Interpreter outputs (real values) against `reference` (real values), within `ulps / sf`.
fn check_float(
    g: &Graph,
    inp: &ModelInput,
    ulps: f64,
    reference: impl Fn(&[Vec<f64>]) -> Vec<f64>,
    what: &str,
) {
    let sf = g.scale as f64;
    let t = run(g, inp).unwrap();
    let got: Vec<f64> = t.outputs(g).iter().map(|v| *v as f64 / sf).collect();
    let real: Vec<Vec<f64>> =
        g.inputs.iter().map(|id| inp.tensors[id].iter().map(|v| *v as f64 / sf).collect()).collect();
    let want = reference(&real);
    assert_eq!(got.len(), want.len(), "{what}: output length");
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        assert!(
            (a - b).abs() <= ulps / sf + 1e-12,
            "{what}[{i}]: interpreter {a}, float {b}, bound {ulps} ulp"
        );
    }
}

#[test]
fn depthwise_conv() {
    let (sf, c) = (64u64, 3);
    let w = tensor(&[1, 3, 3, c], values(27, 5, -90, 90));
    let b = tensor(&[c], vec![7, -20, 3]);
    for (padding, act) in [(Padding::Same, Activation::Relu6), (Padding::Valid, Activation::None)] {
        let kind = LayerKind::DepthwiseConv2D { padding, activation: act, stride: (1, 2) };
        let g = model(sf, &[&[1, 5, 6, c]], kind, vec![w.clone(), b.clone()], 1);
        let inp = inputs(&g, -300, 300);
        let xs = g.shape(0).to_vec();
        let (wd, bd) = (w.data.clone(), b.data.clone());
        let out_shape = g.shape(100).to_vec();
        check_float(
            &g,
            &inp,
            0.5,
            |x| {
                let g2 = chunkproof_prover::layers::Window::new(&xs, 3, 3, (1, 2), padding).unwrap();
                let mut out = vec![];
                for oy in 0..out_shape[1] {
                    for ox in 0..out_shape[2] {
                        for ch in 0..c {
                            let mut acc = bd[ch] as f64 / sf as f64;
                            for dy in 0..3 {
                                for dx in 0..3 {
                                    if let Some(i) = g2.input_index(0, oy, ox, dy, dx, ch) {
                                        acc += x[0][i] * wd[(dy * 3 + dx) * c + ch] as f64 / sf as f64;
                                    }
                                }
                            }
                            out.push(match act {
                                Activation::Relu6 => acc.clamp(0.0, 6.0),
                                _ => acc,
                            });
                        }
                    }
                }
                out
            },
            "depthwise",
        );
        battery_with(
            g,
            inp,
            &[Site::Quotient, Site::Sign, Site::Dot],
            false,
            &format!("depthwise {padding:?}"),
        );
    }
}

#[test]
fn max_pool() {
    let g = model(64, &[&[1, 4, 6, 2]], LayerKind::MaxPool2D { window: (2, 3), stride: (2, 2) }, vec![], 1);
    let inp = inputs(&g, -500, 500);
    check_float(
        &g,
        &inp,
        0.0,
        |x| {
            let mut out = vec![];
            for oy in 0..2 {
                for ox in 0..2 {
                    for c in 0..2 {
                        let mut m = f64::MIN;
                        for dy in 0..2 {
                            for dx in 0..3 {
                                m = m.max(x[0][((oy * 2 + dy) * 6 + ox * 2 + dx) * 2 + c]);
                            }
                        }
                        out.push(m);
                    }
                }
            }
            out
        },
        "max pool",
    );
    battery(g, inp, &[Site::Sign, Site::Max], "max pool");
}

#[test]
fn sub_square_and_squared_difference() {
    let sf = 64;
    // activation − broadcast constant, constant − activation, activation − activation
    let c = tensor(&[3], vec![40, -7, 100]);
    let g = model(sf, &[&[2, 3]], LayerKind::Sub, vec![c.clone()], 1);
    let inp = inputs(&g, -300, 300);
    check_float(
        &g,
        &inp,
        0.0,
        |x| x[0].iter().enumerate().map(|(i, v)| v - c.data[i % 3] as f64 / 64.0).collect(),
        "sub",
    );
    battery_with(g, inp, &LINK, false, "sub const");
    let g = model(sf, &[&[2, 3], &[2, 1]], LayerKind::SquaredDifference, vec![], 1);
    let inp = inputs(&g, -300, 300);
    check_float(&g, &inp, 0.5, |x| (0..6).map(|i| (x[0][i] - x[1][i / 3]).powi(2)).collect(), "sqdiff");
    battery_with(g, inp, &[Site::Quotient, Site::Sign], false, "squared difference");
    let g = model(sf, &[&[7]], LayerKind::Square, vec![], 1);
    let inp = inputs(&g, -600, 600);
    check_float(&g, &inp, 0.5, |x| x[0].iter().map(|v| v * v).collect(), "square");
    battery_with(g, inp, &[Site::Quotient, Site::Sign], false, "square");
}

#[test]
fn divisions_cube_and_update() {
    let sf = 64;
    let g = model(sf, &[&[9]], LayerKind::Div { divisor: 7 }, vec![], 1);
    let inp = inputs(&g, -600, 600);
    check_float(&g, &inp, 0.5, |x| x[0].iter().map(|v| v / 7.0).collect(), "div");
    battery_with(g, inp, &[Site::Quotient, Site::Sign], false, "div");
    let g = model(sf, &[&[8], &[1]], LayerKind::DivVar, vec![], 1);
    let mut inp = inputs(&g, -600, 600);
    inp.tensors.insert(1, vec![45]);
    check_float(&g, &inp, 0.5, |x| x[0].iter().map(|v| v / x[1][0]).collect(), "divvar");
    battery_with(g.clone(), inp.clone(), &[Site::DivVar, Site::Sign], false, "div var");
    inp.tensors.insert(1, vec![0]);
    let err = run(&g, &inp).unwrap_err().to_string();
    assert!(err.contains("layer 0 (DivVar)") && err.contains("divisor"), "{err}");
    let g = model(sf, &[&[6]], LayerKind::Cube, vec![], 1);
    let inp = inputs(&g, -200, 200);
    // two roundings: ½ ulp of x²/sf scaled by |x|/sf ≤ 3.2, then ½ ulp
    check_float(&g, &inp, 0.5 + 0.5 * 200.0 / 64.0, |x| x[0].iter().map(|v| v.powi(3)).collect(), "cube");
    battery_with(g, inp, &[Site::Quotient, Site::Sign], false, "cube");
    let g = model(1000, &[&[5], &[5]], LayerKind::Update { eta: 1 }, vec![], 1);
    let inp = inputs(&g, -900, 900);
    check_float(&g, &inp, 1.0, |x| (0..5).map(|i| x[0][i] - 0.001 * x[1][i]).collect(), "update");
    battery_with(g, inp, &[Site::Quotient, Site::Sign], false, "update");
}

#[test]
fn roots() {
    let sf = 64;
    let g = model(sf, &[&[9]], LayerKind::Sqrt { mask: vec![] }, vec![], 1);
    let inp = inputs(&g, 0, 3000);
    check_float(&g, &inp, 0.5, |x| x[0].iter().map(|v| v.sqrt()).collect(), "sqrt");
    battery_with(g.clone(), inp, &[Site::Root, Site::RootHalf, Site::RootParity], false, "sqrt");
    let mut neg = inputs(&g, 0, 3000);
    neg.tensors.get_mut(&0).unwrap()[2] = -5;
    assert!(run(&g, &neg).unwrap_err().to_string().contains("Sqrt needs x >= 0"));
    let g = model(sf, &[&[9]], LayerKind::Rsqrt { mask: vec![] }, vec![], 1);
    let inp = inputs(&g, 1, 3000);
    check_float(&g, &inp, 0.5, |x| x[0].iter().map(|v| 1.0 / v.sqrt()).collect(), "rsqrt");
    battery_with(g, inp, &[Site::Root, Site::RootHalf, Site::RootParity], false, "rsqrt");
}

/// A root's halving `m + 1 = 2y + e` with the other bit `e' = 1 − e` gives `y' = y ± ½` in the
/// field; a later rounding division turns `y'` back into an integer, so without a range check on
/// `y` a Sqrt → Div(1) model proves 17 where the honest output is 16, and Rsqrt → Mul shifts the
/// product by `x / 2`. The fault builds exactly that witness, with leaves and root recomputed
/// over the forged outputs (what a cheating prover publishes); the circuit must reject it.
#[test]
fn root_halving_has_one_witness() {
    let sf = 64;
    let two_layers = |inputs: Vec<(u32, Vec<usize>)>, first: LayerKind, second: LayerKind, operands| {
        Graph::new(
            sf,
            inputs,
            vec![101],
            BTreeMap::new(),
            vec![
                Layer { index: 0, kind: first, inputs: vec![0], outputs: vec![100] },
                Layer { index: 1, kind: second, inputs: operands, outputs: vec![101] },
            ],
        )
        .unwrap()
    };
    // Sqrt(4) at sf 64: m = ⌊√(4·64·4)⌋ = 32 is even, so e = 1 and y = 16; e' = 0 gives y' = 16.5
    let sqrt_div = two_layers(
        vec![(0, vec![3])],
        LayerKind::Sqrt { mask: vec![] },
        LayerKind::Div { divisor: 1 },
        vec![100],
    );
    let inp = ModelInput { tensors: [(0, vec![4, 100, 2500])].into_iter().collect() };
    // Rsqrt(64) at sf 64: m = ⌊√(4·64³ / 64)⌋ = 128 is even, so y = 64 and y' = 64.5; times
    // x = 64000 the product is 500 ulps off
    let rsqrt_mul = two_layers(
        vec![(0, vec![3]), (1, vec![3])],
        LayerKind::Rsqrt { mask: vec![] },
        LayerKind::Mul,
        vec![1, 100],
    );
    let inp2 =
        ModelInput { tensors: [(0, vec![64, 200, 3000]), (1, vec![64000, -640, 77])].into_iter().collect() };
    for (g, inp, shift, what) in
        [(sqrt_div, inp, 1, "sqrt -> div(1)"), (rsqrt_mul, inp2, 500, "rsqrt -> mul")]
    {
        for params in [FAST, NARROW, GENERIC] {
            let mut p = Prepared::new(g.clone(), &inp, 1).unwrap();
            let honest = build(&p, params);
            mock_verify(&honest, honest.instances.clone()).unwrap_or_else(|e| panic!("{what} honest: {e}"));
            let forge = |p: &Prepared| {
                fault::inject(Site::RootParity, 0);
                let c = build(p, params);
                assert!(!fault::armed(), "{what}: the fault never fired");
                fault::clear();
                c
            };
            // the forged witness is the attack: the layer after the root computes another output
            let forged = forge(&p);
            assert_eq!(forged.output_values[0], honest.output_values[0] + shift, "{what} ({params:?})");
            assert_eq!(forged.output_values[1..], honest.output_values[1..], "{what} ({params:?})");
            // commit to the forged output, as a cheating prover would
            let mut trace = p.trace.clone();
            trace.values.insert(101, forged.output_values.clone());
            p.linkage = Linkage::with_salts(&p.plan, &trace, p.linkage.salts.clone()).unwrap();
            let forged = forge(&p);
            assert!(
                mock_verify(&forged, forged.instances.clone()).is_err(),
                "{what}: the other halving bit was accepted ({params:?})"
            );
        }
    }
}

#[test]
fn batch_mat_mul_and_mean() {
    let sf = 64;
    for adj_y in [false, true] {
        let b_shape: &[usize] = if adj_y { &[2, 4, 3] } else { &[2, 3, 4] };
        let g = model(sf, &[&[2, 2, 3], b_shape], LayerKind::BatchMatMul { adj_y }, vec![], 1);
        let inp = inputs(&g, -200, 200);
        check_float(
            &g,
            &inp,
            0.5,
            |x| {
                let mut out = vec![];
                for t in 0..2 {
                    for i in 0..2 {
                        for j in 0..4 {
                            out.push(
                                (0..3)
                                    .map(|l| {
                                        let b = if adj_y {
                                            x[1][(t * 4 + j) * 3 + l]
                                        } else {
                                            x[1][(t * 3 + l) * 4 + j]
                                        };
                                        x[0][(t * 2 + i) * 3 + l] * b
                                    })
                                    .sum(),
                            );
                        }
                    }
                }
                out
            },
            "bmm",
        );
        battery_with(g, inp, &[Site::Quotient, Site::Sign], false, &format!("batch matmul adj_y={adj_y}"));
    }
    let g = model(sf, &[&[1, 3, 4, 5]], LayerKind::Mean { axes: vec![1, 2], keep_dims: false }, vec![], 1);
    let inp = inputs(&g, -400, 400);
    check_float(
        &g,
        &inp,
        0.5,
        |x| (0..5).map(|c| (0..12).map(|i| x[0][i * 5 + c]).sum::<f64>() / 12.0).collect(),
        "mean",
    );
    battery_with(g, inp, &[Site::Quotient, Site::Sign, Site::Dot], false, "mean");
}

fn table_reference(func: NonLinear, v: f64) -> f64 {
    match func {
        NonLinear::Logistic => 1.0 / (1.0 + (-v).exp()),
        NonLinear::Tanh => v.tanh(),
        NonLinear::Exp => v.min(0.0).exp(),
    }
}

#[test]
fn table_functions() {
    // sf = 256: the table sees x itself; sf = 4096: x / 2 (one more rounding, ≤ ½·max|f'|·2/sf)
    for (sf, extra, funcs) in
        [(256u64, 0.0, vec![NonLinear::Tanh, NonLinear::Logistic]), (4096, 0.5, vec![NonLinear::Logistic])]
    {
        for (n, func) in funcs.into_iter().enumerate() {
            let g = model(sf, &[&[10]], LayerKind::Pointwise { func }, vec![], 1);
            let inp = inputs(&g, -(8 * sf as i64), 8 * sf as i64);
            check_float(
                &g,
                &inp,
                0.5 + extra,
                |x| x[0].iter().map(|v| table_reference(func, *v)).collect(),
                "table",
            );
            let mut sites = vec![Site::Table, Site::Sign, Site::Clamp];
            if sf > 2048 {
                sites.push(Site::Quotient);
            }
            if n == 0 {
                battery_on(g, inp, &sites, true, &[FAST], &format!("{func:?} sf={sf}"));
            }
        }
    }
    // inputs beyond the table saturate (here ±2^20 at sf = 256 is ±4096)
    let g = model(256, &[&[2]], LayerKind::Pointwise { func: NonLinear::Tanh }, vec![], 1);
    let inp = ModelInput { tensors: [(0, vec![1 << 20, -(1 << 20)])].into_iter().collect() };
    assert_eq!(run(&g, &inp).unwrap().outputs(&g), vec![256, -256]);
}

#[test]
fn softmax_with_and_without_mask() {
    let sf = 256;
    let g = model(sf, &[&[2, 5]], LayerKind::Softmax { mask: vec![], mask_shape: vec![] }, vec![], 1);
    let inp = inputs(&g, -900, 900);
    let soft = |row: &[f64], live: &[bool]| -> Vec<f64> {
        let m = row.iter().zip(live).filter(|(_, l)| **l).map(|(v, _)| *v).fold(f64::MIN, f64::max);
        let s: f64 = row.iter().zip(live).filter(|(_, l)| **l).map(|(v, _)| (v - m).exp()).sum();
        row.iter().zip(live).map(|(v, l)| if *l { (v - m).exp() / s } else { 0.0 }).collect()
    };
    // documented bound: (n/2 + 1) ulp for a row of n
    check_float(&g, &inp, 3.5, |x| x[0].chunks(5).flat_map(|r| soft(r, &[true; 5])).collect(), "softmax");
    battery_on(
        g,
        inp,
        &[Site::Table, Site::DivVar, Site::Sign, Site::Clamp, Site::Max],
        true,
        &[FAST],
        "softmax",
    );
    let mask = vec![false, true, false, false, true];
    let live: Vec<bool> = mask.iter().map(|m| !m).collect();
    let g = model(sf, &[&[2, 5]], LayerKind::Softmax { mask, mask_shape: vec![5] }, vec![], 1);
    let inp = inputs(&g, -900, 900);
    check_float(&g, &inp, 3.5, |x| x[0].chunks(5).flat_map(|r| soft(r, &live)).collect(), "masked softmax");
    battery_on(g, inp, &[Site::Table, Site::DivVar, Site::Max], true, &[FAST], "masked softmax");
}

#[test]
fn data_movement_is_exact_and_bound_to_the_output_commitment() {
    let x: &[usize] = &[1, 2, 3, 2];
    let cases: Vec<(LayerKind, Vec<&[usize]>, usize)> = vec![
        (LayerKind::Noop, vec![x], 1),
        (LayerKind::Reshape { shape: vec![3, 4] }, vec![x], 1),
        (LayerKind::Transpose { perm: vec![0, 3, 1, 2] }, vec![x], 1),
        (LayerKind::Concatenation { axis: 2 }, vec![x, &[1, 2, 1, 2]], 1),
        (LayerKind::Pack { axis: 1 }, vec![x, x], 1),
        (LayerKind::Split { axis: 2, parts: 3 }, vec![x], 3),
        (LayerKind::Slice { begin: vec![0, 1, 1, 0], size: vec![1, 1, 2, 2] }, vec![x], 1),
        (LayerKind::Pad { pads: vec![(0, 0), (1, 1), (0, 2), (0, 0)] }, vec![x], 1),
        (LayerKind::ResizeNearestNeighbor { size: (4, 6) }, vec![x], 1),
        (LayerKind::Broadcast { shape: vec![2, 2, 3, 2] }, vec![x], 1),
        (LayerKind::Rotate { axes: vec![1, 2] }, vec![x], 1),
        (LayerKind::MaskNegInf { mask: vec![true, false], mask_shape: vec![2] }, vec![x], 1),
    ];
    for (kind, shapes, outs) in cases {
        let name = kind.name();
        let g = model(64, &shapes, kind, vec![], outs);
        let inp = inputs(&g, -100, 100);
        let out = run(&g, &inp).unwrap().outputs(&g);
        // every output is an input value, 0 (padding) or MASKED: nothing is computed
        let all: Vec<i64> = inp.tensors.values().flatten().copied().collect();
        assert!(out.iter().all(|v| all.contains(v) || *v == 0 || *v == MASKED), "{name}");
        // the linkage gadgets themselves are exercised on both paths in tests/soundness.rs
        battery_on(g, inp, &[], false, &[GENERIC], name);
    }
}
