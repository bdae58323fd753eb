//! Aggregation engines: the one step of aggregation a GPU can take over.
//!
//! [`aggregate_with`](crate::aggregate_with) does everything else (native verification of the
//! bundle, building the circuit, keys, the accumulator check, the self-check of every proof
//! with the ordinary verifier) the same way for every engine, so an aggregated proof made on a
//! GPU is checked exactly like one made on the CPU. The choice is explicit, logged, and recorded
//! in the proof's `meta.engine`.

use chunkproof_core::transcript::{EvmTranscript, PoseidonTranscript, TranscriptKind};
use chunkproof_core::Fr;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::plonk::{create_proof, ProvingKey};
use halo2_base::halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_base::halo2_proofs::poly::kzg::multiopen::ProverSHPLONK;
use rand_core::OsRng;
use snark_verifier_sdk::halo2::aggregation::AggregationCircuit;

/// Makes the SHPLONK proof of one aggregation circuit (a tree's node or its root).
pub trait AggregationEngine: Send + Sync {
    /// A short description for logs and the proof's `meta.engine`.
    fn describe(&self) -> String;

    /// Proves `circuit` with `pk` under `params`; `instances` is the single instance column.
    /// `transcript` is Poseidon for a tree's inner nodes (verified again in a circuit) and
    /// Keccak for the root. Errors are returned as text; the caller names the circuit.
    fn prove(
        &self,
        params: &ParamsKZG<Bn256>,
        pk: &ProvingKey<G1Affine>,
        circuit: AggregationCircuit,
        instances: &[Fr],
        transcript: TranscriptKind,
    ) -> Result<Vec<u8>, String>;
}

/// halo2-axiom's own prover on the CPU (all cores through its thread pool).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuAggregation;

impl AggregationEngine for CpuAggregation {
    fn describe(&self) -> String {
        "cpu (halo2-axiom)".into()
    }

    fn prove(
        &self,
        params: &ParamsKZG<Bn256>,
        pk: &ProvingKey<G1Affine>,
        circuit: AggregationCircuit,
        instances: &[Fr],
        transcript: TranscriptKind,
    ) -> Result<Vec<u8>, String> {
        write_proof(transcript, |t| match t {
            Sink::Keccak(t) => {
                create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
                    params,
                    pk,
                    &[circuit],
                    &[&[instances]],
                    OsRng,
                    t,
                )
            }
            Sink::Poseidon(t) => create_proof::<
                KZGCommitmentScheme<Bn256>,
                ProverSHPLONK<'_, Bn256>,
                _,
                _,
                _,
                _,
            >(params, pk, &[circuit], &[&[instances]], OsRng, t),
        })
    }
}

/// A fresh transcript of the kind asked for, for a prover to write one proof into.
pub enum Sink<'a> {
    /// The Keccak EVM transcript (what the Solidity verifier reads).
    Keccak(&'a mut EvmTranscript<Vec<u8>>),
    /// The Poseidon transcript (what an aggregation circuit recomputes).
    Poseidon(&'a mut PoseidonTranscript<Vec<u8>>),
}

/// Runs `write` on a fresh transcript of kind `kind` and returns the proof bytes (for provers
/// outside halo2-axiom, such as the GPU worker's fork, which bring their own `create_proof`).
pub fn write_proof<E: std::fmt::Debug>(
    kind: TranscriptKind,
    write: impl FnOnce(Sink<'_>) -> Result<(), E>,
) -> Result<Vec<u8>, String> {
    match kind {
        TranscriptKind::Keccak => {
            let mut t = EvmTranscript::new(Vec::new());
            write(Sink::Keccak(&mut t)).map_err(|e| format!("{e:?}"))?;
            Ok(t.into_inner())
        }
        TranscriptKind::Poseidon => {
            let mut t = PoseidonTranscript::new(Vec::new());
            write(Sink::Poseidon(&mut t)).map_err(|e| format!("{e:?}"))?;
            Ok(t.into_inner())
        }
    }
}
