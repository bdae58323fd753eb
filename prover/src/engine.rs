//! Proof engines: the one step of proving that a GPU can take over.
//!
//! [`prove`](crate::run::prove) does everything else (interpretation, planning, linkage, keys,
//! self-check, bundle) the same way for every engine, so a proof made by any engine is checked by
//! the same verifier. The engine is always an explicit choice and
//! is named in the log and in the bundle's `meta.msm`; nothing falls back silently.
//!
//! | engine | where | what runs on the GPU |
//! |---|---|---|
//! | [`CpuEngine`] | always | nothing (halo2-axiom's multi-threaded multiexp and FFT) |
//! | `CudaMsmEngine` | `gpu` feature | the commitments' MSMs (sppark Pippenger), the rest on the CPU |
//! | full GPU proving | `chunkproof-gpu-worker` binary | MSM, NTT, quotient, lookups, permutation |

use halo2_axiom::halo2curves::bn256::{Bn256, G1Affine};
use halo2_axiom::plonk::{create_proof, Circuit, ProvingKey};
use halo2_axiom::poly::commitment::{CommitmentScheme, Prover};
use halo2_axiom::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_axiom::poly::kzg::multiopen::ProverSHPLONK;
use rand_core::OsRng;

use crate::circuit::{ChunkCircuit, Fr};
use crate::error::{ProverError, Result};
pub use chunkproof_core::transcript::TranscriptKind;
pub use chunkproof_core::transcript::{write_proof, ProofSink};

/// Makes the SHPLONK proof of one chunk circuit, with the transcript asked for.
pub trait ProofEngine: Send + Sync {
    /// A short description for logs and the bundle's `meta.msm`, e.g. `cpu (halo2-axiom multiexp)`.
    fn describe(&self) -> String;

    /// Proves `circuit` with `pk` under `params`; `instances` is the single instance column.
    fn prove(
        &self,
        params: &ParamsKZG<Bn256>,
        pk: &ProvingKey<G1Affine>,
        circuit: ChunkCircuit,
        instances: &[Fr],
        chunk: usize,
        transcript: TranscriptKind,
    ) -> Result<Vec<u8>>;
}

/// halo2-axiom's own prover on the CPU (all cores through its thread pool).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuEngine;

impl ProofEngine for CpuEngine {
    fn describe(&self) -> String {
        "cpu (halo2-axiom multiexp)".into()
    }

    fn prove(
        &self,
        params: &ParamsKZG<Bn256>,
        pk: &ProvingKey<G1Affine>,
        circuit: ChunkCircuit,
        instances: &[Fr],
        chunk: usize,
        transcript: TranscriptKind,
    ) -> Result<Vec<u8>> {
        prove_with_scheme::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>>(
            params,
            pk,
            circuit,
            instances,
            (chunk, transcript),
        )
    }
}

/// The one way a chunk proof is made with halo2-axiom: SHPLONK over the KZG commitment scheme
/// `S` (halo2's own, or one that moves its MSMs elsewhere), with the transcript asked for and
/// fresh randomness from the operating system ([`shplonk_proof`]).
pub fn prove_with_scheme<'p, S, P>(
    params: &'p S::ParamsProver,
    pk: &ProvingKey<G1Affine>,
    circuit: ChunkCircuit,
    instances: &[Fr],
    (chunk, transcript): (usize, TranscriptKind),
) -> Result<Vec<u8>>
where
    S: CommitmentScheme<Curve = G1Affine, Scalar = Fr>,
    S::ParamsProver: Sync,
    P: Prover<'p, S>,
{
    shplonk_proof::<S, P, _>(params, pk, circuit, instances, transcript).map_err(|e| halo2_failure(chunk, e))
}

/// halo2-axiom's `create_proof` of any one-instance-column circuit (a chunk's, an
/// aggregation's) under the commitment scheme `S` and prover `P`, into a fresh transcript of
/// kind `transcript`.
pub fn shplonk_proof<'p, S, P, C>(
    params: &'p S::ParamsProver,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Fr],
    transcript: TranscriptKind,
) -> std::result::Result<Vec<u8>, halo2_axiom::plonk::Error>
where
    S: CommitmentScheme<Curve = G1Affine, Scalar = Fr>,
    S::ParamsProver: Sync,
    P: Prover<'p, S>,
    C: Circuit<Fr>,
{
    write_proof(transcript, |sink| match sink {
        ProofSink::Keccak(t) => {
            create_proof::<S, P, _, _, _, _>(params, pk, &[circuit], &[&[instances]], OsRng, t)
        }
        ProofSink::Poseidon(t) => {
            create_proof::<S, P, _, _, _, _>(params, pk, &[circuit], &[&[instances]], OsRng, t)
        }
    })
}

/// Maps a halo2 proving error to [`ProverError::Halo2`].
pub fn halo2_failure(chunk: usize, e: impl std::fmt::Debug) -> ProverError {
    ProverError::Halo2 { chunk, stage: "proving", detail: format!("{e:?}") }
}

/// Which engine `chunkproof prove` should use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineChoice {
    /// [`CpuEngine`].
    #[default]
    Cpu,
    /// MSMs on a CUDA GPU (needs the `gpu` feature and a GPU).
    CudaMsm,
}

/// Builds the chosen engine, or says precisely why it cannot run here.
pub fn engine(choice: EngineChoice) -> Result<Box<dyn ProofEngine>> {
    let e: Box<dyn ProofEngine> = match choice {
        EngineChoice::Cpu => Box::new(CpuEngine),
        EngineChoice::CudaMsm => cuda_msm()?,
    };
    log::info!("proof engine: {}", e.describe());
    Ok(e)
}

#[cfg(feature = "gpu")]
fn cuda_msm() -> Result<Box<dyn ProofEngine>> {
    Ok(Box::new(crate::gpu::CudaMsmEngine::new()?))
}

#[cfg(not(feature = "gpu"))]
fn cuda_msm() -> Result<Box<dyn ProofEngine>> {
    Err(ProverError::Backend {
        backend: "cuda-msm",
        detail: "this build has no GPU support; rebuild with `--features gpu` (`make gpu-build`)".into(),
    })
}
