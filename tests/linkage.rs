//! Linkage, end to end with real proofs: a bundle whose chunks do not chain, are reordered,
//! duplicated, missing, checked against another chunk's key, carry another root or a flipped
//! byte is rejected with an error naming the problem; garbage and truncated files are typed
//! errors, never panics.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use std::path::PathBuf;
use std::sync::OnceLock;

use chunkproof_core::{Bundle, Bytes32, FormatError};
use chunkproof_prover::circuit::Fr;
use chunkproof_prover::setup::SetupChoice;
use chunkproof_prover::testing::{prove_chunk_with, tiny_graph, tiny_input, Prepared};
use chunkproof_prover::{prove_model, ProveConfig};
use chunkproof_verifier::{verify_bundle, KeySet, VerifyError, VerifyOptions};

mod common;
use common::copy_dir;

struct Fixture {
    _dir: tempfile::TempDir,
    keys: PathBuf,
    bundle: Bundle,
}

fn fixture(min_k: u32) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let cfg = ProveConfig::new(&keys, SetupChoice::Dev).chunks(3).public_input(true).min_k(min_k);
    let (bundle, _) = prove_model(&tiny_graph(), &tiny_input(), &cfg, &mut |_| {}).unwrap();
    Fixture { _dir: dir, keys, bundle }
}

/// Three chunks of the tiny model with small circuits (halo2-base generic gadgets).
fn small() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| fixture(0))
}

fn dev() -> VerifyOptions {
    VerifyOptions { allow_dev_setup: true, ..Default::default() }
}

fn check(f: &Fixture, b: &Bundle) -> Result<(), VerifyError> {
    let keys = KeySet::load(&f.keys, Some(&f.bundle.model_id)).unwrap();
    verify_bundle(b, &keys, &dev()).map(|_| ())
}

#[test]
fn honest_bundle_verifies_and_round_trips() {
    let f = small();
    check(f, &f.bundle).unwrap();
    let b = Bundle::from_bytes(&f.bundle.to_bytes()).unwrap();
    assert_eq!(b, f.bundle);
    let keys = KeySet::load(&f.keys, None).unwrap();
    let ok = verify_bundle(&b, &keys, &dev()).unwrap();
    assert_eq!(ok.num_chunks, 3);
    assert_eq!(ok.outputs, f.bundle.outputs);
}

/// A bundle has one encoding, so that its hash identifies it: the same values encoded any other
/// way are malformed.
#[test]
fn a_bundle_has_one_encoding() {
    let f = small();
    let canonical = f.bundle.to_bytes();
    let malformed = |what: &str, bytes: &[u8]| {
        let e = Bundle::from_bytes(bytes).expect_err(what);
        // a format error, not a cryptographic rejection
        assert!(matches!(e, FormatError::Malformed { .. }), "{what}: {e}");
        e.to_string()
    };
    // a trailing byte
    let e = malformed("trailing byte", &[canonical.as_slice(), &[0xc0]].concat());
    assert!(e.contains("1 trailing bytes"), "{e}");
    // the struct as an array (rmp_serde's compact form)
    malformed("array form", &rmp_serde::to_vec(&f.bundle).unwrap());
    // the version as a 16-bit integer: `a7 "version" 01` becomes `a7 "version" cd 00 01`
    let key = [&[0xa7u8][..], b"version"].concat();
    let at = canonical.windows(key.len()).position(|w| w == key.as_slice()).unwrap() + key.len();
    assert_eq!(canonical[at], 0x01);
    let wide = [&canonical[..at], &[0xcd, 0x00, 0x01], &canonical[at + 1..]].concat();
    assert_eq!(rmp_serde::from_slice::<Bundle>(&wide).unwrap(), f.bundle, "serde alone accepts it");
    malformed("wide integer", &wide);
    // the root as an array of 32 integers instead of 32 bytes
    let bin = [&[0xc4u8, 0x20][..], &f.bundle.root.0].concat();
    let at = canonical.windows(34).position(|w| w == bin.as_slice()).unwrap();
    let mut arr = vec![0xdc, 0x00, 0x20];
    for b in f.bundle.root.0 {
        if b < 0x80 {
            arr.push(b);
        } else {
            arr.extend([0xcc, b]);
        }
    }
    let as_array = [&canonical[..at], &arr, &canonical[at + 34..]].concat();
    assert_eq!(rmp_serde::from_slice::<Bundle>(&as_array).unwrap(), f.bundle, "serde alone accepts it");
    malformed("root as an array", &as_array);
    // a repeated field: one more map entry `version: 1`
    assert_eq!(canonical[0] & 0xf0, 0x80, "a fixmap");
    let mut dup = canonical.clone();
    dup[0] += 1;
    dup.extend([&key[..], &[0x01]].concat());
    malformed("repeated field", &dup);
    // an unknown field
    let mut extra = canonical.clone();
    extra[0] += 1;
    extra.extend([&[0xa5u8][..], b"extra", &[0x01]].concat());
    malformed("unknown field", &extra);
    assert_eq!(Bundle::from_bytes(&canonical).unwrap(), f.bundle);
}

