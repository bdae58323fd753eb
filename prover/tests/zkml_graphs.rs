//! zkml constructs as zkml's converter writes them, one small model each, read through the
//! msgpack loader: accepted, the interpreter equal to an exact integer reference written here,
//! and (for layers with constraints) the MockProver battery. Bad files give typed errors naming
//! the layer and the construct.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

mod common;

use std::path::Path;

use chunkproof_prover::fault::Site;
use chunkproof_prover::fixed::{div_round, rsqrt_round};
use chunkproof_prover::interpret::run;
use chunkproof_prover::model::{parse_model, Graph, LayerKind, ModelInput};
use chunkproof_prover::testing::{values, Prepared};
use chunkproof_prover::ProverError;
use common::*;
use serde_json::{json, Value};

const SF: i64 = 64;

fn file(inputs: &[u32], outputs: &[u32], tensors: Value, layers: Value) -> Vec<u8> {
    rmp_serde::to_vec_named(&json!({
        "global_sf": SF, "k": 20, "num_cols": 6, "inp_idxes": inputs, "out_idxes": outputs,
        "tensors": tensors, "layers": layers,
    }))
    .unwrap()
}

fn layer(kind: &str, params: Value, ins: Value, in_shapes: Value, outs: Value, out_shapes: Value) -> Value {
    json!({"layer_type": kind, "params": params, "inp_idxes": ins, "inp_shapes": in_shapes,
           "out_idxes": outs, "out_shapes": out_shapes, "mask": []})
}

fn parse(bytes: &[u8]) -> Result<Graph, ProverError> {
    parse_model(bytes, Path::new("test.msgpack"))
}

/// Values for every model input (seeded by id).
fn inputs(g: &Graph, lo: i64, hi: i64) -> ModelInput {
    ModelInput {
        tensors: g.inputs.iter().map(|id| (*id, values(g.numel(*id), 5 + *id as i64, lo, hi))).collect(),
    }
}

fn rhu(a: i128, d: i64) -> i128 {
    div_round(a, d as u64).0
}

fn outputs(g: &Graph, inp: &ModelInput) -> Vec<i64> {
    run(g, inp).unwrap().outputs(g)
}

#[test]
fn binary_layers_broadcast_both_operands() {
    // LayerNorm's `[1, T, 1] × [D]` and the causal mask's `[1, H, T, T] × [1, 1, T, T]`.
    for (a, b, out) in [
        (vec![1, 4, 1], vec![3], vec![1, 4, 3]),
        (vec![1, 2, 3, 3], vec![1, 1, 3, 3], vec![1, 2, 3, 3]),
        (vec![3, 1], vec![1, 2], vec![3, 2]),
    ] {
        for kind in ["Mul", "Add", "Sub", "SquaredDifference"] {
            let m = file(
                &[0, 1],
                &[9],
                json!([]),
                json!([layer(kind, json!([]), json!([0, 1]), json!([a, b]), json!([9]), json!([out]))]),
            );
            let g = parse(&m).unwrap_or_else(|e| panic!("{kind} {a:?} {b:?}: {e}"));
            assert_eq!(g.shape(9), out.as_slice());
            let inp = inputs(&g, -300, 300);
            let (xa, xb) = (&inp.tensors[&0], &inp.tensors[&1]);
            // numpy's rule, written out for rank-aligned coordinates
            let r = out.len();
            let pad = |s: &[usize]| [vec![1; r - s.len()], s.to_vec()].concat();
            let (pa, pb) = (pad(&a), pad(&b));
            let at = |s: &[usize], c: &[usize]| {
                c.iter().zip(s).fold(0, |acc, (ci, n)| acc * n + if *n == 1 { 0 } else { *ci })
            };
            let n: usize = out.iter().product();
            let want: Vec<i64> = (0..n)
                .map(|i| {
                    let mut c = vec![0; r];
                    let mut rest = i;
                    for d in (0..r).rev() {
                        c[d] = rest % out[d];
                        rest /= out[d];
                    }
                    let (u, v) = (xa[at(&pa, &c)] as i128, xb[at(&pb, &c)] as i128);
                    (match kind {
                        "Mul" => rhu(u * v, SF),
                        "Add" => u + v,
                        "Sub" => u - v,
                        _ => rhu((u - v) * (u - v), SF),
                    }) as i64
                })
                .collect();
            assert_eq!(outputs(&g, &inp), want, "{kind} {a:?} {b:?}");
        }
    }
}

