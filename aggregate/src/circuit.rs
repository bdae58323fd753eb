//! The aggregation circuit: snark-verifier's in-circuit SHPLONK verification of every chunk
//! proof, accumulated into one KZG pair, plus the bundle's own public values.
//!
//! On top of snark-verifier-sdk's `AggregationCircuit` (chunk verifying keys loaded as circuit
//! constants, so the aggregation verifying key fixes them) this adds:
//! - every chunk's first instance (its Merkle root) is constrained equal to chunk 0's;
//! - the public instances of [`AggregatedInstances`]: the accumulator, the model id as two
//!   constants, the root, chunk 0's public inputs and the last chunk's public outputs, each a
//!   copy of the chunk instance the in-circuit verifier read.

use chunkproof_core::aggregated::{model_id_halves, AggregationShape, ROOT_INDEX};
use chunkproof_core::Bytes32;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::halo2curves::bn256::Bn256;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snark_verifier_sdk::halo2::aggregation::{
    AggregationCircuit, AggregationConfigParams, VerifierUniversality,
};
use snark_verifier_sdk::{Snark, SHPLONK};

use crate::error::{AggregateError, Result};

/// What the circuit exposes besides the accumulator.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exposed {
    /// The model id (two constants).
    pub model_id: Bytes32,
    /// Public model inputs: chunk 0's instances `1..=num_inputs`.
    pub num_inputs: usize,
    /// Public model outputs: the last chunk's last `num_outputs` instances.
    pub num_outputs: usize,
}

/// The shape keygen starts from: `2^k` rows, a range table of `k − 1` bits, columns chosen by
/// halo2-base's `calculate_params`.
pub(crate) fn initial_shape(k: u32) -> AggregationConfigParams {
    AggregationConfigParams { degree: k, lookup_bits: k as usize - 1, ..Default::default() }
}

/// Converts the sdk's parameters to the recorded shape.
pub(crate) fn shape_of(p: &AggregationConfigParams) -> AggregationShape {
    AggregationShape {
        k: p.degree,
        num_advice: p.num_advice,
        num_lookup_advice: p.num_lookup_advice,
        num_fixed: p.num_fixed,
        lookup_bits: p.lookup_bits,
    }
}

/// Builds the aggregation circuit over `snarks` (chunk order) at `stage`.
pub(crate) fn build(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
    exposed: Exposed,
) -> Result<AggregationCircuit> {
    let n = snarks.len();
    let last_len = snarks.last().map(|s| s.instances[0].len()).unwrap_or(0);
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        AggregationCircuit::new::<SHPLONK>(stage, config, params, snarks, VerifierUniversality::None)
    }))
    .map_err(|_| AggregateError::Circuit {
        detail: "snark-verifier could not build the aggregation circuit (a chunk proof it cannot read)"
            .into(),
    })?;
    let mut circuit = built;
    let prev = circuit.previous_instances().clone();
    if prev.len() != n || prev.iter().any(|p| p.is_empty()) || last_len < exposed.num_outputs + 1 {
        return Err(AggregateError::Circuit {
            detail: "chunk instances do not have the plan's layout".into(),
        });
    }
    let ctx = circuit.builder.main(0);
    let root = prev[0][0];
    for p in &prev[1..] {
        ctx.constrain_equal(&p[0], &root);
    }
    let [hi, lo] = model_id_halves(&exposed.model_id);
    // advice cells copy-constrained to fixed constants: the verifying key fixes their values
    let id = [ctx.load_constant(hi), ctx.load_constant(lo)];
    let inputs = &prev[0][1..1 + exposed.num_inputs];
    let outputs = &prev[n - 1][last_len - exposed.num_outputs..];
    let public = &mut circuit.builder.assigned_instances[0];
    debug_assert_eq!(public.len(), ROOT_INDEX - 2);
    public.extend(id);
    public.push(root);
    public.extend_from_slice(inputs);
    public.extend_from_slice(outputs);
    Ok(circuit)
}
