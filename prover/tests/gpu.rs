//! The `gpu` feature: the GPU commitment scheme, and the CUDA MSM where a GPU is present.
//!
//! Built and run by `make gpu-check` (no GPU needed: the scheme is exercised with its CPU
//! path, and the device tests report that they were skipped) and on a GPU machine by
//! `make gpu-test`, where the device tests run for real.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package
#![cfg(feature = "gpu")]

use std::sync::Arc;

use chunkproof_prover::circuit::{ChunkCircuit, Fr};
use chunkproof_prover::engine::{prove_with_scheme, ProofEngine, TranscriptKind};
use chunkproof_prover::gpu::{
    cpu_msm, same_point, CudaKzg, CudaMsmEngine, CudaParams, CudaShplonk, Device, MsmStats,
};
use chunkproof_prover::setup::SetupChoice;
use chunkproof_prover::testing::{tiny_graph, tiny_input};
use chunkproof_prover::{prove_model_with, ProveConfig};
use halo2_axiom::halo2curves::bn256::{Bn256, G1Affine, G1};
use halo2_axiom::halo2curves::ff::Field;
use halo2_axiom::halo2curves::group::prime::PrimeCurveAffine;
use halo2_axiom::halo2curves::group::{Curve, Group};
use halo2_axiom::plonk::ProvingKey;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::atomic::Ordering;

fn config(dir: &std::path::Path) -> ProveConfig {
    // 2^13 rows: the large commitments are above the GPU threshold.
    ProveConfig::new(dir, SetupChoice::Dev).chunks(2).min_k(13)
}

/// The GPU scheme with no device: every MSM on the CPU, through the same wrapper code
/// (Lagrange-basis extraction, SHPLONK delegation) that the GPU path uses.
struct SchemeOnCpu(Arc<MsmStats>);

impl ProofEngine for SchemeOnCpu {
    fn describe(&self) -> String {
        "CudaKzg scheme, CPU MSMs (test)".into()
    }
    fn prove(
        &self,
        params: &ParamsKZG<Bn256>,
        pk: &ProvingKey<G1Affine>,
        circuit: ChunkCircuit,
        instances: &[Fr],
        chunk: usize,
        transcript: TranscriptKind,
    ) -> chunkproof_prover::Result<Vec<u8>> {
        let cp = CudaParams::new(params.clone(), None, self.0.clone());
        prove_with_scheme::<CudaKzg, CudaShplonk<'_>>(&cp, pk, circuit, instances, (chunk, transcript))
    }
}

#[test]
fn gpu_scheme_wrapper_proofs_verify_with_the_ordinary_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let engine = SchemeOnCpu(Arc::default());
    // prove_model_with self-checks every chunk proof and verifies the bundle with the verifier crate.
    let (bundle, _) =
        prove_model_with(&tiny_graph(), &tiny_input(), &config(dir.path()), &engine, &mut |_| {}).unwrap();
    assert_eq!(bundle.chunks.len(), 2);
    assert!(engine.0.cpu_small.load(Ordering::Relaxed) > 0);
    assert_eq!(engine.0.gpu.load(Ordering::Relaxed), 0);
}

fn device_or_skip(test: &str) -> Option<Device> {
    match Device::open() {
        Ok(d) => {
            eprintln!("{test}: running on {}", d.name);
            Some(d)
        }
        Err(e) => {
            chunkproof_prover::testing::prerequisite("gpu", false, &format!("{test}: no GPU here ({e})"));
            None
        }
    }
}

/// `Σ sᵢ·Pᵢ` one term at a time: an independent reference that, unlike halo2's batched-affine
/// CPU MSM, accepts the point at infinity and repeated bases.
fn naive_msm(scalars: &[Fr], bases: &[G1Affine]) -> G1 {
    scalars.iter().zip(bases).fold(G1::identity(), |acc, (s, b)| acc + *b * s)
}

#[test]
fn gpu_msm_equals_cpu_msm() {
    let Some(device) = device_or_skip("gpu_msm_equals_cpu_msm") else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let n = (1 << 16) + 3;
    let bases: Vec<G1Affine> = (0..n).map(|_| G1::random(&mut rng).to_affine()).collect();
    let mut scalars: Vec<Fr> = (0..n).map(|_| Fr::random(&mut rng)).collect();
    // Edge-case scalars: zero and minus one.
    scalars[0] = Fr::ZERO;
    scalars[1] = -Fr::ONE;
    for len in [1usize, 2, 5, 1000, 1 << 12, (1 << 12) + 1, 1 << 16, n] {
        let gpu = device.msm(&scalars[..len], &bases).unwrap();
        assert!(same_point(&gpu, &cpu_msm(&scalars[..len], &bases)), "size {len}");
    }
    // Edge-case bases: the point at infinity and a repeated point, against the naive sum.
    let mut odd = bases[..1000].to_vec();
    odd[2] = G1Affine::identity();
    odd[3] = odd[4];
    let gpu = device.msm(&scalars[..1000], &odd).unwrap();
    assert!(same_point(&gpu, &naive_msm(&scalars[..1000], &odd)), "identity / repeated bases");
    // All-zero scalars give the identity.
    let zero = vec![Fr::ZERO; 1 << 12];
    assert!(bool::from(device.msm(&zero, &bases).unwrap().is_identity()));
    // A changed scalar changes the result (the comparison above is not vacuous).
    let mut other = scalars[..1 << 12].to_vec();
    other[7] += Fr::ONE;
    assert!(!same_point(&device.msm(&other, &bases).unwrap(), &cpu_msm(&scalars[..1 << 12], &bases)));
    // Too few bases is an error, not a read past the end.
    assert!(device.msm(&scalars[..10], &bases[..9]).is_err());
}

#[test]
fn cuda_msm_engine_proofs_verify() {
    if device_or_skip("cuda_msm_engine_proofs_verify").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let engine = CudaMsmEngine::new().unwrap();
    let (bundle, _) =
        prove_model_with(&tiny_graph(), &tiny_input(), &config(dir.path()), &engine, &mut |_| {}).unwrap();
    assert!(bundle.meta.msm.starts_with("cuda-msm"));
    let s = engine.stats();
    assert!(s.gpu.load(Ordering::Relaxed) > 0, "no MSM ran on the GPU");
    assert_eq!(s.cpu_fallback.load(Ordering::Relaxed), 0, "GPU MSMs failed and fell back");
}

#[test]
fn cuda_msm_engine_reports_a_missing_gpu() {
    if Device::open().is_ok() {
        return;
    }
    let e = CudaMsmEngine::new().unwrap_err().to_string();
    assert!(e.contains("cuda-msm") && e.contains("no usable CUDA GPU"), "{e}");
}
