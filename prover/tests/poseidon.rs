//! Native Poseidon (verifier crate) against halo2-base's hasher and against our in-circuit gates.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use chunkproof_core::{poseidon, Bytes32};
use chunkproof_prover::circuit::{linkage, CustomRegion, Fr};
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateChip, RangeInstructions};
use halo2_base::poseidon::hasher::{spec::OptimizedPoseidonSpec, PoseidonHasher};

fn inputs(n: usize) -> Vec<Fr> {
    (0..n as u64).map(|i| Fr::from(i * 1_000_003 + 17) * Fr::from(0x1234_5678_9abc_def0u64)).collect()
}

#[test]
fn native_matches_halo2_base_hasher() {
    let mut builder = BaseCircuitBuilder::<Fr>::new(true);
    let ctx = builder.main(0);
    let mut hasher = PoseidonHasher::<Fr, 3, 2>::new(OptimizedPoseidonSpec::new::<8, 57, 0>());
    hasher.initialize_consts(ctx, &GateChip::default());
    for n in 0..9 {
        let x = inputs(n);
        let cells = ctx.assign_witnesses(x.clone());
        let theirs = hasher.hash_fix_len_array(ctx, &GateChip::default(), &cells);
        assert_eq!(*theirs.value(), poseidon::hash(&x), "length {n}");
    }
}

#[test]
fn in_circuit_matches_native() {
    let mut builder = BaseCircuitBuilder::<Fr>::new(true).use_k(17).use_lookup_bits(16);
    let range = builder.range_chip();
    let mut custom = CustomRegion::new(true, builder.core().copy_manager.clone());
    let ctx = builder.main(0);
    for n in 0..7 {
        let x = inputs(n);
        let cells = ctx.assign_witnesses(x.clone());
        let h = linkage::hash(ctx, &range, &mut custom, &cells);
        assert_eq!(*h.value(), poseidon::hash(&x), "length {n}");
    }
    let _ = range.lookup_bits();
}

/// Pinned vectors: any change to the constants or the sponge shows here.
#[test]
fn pinned_vectors() {
    let got: Vec<String> = (0..4)
        .map(|n| {
            let x: Vec<Fr> = (1..=n as u64).map(Fr::from).collect();
            Bytes32::from_fr(&poseidon::hash(&x)).to_string()
        })
        .collect();
    for g in &got {
        eprintln!("{g}");
    }
    assert_eq!(
        got,
        chunkproof_core::poseidon::TEST_VECTORS.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    );
}