#[test]
fn the_16_bit_gates_prove_and_verify_for_real() {
    let f = fixture(17);
    assert!(f.bundle.plan.chunks.iter().all(|c| c.params.lookup_bits == 16));
    check(&f, &f.bundle).unwrap();
}

#[test]
fn dev_keys_are_refused_unless_asked_for() {
    let f = small();
    let keys = KeySet::load(&f.keys, None).unwrap();
    assert!(keys.is_dev_setup());
    let e = verify_bundle(&f.bundle, &keys, &VerifyOptions::default()).unwrap_err();
    assert!(matches!(e, VerifyError::InsecureSetupRefused { .. }), "{e}");
}

#[test]
fn reordered_duplicated_missing_chunks_are_rejected() {
    let f = small();
    let mut b = f.bundle.clone();
    b.chunks.swap(0, 1);
    assert!(matches!(check(f, &b), Err(VerifyError::ChunkOutOfOrder { position: 0, found: 1 })));

    let mut b = f.bundle.clone();
    b.chunks[2] = b.chunks[1].clone();
    assert!(matches!(check(f, &b), Err(VerifyError::ChunkOutOfOrder { position: 2, found: 1 })));

    let mut b = f.bundle.clone();
    b.chunks.pop();
    assert!(matches!(check(f, &b), Err(VerifyError::ChunkCountMismatch { expected: 3, got: 2 })));

    // reordered with the indices rewritten too: each proof now meets another chunk's key
    let mut b = f.bundle.clone();
    b.chunks.swap(0, 1);
    b.chunks[0].index = 0;
    b.chunks[1].index = 1;
    assert!(matches!(check(f, &b), Err(VerifyError::VkMismatch { chunk: 0, .. })), "{:?}", check(f, &b));
}

#[test]
fn a_proof_checked_against_another_chunks_key_is_rejected() {
    let f = small();
    for (a, c) in [(0usize, 1usize), (1, 2), (2, 0)] {
        let mut b = f.bundle.clone();
        b.chunks[a].proof = f.bundle.chunks[c].proof.clone();
        let e = check(f, &b).unwrap_err();
        assert!(matches!(e, VerifyError::ProofRejected { chunk, .. } if chunk == a), "{e}");
    }
}

#[test]
fn another_root_in_any_chunk_is_rejected() {
    let f = small();
    for i in 0..3 {
        let mut b = f.bundle.clone();
        b.chunks[i].instances[0] = Bytes32::from_fr(&(f.bundle.root.to_fr().unwrap() + Fr::one()));
        let e = check(f, &b).unwrap_err();
        assert!(matches!(e, VerifyError::RootMismatch { chunk, .. } if chunk == i), "{e}");
    }
    // every root changed consistently: the leaves no longer hash to it
    let mut b = f.bundle.clone();
    let other = Bytes32::from_fr(&(f.bundle.root.to_fr().unwrap() + Fr::one()));
    b.root = other;
    for c in &mut b.chunks {
        c.instances[0] = other;
    }
    assert!(matches!(check(f, &b), Err(VerifyError::LeavesDoNotHashToRoot { .. })));
    // ... and with leaves forged to hash to it, the proofs fail
    let mut b = f.bundle.clone();
    b.leaves[1] = Bytes32::from_fr(&Fr::from(12345));
    let forged: Vec<Fr> = b.leaves.iter().map(|l| l.to_fr().unwrap()).collect();
    let root = Bytes32::from_fr(&chunkproof_core::merkle::MerkleTree::new(&forged).root());
    b.root = root;
    for c in &mut b.chunks {
        c.instances[0] = root;
    }
    assert!(matches!(check(f, &b), Err(VerifyError::ProofRejected { .. })));
}

#[test]
fn flipped_proof_bytes_are_rejected() {
    let f = small();
    for i in 0..3 {
        for at in [0, 31, 64, f.bundle.chunks[i].proof.len() / 2, f.bundle.chunks[i].proof.len() - 1] {
            let mut b = f.bundle.clone();
            b.chunks[i].proof[at] ^= 0x01;
            let e = check(f, &b).unwrap_err();
            assert!(
                matches!(e, VerifyError::ProofRejected { chunk, .. } if chunk == i),
                "chunk {i} byte {at}: {e}"
            );
        }
        let mut b = f.bundle.clone();
        b.chunks[i].proof.push(0);
        assert!(matches!(check(f, &b), Err(VerifyError::ProofRejected { .. })), "trailing byte");
    }
}

#[test]
fn public_values_must_match() {
    let f = small();
    let mut b = f.bundle.clone();
    b.outputs[1] += 1;
    assert!(matches!(
        check(f, &b),
        Err(VerifyError::PublicValueMismatch { chunk: 2, what: "outputs", index: 1, .. })
    ));
    let mut b = f.bundle.clone();
    b.inputs[0] -= 1;
    assert!(matches!(
        check(f, &b),
        Err(VerifyError::PublicValueMismatch { chunk: 0, what: "inputs", index: 0, .. })
    ));
}

