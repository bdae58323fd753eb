//! Aggregation engines: the one step of aggregation a GPU can take over.
//!
//! [`aggregate_with`](crate::aggregate_with) does everything else (native verification of the
//! bundle, building the circuit, keys, the accumulator check, the self-check of every proof
//! with the ordinary verifier) the same way for every engine, so an aggregated proof made on a
//! GPU is checked exactly like one made on the CPU. The choice is explicit, logged, and recorded
//! in the proof's `meta.engine`.

use chunkproof_core::transcript::TranscriptKind;
use chunkproof_core::Fr;
use chunkproof_prover::engine::shplonk_proof;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::plonk::ProvingKey;
use halo2_base::halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_base::halo2_proofs::poly::kzg::multiopen::ProverSHPLONK;
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
        shplonk_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _>(
            params, pk, circuit, instances, transcript,
        )
        .map_err(|e| format!("{e:?}"))
    }
}
