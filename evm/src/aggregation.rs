//! The Solidity verifier of an aggregation circuit, and its check of an aggregated proof in an
//! in-process EVM (gas, code size).

use halo2_axiom::halo2curves::bn256::Bn256;
use snark_verifier::{
    pcs::kzg::{Bdfg21, KzgAs, KzgDecidingKey, LimbsEncoding},
    system::halo2::{compile, Config},
    verifier::plonk::PlonkVerifier,
};

use std::fmt::Write as _;
use std::path::PathBuf;

use alloy::primitives::{Address, FixedBytes, U256};
use alloy::sol_types::{SolCall, SolConstructor, SolInterface};

use chunkproof_core::aggregated::{AggregatedInstances, AggregatedProof, ACC_LIMBS, ACC_LIMB_BITS};
use chunkproof_core::write_atomic;
use chunkproof_verifier::{AggregationKey, KeySet};

use crate::bindings::{encode_int_values, AggregatedVerifier};
use crate::codegen::generate;
use crate::error::{EvmError, Result};
use crate::exec::{CallOutcome, InProcessEvm, EIP170_LIMIT};
use crate::export::{header, int_array};
use crate::solc::{CompiledContract, Solc};

/// Source of `contracts/src/AggregatedVerifier.sol` (the wrapper every aggregated proof goes
/// through on chain), compiled into this crate like `BundleVerifier.sol`.
pub const AGGREGATED_VERIFIER_SOL: &str = include_str!("../../contracts/src/AggregatedVerifier.sol");

/// SHPLONK over KZG, with the accumulator carried in the first twelve instances.
type AggVerifier = PlonkVerifier<KzgAs<Bn256, Bdfg21>, LimbsEncoding<ACC_LIMBS, ACC_LIMB_BITS>>;

/// The generated verifier of an aggregation circuit.
#[derive(Clone, Debug)]
pub struct GeneratedAggregationVerifier {
    /// Contract name (`AggregationVerifier_` + the first 10 hex digits of the key's digest).
    pub contract: String,
    /// Solidity source, without the provenance header.
    pub source: String,
    /// Public instances the contract reads before the proof.
    pub num_instances: usize,
    /// Exact length of a proof, bytes.
    pub proof_len: usize,
    /// Byte offset of the first evaluation (scalar) word of a proof.
    pub scalar_offset: usize,
    /// Number of consecutive scalar words from there.
    pub scalar_count: usize,
}

/// Generates the Solidity verifier of the aggregation circuit `key`: it checks the aggregation
/// proof and the accumulator's final pairing; calldata is the instances (32 bytes each), then
/// the proof. Checked like the chunk verifiers: the words it reduces modulo r must be exactly
/// the instances and the proof's scalar words (which [`AGGREGATED_VERIFIER_SOL`] range-checks).
pub fn aggregation_verifier(keys: &KeySet, key: &AggregationKey) -> Result<GeneratedAggregationVerifier> {
    let params = keys.srs.params(key.record.shape.k)?;
    let n = key.record.num_instances;
    let config = Config::kzg()
        .with_num_instance(vec![n])
        .with_accumulator_indices(Some((0..4 * ACC_LIMBS).map(|i| (0, i)).collect()));
    let protocol = std::panic::catch_unwind(|| compile(&params, &key.vk, config))
        .map_err(|_| EvmError::tooling("snark-verifier could not compile the aggregation verifying key"))?;
    let dk: KzgDecidingKey<Bn256> = (keys.srs.g1, keys.srs.g2, keys.srs.s_g2).into();
    let digest = key.record.vk_digest.to_string();
    let contract = format!("AggregationVerifier_{}", &digest[2..12]);
    let (source, (proof_len, scalar_offset, scalar_count)) =
        generate::<AggVerifier>(protocol, dk, n, &contract)?;
    Ok(GeneratedAggregationVerifier {
        contract,
        source,
        num_instances: n,
        proof_len,
        scalar_offset,
        scalar_count,
    })
}

/// The aggregation verifier and the `AggregatedVerifier` wrapper, compiled (not deployed).
#[derive(Clone, Debug)]
pub struct CompiledAggregated {
    /// The generated verifier.
    pub generated: GeneratedAggregationVerifier,
    /// Its code.
    pub verifier: CompiledContract,
    /// The wrapper's code (constructor arguments added by [`CompiledAggregated::wrapper_creation`]).
    pub wrapper: CompiledContract,
}

