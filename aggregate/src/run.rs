//! `aggregate`: verify the bundle, build the aggregation circuit, derive its keys, prove, write
//! the aggregation key into the key directory and return the aggregated proof (self-checked).

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chunkproof_core::aggregated::{
    aggregation_record_path, aggregation_vk_digest, aggregation_vk_file, AggregatedProof,
    AggregationKeyRecord, AggregationMeta, ACC_LIMBS, AGGREGATED_FORMAT, AGGREGATED_VERSION,
    AGGREGATION_KEY_VERSION,
};
use chunkproof_core::transcript::{EvmTranscript, TranscriptKind};
use chunkproof_core::{write_atomic, Bundle, Bytes32, ChunkProof, Fr};
use chunkproof_prover::setup::{SetupChoice, Srs};
use chunkproof_verifier::{
    check_accumulator, verify_aggregated, verify_bundle, AggregationKey, KeySet, VerifyOptions,
};
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk};
use halo2_base::halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_base::halo2_proofs::poly::kzg::multiopen::ProverSHPLONK;
use halo2_base::halo2_proofs::SerdeFormat;
use rand_core::OsRng;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::{CircuitExt, Snark};

use crate::circuit::{build, initial_shape, shape_of, Exposed};
use crate::error::{AggregateError, Result};

/// What `aggregate` is asked to do.
#[derive(Clone, Debug)]
pub struct AggregateConfig {
    /// The key directory holding the bundle's chunk keys; the aggregation key is written here.
    pub keys_dir: PathBuf,
    /// The setup the chunk keys were made with (the aggregation needs its prover parameters).
    pub setup: SetupChoice,
    /// The aggregation circuit has `2^k` rows (more rows: fewer columns, a smaller verifier);
    /// `None`: the smallest `k` at which it has at most [`DEPLOYABLE_GATE_COLUMNS`] gate columns.
    pub k: Option<u32>,
}

/// Gate columns of an aggregation circuit whose Solidity verifier fits EIP-170 (measured: 5
/// gate, 1 lookup and 1 fixed column give 21,070 bytes of runtime code; 9, 2 and 1 give 28,331).
pub const DEPLOYABLE_GATE_COLUMNS: usize = 5;

/// Sizes `aggregate` accepts.
pub const AGGREGATION_K: std::ops::RangeInclusive<u32> = 18..=26;

/// Rows halo2 keeps for blinding at the bottom of every column (as the sdk's keygen is told).
const MINIMUM_ROWS: usize = 20;

/// Timings and sizes of one aggregation.
#[derive(Clone, Debug, Default)]
pub struct AggregateReport {
    /// Chunk proofs aggregated.
    pub num_chunks: usize,
    /// The circuit's shape.
    pub shape: Option<chunkproof_core::aggregated::AggregationShape>,
    /// Native verification of the bundle before aggregating, ms.
    pub verify_bundle_ms: u64,
    /// Building the circuit (in-circuit verification witness), ms.
    pub build_ms: u64,
    /// Verifying and proving key generation, ms.
    pub keygen_ms: u64,
    /// Proving, ms.
    pub prove_ms: u64,
    /// Self-check of the aggregated proof, ms.
    pub verify_ms: u64,
    /// Proof size, bytes.
    pub proof_bytes: usize,
}

fn circuit_err(detail: impl ToString) -> AggregateError {
    AggregateError::Circuit { detail: detail.to_string() }
}

