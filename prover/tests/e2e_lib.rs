//! Proving through the library, end to end, on the tiny model.

use chunkproof_prover::prove::{prove_model, ProveConfig};
use chunkproof_prover::setup::{Srs, SetupChoice};
use chunkproof_prover::testing::{tiny_graph, tiny_input};

#[test]
fn dev_srs_digest_is_pinned() {
    let srs = Srs::open(&SetupChoice::Dev, None).unwrap();
    let d = srs.verifier().digest().to_string();
    eprintln!("dev srs digest {d}");
    assert_eq!(d, chunkproof_verifier::DEV_SRS_DIGEST);
}

#[test]
fn tiny_model_two_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ProveConfig {
        chunks: 2,
        keys_dir: dir.path().to_path_buf(),
        setup: SetupChoice::Dev,
        input_public: false,
        output_public: true,
        cache_pk: false,
    };
    let (bundle, report) = prove_model(&tiny_graph(), &tiny_input(), &cfg, &mut |e| eprintln!("{e:?}")).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(bundle.chunks.len(), 2);
}
