//! Negative tests: every constraint that matters rejects a wrong witness or public value.
//!
//! Each layer kind is built as a one-layer model and proven with both gadget paths (16-bit
//! lookup table: custom gates; 12-bit table: halo2-base generic gates). For each, the honest
//! witness passes, and the mock prover rejects: a consistent fault injected into each gadget
//! (quotient, sign, clamp, dot product, Poseidon round — later cells use the wrong value, so only
//! that gadget's constraints can catch it), a changed output cell, a changed salt, a changed
//! leaf, and a changed public root or output.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

mod common;

use chunkproof_prover::circuit::Fr;
use chunkproof_prover::fault::{self, Site};
use chunkproof_prover::model::{Activation, Graph, LayerKind, Padding};
use chunkproof_prover::testing::{
    mock_local_failures, mock_verify, one_layer, tensor, tiny_graph, tiny_input, values, Prepared,
};
use common::*;

#[test]
fn conv_same_relu6() {
    let w = tensor(&[3, 3, 3, 2], values(54, 1, -90, 90));
    let b = tensor(&[3], vec![4, -7, 30]);
    let g = one_layer(
        64,
        &[1, 5, 5, 2],
        LayerKind::Conv2D { padding: Padding::Same, activation: Activation::Relu6, stride: (1, 1) },
        vec![1, 2],
        vec![(1, w), (2, b)],
    );
    let inp = input(&g, -300, 400);
    let t = chunkproof_prover::interpret::run(&g, &inp).unwrap();
    let out = t.get(100);
    assert!(out.contains(&0) && out.contains(&(6 * 64)), "input should hit both clamps");
    battery(
        g,
        inp,
        &[&[Site::Quotient, Site::Sign, Site::Clamp, Site::Permutation][..], &PRODUCT[..]].concat(),
        "conv SAME relu6",
    );
}

#[test]
fn conv_valid_stride2_relu_and_none() {
    for act in [Activation::Relu, Activation::None] {
        let w = tensor(&[2, 2, 3, 1], values(12, 2, -100, 100));
        let b = tensor(&[2], vec![-3, 9]);
        let g = one_layer(
            32,
            &[1, 7, 6, 1],
            LayerKind::Conv2D { padding: Padding::Valid, activation: act, stride: (2, 2) },
            vec![1, 2],
            vec![(1, w), (2, b)],
        );
        battery_with(
            g.clone(),
            input(&g, -200, 200),
            &[Site::Quotient, Site::Sign, Site::Dot],
            act == Activation::Relu,
            &format!("conv VALID s2 {act:?}"),
        );
    }
}

#[test]
fn avg_pool() {
    let g = one_layer(
        64,
        &[1, 6, 6, 2],
        LayerKind::AveragePool2D { window: (2, 3), stride: (2, 3) },
        vec![],
        vec![],
    );
    battery_with(
        g.clone(),
        input(&g, -500, 500),
        &[Site::Quotient, Site::Sign, Site::Dot],
        false,
        "avg pool",
    );
}

#[test]
fn mul_constant_and_variable() {
    let c = tensor(&[3], vec![70, -33, 128]);
    let g = one_layer(64, &[1, 2, 2, 3], LayerKind::Mul, vec![1], vec![(1, c)]);
    battery_with(g.clone(), input(&g, -400, 400), &[Site::Quotient, Site::Sign], false, "mul by constant");
    let g = one_layer(64, &[1, 12], LayerKind::Mul, vec![0], vec![]);
    battery_with(g.clone(), input(&g, -400, 400), &[Site::Quotient, Site::Sign], false, "mul x*x");
}

#[test]
fn add_constant_relu_and_variable() {
    let c = tensor(&[1], vec![-40]);
    let g = one_layer(64, &[1, 10], LayerKind::Add { activation: Activation::Relu }, vec![1], vec![(1, c)]);
    battery(g.clone(), input(&g, -100, 100), &[Site::Sign], "add relu");
    let g = one_layer(64, &[1, 10], LayerKind::Add { activation: Activation::None }, vec![0], vec![]);
    battery_with(g.clone(), input(&g, -100, 100), &LINK, false, "add x+x");
}

#[test]
fn fully_connected_and_reshape() {
    let w = tensor(&[5, 6], values(30, 4, -120, 120));
    let b = tensor(&[5], vec![1, 2, 3, -4, 0]);
    let g = one_layer(
        64,
        &[1, 6],
        LayerKind::FullyConnected { activation: Activation::Relu6 },
        vec![1, 2],
        vec![(1, w), (2, b)],
    );
    battery(
        g.clone(),
        input(&g, -300, 300),
        &[Site::Quotient, Site::Sign, Site::Clamp, Site::Dot],
        "dense relu6",
    );
    let g = one_layer(64, &[1, 2, 3, 2], LayerKind::Reshape { shape: vec![1, 12] }, vec![], vec![]);
    battery_with(g.clone(), input(&g, -300, 300), &LINK, false, "reshape");
}