/// Aggregates `bundle` (whose chunk keys are in `cfg.keys_dir`) into one proof.
///
/// The bundle must verify on its own first (with `opts`, and trusting the SRS of `cfg.setup`,
/// which the caller chose), and its proofs must use the Poseidon transcript. The aggregation key is written to the key directory (atomically) before the
/// proof is returned; the returned proof has passed [`verify_aggregated`].
pub fn aggregate(
    bundle: &Bundle,
    cfg: &AggregateConfig,
    opts: &VerifyOptions,
) -> Result<(AggregatedProof, AggregateReport)> {
    let mut report = AggregateReport { num_chunks: bundle.chunks.len(), ..Default::default() };
    if bundle.transcript != TranscriptKind::Poseidon {
        return Err(AggregateError::WrongTranscript { found: bundle.transcript.to_string() });
    }
    if let Some(k) = cfg.k.filter(|k| !AGGREGATION_K.contains(k)) {
        return Err(circuit_err(format!("k = {k} (the aggregation circuit needs 18 ≤ k ≤ 26)")));
    }
    let keys = KeySet::load(&cfg.keys_dir, Some(&bundle.model_id))?;
    let mut srs = Srs::open(&cfg.setup, Some(&cfg.keys_dir))?;
    if srs.verifier().digest() != keys.srs.digest() {
        return Err(AggregateError::SrsMismatch {
            expected: keys.srs.digest().to_string(),
            got: srs.verifier().digest().to_string(),
        });
    }
    // The caller chose this setup (the development one, or a file whose hash it pinned): the
    // keys resting on it are trusted for this run.
    let mut opts = opts.clone();
    match cfg.setup {
        SetupChoice::Dev => opts.allow_dev_setup = true,
        SetupChoice::File { .. } => opts.trusted_srs.push(keys.srs.digest()),
    }
    let opts = &opts;
    let t = Instant::now();
    verify_bundle(bundle, &keys, opts)?;
    report.verify_bundle_ms = t.elapsed().as_millis() as u64;
    log::info!("bundle verified in {} ms", report.verify_bundle_ms);
    prove_chunks(&bundle.chunks, (&keys, &mut srs), cfg, opts, report)
}

