//! `aggregate`: verify the bundle, build the aggregation circuit, derive its keys, prove, write
//! the aggregation key into the key directory and return the aggregated proof (self-checked).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chunkproof_core::aggregated::{
    aggregation_record_path, aggregation_vk_digest, aggregation_vk_file, AggregatedProof,
    AggregationKeyRecord, AggregationMeta, AggregationShape, ACC_LIMBS, AGGREGATED_FORMAT,
    AGGREGATED_VERSION, AGGREGATION_KEY_VERSION,
};
use chunkproof_core::transcript::TranscriptKind;
use chunkproof_core::{write_atomic, Bundle, Bytes32, ChunkProof, Fr};
use chunkproof_prover::keygen::{read_proving_key, write_proving_key};
use chunkproof_prover::setup::{SetupChoice, Srs};
use chunkproof_verifier::{
    check_accumulator, verify_aggregated, verify_bundle, verify_chunk_proof, AggregationKey, KeySet,
    VerifyOptions,
};
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::plonk::{keygen_pk, keygen_vk, ProvingKey};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams};
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::{CircuitExt, Snark};

use crate::circuit::{build, initial_shape, shape_of, Layout};
use crate::engine::{AggregationEngine, CpuAggregation};
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
    /// Applies to the root of a tree; inner nodes always take that smallest `k`.
    pub k: Option<u32>,
    /// Most proofs one circuit aggregates ([`ARITY`]). A bundle of more chunks is aggregated
    /// in a tree: consecutive chunks in groups of at most `arity`, each group's proof
    /// aggregated again, up to one root.
    pub arity: usize,
    /// Keep each aggregation circuit's keys in the key directory
    /// (`aggregation/kept/<circuit digest>/`, a proving key of several GiB) and load them on the
    /// next aggregation of the same model instead of deriving them (`keygen_vk` and `keygen_pk`,
    /// 1–3 min per circuit). An entry is used only for the circuit it was made for: its digest
    /// covers everything that fixes the circuit, and what it records is compared with the
    /// circuit built now.
    pub keep_pk: bool,
}

impl AggregateConfig {
    /// Aggregation of the bundle whose keys are in `keys_dir`, on `setup`, at the default `k`
    /// and [`DEFAULT_ARITY`].
    pub fn new(keys_dir: impl Into<PathBuf>, setup: SetupChoice) -> Self {
        Self { keys_dir: keys_dir.into(), setup, k: None, arity: DEFAULT_ARITY, keep_pk: false }
    }
}

/// Proofs one aggregation circuit may take ([`AggregateConfig::arity`]).
pub const ARITY: std::ops::RangeInclusive<usize> = 2..=16;

/// Default arity: four chunk proofs in one circuit (k = 22, ≈ 18 GiB on 2 cores) is the most a
/// 24 GiB machine aggregates at once.
pub const DEFAULT_ARITY: usize = 4;

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
    /// Verifying and proving key generation (or loading kept keys), ms.
    pub keygen_ms: u64,
    /// Whether the keys were kept ones ([`AggregateConfig::keep_pk`]).
    pub pk_kept: bool,
    /// Proving, ms.
    pub prove_ms: u64,
    /// Self-check of the aggregated proof, ms.
    pub verify_ms: u64,
    /// Proof size, bytes.
    pub proof_bytes: usize,
    /// The engine that proved every circuit ([`AggregationEngine::describe`]).
    pub engine: String,
    /// The inner nodes of a tree, in proving order (empty when one circuit aggregated every
    /// chunk); the fields above are the root's.
    pub nodes: Vec<NodeReport>,
}

/// One inner node of an aggregation tree.
#[derive(Clone, Debug)]
pub struct NodeReport {
    /// The chunks it covers.
    pub chunks: Range<usize>,
    /// Its circuit's shape.
    pub shape: chunkproof_core::aggregated::AggregationShape,
    /// Building the circuit, ms.
    pub build_ms: u64,
    /// Key generation (or loading kept keys), ms.
    pub keygen_ms: u64,
    /// Whether the keys were kept ones.
    pub pk_kept: bool,
    /// Proving (Poseidon transcript), ms.
    pub prove_ms: u64,
}

fn circuit_err(detail: impl ToString) -> AggregateError {
    AggregateError::Circuit { detail: detail.to_string() }
}

