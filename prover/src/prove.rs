//! Proving a model in chunks, end to end: interpret, plan, commit, then per chunk size the
//! circuit, get its keys, prove and self-check; finally write the key set and assemble and
//! verify the bundle.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chunkproof_verifier::shape::ChunkCircuitParams;
use chunkproof_verifier::{
    manifest_path, model_id, verify_bundle, verify_chunk_proof, write_atomic, Bundle, Bytes32,
    ChunkKeyRecord, ChunkProof, ChunkSummary, CircuitStats, KeySet, KeySetManifest, PlanSummary, ProverMeta,
    SrsOrigin, SrsRecord, VerifyOptions, BUNDLE_FORMAT, BUNDLE_VERSION, KEYSET_VERSION, PLAN_VERSION,
};
use halo2_axiom::halo2curves::bn256::{Bn256, G1Affine};
use halo2_axiom::plonk::ProvingKey;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use halo2_base::gates::circuit::CircuitBuilderStage;
use rand_core::OsRng;

use crate::circuit::{build_chunk, choose_params, ChunkCircuit, Fr};
use crate::engine::{CpuEngine, ProofEngine};
use crate::error::{ProverError, Result};
use crate::interpret::run;
use crate::keygen::{circuit_digest, load_or_generate};
use crate::model::{Graph, ModelInput};
use crate::plan::{plan, Plan};
use crate::setup::{SetupChoice, Srs};
use crate::witness::Linkage;

/// How to prove.
#[derive(Clone, Debug)]
pub struct ProveConfig {
    /// Number of chunks.
    pub chunks: usize,
    /// Key directory (cache and key sets).
    pub keys_dir: PathBuf,
    /// Where the SRS comes from.
    pub setup: SetupChoice,
    /// Make the model inputs public instances of chunk 0.
    pub input_public: bool,
    /// Make the model outputs public instances of the last chunk.
    pub output_public: bool,
    /// Store proving keys in the cache (large; saves keygen time on later runs).
    pub cache_pk: bool,
    /// Smallest circuit size (`k ≥ 17` forces the 16-bit fixed-point gates; tests use it).
    pub min_k: u32,
}

/// Progress events, for a caller's progress display.
#[derive(Clone, Debug)]
pub enum Event {
    /// The plan is ready.
    Planned {
        /// Layer cuts.
        cuts: Vec<usize>,
    },
    /// A chunk's circuit is sized.
    ChunkSized {
        /// Chunk index.
        chunk: usize,
        /// Shape.
        params: ChunkCircuitParams,
    },
    /// A chunk's keys are ready.
    KeysReady {
        /// Chunk index.
        chunk: usize,
        /// From the cache?
        cached: bool,
        /// Time, ms.
        ms: u128,
    },
    /// A chunk is proven.
    Proven {
        /// Chunk index.
        chunk: usize,
        /// Time, ms.
        ms: u128,
        /// Proof size.
        bytes: usize,
    },
}

/// Measurements of one chunk.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ChunkReport {
    /// Chunk index.
    pub index: usize,
    /// Layers covered.
    pub layers: std::ops::Range<usize>,
    /// Circuit shape.
    pub params: ChunkCircuitParams,
    /// Size figures.
    pub stats: CircuitStats,
    /// Keys from the cache?
    pub keys_cached: bool,
    /// Sizing and witness generation, ms.
    pub witness_ms: u128,
    /// Keygen (or key loading), ms.
    pub keygen_ms: u128,
    /// Proof generation, ms.
    pub prove_ms: u128,
    /// Proof size.
    pub proof_bytes: usize,
}

/// Measurements of a whole run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ProveReport {
    /// Per chunk.
    pub chunks: Vec<ChunkReport>,
    /// Whole run, ms.
    pub total_ms: u128,
    /// Final bundle verification, ms.
    pub verify_ms: u128,
    /// Time spent obtaining SRS parameters (dev setup generation or file reading), ms.
    pub srs_ms: u128,
    /// Peak resident memory of this process so far (Linux `VmHWM`), KiB.
    pub peak_rss_kib: Option<u64>,
}