/// Aggregates chunk proofs already checked (or, for the soundness tests, deliberately not).
fn prove_chunks(
    chunks: &[ChunkProof],
    (keys, srs): (&KeySet, &mut Srs),
    cfg: &AggregateConfig,
    opts: &VerifyOptions,
    mut report: AggregateReport,
) -> Result<(AggregatedProof, AggregateReport)> {
    let model_id = *keys.model_id();
    let plan = &keys.manifest.plan;
    let mut snarks = Vec::with_capacity(chunks.len());
    for (i, chunk) in chunks.iter().enumerate() {
        let params = keys.srs.params(plan.chunks[i].params.k)?;
        let instances = chunk
            .instances
            .iter()
            .map(|b| b.to_fr_named("instance"))
            .collect::<std::result::Result<Vec<Fr>, _>>()?;
        let protocol = std::panic::catch_unwind(|| {
            compile(&params, &keys.vks[i], Config::kzg().with_num_instance(vec![instances.len()]))
        })
        .map_err(|_| circuit_err(format!("chunk {i}: snark-verifier could not compile the verifying key")))?;
        snarks.push(Snark::new(protocol, vec![instances], chunk.proof.clone()));
    }
    let exposed = Exposed {
        model_id,
        num_inputs: if plan.input_public { plan.num_inputs } else { 0 },
        num_outputs: if plan.output_public { plan.num_outputs } else { 0 },
    };
    // Building the circuit needs only the SRS generator; keygen and proving need 2^k points.
    let generator = keys.srs.params(*AGGREGATION_K.start())?;
    let t = Instant::now();
    let mut k = cfg.k.unwrap_or(20);
    let (circuit, config) = loop {
        let mut circuit =
            build(CircuitBuilderStage::Mock, initial_shape(k), &generator, snarks.clone(), exposed)?;
        let config = circuit.calculate_params(Some(MINIMUM_ROWS));
        if cfg.k.is_some() || config.num_advice <= DEPLOYABLE_GATE_COLUMNS {
            break (circuit, config);
        }
        let cells = circuit.builder.statistics().gate.total_advice_per_phase.first().copied().unwrap_or(0);
        let fits = |k: u32| cells.div_ceil((1usize << k) - MINIMUM_ROWS) <= DEPLOYABLE_GATE_COLUMNS;
        k = match (k + 1..=*AGGREGATION_K.end()).find(|k| fits(*k)) {
            Some(next) => next,
            None if k < *AGGREGATION_K.end() => *AGGREGATION_K.end(),
            None => {
                return Err(circuit_err(format!(
                    "{cells} cells need more than {DEPLOYABLE_GATE_COLUMNS} columns of 2^{k} rows; pass --k"
                )))
            }
        };
        log::info!(
            "{cells} gate cells: {} columns at k = {}, trying k = {k}",
            config.num_advice,
            config.degree
        );
    };
    let params = srs.params(config.degree)?.clone();
    let shape = shape_of(&config);
    report.shape = Some(shape);
    report.build_ms = t.elapsed().as_millis() as u64;
    log::info!(
        "aggregation circuit: k = {}, {} gate, {} lookup, {} fixed columns (built in {} ms)",
        shape.k,
        shape.num_advice,
        shape.num_lookup_advice,
        shape.num_fixed,
        report.build_ms
    );

    let instances = circuit.instances();
    let column = instances[0].clone();
    let mut limbs = [Fr::from(0u64); 4 * ACC_LIMBS];
    limbs.copy_from_slice(&column[..4 * ACC_LIMBS]);
    check_accumulator(&limbs, &keys.srs).map_err(|e| circuit_err(format!("before proving: {e}")))?;

    let t = Instant::now();
    let vk = keygen_vk(&params, &circuit).map_err(|e| circuit_err(format!("keygen_vk: {e:?}")))?;
    let mut vk_bytes = Vec::new();
    vk.write(&mut vk_bytes, SerdeFormat::Processed)
        .map_err(|e| circuit_err(format!("writing the vk: {e}")))?;
    let pk = keygen_pk(&params, vk, &circuit).map_err(|e| circuit_err(format!("keygen_pk: {e:?}")))?;
    report.keygen_ms = t.elapsed().as_millis() as u64;
    log::info!("aggregation keys in {} ms", report.keygen_ms);

    let vk_digest = aggregation_vk_digest(&shape, &vk_bytes);
    let record = AggregationKeyRecord {
        version: AGGREGATION_KEY_VERSION,
        model_id,
        srs_digest: keys.srs.digest(),
        shape,
        num_instances: column.len(),
        vk_digest,
        vk_file: aggregation_vk_file(&vk_digest),
    };
    write_atomic(&cfg.keys_dir.join(&record.vk_file), &vk_bytes)?;
    write_atomic(
        &aggregation_record_path(&cfg.keys_dir, &vk_digest),
        &serde_json::to_vec_pretty(&record).expect("record serialises"),
    )?;

    let t = Instant::now();
    let mut transcript = EvmTranscript::new(Vec::new());
    create_proof::<KZGCommitmentScheme<_>, ProverSHPLONK<'_, _>, _, _, _, _>(
        &params,
        &pk,
        &[circuit],
        &[&[&column]],
        OsRng,
        &mut transcript,
    )
    .map_err(|e| circuit_err(format!("proving: {e:?}")))?;
    let proof = transcript.into_inner();
    report.prove_ms = t.elapsed().as_millis() as u64;
    report.proof_bytes = proof.len();
    log::info!("aggregated proof: {} bytes in {} ms", proof.len(), report.prove_ms);
    drop(pk);

    let agg = AggregatedProof {
        format: AGGREGATED_FORMAT.into(),
        version: AGGREGATED_VERSION,
        model_id,
        srs_digest: keys.srs.digest(),
        vk_digest,
        num_chunks: chunks.len(),
        instances: column.iter().map(Bytes32::from_fr).collect(),
        proof,
        meta: AggregationMeta {
            tool: format!("chunkproof {}", env!("CARGO_PKG_VERSION")),
            created_unix: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            keygen_ms: report.keygen_ms,
            prove_ms: report.prove_ms,
        },
    };
    let t = Instant::now();
    let key = AggregationKey::load(keys, &vk_digest)?;
    verify_aggregated(&agg, keys, &key, opts).map_err(AggregateError::SelfCheck)?;
    report.verify_ms = t.elapsed().as_millis() as u64;
    Ok((agg, report))
}

/// Test hook: aggregates `chunks` of the model in `cfg.keys_dir` **without** verifying them as a
/// bundle first (so chunks of different bundles can be mixed), to show that the circuit itself
/// refuses what the bundle check would. Not for use outside tests.
#[cfg(feature = "test-utils")]
#[doc(hidden)]
pub fn aggregate_unchecked(
    chunks: &[ChunkProof],
    model_id: &Bytes32,
    cfg: &AggregateConfig,
) -> Result<(AggregatedProof, AggregateReport)> {
    let keys = KeySet::load(&cfg.keys_dir, Some(model_id))?;
    let mut srs = Srs::open(&cfg.setup, Some(&cfg.keys_dir))?;
    let opts = VerifyOptions { allow_dev_setup: true, ..Default::default() };
    let report = AggregateReport { num_chunks: chunks.len(), ..Default::default() };
    prove_chunks(chunks, (&keys, &mut srs), cfg, &opts, report)
}
