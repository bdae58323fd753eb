//! Aggregation end to end on a two-chunk model: the aggregated proof verifies, stands for the
//! bundle's root and outputs, and every tampering with it (or verifying it against other keys)
//! is rejected.
#![allow(unused_crate_dependencies)]

use std::path::Path;
use std::sync::Mutex;

use chunkproof_aggregate::{
    aggregate, aggregate_with, mock_unchecked, AggregateConfig, AggregateError, AggregationEngine,
    CpuAggregation,
};
use chunkproof_core::aggregated::{AggregatedProof, ROOT_INDEX};
use chunkproof_core::transcript::TranscriptKind;
use chunkproof_core::{Bundle, Bytes32, Fr};
use chunkproof_prover::setup::SetupChoice;
use chunkproof_prover::testing::{tiny_graph, tiny_input};
use chunkproof_prover::{prove_model, ProveConfig};
use chunkproof_verifier::{verify_aggregated, AggregationKey, KeySet, VerifyError, VerifyOptions};

fn bundle(keys: &Path, chunks: usize, transcript: TranscriptKind) -> Bundle {
    let cfg = ProveConfig::new(keys, SetupChoice::Dev).chunks(chunks).transcript(transcript);
    prove_model(&tiny_graph(), &tiny_input(), &cfg, &mut |_| {}).expect("proves").0
}

fn dev() -> VerifyOptions {
    VerifyOptions { allow_dev_setup: true, ..Default::default() }
}

fn check(agg: &AggregatedProof, keys: &KeySet) -> Result<(), VerifyError> {
    let key = AggregationKey::load(keys, &agg.vk_digest)?;
    verify_aggregated(agg, keys, &key, &dev()).map(|_| ())
}

fn rejected(agg: &AggregatedProof, keys: &KeySet, what: &str) {
    match check(agg, keys) {
        Err(e) if e.is_rejection() => {}
        other => panic!("{what}: expected a rejection, got {other:?}"),
    }
}

fn with_instance(agg: &AggregatedProof, j: usize, f: impl Fn(Fr) -> Fr) -> AggregatedProof {
    let mut t = agg.clone();
    t.instances[j] = Bytes32::from_fr(&f(agg.instances[j].to_fr().unwrap()));
    t
}

/// An engine that proves with the CPU and records the transcripts it was asked for, or (when
/// `lie`) returns a proof of the right size made of nothing.
struct Recording {
    lie: bool,
    calls: Mutex<Vec<TranscriptKind>>,
}

impl AggregationEngine for Recording {
    fn describe(&self) -> String {
        "recording (test)".into()
    }

    fn prove(
        &self,
        params: &halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG<
            halo2_base::halo2_proofs::halo2curves::bn256::Bn256,
        >,
        pk: &halo2_base::halo2_proofs::plonk::ProvingKey<
            halo2_base::halo2_proofs::halo2curves::bn256::G1Affine,
        >,
        circuit: snark_verifier_sdk::halo2::aggregation::AggregationCircuit,
        instances: &[Fr],
        transcript: TranscriptKind,
    ) -> Result<Vec<u8>, String> {
        self.calls.lock().unwrap().push(transcript);
        if self.lie {
            return Ok(vec![0u8; 2912]);
        }
        CpuAggregation.prove(params, pk, circuit, instances, transcript)
    }
}

/// Flips byte `at` of a (large) file in place.
fn flip_byte(path: &Path, at: u64) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(path).unwrap();
    let mut b = [0u8];
    f.seek(SeekFrom::Start(at)).unwrap();
    f.read_exact(&mut b).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&[b[0] ^ 1]).unwrap();
}