/// The keys of one aggregation circuit.
struct CircuitKeys {
    pk: ProvingKey<G1Affine>,
    vk_bytes: Vec<u8>,
    vk_digest: Bytes32,
    ms: u64,
    kept: bool,
}

/// Version of the aggregation circuit code, part of every kept-key digest: bump it whenever a
/// change to the circuit (here or in snark-verifier) would change its keys.
const CIRCUIT_VERSION: u32 = 1;

/// What an entry of kept keys records of its circuit (compared with the circuit built now).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct KeptMeta {
    version: u32,
    shape: AggregationShape,
    /// Gate cells per phase, distinct constants, lookup cells per phase.
    cells: (Vec<usize>, usize, Vec<usize>),
    vk_digest: Bytes32,
    /// Size of `pk.bin` (halo2 panics on a short read).
    pk_bytes: u64,
}

/// Everything that fixes an aggregation circuit: the code version, the model, the SRS, the
/// layout and the protocol (verifying key) of every proof it verifies, and its shape.
fn circuit_digest(
    snarks: &[(Snark, Layout)],
    model_id: &Bytes32,
    srs_digest: &Bytes32,
    shape: &AggregationShape,
) -> Result<Bytes32> {
    let mut parts: Vec<Vec<u8>> = vec![
        b"chunkproof/aggregation-circuit".to_vec(),
        CIRCUIT_VERSION.to_le_bytes().to_vec(),
        model_id.0.to_vec(),
        srs_digest.0.to_vec(),
        serde_json::to_vec(shape).map_err(|e| circuit_err(format!("shape: {e}")))?,
    ];
    for (snark, layout) in snarks {
        let l =
            [layout.root, layout.inputs.start, layout.inputs.end, layout.outputs.start, layout.outputs.end];
        parts.push(l.iter().flat_map(|v| (*v as u64).to_le_bytes()).collect());
        parts.push(serde_json::to_vec(&snark.protocol).map_err(|e| circuit_err(format!("protocol: {e}")))?);
    }
    Ok(chunkproof_core::keccak(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>()))
}

/// Where [`AggregateConfig::keep_pk`] keeps the keys of the circuit with this digest.
fn kept_dir(keys_dir: &Path, digest: &Bytes32) -> PathBuf {
    keys_dir.join("aggregation").join("kept").join(digest.to_string())
}