#[test]
fn broadcast_products_of_two_activations_are_sound() {
    let m = file(
        &[0, 1],
        &[9],
        json!([]),
        json!([layer(
            "Mul",
            json!([]),
            json!([0, 1]),
            json!([[1, 4, 1], [3]]),
            json!([9]),
            json!([[1, 4, 3]])
        )]),
    );
    let g = parse(&m).unwrap();
    let inp = inputs(&g, -300, 300);
    battery(g, inp, &[Site::Quotient], "broadcast Mul");
}

#[test]
fn declared_output_shapes_reshape_when_counts_agree() {
    // zkml's Twitter model: Mean over axis 1 of [1, 1024, 1] declared [1]; here of [1, 8, 4],
    // which gives [1, 4], declared [4].
    let mean = layer("Mean", json!([1]), json!([0, 3]), json!([[1, 8, 4], [1]]), json!([9]), json!([[4]]));
    let m = file(&[0], &[9], json!([{"idx": 3, "shape": [1], "data": [1]}]), json!([mean]));
    let g = parse(&m).unwrap();
    assert_eq!(g.shape(9), &[4]);
    assert_eq!(g.produced_shape(9), &[1, 4]);
    let inp = inputs(&g, -500, 500);
    let x = &inp.tensors[&0];
    let want: Vec<i64> = (0..4).map(|c| rhu((0..8).map(|r| x[r * 4 + c] as i128).sum(), 8) as i64).collect();
    assert_eq!(outputs(&g, &inp), want);
    battery(g, inp, &[Site::Quotient], "Mean declared [4]");

    // Another element count is refused, naming the layer and both shapes.
    let bad = layer("Mean", json!([1]), json!([0, 3]), json!([[1, 8, 4], [1]]), json!([9]), json!([[2]]));
    let e =
        parse(&file(&[0], &[9], json!([{"idx": 3, "shape": [1], "data": [1]}]), json!([bad]))).unwrap_err();
    assert!(matches!(e, ProverError::InvalidLayer { layer: 0, .. }), "{e}");
    assert!(e.to_string().contains("[[2]]") && e.to_string().contains("element count"), "{e}");
}

/// `[rows, o]` of `x·wᵀ + b` rounded as zkml does (`rhu(acc / sf) + b`).
fn dense_ref(x: &[i64], w: &[i64], b: &[i64], k: usize) -> Vec<i64> {
    let (rows, o) = (x.len() / k, w.len() / k);
    let mut out = vec![];
    for r in 0..rows {
        for f in 0..o {
            let acc: i128 = (0..k).map(|j| x[r * k + j] as i128 * w[f * k + j] as i128).sum();
            out.push((rhu(acc, SF) + b[f] as i128) as i64);
        }
    }
    out
}

#[test]
fn fully_connected_on_three_dimensional_inputs() {
    let (k, o) = (6, 5);
    let w = values(o * k, 11, -60, 60);
    let b = values(o, 12, -40, 40);
    let fc = layer(
        "FullyConnected",
        json!([0]),
        json!([0, 1, 2]),
        json!([[1, 4, k], [o, k], [o]]),
        json!([9]),
        json!([[4, o]]),
    );
    let m = file(
        &[0],
        &[9],
        json!([{"idx": 1, "shape": [o, k], "data": w}, {"idx": 2, "shape": [o], "data": b}]),
        json!([fc]),
    );
    let g = parse(&m).unwrap();
    assert_eq!(g.shape(9), &[4, o]);
    let inp = inputs(&g, -200, 200);
    assert_eq!(outputs(&g, &inp), dense_ref(&inp.tensors[&0], &w, &b, k));
    battery(g, inp, &[Site::Quotient, Site::Dot], "FullyConnected [1, 4, K]");
}

