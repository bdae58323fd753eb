//! The aggregation circuit: snark-verifier's in-circuit SHPLONK verification of every proof it
//! aggregates (chunk proofs, or in a tree the proofs of the nodes below, whose accumulators it
//! folds in), accumulated into one KZG pair, plus the bundle's own public values.
//!
//! On top of snark-verifier-sdk's `AggregationCircuit` (the aggregated verifying keys loaded as
//! circuit constants, so this circuit's verifying key fixes them) this adds:
//! - every aggregated proof's Merkle root is constrained equal to the first one's;
//! - the public instances of [`AggregatedInstances`]: the accumulator, the model id as two
//!   constants, the root, the first proof's public inputs and the last proof's public outputs,
//!   each a copy of the instance the in-circuit verifier read.
//!
//! [`AggregatedInstances`]: chunkproof_core::aggregated::AggregatedInstances

use chunkproof_core::aggregated::{model_id_halves, AggregationShape, ROOT_INDEX};
use chunkproof_core::Bytes32;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::halo2curves::bn256::Bn256;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snark_verifier_sdk::halo2::aggregation::{
    AggregationCircuit, AggregationConfigParams, VerifierUniversality,
};
use snark_verifier_sdk::{Snark, SHPLONK};
use std::ops::Range;

use crate::error::{AggregateError, Result};

/// Where a proof being aggregated keeps the values a node passes on: its Merkle root, and the
/// model's public inputs and outputs when it covers the first or the last chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Index of the root among its instances.
    pub root: usize,
    /// Public model inputs (empty unless it covers chunk 0).
    pub inputs: Range<usize>,
    /// Public model outputs (empty unless it covers the last chunk).
    pub outputs: Range<usize>,
}

impl Layout {
    /// A chunk proof of `num_instances` instances: the root first, chunk 0's public inputs
    /// after it, the last chunk's public outputs at the end.
    pub(crate) fn chunk(num_instances: usize, first: Option<usize>, last: Option<usize>) -> Self {
        let ni = first.unwrap_or(0);
        let no = last.unwrap_or(0);
        Self { root: 0, inputs: 1..1 + ni, outputs: num_instances.saturating_sub(no)..num_instances }
    }

    /// An aggregation node's proof (the [`AggregatedInstances`] layout), exposing `ni` inputs
    /// and `no` outputs.
    ///
    /// [`AggregatedInstances`]: chunkproof_core::aggregated::AggregatedInstances
    pub(crate) fn node(ni: usize, no: usize) -> Self {
        let start = ROOT_INDEX + 1;
        Self { root: ROOT_INDEX, inputs: start..start + ni, outputs: start + ni..start + ni + no }
    }
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

/// Builds the aggregation circuit over `snarks` (chunk order; chunk proofs or proofs of nodes
/// below, each with its [`Layout`]) at `stage`: every snark's root is constrained equal to the
/// first one's, and the public instances are the accumulator, `model_id` (two constants), the
/// root, the first snark's public inputs and the last snark's public outputs.
pub(crate) fn build(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    snarks: Vec<(Snark, Layout)>,
    model_id: &Bytes32,
) -> Result<AggregationCircuit> {
    let bad = |i: usize| AggregateError::Circuit {
        detail: format!("proof {i} being aggregated does not have the plan's instance layout"),
    };
    for (i, (s, l)) in snarks.iter().enumerate() {
        let len = s.instances.first().map(Vec::len).unwrap_or(0);
        if s.instances.len() != 1 || l.root >= len || l.inputs.end > len || l.outputs.end > len {
            return Err(bad(i));
        }
    }
    let (snarks, layouts): (Vec<Snark>, Vec<Layout>) = snarks.into_iter().unzip();
    let n = snarks.len();
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        AggregationCircuit::new::<SHPLONK>(stage, config, params, snarks, VerifierUniversality::None)
    }))
    .map_err(|_| AggregateError::Circuit {
        detail: "snark-verifier could not build the aggregation circuit (a proof it cannot read)".into(),
    })?;
    let mut circuit = built;
    let prev = circuit.previous_instances().clone();
    if prev.len() != n {
        return Err(bad(prev.len()));
    }
    for (i, (p, l)) in prev.iter().zip(&layouts).enumerate() {
        if l.root >= p.len() || l.inputs.end > p.len() || l.outputs.end > p.len() {
            return Err(bad(i));
        }
    }
    let ctx = circuit.builder.main(0);
    let root = prev[0][layouts[0].root];
    for (p, l) in prev.iter().zip(&layouts).skip(1) {
        ctx.constrain_equal(&p[l.root], &root);
    }
    let [hi, lo] = model_id_halves(model_id);
    // advice cells copy-constrained to fixed constants: the verifying key fixes their values
    let id = [ctx.load_constant(hi), ctx.load_constant(lo)];
    let inputs = &prev[0][layouts[0].inputs.clone()];
    let outputs = &prev[n - 1][layouts[n - 1].outputs.clone()];
    let public = &mut circuit.builder.assigned_instances[0];
    debug_assert_eq!(public.len(), ROOT_INDEX - 2);
    public.extend(id);
    public.push(root);
    public.extend_from_slice(inputs);
    public.extend_from_slice(outputs);
    Ok(circuit)
}
