//! The native Poseidon transcript of `chunkproof-core` is the one snark-verifier recomputes in
//! the aggregation circuit: same bytes, same challenges.
#![allow(unused_crate_dependencies)]

use chunkproof_core::transcript::PoseidonTranscript;
use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_base::halo2_proofs::halo2curves::group::Curve;
use halo2_base::halo2_proofs::transcript::{
    EncodedChallenge, Transcript, TranscriptRead, TranscriptReadBuffer, TranscriptWrite,
};
use snark_verifier_sdk::halo2::{PoseidonTranscript as SvTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::NativeLoader;

#[test]
fn same_bytes_and_challenges_as_snark_verifier() {
    let mut ours = PoseidonTranscript::<Vec<u8>>::new(Vec::new());
    let mut theirs = SvTranscript::<NativeLoader, Vec<u8>>::from_spec(Vec::new(), POSEIDON_SPEC.clone());
    let mut challenges = Vec::new();
    // points and scalars in runs of every parity, squeezes between and back to back
    for round in 0u64..6 {
        for j in 0..round {
            let p = (halo2_base::halo2_proofs::halo2curves::bn256::G1::generator()
                * Fr::from(round * 7 + j + 1))
            .to_affine();
            TranscriptWrite::<G1Affine, _>::write_point(&mut ours, p).unwrap();
            TranscriptWrite::<G1Affine, _>::write_point(&mut theirs, p).unwrap();
        }
        for j in 0..(round % 3) {
            let s = Fr::from(1000 + round * 10 + j);
            TranscriptWrite::<G1Affine, _>::write_scalar(&mut ours, s).unwrap();
            TranscriptWrite::<G1Affine, _>::write_scalar(&mut theirs, s).unwrap();
        }
        for _ in 0..(1 + round % 2) {
            let a = Transcript::<G1Affine, _>::squeeze_challenge(&mut ours).get_scalar();
            let b = Transcript::<G1Affine, _>::squeeze_challenge(&mut theirs).get_scalar();
            assert_eq!(a, b, "round {round}");
            challenges.push(a);
        }
    }
    let bytes = ours.into_inner();
    assert_eq!(bytes, theirs.finalize());

    // and reading back gives the same challenges
    let mut reader =
        <SvTranscript<NativeLoader, &[u8]> as TranscriptReadBuffer<_, G1Affine, _>>::init(&bytes[..]);
    let mut ours = PoseidonTranscript::new(&bytes[..]);
    let mut k = 0;
    for round in 0u64..6 {
        for _ in 0..round {
            let a: G1Affine = TranscriptRead::<G1Affine, _>::read_point(&mut ours).unwrap();
            let b: G1Affine = TranscriptRead::<G1Affine, _>::read_point(&mut reader).unwrap();
            assert_eq!(a, b);
        }
        for _ in 0..(round % 3) {
            let a = TranscriptRead::<G1Affine, _>::read_scalar(&mut ours).unwrap();
            let b = TranscriptRead::<G1Affine, _>::read_scalar(&mut reader).unwrap();
            assert_eq!(a, b);
        }
        for _ in 0..(1 + round % 2) {
            let a = Transcript::<G1Affine, _>::squeeze_challenge(&mut ours).get_scalar();
            let b = Transcript::<G1Affine, _>::squeeze_challenge(&mut reader).get_scalar();
            assert_eq!(a, b);
            assert_eq!(a, challenges[k]);
            k += 1;
        }
    }
}