#[test]
fn fully_connected_with_activation_weights() {
    // Attention scores as zkml's converter writes them: FullyConnected(Q, K) = Q·Kᵀ, with and
    // without a (constant) bias; products are computed or checked, as the cost model decides.
    let mut seen = [false; 2];
    for (rows, k, o, bias) in [(5, 4, 2, true), (2, 2, 2, false), (16, 16, 16, false)] {
        let b = values(o, 13, -30, 30);
        let (ins, shapes, tensors) = if bias {
            (json!([0, 1, 2]), json!([[rows, k], [o, k], [o]]), json!([{"idx": 2, "shape": [o], "data": b}]))
        } else {
            (json!([0, 1]), json!([[rows, k], [o, k]]), json!([]))
        };
        let fc = layer("FullyConnected", json!([0]), ins, shapes, json!([9]), json!([[rows, o]]));
        let g = parse(&file(&[0, 1], &[9], tensors, json!([fc]))).unwrap();
        let inp = inputs(&g, -200, 200);
        let b = if bias { b.clone() } else { vec![0; o] };
        assert_eq!(outputs(&g, &inp), dense_ref(&inp.tensors[&0], &inp.tensors[&1], &b, k), "{rows}x{k}x{o}");
        let p = Prepared::new(g.clone(), &inp, 1).unwrap();
        let checked = build(&p, FAST).stats.product_rows > 0;
        seen[usize::from(checked)] = true;
        if checked {
            battery_on(g, inp, &PRODUCT, false, &[FAST], "FullyConnected Q·Kᵀ checked");
        } else {
            battery(g, inp, &[Site::Quotient], "FullyConnected Q·Kᵀ");
        }
    }
    assert_eq!(seen, [true, true], "both ways of handling the product are exercised");
}

#[test]
fn shape_plumbing_is_folded_away() {
    // CLIP's pattern: SHAPE and STRIDED_SLICE (both Noop in zkml's converter) of an activation,
    // a Pack of the scalars, and a Reshape whose shape input is that vector.
    let layers = json!([
        layer("Noop", json!([0]), json!([0]), json!([[1, 6, 4]]), json!([10]), json!([[3]])),
        layer("Noop", json!([0]), json!([10]), json!([[3]]), json!([11]), json!([[]])),
        layer("Noop", json!([0]), json!([10]), json!([[3]]), json!([12]), json!([[]])),
        layer("Pack", json!([0]), json!([11, 12]), json!([[], []]), json!([13]), json!([[2]])),
        layer("Reshape", json!([]), json!([0, 13]), json!([[1, 6, 4], [2]]), json!([14]), json!([[6, 4]])),
        layer("Square", json!([]), json!([14]), json!([[6, 4]]), json!([15]), json!([[6, 4]])),
    ]);
    let g = parse(&file(&[0], &[15], json!([]), layers.clone())).unwrap();
    let kinds: Vec<&str> = g.layers.iter().map(|l| l.kind.name()).collect();
    assert_eq!(kinds, ["Reshape", "Square"]);
    assert_eq!(g.layers.iter().map(|l| l.index).collect::<Vec<_>>(), [4, 5], "zkml's layer numbers kept");
    assert_eq!(g.folded, [0, 1, 2, 3]);
    let inp = inputs(&g, -100, 100);
    let want: Vec<i64> = inp.tensors[&0].iter().map(|v| rhu(*v as i128 * *v as i128, SF) as i64).collect();
    assert_eq!(outputs(&g, &inp), want);

    // Arithmetic on a run-time shape vector is refused, naming the layer and the construct.
    let mut bad = layers.as_array().unwrap()[..4].to_vec();
    bad.push(layer("Square", json!([]), json!([13]), json!([[2]]), json!([15]), json!([[2]])));
    let e = parse(&file(&[0], &[15], json!([]), json!(bad))).unwrap_err();
    assert!(
        matches!(&e, ProverError::Unsupported { layer: 4, kind, construct } if kind == "Square" && construct.contains("SHAPE")),
        "{e}"
    );
    // So is a model output that is a shape vector.
    let e =
        parse(&file(&[0], &[13], json!([]), json!(layers.as_array().unwrap()[..4].to_vec()))).unwrap_err();
    assert!(matches!(e, ProverError::InvalidModel { .. }) && e.to_string().contains("shape vector"), "{e}");
}