/// The keys of `circuit`, whose [`circuit_digest`] is `digest`: with `keep_pk`, the entry an
/// earlier run kept when there is one (its recorded shape and cell counts compared with this
/// circuit's, its proving key's verifying key with the recorded digest), else derived (and kept,
/// written atomically, when `keep_pk`).
fn circuit_keys(
    params: &ParamsKZG<Bn256>,
    circuit: &AggregationCircuit,
    (config, shape, digest): (&AggregationConfigParams, &AggregationShape, &Bytes32),
    (keys_dir, keep_pk): (&Path, bool),
    label: &str,
) -> Result<CircuitKeys> {
    let t = Instant::now();
    let stats = circuit.builder.statistics();
    let cells =
        (stats.gate.total_advice_per_phase, stats.gate.total_fixed, stats.total_lookup_advice_per_phase);
    let dir = kept_dir(keys_dir, digest);
    let (meta_path, pk_path) = (dir.join("meta.json"), dir.join("pk.bin"));
    let vk_bytes_of = |vk: &halo2_base::halo2_proofs::plonk::VerifyingKey<G1Affine>| -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        vk.write(&mut bytes, SerdeFormat::Processed)
            .map_err(|e| circuit_err(format!("{label}: writing the vk: {e}")))?;
        Ok(bytes)
    };
    if keep_pk && meta_path.exists() {
        let refused = |detail: String| AggregateError::KeptKey { path: dir.clone(), detail };
        let meta: KeptMeta =
            serde_json::from_slice(&chunkproof_core::read_capped(&meta_path, 1 << 20, "kept key metadata")?)
                .map_err(|e| refused(format!("meta.json: {e}; delete the entry")))?;
        // what the entry says of its circuit is compared, not believed
        let now = KeptMeta {
            version: CIRCUIT_VERSION,
            shape: *shape,
            cells,
            vk_digest: meta.vk_digest,
            pk_bytes: meta.pk_bytes,
        };
        if meta != now {
            return Err(refused(format!("recorded {meta:?}, circuit now {now:?}; delete the entry")));
        }
        let size = std::fs::metadata(&pk_path).map(|m| m.len()).unwrap_or(0);
        if size != meta.pk_bytes {
            return Err(refused(format!(
                "pk.bin has {size} bytes, the entry records {}; delete the entry",
                meta.pk_bytes
            )));
        }
        let pk = read_proving_key::<AggregationCircuit>(&pk_path, *config)
            .map_err(|e| refused(format!("pk.bin unreadable ({e}); delete the entry")))?;
        let vk_bytes = vk_bytes_of(pk.get_vk())?;
        let vk_digest = aggregation_vk_digest(shape, &vk_bytes);
        if vk_digest != meta.vk_digest {
            return Err(refused(format!(
                "pk.bin holds verifying key {vk_digest}, the entry records {}; delete the entry",
                meta.vk_digest
            )));
        }
        let ms = t.elapsed().as_millis() as u64;
        log::info!("{label}: kept keys {} loaded in {ms} ms", dir.display());
        return Ok(CircuitKeys { pk, vk_bytes, vk_digest, ms, kept: true });
    }
    let vk = keygen_vk(params, circuit).map_err(|e| circuit_err(format!("{label}: keygen_vk: {e:?}")))?;
    let vk_bytes = vk_bytes_of(&vk)?;
    let vk_digest = aggregation_vk_digest(shape, &vk_bytes);
    log::info!("{label}: verifying key in {} ms", t.elapsed().as_millis());
    let pk = keygen_pk(params, vk, circuit).map_err(|e| circuit_err(format!("{label}: keygen_pk: {e:?}")))?;
    let ms = t.elapsed().as_millis() as u64;
    if keep_pk {
        let w = Instant::now();
        write_proving_key(&pk_path, &pk)?;
        let pk_bytes = std::fs::metadata(&pk_path).map(|m| m.len()).unwrap_or(0);
        let meta = KeptMeta { version: CIRCUIT_VERSION, shape: *shape, cells, vk_digest, pk_bytes };
        // meta.json last: its presence marks a complete entry
        write_atomic(&meta_path, &serde_json::to_vec_pretty(&meta).expect("meta serialises"))?;
        log::info!("{label}: keys kept in {} ({} ms)", dir.display(), w.elapsed().as_millis());
    }
    Ok(CircuitKeys { pk, vk_bytes, vk_digest, ms, kept: false })
}

/// Aggregates `bundle` (whose chunk keys are in `cfg.keys_dir`) into one proof on the CPU
/// ([`aggregate_with`] and [`CpuAggregation`]).
pub fn aggregate(
    bundle: &Bundle,
    cfg: &AggregateConfig,
    opts: &VerifyOptions,
) -> Result<(AggregatedProof, AggregateReport)> {
    aggregate_with(bundle, cfg, opts, &CpuAggregation)
}