#[test]
fn aggregated_proof_verifies_and_every_tampering_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let b = bundle(&keys_dir, 2, TranscriptKind::Poseidon);
    // the keys are kept (`aggregation/kept/`): a tampered entry is refused below
    let cfg =
        AggregateConfig { k: Some(20), keep_pk: true, ..AggregateConfig::new(&keys_dir, SetupChoice::Dev) };

    // A Keccak bundle of the same model is refused before any work.
    let keccak = bundle(&keys_dir, 2, TranscriptKind::Keccak);
    assert_eq!(keccak.model_id, b.model_id, "the transcript is not part of the model");
    assert!(matches!(
        aggregate(&keccak, &cfg, &VerifyOptions::default()),
        Err(AggregateError::WrongTranscript { .. })
    ));
    // A bundle that does not verify is not aggregated.
    let mut broken = b.clone();
    broken.chunks[1].proof[100] ^= 1;
    assert!(matches!(aggregate(&broken, &cfg, &VerifyOptions::default()), Err(AggregateError::Verify(_))));

    let engine = Recording { lie: false, calls: Mutex::default() };
    let (agg, report) = aggregate_with(&b, &cfg, &VerifyOptions::default(), &engine).expect("aggregates");
    assert_eq!(*engine.calls.lock().unwrap(), [TranscriptKind::Keccak], "one circuit: the root, Keccak");
    assert_eq!((report.engine.as_str(), agg.meta.engine.as_str()), ("recording (test)", "recording (test)"));
    eprintln!(
        "aggregated 2 chunks: {:?}, circuit {} ms, keys {} ms, proving {} ms, {} bytes",
        report.shape, report.build_ms, report.keygen_ms, report.prove_ms, report.proof_bytes
    );

    // Honest: verifies, and stands for the bundle's root and outputs.
    let keys = KeySet::load(&keys_dir, Some(&b.model_id)).unwrap();
    let key = AggregationKey::load(&keys, &agg.vk_digest).unwrap();
    let ok = verify_aggregated(&agg, &keys, &key, &dev()).unwrap();
    assert_eq!(ok.root, b.root);
    assert_eq!(ok.outputs, b.outputs);
    assert_eq!(ok.num_chunks, 2);
    // The development setup is refused unless asked for.
    assert!(matches!(
        verify_aggregated(&agg, &keys, &key, &VerifyOptions::default()),
        Err(VerifyError::InsecureSetupRefused { .. })
    ));
    // File round trip, canonical encoding only.
    let path = dir.path().join("b.agg");
    agg.write(&path).unwrap();
    assert_eq!(AggregatedProof::read(&path).unwrap(), agg);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(0);
    assert!(AggregatedProof::from_bytes(&bytes).is_err());

    // A flipped proof byte: first commitment, middle, last opening.
    for at in [0, agg.proof.len() / 2, agg.proof.len() - 1] {
        let mut t = agg.clone();
        t.proof[at] ^= 1;
        rejected(&t, &keys, &format!("proof byte {at} flipped"));
    }
    let mut t = agg.clone();
    t.proof.push(0);
    rejected(&t, &keys, "trailing proof byte");
    // Another root, another output, an accumulator limb changed.
    rejected(&with_instance(&agg, ROOT_INDEX, |f| f + Fr::from(1u64)), &keys, "another root");
    let last = agg.instances.len() - 1;
    rejected(&with_instance(&agg, last, |f| f + Fr::from(1u64)), &keys, "an output changed");
    rejected(&with_instance(&agg, 0, |f| f + Fr::from(1u64)), &keys, "accumulator limb changed");
    rejected(&with_instance(&agg, 4, |f| f + Fr::from(1u64)), &keys, "accumulator limb changed");
    // The model id instance is compared with the keys'.
    match check(&with_instance(&agg, ROOT_INDEX - 1, |f| f + Fr::from(1u64)), &keys) {
        Err(VerifyError::AggregatedMismatch { what, .. }) => assert!(what.contains("model id"), "{what}"),
        other => panic!("model id instance changed: {other:?}"),
    }
    // An extra instance.
    let mut t = agg.clone();
    t.instances.push(Bytes32::from_fr(&Fr::from(0u64)));
    assert!(check(&t, &keys).is_err());
    // A claimed chunk count other than the plan's.
    let mut t = agg.clone();
    t.num_chunks = 3;
    rejected(&t, &keys, "another chunk count");

    // Another model's keys: the same layers in one chunk.
    let other_dir = dir.path().join("other");
    let other = bundle(&other_dir, 1, TranscriptKind::Poseidon);
    assert_ne!(other.model_id, b.model_id);
    let other_keys = KeySet::load(&other_dir, None).unwrap();
    match verify_aggregated(&agg, &other_keys, &key, &dev()) {
        Err(VerifyError::AggregatedMismatch { what, .. }) => assert_eq!(what, "model id"),
        other => panic!("another model's keys: {other:?}"),
    }
    assert!(AggregationKey::load(&other_keys, &agg.vk_digest).is_err(), "no such key for the other model");

    // The generated Solidity verifier accepts the honest proof and rejects a flipped byte (when
    // solc is at hand: `make tools`).
    let solc = chunkproof_evm::Solc::find();
    if chunkproof_prover::testing::prerequisite("solc", solc.is_ok(), "the aggregation verifier's EVM check")
    {
        let solc = solc.unwrap();
        let r = chunkproof_evm::verify_aggregated_evm(&agg, &keys, &key, &solc).expect("the EVM accepts");
        eprintln!("aggregation verifier: {} bytes, {} gas", r.runtime_size, r.verify_gas);
        assert!(r.verify_gas > 0);
        let mut t = agg.clone();
        let n = t.proof.len();
        t.proof[n / 2] ^= 1;
        assert!(chunkproof_evm::verify_aggregated_evm(&t, &keys, &key, &solc).unwrap_err().is_rejection());
        let t = with_instance(&agg, ROOT_INDEX, |f| f + Fr::from(1u64));
        assert!(chunkproof_evm::verify_aggregated_evm(&t, &keys, &key, &solc).unwrap_err().is_rejection());
    }

    // The circuit itself ties the chunks to one root: chunk 0 of this bundle with chunk 1 of
    // another bundle of the same model (fresh salts, so another root), put in the aggregation
    // circuit without the bundle check, break one of its equality constraints (MockProver); the
    // honest pair satisfies them all.
    let b2 = bundle(&keys_dir, 2, TranscriptKind::Poseidon);
    assert_ne!(b2.root, b.root);
    let t = std::time::Instant::now();
    assert_eq!(mock_unchecked(&b.chunks, &b.model_id, &cfg).expect("builds"), Ok(()), "the honest chunks");
    let mixed = [b.chunks[0].clone(), b2.chunks[1].clone()];
    match mock_unchecked(&mixed, &b.model_id, &cfg).expect("builds") {
        Err(failures) => assert!(
            !failures.is_empty() && failures.iter().all(|f| f.contains("Equality constraint not satisfied")),
            "{failures:?}"
        ),
        Ok(()) => panic!("chunks with different roots satisfy the aggregation circuit"),
    }
    eprintln!(
        "the aggregation circuit in the MockProver, honest and mixed: {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // The first aggregation derived its keys and kept them (proving with kept keys:
    // `an_engines_proof_is_checked_not_believed`). A kept proving key whose verifying key is not
    // the recorded one is refused, the entry named, before any proving.
    assert!(!report.pk_kept, "the first run derives the keys");
    let kept: Vec<_> =
        std::fs::read_dir(keys_dir.join("aggregation/kept")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(kept.len(), 1, "one circuit, one entry: {kept:?}");
    flip_byte(&kept[0].join("pk.bin"), 20); // inside the first fixed commitment
    match aggregate(&b2, &cfg, &VerifyOptions::default()) {
        Err(AggregateError::KeptKey { path, detail }) => {
            assert_eq!(path, kept[0]);
            assert!(detail.contains("verifying key"), "{detail}");
        }
        other => panic!("a kept key changed: {:?}", other.map(|_| ())),
    }

    // A tampered aggregation verifying key file is refused on load.
    let vk_path = keys_dir.join(&key.record.vk_file);
    let mut vk = std::fs::read(&vk_path).unwrap();
    let n = vk.len();
    vk[n / 2] ^= 1;
    std::fs::write(&vk_path, vk).unwrap();
    assert!(matches!(AggregationKey::load(&keys, &agg.vk_digest), Err(VerifyError::KeySet { .. })));
}

/// What an engine returns is checked, not believed: a proof made of nothing is refused after
/// keygen, and no aggregated proof is returned. The keys that run kept then prove another bundle
/// of the same model: no keygen, the same aggregation key, a proof of that bundle's root.
#[test]
#[ignore = "≈ 7 min and ≈ 7 GiB on 2 cores (an aggregation circuit's keys, one proof): make test-slow"]
fn an_engines_proof_is_checked_not_believed() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let b = bundle(&keys_dir, 2, TranscriptKind::Poseidon);
    let cfg =
        AggregateConfig { k: Some(20), keep_pk: true, ..AggregateConfig::new(&keys_dir, SetupChoice::Dev) };
    let liar = Recording { lie: true, calls: Mutex::default() };
    match aggregate_with(&b, &cfg, &VerifyOptions::default(), &liar) {
        Err(AggregateError::SelfCheck(e)) => assert!(e.is_rejection(), "{e:?}"),
        other => {
            panic!("an engine's empty proof: expected a self-check failure, got {:?}", other.map(|_| ()))
        }
    }
    assert_eq!(*liar.calls.lock().unwrap(), [TranscriptKind::Keccak]);

    let b2 = bundle(&keys_dir, 2, TranscriptKind::Poseidon);
    assert_ne!(b2.root, b.root);
    let (agg, report) = aggregate(&b2, &cfg, &VerifyOptions::default()).expect("aggregates with kept keys");
    assert!(report.pk_kept, "the keys the first run kept are loaded");
    let keys = KeySet::load(&keys_dir, Some(&b.model_id)).unwrap();
    let key = AggregationKey::load(&keys, &agg.vk_digest).unwrap();
    assert_eq!(verify_aggregated(&agg, &keys, &key, &dev()).unwrap().root, b2.root);
    eprintln!("with kept keys: keys {} ms, proving {} ms", report.keygen_ms, report.prove_ms);
}