/// Peak resident set size of this process (Linux only), KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Creates a SHPLONK proof with the Keccak EVM transcript on the CPU (see [`CpuEngine`]).
pub fn create_chunk_proof(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: ChunkCircuit,
    instances: &[Fr],
    chunk: usize,
) -> Result<Vec<u8>> {
    CpuEngine.prove(params, pk, circuit, instances, chunk)
}

/// The plan summary committed to by the model id.
pub fn plan_summary(graph: &Graph, plan: &Plan, params: &[ChunkCircuitParams]) -> PlanSummary {
    let len = |ids: &[u32]| ids.iter().map(|id| graph.numel(*id)).sum::<usize>();
    PlanSummary {
        version: PLAN_VERSION,
        scale: graph.scale,
        input_public: plan.input_public,
        output_public: plan.output_public,
        num_inputs: len(&graph.inputs),
        num_outputs: len(&graph.outputs),
        output_shapes: graph.outputs.iter().map(|id| graph.shape(*id).to_vec()).collect(),
        chunks: (0..plan.num_chunks())
            .map(|i| ChunkSummary {
                index: i,
                first_layer: plan.cuts[i],
                end_layer: plan.cuts[i + 1],
                layer_kinds: graph.layers[plan.cuts[i]..plan.cuts[i + 1]]
                    .iter()
                    .map(|l| l.kind.name().to_string())
                    .collect(),
                input_tensors: plan.sets[i].clone(),
                input_len: len(&plan.sets[i]),
                output_tensors: plan.sets[i + 1].clone(),
                output_len: len(&plan.sets[i + 1]),
                params: params[i],
            })
            .collect(),
    }
}

/// Proves `graph` on `input` in `cfg.chunks` chunks on the CPU and returns the verified bundle.
pub fn prove_model(
    graph: &Graph,
    input: &ModelInput,
    cfg: &ProveConfig,
    progress: &mut dyn FnMut(Event),
) -> Result<(Bundle, ProveReport)> {
    prove_model_with(graph, input, cfg, &CpuEngine, progress)
}