#[test]
fn a_chunk_proven_from_another_boundary_or_salt_is_rejected() {
    let f = small();
    // Re-create the plan and linkage the bundle was made with is impossible (salts are random and
    // secret), so make a fresh honest run with known salts, prove chunk 1 dishonestly against its
    // root, and substitute it.
    let p = Prepared::with_visibility(tiny_graph(), &tiny_input(), 3, true, true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path();
    let mut chunks = Vec::new();
    for i in 0..3 {
        chunks.push(prove_chunk_with(&p, i, &p.linkage.witness(i), keys, 0).unwrap());
    }
    let mut bundle = f.bundle.clone();
    bundle.root = Bytes32::from_fr(&p.linkage.root());
    bundle.leaves = p.linkage.leaves.iter().map(Bytes32::from_fr).collect();
    for (i, (proof, inst)) in chunks.iter().enumerate() {
        bundle.chunks[i].proof = proof.clone();
        bundle.chunks[i].instances = inst.iter().map(Bytes32::from_fr).collect();
    }
    bundle.inputs = p.linkage.values[0].clone();
    bundle.outputs = p.linkage.values[3].clone();
    check(f, &bundle).expect("the honest re-proven bundle verifies with the same keys");

    // chunk 1 proven from a different chunk-0 output, claiming the same root
    let mut w = p.linkage.witness(1);
    w.inputs[0] += 1;
    let (proof, inst) = prove_chunk_with(&p, 1, &w, keys, 0).unwrap();
    let mut b = bundle.clone();
    b.chunks[1].proof = proof;
    b.chunks[1].instances = inst.iter().map(Bytes32::from_fr).collect();
    assert!(matches!(check(f, &b), Err(VerifyError::ProofRejected { chunk: 1, .. })));

    // chunk 2 proven with another salt for its input leaf
    let mut w = p.linkage.witness(2);
    w.salts_in[0] += Fr::one();
    let (proof, inst) = prove_chunk_with(&p, 2, &w, keys, 0).unwrap();
    let mut b = bundle.clone();
    b.chunks[2].proof = proof;
    b.chunks[2].instances = inst.iter().map(Bytes32::from_fr).collect();
    assert!(matches!(check(f, &b), Err(VerifyError::ProofRejected { chunk: 2, .. })));

    // chunk 2 from a run with other salts (an honest proof of another tree): another root
    let mut q = Prepared::with_visibility(tiny_graph(), &tiny_input(), 3, true, true).unwrap();
    q.linkage = chunkproof_prover::witness::Linkage::new(&q.plan, &q.trace, &mut rand::rngs::OsRng).unwrap();
    let (proof, inst) = prove_chunk_with(&q, 2, &q.linkage.witness(2), keys, 0).unwrap();
    let mut b = bundle.clone();
    b.chunks[2].proof = proof;
    b.chunks[2].instances = inst.iter().map(Bytes32::from_fr).collect();
    assert!(matches!(check(f, &b), Err(VerifyError::RootMismatch { chunk: 2, .. })));
}

#[test]
fn garbage_and_truncated_bundles_are_typed_errors() {
    let f = small();
    let bytes = f.bundle.to_bytes();
    for len in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
        let e = Bundle::from_bytes(&bytes[..len]).unwrap_err();
        assert!(matches!(e, FormatError::Malformed { .. }), "truncated at {len}: {e}");
    }
    assert!(matches!(Bundle::from_bytes(b"not a bundle at all"), Err(FormatError::Malformed { .. })));
    assert!(matches!(Bundle::from_bytes(&[]), Err(FormatError::Malformed { .. })));
    // random single-byte corruption anywhere: an error or an (unchanged-meaning) bundle, never a panic
    let keys = KeySet::load(&f.keys, None).unwrap();
    let mut state = 0x9e3779b97f4a7c15u64;
    for _ in 0..300 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut b = bytes.clone();
        let at = (state as usize) % b.len();
        b[at] ^= (state >> 32) as u8 | 1;
        if let Ok(bundle) = Bundle::from_bytes(&b) {
            let _ = verify_bundle(&bundle, &keys, &dev());
        }
    }
    // another version
    let mut b = f.bundle.clone();
    b.version = 2;
    assert!(matches!(
        Bundle::from_bytes(&b.to_bytes()),
        Err(FormatError::UnsupportedVersion { found: 2, .. })
    ));
}

#[test]
fn tampered_keys_are_refused() {
    let f = small();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("keys");
    std::fs::create_dir_all(&copy).unwrap();
    for sub in ["models", "circuits"] {
        copy_dir(&f.keys.join(sub), &copy.join(sub));
    }
    KeySet::load(&copy, Some(&f.bundle.model_id)).unwrap();
    let vk = std::fs::read_dir(copy.join("circuits")).unwrap().next().unwrap().unwrap().path().join("vk.bin");
    let mut bytes = std::fs::read(&vk).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 1;
    std::fs::write(&vk, bytes).unwrap();
    let e = KeySet::load(&copy, Some(&f.bundle.model_id)).unwrap_err();
    assert!(matches!(e, VerifyError::KeySet { .. }), "{e}");
    let e = KeySet::load(&copy, Some(&Bytes32([7; 32]))).unwrap_err();
    assert!(e.to_string().contains("no keys for model"), "{e}");
}
