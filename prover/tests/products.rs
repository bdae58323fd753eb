//! The randomized product check: which layers use it, and that every cell kind it adds is
//! pinned (the honest witness passes; a wrong product entry, a changed operand copy, a changed
//! second-phase copy, a faulted Horner cell or running sum, and second-phase cells computed for
//! another challenge are each rejected), on both gadget paths.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

mod common;

use chunkproof_prover::fault::Site;
use chunkproof_prover::model::{Activation, LayerKind, Padding};
use chunkproof_prover::testing::{one_layer, tensor, values, Prepared};
use common::*;

fn dense(rows: usize, k: usize, o: usize, bias: bool) -> chunkproof_prover::model::Graph {
    let mut consts = vec![(1, tensor(&[o, k], values(o * k, 7, -80, 80)))];
    let mut extra = vec![1];
    if bias {
        consts.push((2, tensor(&[o], values(o, 8, -20, 20))));
        extra.push(2);
    }
    one_layer(64, &[rows, k], LayerKind::FullyConnected { activation: Activation::Relu }, extra, consts)
}

#[test]
fn dense_layer_on_several_rows_is_checked_with_the_challenge() {
    for bias in [true, false] {
        let g = dense(5, 12, 6, bias);
        let inp = input(&g, -300, 300);
        let p = Prepared::new(g.clone(), &inp, 1).unwrap();
        let c = build(&p, FAST);
        assert!(c.params.products, "bias {bias}: the product check should be cheaper here");
        assert!(c.stats.product_rows > 0 && c.stats.custom_rows == c.stats.linkage_custom_rows);
        battery(g, inp, &[&[Site::Quotient, Site::Sign][..], &PRODUCT[..]].concat(), "dense 5×12·12×6");
    }
}

#[test]
fn one_row_products_stay_direct() {
    // P = 1: K·C terms either way, so the per-output dot product is cheaper
    let g = dense(1, 16, 8, true);
    let p = Prepared::new(g.clone(), &input(&g, -300, 300), 1).unwrap();
    let c = build(&p, FAST);
    assert!(!c.params.products && c.stats.product_rows == 0);
    battery(g.clone(), input(&g, -300, 300), &[Site::Quotient, Site::Sign, Site::Dot], "dense 1×16·16×8");
}

#[test]
fn convolution_with_padding_and_zero_weight_rows() {
    // SAME padding leaves border rows with fewer terms; an all-zero input channel leaves rows of W
    // that need no Horner chain
    let mut w = values(3 * 3 * 3 * 4, 9, -70, 70);
    for (i, v) in w.iter_mut().enumerate() {
        if i % 3 == 1 {
            *v = 0;
        }
    }
    let g = one_layer(
        64,
        &[1, 6, 5, 3],
        LayerKind::Conv2D { padding: Padding::Same, activation: Activation::None, stride: (1, 1) },
        vec![1, 2],
        vec![(1, tensor(&[4, 3, 3, 3], w)), (2, tensor(&[4], vec![0, 0, 0, 0]))],
    );
    let inp = input(&g, -300, 300);
    let p = Prepared::new(g.clone(), &inp, 1).unwrap();
    let c = build(&p, FAST);
    assert!(c.params.products);
    battery(g, inp, &[&[Site::Quotient][..], &PRODUCT[..]].concat(), "conv SAME, zero bias, zero rows");
}

#[test]
fn batched_product_of_two_activations_is_checked_with_the_challenge() {
    // [2, 5, 6] · [2, 6, 4]: both operands are cells; the second is the product's weights
    for adj_y in [false, true] {
        let b_shape: &[usize] = if adj_y { &[2, 4, 6] } else { &[2, 6, 4] };
        let layers = vec![chunkproof_prover::model::Layer {
            index: 0,
            kind: LayerKind::BatchMatMul { adj_y },
            inputs: vec![0, 1],
            outputs: vec![100],
        }];
        let g = chunkproof_prover::model::Graph::new(
            64,
            vec![(0, vec![2, 5, 6]), (1, b_shape.to_vec())],
            vec![100],
            Default::default(),
            layers,
        )
        .unwrap();
        let inp = chunkproof_prover::model::ModelInput {
            tensors: [(0, values(60, 4, -300, 300)), (1, values(48, 5, -300, 300))].into_iter().collect(),
        };
        let p = Prepared::new(g.clone(), &inp, 1).unwrap();
        let c = build(&p, FAST);
        assert!(c.params.products, "adj_y {adj_y}: the product check should be cheaper here");
        battery_with(
            g,
            inp,
            &[&[Site::Quotient, Site::Sign][..], &PRODUCT[..]].concat(),
            false,
            "batch matmul",
        );
    }
}

#[test]
fn circuits_without_products_keep_their_shape() {
    // no product check: no extra columns, and the parameters encode as before
    let g = dense(1, 16, 8, true);
    let p = Prepared::new(g, &input(&dense(1, 16, 8, true), -300, 300), 1).unwrap();
    let c = build(&p, FAST);
    let named = rmp_serde::to_vec_named(&c.params).unwrap();
    let old = rmp_serde::to_vec_named(&serde_json::json!({ "k": 17, "lookup_bits": 16 })).unwrap();
    assert_eq!(named, old);
}
