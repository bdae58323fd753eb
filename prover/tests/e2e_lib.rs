//! Proving through the library, end to end, on the tiny model.

use chunkproof_prover::prove::{prove_model, ProveConfig};
use chunkproof_prover::setup::{SetupChoice, Srs};
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
        min_k: 0,
    };
    let (bundle, report) =
        prove_model(&tiny_graph(), &tiny_input(), &cfg, &mut |e| eprintln!("{e:?}")).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert_eq!(bundle.chunks.len(), 2);
}

#[test]
fn fast_dev_setup_equals_reference_setup() {
    use halo2_axiom::halo2curves::bn256::Bn256;
    use halo2_axiom::poly::commitment::{Params, ParamsProver};
    use halo2_axiom::poly::kzg::commitment::ParamsKZG;
    use rand::SeedableRng;
    for k in [3u32, 6] {
        let fast = chunkproof_prover::setup::dev_params(k);
        let reference = ParamsKZG::<Bn256>::setup(
            k,
            rand_chacha::ChaCha20Rng::from_seed(chunkproof_prover::setup::DEV_SEED),
        );
        let (mut a, mut b) = (Vec::new(), Vec::new());
        fast.write(&mut a).unwrap();
        reference.write(&mut b).unwrap();
        assert_eq!(a, b, "k = {k}");
        assert_eq!(fast.get_g().len(), 1 << k);
    }
}