/// Aggregates `bundle` (whose chunk keys are in `cfg.keys_dir`) into one proof, every circuit
/// proven by `engine`.
///
/// The bundle must verify on its own first (with `opts`, and trusting the SRS of `cfg.setup`,
/// which the caller chose), and its proofs must use the Poseidon transcript. Every proof the
/// engine returns is checked with the ordinary verifier before it is used. The aggregation key
/// is written to the key directory (atomically) before the proof is returned; the returned
/// proof has passed [`verify_aggregated`].
pub fn aggregate_with(
    bundle: &Bundle,
    cfg: &AggregateConfig,
    opts: &VerifyOptions,
    engine: &dyn AggregationEngine,
) -> Result<(AggregatedProof, AggregateReport)> {
    let mut report =
        AggregateReport { num_chunks: bundle.chunks.len(), engine: engine.describe(), ..Default::default() };
    log::info!("aggregation engine: {}", report.engine);
    if bundle.transcript != TranscriptKind::Poseidon {
        return Err(AggregateError::WrongTranscript { found: bundle.transcript.to_string() });
    }
    if !ARITY.contains(&cfg.arity) {
        return Err(circuit_err(format!(
            "arity {} (an aggregation circuit takes 2 to 16 proofs)",
            cfg.arity
        )));
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
    prove_chunks(&bundle.chunks, (&keys, &mut srs), cfg, (opts, engine), report)
}

/// A proof on its way up the tree: a chunk proof, or the proof of a node over chunks `chunks`.
struct Part {
    snark: Snark,
    layout: Layout,
    chunks: Range<usize>,
}

/// Sizes of the groups one level of an `arity`-ary tree makes of `n` proofs: `⌈n / arity⌉`
/// groups of consecutive proofs, as even as possible (larger ones first).
pub(crate) fn group_sizes(n: usize, arity: usize) -> Vec<usize> {
    let groups = n.div_ceil(arity.max(1));
    (0..groups).map(|g| n / groups + usize::from(g < n % groups)).collect()
}

/// Builds the circuit over `snarks` at `2^k` rows, `k` given or else the smallest at which it
/// has at most [`DEPLOYABLE_GATE_COLUMNS`] gate columns; returns it with its parameters.
fn sized(
    snarks: &[(Snark, Layout)],
    k: Option<u32>,
    generator: &ParamsKZG<Bn256>,
    model_id: &Bytes32,
) -> Result<(AggregationCircuit, AggregationConfigParams)> {
    let mut at = k.unwrap_or(20);
    loop {
        let mut circuit =
            build(CircuitBuilderStage::Mock, initial_shape(at), generator, snarks.to_vec(), model_id)?;
        let config = circuit.calculate_params(Some(MINIMUM_ROWS));
        if k.is_some() || config.num_advice <= DEPLOYABLE_GATE_COLUMNS {
            return Ok((circuit, config));
        }
        let cells = circuit.builder.statistics().gate.total_advice_per_phase.first().copied().unwrap_or(0);
        let fits = |k: u32| cells.div_ceil((1usize << k) - MINIMUM_ROWS) <= DEPLOYABLE_GATE_COLUMNS;
        let next = match (at + 1..=*AGGREGATION_K.end()).find(|k| fits(*k)) {
            Some(next) => next,
            None if at < *AGGREGATION_K.end() => *AGGREGATION_K.end(),
            None => {
                return Err(circuit_err(format!(
                    "{cells} cells need more than {DEPLOYABLE_GATE_COLUMNS} columns of 2^{at} rows; pass --k"
                )))
            }
        };
        log::info!(
            "{cells} gate cells: {} columns at k = {}, trying k = {next}",
            config.num_advice,
            config.degree
        );
        at = next;
    }
}

/// Proves one inner node of the tree (Poseidon transcript, so the node above can verify it in
/// its circuit) over `group`, after checking its accumulator's pairing; the proof is checked
/// natively before it is used.
fn prove_node(
    group: Vec<Part>,
    (srs, generator): (&mut Srs, &ParamsKZG<Bn256>),
    (keys, engine): (&KeySet, &dyn AggregationEngine),
    (keys_dir, keep_pk): (&Path, bool),
    (ni, no, n): (usize, usize, usize),
    report: &mut AggregateReport,
) -> Result<Part> {
    let chunks = group[0].chunks.start..group[group.len() - 1].chunks.end;
    let label = format!("node over chunks {}..{}", chunks.start, chunks.end);
    let t = Instant::now();
    let snarks: Vec<(Snark, Layout)> = group.into_iter().map(|p| (p.snark, p.layout)).collect();
    let (circuit, config) = sized(&snarks, None, generator, keys.model_id())?;
    let digest = circuit_digest(&snarks, keys.model_id(), &keys.srs.digest(), &shape_of(&config))?;
    drop(snarks);
    let params = srs.params(config.degree)?.clone();
    let build_ms = t.elapsed().as_millis() as u64;
    let shape = shape_of(&config);
    log::info!(
        "{label}: k = {}, {} gate, {} lookup, {} fixed columns (built in {build_ms} ms); keys…",
        shape.k,
        shape.num_advice,
        shape.num_lookup_advice,
        shape.num_fixed
    );
    let column = circuit.instances()[0].clone();
    check_limbs(&column, keys).map_err(|e| circuit_err(format!("{label}, before proving: {e}")))?;
    let keys_of = circuit_keys(&params, &circuit, (&config, &shape, &digest), (keys_dir, keep_pk), &label)?;
    let (pk, keygen_ms, pk_kept) = (keys_of.pk, keys_of.ms, keys_of.kept);
    log::info!("{label}: keys in {keygen_ms} ms; proving…");
    let t = Instant::now();
    // Poseidon transcript (the node above verifies it in its circuit), checked natively here
    let proof = engine
        .prove(&params, &pk, circuit, &column, TranscriptKind::Poseidon)
        .map_err(|e| circuit_err(format!("{label}: proving: {e}")))?;
    let prove_ms = t.elapsed().as_millis() as u64;
    verify_chunk_proof(&params, pk.get_vk(), &column, &proof, (chunks.start, TranscriptKind::Poseidon))
        .map_err(|e| circuit_err(format!("{label}: the proof did not verify: {e}")))?;
    log::info!("{label}: proved in {prove_ms} ms ({} bytes)", proof.len());
    let config = Config::kzg()
        .with_num_instance(vec![column.len()])
        .with_accumulator_indices(AggregationCircuit::accumulator_indices());
    let protocol = std::panic::catch_unwind(|| compile(&params, pk.get_vk(), config))
        .map_err(|_| circuit_err(format!("{label}: snark-verifier could not compile its verifying key")))?;
    drop(pk);
    report.nodes.push(NodeReport { chunks: chunks.clone(), shape, build_ms, keygen_ms, pk_kept, prove_ms });
    let layout = Layout::node(if chunks.start == 0 { ni } else { 0 }, if chunks.end == n { no } else { 0 });
    Ok(Part { snark: Snark::new(protocol, vec![column], proof), layout, chunks })
}

/// The accumulator in the first instances of `column` must pass the final pairing.
fn check_limbs(column: &[Fr], keys: &KeySet) -> std::result::Result<(), chunkproof_verifier::VerifyError> {
    let mut limbs = [Fr::from(0u64); 4 * ACC_LIMBS];
    limbs.copy_from_slice(&column[..4 * ACC_LIMBS]);
    check_accumulator(&limbs, &keys.srs)
}

/// How many public model inputs and outputs the aggregated instances carry.
fn public_counts(keys: &KeySet) -> (usize, usize) {
    let plan = &keys.manifest.plan;
    (
        if plan.input_public { plan.num_inputs } else { 0 },
        if plan.output_public { plan.num_outputs } else { 0 },
    )
}

/// The chunk proofs as snarks for the aggregation circuit, each with its chunk's verifying key
/// (compiled by snark-verifier) and the [`Layout`] of its instances.
fn chunk_parts(chunks: &[ChunkProof], keys: &KeySet) -> Result<Vec<Part>> {
    let plan = &keys.manifest.plan;
    let n = chunks.len();
    let (ni, no) = public_counts(keys);
    let mut level = Vec::with_capacity(n);
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
        let layout = Layout::chunk(instances.len(), (i == 0).then_some(ni), (i + 1 == n).then_some(no));
        level.push(Part {
            snark: Snark::new(protocol, vec![instances], chunk.proof.clone()),
            layout,
            chunks: i..i + 1,
        });
    }
    Ok(level)
}

