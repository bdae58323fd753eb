//! Aggregation in a tree: three chunks with arity 2 make a node over chunks 0..2 (its proof
//! verified again inside the root's circuit, its accumulator folded in) and a root over that
//! node and chunk 2. The root proof verifies in Rust and in the EVM like a one-level one, stands
//! for the bundle's root and outputs, and a root-level mix of two bundles is refused by the
//! circuit.
#![allow(unused_crate_dependencies)]

use chunkproof_aggregate::{aggregate, aggregate_unchecked, AggregateConfig, AggregateError};
use chunkproof_core::aggregated::ROOT_INDEX;
use chunkproof_core::transcript::TranscriptKind;
use chunkproof_core::Bundle;
use chunkproof_prover::setup::SetupChoice;
use chunkproof_prover::testing::{tiny_graph, tiny_input};
use chunkproof_prover::{prove_model, ProveConfig};
use chunkproof_verifier::{verify_aggregated, AggregationKey, KeySet, VerifyError, VerifyOptions};

fn bundle(keys: &std::path::Path) -> Bundle {
    let cfg = ProveConfig::new(keys, SetupChoice::Dev).chunks(3).transcript(TranscriptKind::Poseidon);
    prove_model(&tiny_graph(), &tiny_input(), &cfg, &mut |_| {}).expect("proves").0
}

#[test]
#[ignore = "≈ 16 min and ≈ 10 GiB on 2 cores (four aggregation proofs): make test-slow"]
fn three_chunks_aggregate_in_a_tree_of_arity_two() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let b = bundle(&keys_dir);
    let cfg = AggregateConfig { arity: 2, ..AggregateConfig::new(&keys_dir, SetupChoice::Dev) };
    let (agg, report) = aggregate(&b, &cfg, &VerifyOptions::default()).expect("aggregates");
    for n in &report.nodes {
        eprintln!("node {:?}: {:?}, keys {} ms, proving {} ms", n.chunks, n.shape, n.keygen_ms, n.prove_ms);
    }
    eprintln!("root: {:?}, keys {} ms, proving {} ms", report.shape, report.keygen_ms, report.prove_ms);
    assert_eq!(report.nodes.len(), 1, "one inner node; chunk 2 passes up on its own");
    assert_eq!(report.nodes[0].chunks, 0..2);

    let keys = KeySet::load(&keys_dir, Some(&b.model_id)).unwrap();
    let key = AggregationKey::load(&keys, &agg.vk_digest).unwrap();
    assert_eq!(key.record.arity, Some(2));
    let dev = VerifyOptions { allow_dev_setup: true, ..Default::default() };
    let ok = verify_aggregated(&agg, &keys, &key, &dev).unwrap();
    assert_eq!((ok.root, ok.outputs.clone(), ok.num_chunks), (b.root, b.outputs.clone(), 3));
    let mut t = agg.clone();
    let n = t.proof.len();
    t.proof[n / 2] ^= 1;
    assert!(verify_aggregated(&t, &keys, &key, &dev).unwrap_err().is_rejection());
    let mut t = agg.clone();
    t.instances[ROOT_INDEX] = b.chunks[0].instances[0];
    t.instances[ROOT_INDEX].0[31] ^= 1;
    assert!(verify_aggregated(&t, &keys, &key, &dev).is_err());

    // The root of a tree has the shape and the verifier of a one-level aggregation.
    let solc = chunkproof_evm::Solc::find();
    if chunkproof_prover::testing::prerequisite("solc", solc.is_ok(), "the tree root's EVM check") {
        let r = chunkproof_evm::verify_aggregated_evm(&agg, &keys, &key, &solc.unwrap())
            .expect("the EVM accepts");
        eprintln!("tree root verifier: {} bytes, {} gas", r.runtime_size, r.verify_gas);
        assert!(r.deployable);
    }

    // The root's circuit ties the node to chunk 2 by the root: the node over chunks 0..2 of
    // this bundle with chunk 2 of another bundle (another root) gives a proof that is refused.
    let b2 = bundle(&keys_dir);
    assert_ne!(b2.root, b.root);
    let mixed = [b.chunks[0].clone(), b.chunks[1].clone(), b2.chunks[2].clone()];
    match aggregate_unchecked(&mixed, &b.model_id, &cfg) {
        Err(AggregateError::SelfCheck(VerifyError::AggregatedRejected { .. })) => {}
        other => panic!("a node and a chunk with different roots: expected a rejected proof, got {other:?}"),
    }
}
