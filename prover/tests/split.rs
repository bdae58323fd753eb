//! Layers cut into parts: every split kind on a one-layer model with 2–5 parts gives the
//! unsplit layer's values, and its chunks (one or more parts each, slices crossing the
//! boundaries) pass the MockProver; slices tampered with at a boundary are rejected.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

mod common;

use std::collections::BTreeMap;

use chunkproof_prover::interpret::run;
use chunkproof_prover::model::{Activation, Graph, Layer, LayerKind, ModelInput, NonLinear, Padding, Tensor};
use chunkproof_prover::plan::split::{apply, fusable};
use chunkproof_prover::plan::{chunk_rows, plan_request, PlanRequest, Planned, Split};
use chunkproof_prover::testing::{mock_verify, tensor, values, Prepared};
use common::*;

/// A one-layer model over activation inputs `0, 1, …` of `shapes` and constants (ids from 50).
fn model(sf: u64, shapes: &[&[usize]], kind: LayerKind, consts: Vec<Tensor>) -> Graph {
    let mut inputs: Vec<u32> = (0..shapes.len() as u32).collect();
    let mut constants = BTreeMap::new();
    for (i, t) in consts.into_iter().enumerate() {
        constants.insert(50 + i as u32, t);
        inputs.push(50 + i as u32);
    }
    let layers = vec![Layer { index: 0, kind, inputs, outputs: vec![100] }];
    let ins = shapes.iter().enumerate().map(|(i, s)| (i as u32, s.to_vec())).collect();
    Graph::new(sf, ins, vec![100], constants, layers).expect("valid test model")
}

fn inputs(g: &Graph, lo: i64, hi: i64) -> ModelInput {
    ModelInput {
        tensors: g.inputs.iter().map(|id| (*id, values(g.numel(*id), 3 + *id as i64, lo, hi))).collect(),
    }
}

/// Splits layer 0 of `g` into `parts`, checks the values, plans `chunks` chunks over the parts
/// (slices cross the cuts) and mock-proves every chunk on `params`.
fn check(
    g: &Graph,
    inp: &ModelInput,
    parts: usize,
    chunks: usize,
    params: chunkproof_core::shape::ChunkCircuitParams,
    what: &str,
) {
    let whole = run(g, inp).unwrap().outputs(g);
    let s = apply(g, &[Split { layer: 0, parts, fused: 0 }]).unwrap();
    let part_layers = s.origin.iter().filter(|(_, p)| p.is_some()).count();
    assert_eq!(part_layers, parts, "{what}: {parts} part layers");
    assert_eq!(run(&s.graph, inp).unwrap().outputs(&s.graph), whole, "{what}: split values differ");
    let p = Prepared::new(s.graph.clone(), inp, chunks).unwrap_or_else(|e| panic!("{what}: {e}"));
    // slices of the output cross at least one cut
    assert!(
        p.plan.leaves[1..chunks].iter().any(|set| set.iter().any(|id| !g.shapes.contains_key(id))),
        "{what}: no slice crosses a cut"
    );
    for i in 0..chunks {
        let c = p.mock_circuit_with(i, params).unwrap_or_else(|e| panic!("{what} chunk {i}: {e}"));
        mock_verify(&c, c.instances.clone()).unwrap_or_else(|e| panic!("{what} chunk {i}: {e}"));
    }
}

#[test]
fn convolutions_split_by_output_channels() {
    let sf = 64;
    let w = tensor(&[5, 3, 3, 2], values(90, 1, -60, 60));
    let b = tensor(&[5], values(5, 2, -20, 20));
    let g = model(
        sf,
        &[&[1, 6, 6, 2]],
        LayerKind::Conv2D { padding: Padding::Same, activation: Activation::Relu6, stride: (1, 1) },
        vec![w, b],
    );
    let inp = inputs(&g, -200, 200);
    for parts in [2, 5] {
        check(&g, &inp, parts, 2, NARROW, "Conv2D");
    }
    let w = tensor(&[1, 3, 3, 4], values(36, 3, -60, 60));
    let b = tensor(&[4], values(4, 4, -20, 20));
    let g = model(
        sf,
        &[&[1, 5, 5, 4]],
        LayerKind::DepthwiseConv2D { padding: Padding::Valid, activation: Activation::Relu, stride: (1, 1) },
        vec![w, b],
    );
    let inp = inputs(&g, -200, 200);
    check(&g, &inp, 3, 3, NARROW, "DepthwiseConv2D");
}

