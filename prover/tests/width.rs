//! Chunk circuits with several advice columns of each kind: the same cells over more, shorter
//! columns. Gates never straddle two columns (halo2-base's own break rule for its gates, padding
//! before ours, carried cells for dot products and Poseidon rounds), the honest witness passes,
//! and faults placed anywhere — in the first column or the last — are rejected.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

mod common;

use chunkproof_core::shape::{ChunkCircuitParams, Columns};
use chunkproof_prover::circuit::ChunkCircuit;
use chunkproof_prover::fault::{self, Site};
use chunkproof_prover::model::{Activation, Graph, LayerKind, Padding};
use chunkproof_prover::testing::{mock_verify, one_layer, tensor, values, Prepared};
use common::*;

/// A shape with short columns (`2^11` rows): eight gate and lookup columns, fourteen custom
/// columns of which three may hold the product check.
const SHORT: ChunkCircuitParams = ChunkCircuitParams {
    k: 11,
    lookup_bits: 10,
    tables: 0,
    products: false,
    narrow_limbs: true,
    max_gate: false,
    columns: Columns { main: 8, lookup: 8, custom: 14, product: 3 },
};

fn conv_relu6() -> Graph {
    one_layer(
        64,
        &[1, 6, 6, 3],
        LayerKind::Conv2D { padding: Padding::Same, activation: Activation::Relu6, stride: (1, 1) },
        vec![1, 2],
        vec![
            (1, tensor(&[6, 3, 3, 3], values(6 * 9 * 3, 5, -60, 60))),
            (2, tensor(&[6], values(6, 6, -30, 30))),
        ],
    )
}

fn dense_rows() -> Graph {
    one_layer(
        64,
        &[6, 24],
        LayerKind::FullyConnected { activation: Activation::Relu },
        vec![1],
        vec![(1, tensor(&[12, 24], values(12 * 24, 7, -80, 80)))],
    )
}

/// How often `site` is visited while building `p`'s chunk in `params`.
fn visits(p: &Prepared, params: ChunkCircuitParams, site: Site) -> usize {
    fault::inject(site, usize::MAX);
    let _ = build(p, params);
    let left = fault::visits_left().expect("still armed");
    fault::clear();
    usize::MAX - left
}

fn wide_honest(p: &Prepared, what: &str) -> ChunkCircuit {
    let c = build(p, SHORT);
    assert_eq!(
        c.overflow(),
        None,
        "{what}: does not fit {SHORT:?}: custom runs {} ({} rows needed), product runs {:?} at {:?}",
        c.custom.columns_used(),
        c.custom.rows_needed(),
        c.product.runs(),
        c.product_places()
    );
    assert!(c.main_columns_used.unwrap() > 1, "{what}: one gate column");
    assert!(c.custom.columns_used() > 1, "{what}: one custom column");
    assert_eq!(c.output_values, p.trace.outputs(&p.graph), "{what}: circuit differs from interpreter");
    mock_verify(&c, c.instances.clone()).unwrap_or_else(|e| panic!("{what}: honest witness rejected: {e}"));
    c
}

/// Faults at the first, a middle and the last visit of each site: the last ones sit in the
/// last columns.
fn faults_everywhere(p: &Prepared, sites: &[Site], what: &str) {
    for site in sites {
        let n = visits(p, SHORT, *site);
        assert!(n > 0, "{what}: {site:?} never visited");
        for nth in [0, n / 2, n - 1] {
            assert_fault_rejected(p, SHORT, *site, nth, what);
        }
    }
}

#[test]
fn convolution_over_several_columns() {
    let g = conv_relu6();
    let p = Prepared::new(g.clone(), &input(&g, -200, 200), 1).unwrap();
    let c = wide_honest(&p, "conv");
    let sites = [
        &SIGN_GATE[..],
        &CLAMP_GATE[..],
        &DIV_GATE[..],
        &[Site::Quotient, Site::Permutation, Site::PermutationSquare, Site::PermutationLane0][..],
    ]
    .concat();
    faults_everywhere(&p, &sites, "conv");
    if c.params.products {
        faults_everywhere(&p, &[Site::ProductOutput, Site::ProductOperand], "conv products");
    } else {
        faults_everywhere(&p, &[Site::Dot], "conv dot products");
    }
    // the last output's cells sit in the last gate column; the output leaf in the last custom one
    assert_prank_rejected(c.clone(), |c| *c.handles.outputs.last().unwrap(), "conv last output");
    assert_prank_rejected(c.clone(), |c| c.handles.leaves[1], "conv output leaf");
    let mut inst = c.instances.clone();
    *inst.last_mut().unwrap() += chunkproof_prover::circuit::Fr::one();
    assert!(mock_verify(&c, inst).is_err(), "conv: wrong public output accepted");
}

