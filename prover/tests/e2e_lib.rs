//! Proving through the library, end to end, on the tiny model.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use chunkproof_prover::setup::{SetupChoice, Srs};
use chunkproof_prover::testing::{tiny_graph, tiny_input};
use chunkproof_prover::{prove_model, ProveConfig};

#[test]
fn dev_srs_digest_is_pinned() {
    let srs = Srs::open(&SetupChoice::Dev, None).unwrap();
    let d = srs.verifier().digest().to_string();
    eprintln!("dev srs digest {d}");
    assert_eq!(d, chunkproof_core::srs::DEV_SRS_DIGEST);
}

#[test]
fn tiny_model_two_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ProveConfig::new(dir.path(), SetupChoice::Dev).chunks(2);
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

/// An SRS file's every power and its Lagrange basis must be consistent with `[τ]₂`: two powers
/// swapped, one Lagrange point changed, or `[τ]₂` of another secret are refused (the check used
/// to look at the first power only).
#[test]
fn srs_consistency_checks_every_power_and_the_lagrange_basis() {
    use chunkproof_prover::setup::{check_consistency, dev_params};
    use halo2_axiom::halo2curves::bn256::Bn256;
    use halo2_axiom::poly::commitment::ParamsProver;
    use halo2_axiom::poly::kzg::commitment::ParamsKZG;
    use halo2_axiom::SerdeFormat;
    use rand::SeedableRng;
    let k = 6;
    let honest = dev_params(k);
    check_consistency(&honest).unwrap();
    // the file layout: k ‖ g[2^k] ‖ g_lagrange[2^k] ‖ g2 ‖ s_g2, 64 bytes a G1 point (raw)
    let mut bytes = Vec::new();
    honest.write_custom(&mut bytes, SerdeFormat::RawBytes).unwrap();
    let n = 1usize << k;
    let g = |i: usize| 4 + 64 * i;
    let l = |i: usize| 4 + 64 * (n + i);
    let read = |b: &[u8]| ParamsKZG::<Bn256>::read_custom(&mut &b[..], SerdeFormat::RawBytes).unwrap();
    let swap = |b: &mut Vec<u8>, x: usize, y: usize| {
        let p: Vec<u8> = b[x..x + 64].to_vec();
        b.copy_within(y..y + 64, x);
        b[y..y + 64].copy_from_slice(&p);
    };
    let mut powers = bytes.clone();
    swap(&mut powers, g(40), g(41));
    let e = check_consistency(&read(&powers)).unwrap_err().to_string();
    assert!(e.contains("not successive powers"), "{e}");
    let mut lagrange = bytes.clone();
    swap(&mut lagrange, l(10), l(11));
    let e = check_consistency(&read(&lagrange)).unwrap_err().to_string();
    assert!(e.contains("Lagrange basis"), "{e}");
    // another secret's [τ]₂ with these G1 powers
    let other = ParamsKZG::<Bn256>::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(3));
    let mut o = Vec::new();
    other.write_custom(&mut o, SerdeFormat::RawBytes).unwrap();
    let mut b = bytes.clone();
    let s = b.len() - 128;
    b[s..].copy_from_slice(&o[o.len() - 128..]);
    let mixed = read(&b);
    assert_eq!(mixed.get_g()[1], honest.get_g()[1]);
    assert!(check_consistency(&mixed).is_err());
}