#[test]
fn linkage_in_multi_chunk_model() {
    // Middle chunk of three: both leaves, both paths, packing of boundaries.
    let p = Prepared::new(tiny_graph(), &tiny_input(), 3).unwrap();
    let (spec, _) = p.chunk(1);
    assert!(!spec.is_first() && !spec.is_last());
    let honest = p.mock_circuit_with(1, FAST).unwrap();
    mock_verify(&honest, honest.instances.clone()).unwrap();
    // another salt for the output leaf, used consistently → the path no longer reaches R
    let mut w = p.linkage.witness(1);
    w.salt_out += Fr::one();
    let c = chunkproof_prover::circuit::build_chunk(
        &p.graph,
        &spec,
        &w,
        FAST,
        halo2_base::gates::circuit::CircuitBuilderStage::Mock,
        None,
    )
    .unwrap();
    assert!(mock_verify(&c, c.instances.clone()).is_err(), "another salt accepted");
    // another input boundary (as if chunk 0 had output something else)
    let mut w = p.linkage.witness(1);
    w.inputs[0] += 1;
    let c = chunkproof_prover::circuit::build_chunk(
        &p.graph,
        &spec,
        &w,
        FAST,
        halo2_base::gates::circuit::CircuitBuilderStage::Mock,
        None,
    )
    .unwrap();
    assert!(mock_verify(&c, c.instances.clone()).is_err(), "another input accepted");
    // a sibling on the path
    let mut w = p.linkage.witness(1);
    w.paths_in[0][0] += Fr::one();
    let c = chunkproof_prover::circuit::build_chunk(
        &p.graph,
        &spec,
        &w,
        FAST,
        halo2_base::gates::circuit::CircuitBuilderStage::Mock,
        None,
    )
    .unwrap();
    assert!(mock_verify(&c, c.instances.clone()).is_err(), "another sibling accepted");
    // a fault in any Poseidon permutation
    // visits: rounds 0-3 full, then pairs of partial rounds (two visits each: after the first
    // round, whose s'1, s'2 are not stored, and after the second), round 60, rounds 61-64
    for site in [Site::Permutation, Site::PermutationLane0, Site::PermutationSquare] {
        for nth in [0, 4, 5, 11, 40, 60, 61, 64] {
            fault::inject(site, nth);
            let c = p.mock_circuit_with(1, FAST).unwrap();
            assert!(!fault::armed());
            let local = mock_local_failures(&c, c.instances.clone());
            assert!(!local.is_empty(), "{site:?} fault {nth} not caught by a gate");
        }
    }
}

#[test]
fn sign_gate_rejects_a_wrapped_high_limb() {
    // x ≥ 0 claimed negative through an odd 2·l₁; only the lookup on l₁ stops it.
    let c = tensor(&[1], vec![3]);
    let g = one_layer(64, &[1, 10], LayerKind::Add { activation: Activation::Relu }, vec![1], vec![(1, c)]);
    let p = Prepared::new(g.clone(), &input(&g, 0, 100), 1).unwrap();
    assert_fault_rejected(&p, FAST, Site::SignWrap, 0, "wrapped l1");
    assert_fault_rejected(&p, FAST, Site::SignWrap, 4, "wrapped l1");
}

#[test]
fn one_block_dot_products() {
    // a 1x1 convolution over 3 channels: each output is a single dot_first gate
    let w = tensor(&[2, 1, 1, 3], values(6, 5, -50, 50));
    let b = tensor(&[2], vec![7, -7]);
    let g = one_layer(
        64,
        &[1, 3, 3, 3],
        LayerKind::Conv2D { padding: Padding::Valid, activation: Activation::None, stride: (1, 1) },
        vec![1, 2],
        vec![(1, w), (2, b)],
    );
    battery_with(g.clone(), input(&g, -200, 200), &[Site::Dot, Site::Quotient], false, "1x1 conv");
    // The input leaf packs 27 values in 4 dot products (visits 0-3); visits 4.. are the
    // convolution's single-block dot products, which only `dot_first` constrains.
    let p = Prepared::new(g, &input(&one_layer_conv1x1(), -200, 200), 1).unwrap();
    for params in [FAST, NARROW, GENERIC] {
        for nth in [4, 9, 21] {
            assert_fault_rejected(&p, params, Site::Dot, nth, "1x1 conv dot_first");
        }
    }
}