#[test]
fn dense_layers_split_by_outputs() {
    let sf = 64;
    let w = tensor(&[6, 8], values(48, 5, -60, 60));
    let b = tensor(&[6], values(6, 6, -20, 20));
    let g = model(sf, &[&[2, 8]], LayerKind::FullyConnected { activation: Activation::Relu }, vec![w, b]);
    let inp = inputs(&g, -200, 200);
    check(&g, &inp, 4, 2, NARROW, "FullyConnected");
    // activation weights (attention's Q·Kᵀ)
    let g =
        model(sf, &[&[3, 4], &[5, 4]], LayerKind::FullyConnected { activation: Activation::None }, vec![]);
    let inp = inputs(&g, -200, 200);
    check(&g, &inp, 5, 2, NARROW, "FullyConnected on activations");
}

#[test]
fn pooling_splits_by_output_rows() {
    for kind in [
        LayerKind::AveragePool2D { window: (2, 2), stride: (2, 2) },
        LayerKind::MaxPool2D { window: (3, 3), stride: (1, 1) },
    ] {
        let g = model(64, &[&[1, 6, 6, 2]], kind.clone(), vec![]);
        let inp = inputs(&g, -200, 200);
        check(&g, &inp, 3, 2, NARROW, kind.name());
    }
}

#[test]
fn softmax_splits_by_rows_with_its_mask() {
    let mask: Vec<bool> = (0..16).map(|i| i % 4 > i / 4).collect();
    let g = model(256, &[&[4, 4]], LayerKind::Softmax { mask, mask_shape: vec![4, 4] }, vec![]);
    let inp = inputs(&g, -300, 300);
    check(&g, &inp, 4, 2, FAST, "Softmax");
}

#[test]
fn elementwise_layers_split_by_element_ranges() {
    let sf = 64;
    let g = model(sf, &[&[1, 4, 3], &[3]], LayerKind::Mul, vec![]);
    let inp = inputs(&g, -200, 200);
    check(&g, &inp, 5, 3, NARROW, "Mul broadcast");
    let g = model(
        sf,
        &[&[2, 6]],
        LayerKind::Add { activation: Activation::Relu },
        vec![tensor(&[6], values(6, 9, -50, 50))],
    );
    let inp = inputs(&g, -200, 200);
    check(&g, &inp, 2, 2, NARROW, "Add constant");
    let g = model(256, &[&[2, 5]], LayerKind::Pointwise { func: NonLinear::Tanh }, vec![]);
    let inp = inputs(&g, -600, 600);
    check(&g, &inp, 3, 2, FAST, "Tanh");
    let g = model(sf, &[&[6], &[1]], LayerKind::DivVar, vec![]);
    let mut inp = inputs(&g, -200, 200);
    inp.tensors.insert(1, vec![37]);
    check(&g, &inp, 3, 2, NARROW, "DivVar");
}