/// Aggregates chunk proofs already checked (or, for the soundness tests, deliberately not):
/// directly when there are at most `cfg.arity`, else in a tree of that arity whose inner nodes
/// are proven with the Poseidon transcript; the root is proven with the Keccak transcript.
fn prove_chunks(
    chunks: &[ChunkProof],
    (keys, srs): (&KeySet, &mut Srs),
    cfg: &AggregateConfig,
    (opts, engine): (&VerifyOptions, &dyn AggregationEngine),
    mut report: AggregateReport,
) -> Result<(AggregatedProof, AggregateReport)> {
    let model_id = *keys.model_id();
    let n = chunks.len();
    let (ni, no) = public_counts(keys);
    let mut level = chunk_parts(chunks, keys)?;
    // Building a circuit needs only the SRS generator; keygen and proving need 2^k points.
    let generator = keys.srs.params(*AGGREGATION_K.start())?;
    while level.len() > cfg.arity {
        let mut next = Vec::new();
        let mut parts = level.into_iter();
        for size in group_sizes(parts.len(), cfg.arity) {
            let mut group: Vec<Part> = parts.by_ref().take(size).collect();
            if group.len() == 1 {
                next.extend(group.pop());
            } else {
                next.push(prove_node(
                    group,
                    (srs, &generator),
                    (keys, engine),
                    (&cfg.keys_dir, cfg.keep_pk),
                    (ni, no, n),
                    &mut report,
                )?);
            }
        }
        level = next;
    }
    let tree = !report.nodes.is_empty();
    let t = Instant::now();
    let snarks: Vec<(Snark, Layout)> = level.into_iter().map(|p| (p.snark, p.layout)).collect();
    let (circuit, config) = sized(&snarks, cfg.k, &generator, &model_id)?;
    let digest = circuit_digest(&snarks, &model_id, &keys.srs.digest(), &shape_of(&config))?;
    drop(snarks);
    let params = srs.params(config.degree)?.clone();
    let shape = shape_of(&config);
    report.shape = Some(shape);
    report.build_ms = t.elapsed().as_millis() as u64;
    log::info!(
        "aggregation circuit{}: k = {}, {} gate, {} lookup, {} fixed columns (built in {} ms)",
        if tree { " (root of the tree)" } else { "" },
        shape.k,
        shape.num_advice,
        shape.num_lookup_advice,
        shape.num_fixed,
        report.build_ms
    );
    let instances = circuit.instances();
    let column = instances[0].clone();
    check_limbs(&column, keys).map_err(|e| circuit_err(format!("before proving: {e}")))?;

    log::info!("aggregation keys…");
    let label = if tree { "root" } else { "aggregation circuit" };
    let keys_of =
        circuit_keys(&params, &circuit, (&config, &shape, &digest), (&cfg.keys_dir, cfg.keep_pk), label)?;
    let CircuitKeys { pk, vk_bytes, vk_digest, ms, kept } = keys_of;
    (report.keygen_ms, report.pk_kept) = (ms, kept);
    log::info!("aggregation keys in {} ms", report.keygen_ms);
    let record = AggregationKeyRecord {
        version: AGGREGATION_KEY_VERSION,
        model_id,
        srs_digest: keys.srs.digest(),
        shape,
        num_instances: column.len(),
        vk_digest,
        vk_file: aggregation_vk_file(&vk_digest),
        arity: tree.then_some(cfg.arity),
    };
    write_atomic(&cfg.keys_dir.join(&record.vk_file), &vk_bytes)?;
    write_atomic(
        &aggregation_record_path(&cfg.keys_dir, &vk_digest),
        &serde_json::to_vec_pretty(&record).expect("record serialises"),
    )?;

    log::info!("proving…");
    let t = Instant::now();
    let proof = engine
        .prove(&params, &pk, circuit, &column, TranscriptKind::Keccak)
        .map_err(|e| circuit_err(format!("proving: {e}")))?;
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
            engine: report.engine.clone(),
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
    let report =
        AggregateReport { num_chunks: chunks.len(), engine: CpuAggregation.describe(), ..Default::default() };
    prove_chunks(chunks, (&keys, &mut srs), cfg, (&opts, &CpuAggregation), report)
}