#[test]
fn data_movement_on_constants_is_folded() {
    // Weights written transposed, with a Transpose before the dense layer that reads them.
    let (k, o) = (3, 2);
    let wt = values(k * o, 21, -50, 50); // [k, o]
    let layers = json!([
        layer("Transpose", json!([k, o, 1, 0]), json!([1]), json!([[k, o]]), json!([5]), json!([[o, k]])),
        layer(
            "FullyConnected",
            json!([0]),
            json!([0, 5]),
            json!([[2, k], [o, k]]),
            json!([9]),
            json!([[2, o]])
        ),
    ]);
    let g = parse(&file(&[0], &[9], json!([{"idx": 1, "shape": [k, o], "data": wt}]), layers)).unwrap();
    assert_eq!(g.layers.len(), 1);
    assert!(g.is_constant(5));
    let w: Vec<i64> = (0..o).flat_map(|f| (0..k).map(move |j| (f, j))).map(|(f, j)| wt[j * o + f]).collect();
    let inp = inputs(&g, -100, 100);
    assert_eq!(outputs(&g, &inp), dense_ref(&inp.tensors[&0], &w, &[0, 0], k));
}

#[test]
fn rsqrt_and_sqrt_masks_read_zkml_constants() {
    // zkml's k = 20 here: mask value 1 reads max_val = 2^19 − 10, −1 reads min_val (output 0).
    let max_val = (1i128 << 19) - 10;
    for kind in ["Rsqrt", "Sqrt"] {
        let mut l = layer(kind, json!([]), json!([0]), json!([[1, 6]]), json!([9]), json!([[1, 6]]));
        l["mask"] = json!([4, -1, 0, 1]);
        let g = parse(&file(&[0], &[9], json!([]), json!([l]))).unwrap();
        let inp = inputs(&g, 1, 5000);
        let root = |x: i128| {
            if kind == "Rsqrt" {
                rsqrt_round(x, SF as u64)
            } else {
                chunkproof_prover::fixed::sqrt_round(x * SF as i128)
            }
        };
        let want: Vec<i64> = inp.tensors[&0]
            .iter()
            .enumerate()
            .map(|(i, x)| match i {
                0 => root(max_val),
                4 => 0,
                _ => root(*x as i128),
            } as i64)
            .collect();
        assert_eq!(outputs(&g, &inp), want, "{kind}");
        assert!(
            matches!(&g.layers[0].kind, LayerKind::Rsqrt { mask } | LayerKind::Sqrt { mask } if mask.len() == 2)
        );
        battery_on(g, inp, &[], false, &[FAST], kind);
    }
    // Mask values zkml does not know, positions outside the input, and a file without `k`.
    for (mask, needle) in [(json!([0, 2]), "mask value 2"), (json!([6, 1]), "outside"), (json!([0]), "pairs")]
    {
        let mut l = layer("Rsqrt", json!([]), json!([0]), json!([[1, 6]]), json!([9]), json!([[1, 6]]));
        l["mask"] = mask;
        let e = parse(&file(&[0], &[9], json!([]), json!([l]))).unwrap_err();
        assert!(
            matches!(e, ProverError::InvalidLayer { layer: 0, .. }) && e.to_string().contains(needle),
            "{e}"
        );
    }
    let mut l = layer("Rsqrt", json!([]), json!([0]), json!([[1, 6]]), json!([9]), json!([[1, 6]]));
    l["mask"] = json!([0, 1]);
    let no_k = rmp_serde::to_vec_named(&json!({
        "global_sf": SF, "inp_idxes": [0], "out_idxes": [9], "tensors": [], "layers": [l],
    }))
    .unwrap();
    let e = parse(&no_k).unwrap_err();
    assert!(e.to_string().contains("`k`"), "{e}");
}

