//! The Solidity verifier of an aggregation circuit, and its check of an aggregated proof in an
//! in-process EVM (gas, code size).

use std::rc::Rc;

use halo2_axiom::halo2curves::bn256::{Bn256, Fq, Fr};
use snark_verifier::{
    loader::evm::EvmLoader,
    pcs::kzg::{Bdfg21, KzgAs, KzgDecidingKey, LimbsEncoding},
    system::halo2::{compile, transcript::evm::EvmTranscript, Config},
    verifier::{plonk::PlonkVerifier, SnarkVerifier},
};

use chunkproof_core::aggregated::{AggregatedProof, ACC_LIMBS, ACC_LIMB_BITS};
use chunkproof_verifier::{AggregationKey, KeySet};

use crate::bindings::chunk_calldata;
use crate::error::{EvmError, Result};
use crate::exec::{CallOutcome, InProcessEvm, EIP170_LIMIT};
use crate::solc::Solc;

/// SHPLONK over KZG, with the accumulator carried in the first twelve instances.
type AggVerifier = PlonkVerifier<KzgAs<Bn256, Bdfg21>, LimbsEncoding<ACC_LIMBS, ACC_LIMB_BITS>>;

/// Solidity source of the verifier of the aggregation circuit `key` (contract name
/// `AggregationVerifier_` + the first 10 hex digits of its verifying-key digest). It checks the
/// aggregation proof and the accumulator's final pairing; calldata is the instances (32 bytes
/// each) then the proof.
pub fn aggregation_verifier_source(keys: &KeySet, key: &AggregationKey) -> Result<(String, String)> {
    let params = keys.srs.params(key.record.shape.k)?;
    let n = key.record.num_instances;
    let config = Config::kzg()
        .with_num_instance(vec![n])
        .with_accumulator_indices(Some((0..4 * ACC_LIMBS).map(|i| (0, i)).collect()));
    let protocol = std::panic::catch_unwind(|| compile(&params, &key.vk, config))
        .map_err(|_| EvmError::tooling("snark-verifier could not compile the aggregation verifying key"))?;
    let dk: KzgDecidingKey<Bn256> = (keys.srs.g1, keys.srs.g2, keys.srs.s_g2).into();
    let code = std::panic::catch_unwind(move || {
        let loader = EvmLoader::new::<Fq, Fr>();
        let protocol = protocol.loaded(&loader);
        let mut transcript = EvmTranscript::<_, Rc<EvmLoader>, _, _>::new(&loader);
        let instances = transcript.load_instances(vec![n]);
        let proof = AggVerifier::read_proof(&dk, &protocol, &instances, &mut transcript).ok()?;
        AggVerifier::verify(&dk, &protocol, &instances, &proof).ok()?;
        Some(loader.solidity_code())
    })
    .ok()
    .flatten()
    .ok_or_else(|| EvmError::tooling("snark-verifier could not generate the aggregation verifier"))?;
    let digest = key.record.vk_digest.to_string();
    let contract = format!("AggregationVerifier_{}", &digest[2..12]);
    let marker = "contract Halo2Verifier {";
    if !code.contains(marker) {
        return Err(EvmError::tooling("snark-verifier's output has an unexpected shape (no Halo2Verifier)"));
    }
    let source = code.replacen(marker, &format!("contract {contract} {{"), 1);
    Ok((contract, source))
}

/// What checking an aggregated proof in the EVM measured.
#[derive(Clone, Debug, Default)]
pub struct EvmAggregateReport {
    /// Runtime code size of the aggregation verifier, bytes.
    pub runtime_size: usize,
    /// Whether it fits EIP-170 (deployable on Ethereum).
    pub deployable: bool,
    /// Gas of its deployment (measured without the size limit when it does not fit).
    pub deploy_gas: u64,
    /// Gas of the verification call.
    pub verify_gas: u64,
}

/// Compiles the aggregation verifier, deploys it in an in-process EVM (one without EIP-170's
/// limit when it does not fit, to measure it; [`EvmAggregateReport::deployable`] says so) and
/// calls it with `agg`. A revert is a rejection.
pub fn verify_aggregated_evm(
    agg: &AggregatedProof,
    keys: &KeySet,
    key: &AggregationKey,
    solc: &Solc,
) -> Result<EvmAggregateReport> {
    let (contract, source) = aggregation_verifier_source(keys, key)?;
    let compiled = solc.compile(&[(format!("{contract}.sol"), source)])?;
    let c =
        compiled.get(&contract).ok_or_else(|| EvmError::tooling(format!("solc produced no {contract}")))?;
    let deployable = c.runtime.len() <= EIP170_LIMIT;
    let mut report = EvmAggregateReport { runtime_size: c.runtime.len(), deployable, ..Default::default() };
    let mut evm = if deployable { InProcessEvm::new() } else { InProcessEvm::without_code_size_limit() };
    let address = evm.deploy(&contract, c.creation.clone())?;
    report.deploy_gas = evm.gas_used();
    match evm.call(address, chunk_calldata(&agg.instances, &agg.proof))? {
        CallOutcome::Success { gas, .. } => report.verify_gas = gas,
        CallOutcome::Revert { .. } => {
            return Err(EvmError::Rejected {
                chunk: None,
                reason: "the aggregation verifier reverted".into(),
            })
        }
        CallOutcome::Halt { reason } => {
            return Err(EvmError::Rejected { chunk: None, reason: format!("halted: {reason}") })
        }
    }
    Ok(report)
}