fn one_layer_conv1x1() -> Graph {
    let w = tensor(&[2, 1, 1, 3], values(6, 5, -50, 50));
    let b = tensor(&[2], vec![7, -7]);
    one_layer(
        64,
        &[1, 3, 3, 3],
        LayerKind::Conv2D { padding: Padding::Valid, activation: Activation::None, stride: (1, 1) },
        vec![1, 2],
        vec![(1, w), (2, b)],
    )
}

/// A declared input range is enforced, not trusted: chunk 0 packs the model input in 16 bits,
/// so an input value outside the range cannot be carried into its neighbour while keeping the
/// leaf (the range table refuses it), and the planner packs the input short only when a range
/// is declared.
#[test]
fn a_declared_input_range_is_enforced_by_chunk_0() {
    use chunkproof_core::linkage::Packing;
    use chunkproof_prover::model::{InputRange, ModelInput};
    for range in [InputRange::U16, InputRange::I16] {
        let mut g = tiny_graph();
        let (lo, hi) = range.bounds();
        let id = g.inputs[0];
        let n = g.numel(id);
        let input =
            ModelInput { tensors: [(id, values(n, 11, lo.max(-300), hi.min(300)))].into_iter().collect() };
        let undeclared = Prepared::new(g.clone(), &input, 2).unwrap();
        assert_eq!(undeclared.chunk(0).0.reads[0].packing, Packing::WIDE);
        g.input_range = Some(range);
        let p = Prepared::new(g, &input, 2).unwrap();
        let spec = p.chunk(0).0;
        assert_eq!(Some(spec.reads[0].packing), Packing::short(lo as i128, hi as i128), "{range}");
        carry_is_refused(&p, 0, &format!("{range}"));
    }
}

/// A short packing's range check is what makes it injective: moving `2^b` from one value to its
/// neighbour (`v₀ + 2^b`, `v₁ − 1`) leaves the packed element, and so the leaf, unchanged; only
/// the lookup of `v₀ + offset` in the range table stops it. Checked on input boundaries of
/// `b ≤ 16` bits packed with offset 0 (values the model bounds to `[0, 2^b)`) and `2^(b − 1)`
/// (signed values).
#[test]
fn short_packing_rejects_a_carry_between_values() {
    use chunkproof_core::linkage::Packing;
    let g = tiny_graph();
    let mut widths = std::collections::BTreeSet::new();
    let mut offsets = std::collections::BTreeSet::new();
    for n in 2..=5 {
        let p = Prepared::new(g.clone(), &tiny_input(), n).unwrap();
        for i in 1..n {
            let (spec, honest) = p.chunk(i);
            if spec.reads[0].packing == Packing::WIDE || honest.inputs.len() < 2 {
                continue;
            }
            let bits = spec.reads[0].packing.bits;
            assert!(bits <= 16, "{bits}");
            offsets.insert(spec.reads[0].packing.offset > 0);
            widths.insert(bits);
            carry_is_refused(&p, i, &format!("{n} chunks, chunk {i}"));
        }
    }
    assert_eq!(
        offsets.into_iter().collect::<Vec<_>>(),
        vec![false, true],
        "unsigned and signed packings covered"
    );
    assert!(
        widths.contains(&16) && widths.iter().any(|b| *b < 16),
        "16-bit and table-sized packings covered: {widths:?}"
    );
}

/// Chunk `chunk`'s honest circuit passes the MockProver; moving `2^b` from its first input value
/// to the second (`b` its input packing's bits) keeps the input leaf and is refused by a lookup.
fn carry_is_refused(p: &Prepared, chunk: usize, what: &str) {
    let (spec, honest) = p.chunk(chunk);
    let build = |w: &chunkproof_prover::circuit::ChunkWitness| {
        chunkproof_prover::circuit::build_chunk(
            &p.graph,
            &spec,
            w,
            FAST,
            halo2_base::gates::circuit::CircuitBuilderStage::Mock,
            None,
        )
        .unwrap()
    };
    let c = build(&honest);
    mock_verify(&c, c.instances.clone()).unwrap();
    let mut w = honest.clone();
    w.inputs[0] += 1 << spec.reads[0].packing.bits;
    w.inputs[1] -= 1;
    let t = build(&w);
    assert_eq!(t.handles.leaves[0].value(), c.handles.leaves[0].value(), "{what}: the carry keeps the leaf");
    let local = mock_local_failures(&t, t.instances.clone());
    assert!(
        local.iter().any(|f| f.contains("ookup")),
        "{what}: a carried input passed its range check: {local:?}"
    );
}