/// Slices a chunk reads, tampered with: a part's slice swapped with another part's, one
/// duplicated in place of another, one dropped. Covered for slices in one leaf and in two leaves
/// written by different chunks (a chunk reading a leaf its predecessor did not write).
#[test]
fn tampered_slices_at_a_boundary_are_rejected() {
    // Conv2D in 8 parts over 2–4 chunks: the parts' slices cross the cuts to the concatenation.
    let w = tensor(&[8, 3, 3, 2], values(144, 1, -60, 60));
    let b = tensor(&[8], values(8, 2, -20, 20));
    let g = model(
        64,
        &[&[1, 5, 5, 2]],
        LayerKind::Conv2D { padding: Padding::Same, activation: Activation::None, stride: (1, 1) },
        vec![w, b],
    );
    let inp = inputs(&g, -200, 200);
    let s = apply(&g, &[Split { layer: 0, parts: 8, fused: 0 }]).unwrap();
    let is_slice = |id: &u32| !g.shapes.contains_key(id);
    let (mut one_leaf, mut two_leaves) = (false, false);
    // the planner's cuts, and cuts that put several parts in one leaf read by a later chunk
    let plans = (2..=4).map(|n| Prepared::new(s.graph.clone(), &inp, n).unwrap());
    let l = s.graph.layers.len();
    let cut = [vec![0, 3, l], vec![0, 2, 4, l], vec![0, 3, 6, l - 1, l]];
    for p in plans.chain(cut.into_iter().map(|c| Prepared::with_cuts(s.graph.clone(), &inp, c).unwrap())) {
        let n = p.plan.num_chunks();
        for c in 1..n {
            let (spec, honest) = p.chunk(c);
            let ids = spec.inputs();
            let lens: Vec<usize> = ids.iter().map(|id| s.graph.numel(*id)).collect();
            let leaf_of = |t: usize| spec.reads.iter().position(|r| r.tensors.contains(&ids[t])).unwrap();
            let slices: Vec<usize> = (0..ids.len()).filter(|t| is_slice(&ids[*t])).collect();
            let pairs =
                || slices.iter().flat_map(|a| slices.iter().filter(move |b| *b > a).map(move |b| (*a, *b)));
            let same = pairs().find(|(a, b)| leaf_of(*a) == leaf_of(*b));
            let apart = pairs().find(|(a, b)| leaf_of(*a) != leaf_of(*b));
            for (a, b) in same.into_iter().chain(apart) {
                let what = format!(
                    "cuts {:?}, chunk {c} reading leaves {:?}, slices {a} and {b}",
                    p.plan.cuts, p.plan.reads[c]
                );
                tamper(&p, c, &spec, &honest, &lens, a, b, &what);
            }
            one_leaf |= same.is_some();
            two_leaves |= apart.is_some();
        }
    }
    assert!(
        one_leaf && two_leaves,
        "slices in one leaf ({one_leaf}) and across leaves ({two_leaves}) covered"
    );
}