/// Running maxima over several gate columns: a `max` gate that would straddle a column break
/// starts the next column on a copy of the running maximum.
#[test]
fn max_pooling_over_several_columns() {
    let g = one_layer(
        64,
        &[1, 12, 12, 4],
        LayerKind::MaxPool2D { window: (2, 2), stride: (2, 2) },
        vec![],
        vec![],
    );
    let p = Prepared::new(g.clone(), &input(&g, -500, 500), 1).unwrap();
    let c = wide_honest(&p, "max pool");
    assert!(c.params.max_gate, "max pool: no max gate");
    faults_everywhere(&p, &[&MAX_GATE[..], &[Site::Max]].concat(), "max pool");
    assert_prank_rejected(c.clone(), |c| *c.handles.outputs.last().unwrap(), "max pool last output");
}

#[test]
fn products_in_the_last_custom_column() {
    let g = dense_rows();
    let p = Prepared::new(g.clone(), &input(&g, -300, 300), 1).unwrap();
    let c = wide_honest(&p, "dense");
    assert!(c.params.products, "dense 6×24·24×12 should check its product with the challenge");
    faults_everywhere(&p, &[Site::ProductOutput, Site::ProductOperand, Site::Sign, Site::Quotient], "dense");
    // second-phase values are computed when the mock prover hands out the challenge
    for site in [Site::ProductHorner, Site::ProductFold, Site::ProductSum, Site::ProductChallenge] {
        assert_fault_rejected(&p, SHORT, site, 0, "dense");
    }
}

/// A product check longer than a column: its chains and pair sums continue in the next
/// product column from copies of their last values.
#[test]
fn a_product_check_over_several_columns() {
    let g = one_layer(
        64,
        &[12, 40],
        LayerKind::FullyConnected { activation: Activation::None },
        vec![1],
        vec![(1, tensor(&[32, 40], values(32 * 40, 9, -80, 80)))],
    );
    let p = Prepared::new(g.clone(), &input(&g, -300, 300), 1).unwrap();
    let c = wide_honest(&p, "dense 12×40·40×32");
    assert!(c.params.products);
    assert!(c.product.runs().len() > 1, "product runs {:?}", c.product.runs());
    faults_everywhere(&p, &[Site::ProductOutput, Site::ProductOperand], "dense 12×40·40×32");
    for site in [Site::ProductHorner, Site::ProductFold, Site::ProductSum, Site::ProductCopy] {
        for nth in [0, 3] {
            assert_fault_rejected(&p, SHORT, site, nth, "dense 12×40·40×32");
        }
    }
    // the planner spreads it too
    let wide = p.mock_circuit_wide(0, 0, 8).unwrap();
    assert_eq!(wide.overflow(), None);
    mock_verify(&wide, wide.instances.clone()).unwrap();
}

#[test]
fn the_planner_picks_a_smaller_k_with_more_columns() {
    let g = conv_relu6();
    let p = Prepared::new(g.clone(), &input(&g, -200, 200), 1).unwrap();
    let narrow = p.mock_circuit(0).unwrap();
    assert!(narrow.params.columns.is_narrow());
    let wide = p.mock_circuit_wide(0, 0, 4).unwrap();
    assert!(
        wide.params.k < narrow.params.k,
        "{:?} vs {:?}: {:?} {:?}",
        wide.params,
        narrow.params,
        narrow.stats,
        wide.stats
    );
    assert!(wide.params.columns.widest() <= 4 && !wide.params.columns.is_narrow());
    assert_eq!(wide.overflow(), None);
    mock_verify(&wide, wide.instances.clone()).unwrap();
    assert_eq!(wide.output_values, narrow.output_values);
    // width 1 is the narrow shape, exactly
    assert_eq!(p.mock_circuit_wide(0, 0, 1).unwrap().params, narrow.params);
}

#[test]
fn too_few_columns_is_an_overflow_not_a_bad_proof() {
    let g = conv_relu6();
    let p = Prepared::new(g.clone(), &input(&g, -200, 200), 1).unwrap();
    let c = build(
        &p,
        ChunkCircuitParams { columns: Columns { main: 2, lookup: 8, custom: 14, product: 3 }, ..SHORT },
    );
    assert_eq!(c.overflow(), Some(chunkproof_prover::circuit::chunk::Overflow::Main));
}