/// Test hook: builds the one-level aggregation circuit over `chunks` of the model in
/// `cfg.keys_dir` (at most `cfg.arity` of them; at `cfg.k`, else the deployable `k`)
/// **without** verifying them as a bundle, and checks it with halo2's `MockProver`:
/// `Ok(Err(failures))` when its constraints do not hold, one line per kind of failure and
/// column with its count. What the circuit constrains, checked without keys or a proof. Not
/// for use outside tests.
#[cfg(feature = "test-utils")]
#[doc(hidden)]
pub fn mock_unchecked(
    chunks: &[ChunkProof],
    model_id: &Bytes32,
    cfg: &AggregateConfig,
) -> Result<std::result::Result<(), Vec<String>>> {
    use halo2_base::halo2_proofs::dev::MockProver;
    if chunks.len() > cfg.arity {
        return Err(circuit_err(format!(
            "{} proofs: the mock check builds one level of at most {}",
            chunks.len(),
            cfg.arity
        )));
    }
    let keys = KeySet::load(&cfg.keys_dir, Some(model_id))?;
    let snarks: Vec<(Snark, Layout)> =
        chunk_parts(chunks, &keys)?.into_iter().map(|p| (p.snark, p.layout)).collect();
    let generator = keys.srs.params(*AGGREGATION_K.start())?;
    let (circuit, config) = sized(&snarks, cfg.k, &generator, model_id)?;
    let prover = MockProver::run(config.degree, &circuit, circuit.instances())
        .map_err(|e| circuit_err(format!("MockProver: {e:?}")))?;
    // `verify`, not `verify_par`: halo2-axiom's parallel check reports every advice cell of an
    // enabled gate as unassigned (its MockProver does not record advice cells per region)
    Ok(prover.verify().map_err(|failures| {
        let mut kinds: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        for f in &failures {
            let text = f.to_string();
            let kind = text.split(" at offset").next().unwrap_or(&text).chars().take(300).collect();
            *kinds.entry(kind).or_insert(0) += 1;
        }
        kinds.into_iter().map(|(kind, n)| format!("{n} × {kind}")).collect()
    }))
}