/// [`prove_model`] with the chunk proofs made by `engine` (every other step is the same).
pub fn prove_model_with(
    graph: &Graph,
    input: &ModelInput,
    cfg: &ProveConfig,
    engine: &dyn ProofEngine,
    progress: &mut dyn FnMut(Event),
) -> Result<(Bundle, ProveReport)> {
    let start = Instant::now();
    let trace = run(graph, input)?;
    let plan = plan(graph, cfg.chunks, cfg.input_public, cfg.output_public)?;
    progress(Event::Planned { cuts: plan.cuts.clone() });
    let linkage = Linkage::new(&plan, &trace, &mut OsRng)?;
    let mut srs = Srs::open(&cfg.setup, Some(&cfg.keys_dir))?;
    let srs_digest = srs.verifier().digest();

    let n = plan.num_chunks();
    let mut reports = Vec::with_capacity(n);
    let mut proofs = Vec::with_capacity(n);
    let mut records = Vec::with_capacity(n);
    let mut all_params = Vec::with_capacity(n);
    let mut srs_ms = 0;
    for i in 0..n {
        let t0 = Instant::now();
        let (spec, witness) = (plan.spec(i), linkage.witness(i));
        let params = choose_params(i, cfg.min_k, |lb| {
            build_chunk(
                graph,
                &spec,
                &witness,
                ChunkCircuitParams { k: 26, lookup_bits: lb },
                CircuitBuilderStage::Prover,
                None,
            )
        })?;
        progress(Event::ChunkSized { chunk: i, params });
        // Witness-only build to learn the size figures the keys must match.
        let sized = build_chunk(graph, &spec, &witness, params, CircuitBuilderStage::Prover, None)?;
        let expected = sized.stats.clone();
        drop(sized);
        let witness_ms = t0.elapsed().as_millis();

        let ts = Instant::now();
        let kzg = srs.params(params.k)?.clone();
        srs_ms += ts.elapsed().as_millis();
        let digest = circuit_digest(graph, &spec, &params, &srs_digest);
        let keys = load_or_generate(&cfg.keys_dir, i, &digest, &kzg, &expected, cfg.cache_pk, || {
            build_chunk(graph, &spec, &witness, params, CircuitBuilderStage::Keygen, None)
        })?;
        progress(Event::KeysReady { chunk: i, cached: keys.cached, ms: keys.ms });

        let t1 = Instant::now();
        let circuit = build_chunk(
            graph,
            &spec,
            &witness,
            params,
            CircuitBuilderStage::Prover,
            Some(keys.meta.break_points.clone()),
        )?;
        if circuit.output_values != linkage.values[i + 1] {
            return Err(ProverError::InvalidModel {
                detail: format!(
                    "chunk {i}: the circuit computes other boundary values than the interpreter (a bug)"
                ),
            });
        }
        let instances = circuit.instances.clone();
        let proof = engine.prove(&kzg, &keys.pk, circuit, &instances, i)?;
        let prove_ms = t1.elapsed().as_millis();
        let verifier_params = srs.verifier().params(params.k)?;
        verify_chunk_proof(&verifier_params, &keys.vk, &instances, &proof, i)
            .map_err(|source| ProverError::SelfCheck { chunk: i, source })?;
        progress(Event::Proven { chunk: i, ms: prove_ms, bytes: proof.len() });

        reports.push(ChunkReport {
            index: i,
            layers: spec.layers.clone(),
            params,
            stats: keys.meta.stats.clone(),
            keys_cached: keys.cached,
            witness_ms,
            keygen_ms: keys.ms,
            prove_ms,
            proof_bytes: proof.len(),
        });
        records.push(ChunkKeyRecord {
            index: i,
            circuit_digest: digest,
            vk_digest: keys.meta.vk_digest,
            vk_file: format!("circuits/{digest}/vk.bin"),
            stats: keys.meta.stats.clone(),
        });
        proofs.push(ChunkProof {
            index: i,
            vk_digest: keys.meta.vk_digest,
            instances: instances.iter().map(Bytes32::from_fr).collect(),
            proof,
        });
        all_params.push(params);
    }

    let summary = plan_summary(graph, &plan, &all_params);
    let vk_digests: Vec<Bytes32> = records.iter().map(|r| r.vk_digest).collect();
    let id = model_id(&summary, &srs_digest, &vk_digests);
    let manifest = KeySetManifest {
        format: "chunkproof-keyset".into(),
        version: KEYSET_VERSION,
        model_id: id,
        srs: SrsRecord::new(srs.origin().clone(), srs.verifier()),
        plan: summary.clone(),
        chunks: records,
    };
    write_atomic(
        &manifest_path(&cfg.keys_dir, &id),
        &serde_json::to_vec_pretty(&manifest).expect("manifest serialises"),
    )?;

    let outputs = trace.outputs(graph);
    let inputs: Vec<i64> = graph.inputs.iter().flat_map(|t| trace.get(*t).iter().copied()).collect();
    let bundle = Bundle {
        format: BUNDLE_FORMAT.into(),
        version: BUNDLE_VERSION,
        model_id: id,
        srs_digest,
        plan: summary,
        root: Bytes32::from_fr(&linkage.root()),
        leaves: linkage.leaves.iter().map(Bytes32::from_fr).collect(),
        chunks: proofs,
        inputs: if cfg.input_public { inputs } else { vec![] },
        outputs: if cfg.output_public { outputs } else { vec![] },
        meta: ProverMeta {
            tool: format!("chunkproof {}", env!("CARGO_PKG_VERSION")),
            created_unix: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            backend: "cpu-local (sequential)".into(),
            msm: engine.describe(),
            chunk_prove_ms: reports.iter().map(|r| r.prove_ms as u64).collect(),
            total_ms: start.elapsed().as_millis() as u64,
        },
    };

    // Check the assembled bundle exactly as a verifier will.
    let t2 = Instant::now();
    let keys = KeySet::load(&cfg.keys_dir, Some(&id))?;
    let dev = matches!(srs.origin(), SrsOrigin::DevInsecure);
    verify_bundle(&bundle, &keys, &VerifyOptions { allow_dev_setup: dev, expected_model_id: None })?;
    let verify_ms = t2.elapsed().as_millis();
    Ok((
        bundle,
        ProveReport {
            chunks: reports,
            total_ms: start.elapsed().as_millis(),
            verify_ms,
            srs_ms,
            peak_rss_kib: peak_rss_kib(),
        },
    ))
}