/// Generates and compiles the aggregation verifier of `key` and the wrapper.
pub fn compile_aggregated(keys: &KeySet, key: &AggregationKey, solc: &Solc) -> Result<CompiledAggregated> {
    let generated = aggregation_verifier(keys, key)?;
    let mut compiled = solc.compile(&[
        (format!("{}.sol", generated.contract), generated.source.clone()),
        ("AggregatedVerifier.sol".to_string(), AGGREGATED_VERIFIER_SOL.to_string()),
    ])?;
    let mut take = |name: &str| {
        compiled.remove(name).ok_or_else(|| EvmError::tooling(format!("solc produced no {name}")))
    };
    let verifier = take(&generated.contract)?;
    let wrapper = take("AggregatedVerifier")?;
    Ok(CompiledAggregated { generated, verifier, wrapper })
}

impl CompiledAggregated {
    /// The wrapper's creation code with its constructor arguments, for a generated verifier
    /// deployed at `verifier`.
    pub fn wrapper_creation(&self, keys: &KeySet, key: &AggregationKey, verifier: Address) -> Vec<u8> {
        let plan = &keys.manifest.plan;
        let g = &self.generated;
        let args = AggregatedVerifier::constructorCall {
            c: AggregatedVerifier::Config {
                modelId: FixedBytes::<32>::from(keys.model_id().0),
                srsDigest: FixedBytes::<32>::from(keys.srs.digest().0),
                aggregationKey: FixedBytes::<32>::from(key.record.vk_digest.0),
                verifier,
                numChunks: U256::from(keys.vks.len()),
                numInputs: U256::from(if plan.input_public { plan.num_inputs } else { 0 }),
                numOutputs: U256::from(if plan.output_public { plan.num_outputs } else { 0 }),
                proofLength: U256::from(g.proof_len),
                scalarOffset: U256::from(g.scalar_offset),
                scalarCount: U256::from(g.scalar_count),
            },
        };
        [self.wrapper.creation.clone(), args.abi_encode()].concat()
    }
}

/// The public values of `agg`, decoded with the layout of `keys`' plan.
fn decoded(agg: &AggregatedProof, keys: &KeySet) -> Result<AggregatedInstances> {
    let plan = &keys.manifest.plan;
    Ok(AggregatedInstances::from_column(
        &agg.instance_column()?,
        if plan.input_public { plan.num_inputs } else { 0 },
        if plan.output_public { plan.num_outputs } else { 0 },
    )?)
}

/// The call of `verifyAggregated` for `agg` (its decoded instances).
pub fn verify_aggregated_call(
    agg: &AggregatedProof,
    keys: &KeySet,
) -> Result<AggregatedVerifier::verifyAggregatedCall> {
    let d = decoded(agg, keys)?;
    Ok(AggregatedVerifier::verifyAggregatedCall {
        root: FixedBytes::<32>::from(agg.instances[chunkproof_core::aggregated::ROOT_INDEX].0),
        accumulator: std::array::from_fn(|j| U256::from_be_bytes(agg.instances[j].0)),
        inputs: encode_int_values(&d.inputs),
        outputs: encode_int_values(&d.outputs),
        proof: agg.proof.clone().into(),
    })
}

/// What checking an aggregated proof in the EVM measured.
#[derive(Clone, Debug, Default)]
pub struct EvmAggregateReport {
    /// Runtime code size of the generated aggregation verifier, bytes.
    pub runtime_size: usize,
    /// Runtime code size of the `AggregatedVerifier` wrapper, bytes.
    pub wrapper_size: usize,
    /// Whether both fit EIP-170 (deployable on Ethereum).
    pub deployable: bool,
    /// Gas of deploying both (measured without the size limit when they do not fit).
    pub deploy_gas: u64,
    /// Gas of one `verifyAggregated` transaction (21,000 intrinsic and calldata included).
    pub verify_gas: u64,
    /// Gas of one transaction straight to the generated verifier (what the wrapper adds is the
    /// difference).
    pub verifier_gas: u64,
}