#[test]
fn bad_files_name_the_layer_and_the_construct() {
    // An unknown layer type: not supported (the file may be fine for zkml).
    let g = layer("Gather", json!([]), json!([0, 1]), json!([[4], [2]]), json!([9]), json!([[2]]));
    let e =
        parse(&file(&[0], &[9], json!([{"idx": 1, "shape": [2], "data": [0, 1]}]), json!([g]))).unwrap_err();
    assert!(matches!(&e, ProverError::Unsupported { layer: 0, kind, .. } if kind == "Gather"), "{e}");
    // A dangling tensor.
    let sq = layer("Square", json!([]), json!([7]), json!([[4]]), json!([9]), json!([[4]]));
    let e =
        parse(&file(&[0], &[9], json!([{"idx": 1, "shape": [2], "data": [0, 1]}]), json!([sq]))).unwrap_err();
    assert!(
        matches!(e, ProverError::InvalidLayer { layer: 0, .. }) && e.to_string().contains("tensor 7"),
        "{e}"
    );
    // Weight-less configs: tensors without data, or no tensors listed at all.
    let fc = layer(
        "FullyConnected",
        json!([0]),
        json!([0, 1]),
        json!([[1, 4], [2, 4]]),
        json!([9]),
        json!([[1, 2]]),
    );
    let e = parse(&file(&[0], &[9], json!([{"idx": 1, "shape": [2, 4], "data": []}]), json!([fc.clone()])))
        .unwrap_err();
    assert!(matches!(e, ProverError::Weightless { .. }) && e.to_string().contains("tensor 1"), "{e}");
    let e = parse(&file(&[0], &[9], json!([]), json!([fc]))).unwrap_err();
    assert!(
        matches!(e, ProverError::Weightless { .. }) && e.to_string().contains("layer 0 (FullyConnected)"),
        "{e}"
    );
}

#[test]
fn folded_layers_in_the_middle_keep_chunk_boundaries_right() {
    // Shape plumbing between computing layers: zkml's numbers skip it, positions do not.
    let layers = json!([
        layer("Square", json!([]), json!([0]), json!([[1, 6, 4]]), json!([10]), json!([[1, 6, 4]])),
        layer("Noop", json!([0]), json!([10]), json!([[1, 6, 4]]), json!([11]), json!([[3]])),
        layer("Pack", json!([0]), json!([11, 11]), json!([[3], [3]]), json!([12]), json!([[2, 3]])),
        layer(
            "Reshape",
            json!([]),
            json!([10, 12]),
            json!([[1, 6, 4], [2, 3]]),
            json!([13]),
            json!([[6, 4]])
        ),
        layer("Square", json!([]), json!([13]), json!([[6, 4]]), json!([14]), json!([[6, 4]])),
        layer(
            "Add",
            json!([0]),
            json!([14, 10]),
            json!([[6, 4], [1, 6, 4]]),
            json!([15]),
            json!([[1, 6, 4]])
        ),
        layer("Square", json!([]), json!([15]), json!([[1, 6, 4]]), json!([16]), json!([[1, 6, 4]])),
    ]);
    let g = parse(&file(&[0], &[16], json!([]), layers)).unwrap();
    assert_eq!(g.folded, [1, 2]);
    let inp = inputs(&g, -60, 60);
    let p = Prepared::new(g, &inp, 3).unwrap();
    for i in 0..3 {
        let c = p.mock_circuit_with(i, NARROW).unwrap();
        chunkproof_prover::testing::mock_verify(&c, c.instances.clone())
            .unwrap_or_else(|e| panic!("chunk {i}: {e}"));
    }
    assert_eq!(p.linkage.values.last().unwrap(), &p.trace.outputs(&p.graph));
}