/// Swaps, duplicates and drops the slices at input positions `a` and `b` of chunk `c`.
#[allow(clippy::too_many_arguments)]
fn tamper(
    p: &Prepared,
    c: usize,
    spec: &chunkproof_prover::circuit::ChunkSpec,
    honest: &chunkproof_prover::circuit::ChunkWitness,
    lens: &[usize],
    a: usize,
    b: usize,
    what: &str,
) {
    let offset = |t: usize| lens[..t].iter().sum::<usize>();
    assert_eq!(lens[a], lens[b], "{what}: equal parts");
    let params = p.mock_circuit(c).unwrap_or_else(|e| panic!("{what}: {e}")).params;
    let build = |inputs: Vec<i64>| {
        let mut w = honest.clone();
        w.inputs = inputs;
        chunkproof_prover::circuit::build_chunk(
            &p.graph,
            spec,
            &w,
            params,
            halo2_base::gates::circuit::CircuitBuilderStage::Mock,
            None,
        )
    };
    // one part's slice swapped with another's
    let mut swapped = honest.inputs.clone();
    for i in 0..lens[a] {
        swapped.swap(offset(a) + i, offset(b) + i);
    }
    assert_ne!(swapped, honest.inputs, "{what}");
    let t = build(swapped).unwrap();
    assert!(mock_verify(&t, t.instances.clone()).is_err(), "{what}: swapped slices accepted");
    // a slice duplicated in place of another
    let mut dup = honest.inputs.clone();
    let src: Vec<i64> = dup[offset(a)..offset(a) + lens[a]].to_vec();
    dup[offset(b)..offset(b) + lens[b]].copy_from_slice(&src);
    let t = build(dup).unwrap();
    assert!(mock_verify(&t, t.instances.clone()).is_err(), "{what}: duplicated slice accepted");
    // a slice dropped: refused by name before any constraint
    let mut dropped = honest.inputs.clone();
    dropped.drain(offset(a)..offset(a) + lens[a]);
    let e = build(dropped).unwrap_err();
    assert!(e.to_string().contains(&format!("chunk {c}")), "{what}: {e}");
    // the honest chunk passes
    let t = build(honest.inputs.clone()).unwrap();
    mock_verify(&t, t.instances.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
}

#[test]
fn balanced_and_bounded_plans() {
    // One big layer among small ones: balancing splits it.
    let sf = 64;
    let w = tensor(&[16, 3, 3, 4], values(576, 1, -40, 40));
    let b = tensor(&[16], values(16, 2, -20, 20));
    let w2 = tensor(&[8, 1, 1, 16], values(128, 3, -40, 40));
    let b2 = tensor(&[8], values(8, 4, -20, 20));
    let mut c = BTreeMap::new();
    c.insert(50, w);
    c.insert(51, b);
    c.insert(52, w2);
    c.insert(53, b2);
    let conv = |p| LayerKind::Conv2D { padding: p, activation: Activation::Relu, stride: (1, 1) };
    let layers = vec![
        Layer { index: 0, kind: conv(Padding::Same), inputs: vec![0, 50, 51], outputs: vec![10] },
        Layer {
            index: 1,
            kind: LayerKind::MaxPool2D { window: (2, 2), stride: (2, 2) },
            inputs: vec![10],
            outputs: vec![11],
        },
        Layer { index: 2, kind: conv(Padding::Valid), inputs: vec![11, 52, 53], outputs: vec![12] },
    ];
    let g = Graph::new(sf, vec![(0, vec![1, 12, 12, 4])], vec![12], c, layers).unwrap();
    let unsplit = plan_request(&g, PlanRequest::Whole(3), 1, false, true).unwrap();
    let rows = chunk_rows(&unsplit.split.graph, &unsplit.plan);
    let balanced = plan_request(&g, PlanRequest::Chunks(3), 1, false, true).unwrap();
    let brows = chunk_rows(&balanced.split.graph, &balanced.plan);
    assert!(!balanced.splits.is_empty(), "nothing split");
    assert!(brows.iter().max() < rows.iter().max(), "{brows:?} vs {rows:?}");
    let inp = inputs(&g, -200, 200);
    assert_eq!(
        run(&balanced.split.graph, &inp).unwrap().outputs(&balanced.split.graph),
        run(&g, &inp).unwrap().outputs(&g)
    );
    // --max-k: every chunk's estimate within 2^k
    // --max-k: a dense stack whose first layer alone needs more than 2^k rows
    let mut c = BTreeMap::new();
    c.insert(50, tensor(&[64, 512], values(64 * 512, 7, -40, 40)));
    c.insert(51, tensor(&[4, 64], values(4 * 64, 8, -40, 40)));
    let layers = vec![
        Layer {
            index: 0,
            kind: LayerKind::FullyConnected { activation: Activation::Relu },
            inputs: vec![0, 50],
            outputs: vec![10],
        },
        Layer {
            index: 1,
            kind: LayerKind::FullyConnected { activation: Activation::None },
            inputs: vec![10, 51],
            outputs: vec![11],
        },
    ];
    let mut d = Graph::new(sf, vec![(0, vec![1, 512])], vec![11], c, layers).unwrap();
    d.product_check = false;
    let one = plan_request(&d, PlanRequest::Whole(1), 1, false, true).unwrap();
    let whole = chunk_rows(&one.split.graph, &one.plan)[0];
    let k = 15;
    assert!(whole > 1 << k, "the model needs more than 2^{k} rows in one chunk ({whole})");
    let fit = plan_request(&d, PlanRequest::MaxK(k), 1, false, true).unwrap();
    let rows = chunk_rows(&fit.split.graph, &fit.plan);
    assert!(!fit.splits.is_empty() && rows.iter().all(|r| *r <= 1 << k), "{:?} {rows:?}", fit.splits);
    let dinp = inputs(&d, -200, 200);
    assert_eq!(
        run(&fit.split.graph, &dinp).unwrap().outputs(&fit.split.graph),
        run(&d, &dinp).unwrap().outputs(&d)
    );
    chunks_fit(&fit, &dinp, k, 1);
    // one size up, no split is needed
    assert!(plan_request(&d, PlanRequest::MaxK(16), 1, false, true).unwrap().splits.is_empty());
    // with four columns of each kind, 2^15 holds about four times the rows: fewer chunks than
    // the narrow plan, each built at k ≤ 15 when it may take four columns
    let wide = plan_request(&d, PlanRequest::MaxK(k), 4, false, true).unwrap();
    let narrow = &fit;
    assert!(
        wide.plan.num_chunks() < narrow.plan.num_chunks(),
        "{} chunks wide, {} narrow",
        wide.plan.num_chunks(),
        narrow.plan.num_chunks()
    );
    chunks_fit(&wide, &dinp, k, 4);
    // the linkage of the model input alone exceeds 2^12 rows: no plan, and the error says why
    let e = plan_request(&d, PlanRequest::MaxK(12), 1, false, true).unwrap_err();
    assert!(e.to_string().contains("2^12") && e.to_string().contains("FullyConnected"), "{e}");
}

/// Every chunk of `planned` builds at `k ≤ max_k` with at most `width` columns of each kind and
/// passes the MockProver.
fn chunks_fit(planned: &Planned, input: &ModelInput, max_k: u32, width: u32) {
    let p = Prepared::new(planned.split.graph.clone(), input, planned.plan.num_chunks()).unwrap();
    assert_eq!(p.plan.cuts, planned.plan.cuts);
    for i in 0..planned.plan.num_chunks() {
        let c = p.mock_circuit_wide(i, 0, width).unwrap();
        assert!(c.params.k <= max_k && c.params.columns.widest() <= width, "chunk {i}: {:?}", c.params);
        mock_verify(&c, c.instances.clone()).unwrap_or_else(|e| panic!("chunk {i} (width {width}): {e}"));
    }
}

#[test]
fn layers_after_a_convolution_are_cut_along_its_channels() {
    // Conv2D → AveragePool2D → Mul by a per-channel constant → Add of a scalar, ReLU: cut along
    // the channels together, so only the pooled parts cross a cut.
    let sf = 64;
    let mut c = BTreeMap::new();
    c.insert(50, tensor(&[6, 3, 3, 2], values(108, 1, -60, 60)));
    c.insert(51, tensor(&[6], values(6, 2, -20, 20)));
    c.insert(52, tensor(&[6], values(6, 3, 10, 90)));
    c.insert(53, tensor(&[1], vec![5]));
    let layers = vec![
        Layer {
            index: 0,
            kind: LayerKind::Conv2D {
                padding: Padding::Valid,
                activation: Activation::Relu6,
                stride: (1, 1),
            },
            inputs: vec![0, 50, 51],
            outputs: vec![10],
        },
        Layer {
            index: 1,
            kind: LayerKind::AveragePool2D { window: (2, 2), stride: (2, 2) },
            inputs: vec![10],
            outputs: vec![11],
        },
        Layer { index: 2, kind: LayerKind::Mul, inputs: vec![11, 52], outputs: vec![12] },
        Layer {
            index: 3,
            kind: LayerKind::Add { activation: Activation::Relu },
            inputs: vec![53, 12],
            outputs: vec![13],
        },
        Layer {
            index: 4,
            kind: LayerKind::Reshape { shape: vec![1, 24] },
            inputs: vec![13],
            outputs: vec![14],
        },
    ];
    let g = Graph::new(sf, vec![(0, vec![1, 6, 6, 2])], vec![14], c, layers).unwrap();
    assert_eq!(fusable(&g, 0), 3, "pool, Mul, Add follow the convolution's channels");
    let inp = inputs(&g, -200, 200);
    let whole = run(&g, &inp).unwrap().outputs(&g);
    let s = apply(&g, &[Split { layer: 0, parts: 3, fused: 3 }]).unwrap();
    assert_eq!(s.origin.iter().filter(|(_, p)| p.is_some()).count(), 3 * 4, "4 layers in 3 parts");
    assert_eq!(run(&s.graph, &inp).unwrap().outputs(&s.graph), whole);
    // only one Concatenation, after the last fused layer
    let joins = s.graph.layers.iter().filter(|l| matches!(l.kind, LayerKind::Concatenation { .. })).count();
    assert_eq!(joins, 1);
    let p = Prepared::new(s.graph.clone(), &inp, 3).unwrap();
    for i in 0..3 {
        let c = p.mock_circuit_with(i, NARROW).unwrap_or_else(|e| panic!("chunk {i}: {e}"));
        mock_verify(&c, c.instances.clone()).unwrap_or_else(|e| panic!("chunk {i}: {e}"));
    }
    // a run that claims more layers than follow the channels is refused
    assert!(apply(&g, &[Split { layer: 0, parts: 3, fused: 4 }]).is_err());
}