fn decode_revert(output: &[u8]) -> String {
    use AggregatedVerifier::AggregatedVerifierErrors as E;
    match E::abi_decode(output) {
        Ok(E::AggregatedRejected(_)) => "AggregatedRejected: the proof does not verify".into(),
        Ok(E::WrongProofLength(e)) => {
            format!("WrongProofLength: expected {} bytes, got {}", e.expected, e.got)
        }
        Ok(E::WrongInputCount(e)) => format!("WrongInputCount: expected {}, got {}", e.expected, e.got),
        Ok(E::WrongOutputCount(e)) => format!("WrongOutputCount: expected {}, got {}", e.expected, e.got),
        Ok(E::RootNotInField(e)) => format!("RootNotInField: {}", e.root),
        Ok(E::LimbOutOfRange(e)) => format!("LimbOutOfRange: accumulator limb {}", e.index),
        Ok(E::ScalarNotInField(e)) => {
            format!("ScalarNotInField: the proof word at byte {} is not below r", e.offset)
        }
        Ok(E::ValueOutOfRange(e)) => format!("ValueOutOfRange: value {} at {}", e.value, e.index),
        Ok(E::InsufficientGas(_)) => "InsufficientGas: send more gas".into(),
        Ok(E::BadConfiguration(e)) => format!("BadConfiguration: {}", e.reason),
        Err(_) => format!("revert data 0x{}", hex::encode(output)),
    }
}

/// Compiles the aggregation verifier and the wrapper, deploys both in an in-process EVM (one
/// without EIP-170's limit when they do not fit, only to measure them;
/// [`EvmAggregateReport::deployable`] says so) and sends `verifyAggregated` for `agg`. A revert
/// is a rejection, with the wrapper's error decoded.
pub fn verify_aggregated_evm(
    agg: &AggregatedProof,
    keys: &KeySet,
    key: &AggregationKey,
    solc: &Solc,
) -> Result<EvmAggregateReport> {
    let call = verify_aggregated_call(agg, keys)?;
    let c = compile_aggregated(keys, key, solc)?;
    let deployable = c.verifier.runtime.len() <= EIP170_LIMIT && c.wrapper.runtime.len() <= EIP170_LIMIT;
    let mut report = EvmAggregateReport {
        runtime_size: c.verifier.runtime.len(),
        wrapper_size: c.wrapper.runtime.len(),
        deployable,
        ..Default::default()
    };
    let mut evm = if deployable { InProcessEvm::new() } else { InProcessEvm::without_code_size_limit() };
    let verifier = evm.deploy(&c.generated.contract, c.verifier.creation.clone())?;
    let wrapper = evm.deploy("AggregatedVerifier", c.wrapper_creation(keys, key, verifier))?;
    report.deploy_gas = evm.gas_used();
    if let CallOutcome::Success { gas, .. } =
        evm.call(verifier, crate::bindings::chunk_calldata(&agg.instances, &agg.proof))?
    {
        report.verifier_gas = gas;
    }
    match evm.call(wrapper, call.abi_encode())? {
        CallOutcome::Success { gas, .. } => report.verify_gas = gas,
        CallOutcome::Revert { output, .. } => {
            return Err(EvmError::Rejected { chunk: None, reason: decode_revert(&output) })
        }
        CallOutcome::Halt { reason } => {
            return Err(EvmError::Rejected { chunk: None, reason: format!("halted: {reason}") })
        }
    }
    Ok(report)
}

/// What `export-verifier --aggregated` writes.
#[derive(Clone, Debug)]
pub struct AggregatedExportOptions {
    /// Directory of the generated contracts.
    pub out_dir: PathBuf,
    /// Import path of `AggregatedVerifier.sol` as seen from `out_dir`.
    pub wrapper_import: String,
    /// Where to write the aggregated proof as a Solidity test fixture, if anywhere.
    pub fixture: Option<PathBuf>,
    /// The command that regenerates the files, written into their headers.
    pub command: String,
}

/// Writes the aggregation verifier of `key`, a deployment library (`GeneratedAggregated.sol`)
/// and, if asked, `agg` as a Solidity fixture (`AggregatedFixture`). Each file atomically;
/// everything that can fail does before the first file is written.
pub fn export_aggregated(
    keys: &KeySet,
    key: &AggregationKey,
    agg: &AggregatedProof,
    opts: &AggregatedExportOptions,
) -> Result<Vec<PathBuf>> {
    if &agg.model_id != keys.model_id() || agg.vk_digest != key.record.vk_digest {
        return Err(chunkproof_verifier::VerifyError::ModelMismatch {
            bundle: format!("{} (aggregation key {})", agg.model_id, agg.vk_digest),
            keys: format!("{} (aggregation key {})", keys.model_id(), key.record.vk_digest),
        }
        .into());
    }
    let call = verify_aggregated_call(agg, keys)?;
    let d = decoded(agg, keys)?;
    let values = (d.inputs, d.outputs);
    let g = aggregation_verifier(keys, key)?;
    let dev = keys.is_dev_setup();
    let plan = &keys.manifest.plan;
    let mut lib = header(&opts.command, dev);
    lib.push_str("pragma solidity ^0.8.19;\n\n");
    let _ = writeln!(lib, "import {{AggregatedVerifier}} from \"{}\";", opts.wrapper_import);
    let _ = writeln!(lib, "import {{{0}}} from \"./{0}.sol\";", g.contract);
    let _ = write!(
        lib,
        "\n/// @notice Deploys the aggregation verifier of model {id} and its AggregatedVerifier.\n\
         library GeneratedAggregated {{\n    bytes32 internal constant MODEL_ID = {id};\n    \
         bytes32 internal constant SRS_DIGEST = {srs};\n    bytes32 internal constant AGGREGATION_KEY = {key};\n    \
         uint256 internal constant NUM_CHUNKS = {n};\n    uint256 internal constant NUM_INPUTS = {ni};\n    \
         uint256 internal constant NUM_OUTPUTS = {no};\n\n    \
         /// @notice Deploys the verifier and the wrapper; returns the wrapper.\n    \
         function deploy() internal returns (AggregatedVerifier) {{\n        \
         return new AggregatedVerifier(\n            AggregatedVerifier.Config(\n                \
         MODEL_ID, SRS_DIGEST, AGGREGATION_KEY, address(new {contract}()), NUM_CHUNKS, NUM_INPUTS, NUM_OUTPUTS, \
         {len}, {off}, {cnt}\n            )\n        );\n    }}\n}}\n",
        id = keys.model_id(),
        srs = keys.srs.digest(),
        key = key.record.vk_digest,
        n = keys.vks.len(),
        ni = if plan.input_public { plan.num_inputs } else { 0 },
        no = if plan.output_public { plan.num_outputs } else { 0 },
        contract = g.contract,
        len = g.proof_len,
        off = g.scalar_offset,
        cnt = g.scalar_count,
    );
    let fixture = opts.fixture.as_ref().map(|path| {
        let mut s = header(&opts.command, dev);
        let _ = write!(
            s,
            "pragma solidity ^0.8.19;\n\n/// @notice A real aggregated proof of model {id}, for tests.\n\
             library AggregatedFixture {{\n    bytes32 internal constant MODEL_ID = {id};\n    \
             bytes32 internal constant ROOT = {root};\n\n    \
             function accumulator() internal pure returns (uint256[12] memory a) {{\n",
            id = agg.model_id,
            root = call.root,
        );
        for (j, limb) in call.accumulator.iter().enumerate() {
            let _ = writeln!(s, "        a[{j}] = {limb:#x};");
        }
        let _ = write!(
            s,
            "    }}\n\n    function proof() internal pure returns (bytes memory) {{\n        return hex\"{}\";\n    }}\n\n",
            hex::encode(&agg.proof)
        );
        s.push_str(&int_array("inputs", &values.0));
        s.push('\n');
        s.push_str(&int_array("outputs", &values.1));
        s.push_str("}\n");
        (path.clone(), s)
    });

    std::fs::create_dir_all(&opts.out_dir)
        .map_err(|e| chunkproof_core::FormatError::Io { path: opts.out_dir.clone(), source: e })?;
    let mut files = Vec::new();
    let mut put = |path: PathBuf, text: String| -> Result<()> {
        write_atomic(&path, text.as_bytes())?;
        files.push(path);
        Ok(())
    };
    put(
        opts.out_dir.join(format!("{}.sol", g.contract)),
        format!("{}{}", header(&opts.command, dev), g.source),
    )?;
    put(opts.out_dir.join("GeneratedAggregated.sol"), lib)?;
    if let Some((path, text)) = fixture {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| chunkproof_core::FormatError::Io { path: dir.to_path_buf(), source: e })?;
        }
        put(path, text)?;
    }
    Ok(files)
}
