//! Proving a model in chunks in this process, end to end: the driver's preparation, then per
//! chunk size the circuit, get its keys, prove and self-check; finally write the key set and
//! assemble and verify the bundle. Worker processes and Ray run the same steps
//! ([`driver`](crate::driver), [`job`](crate::job)) elsewhere.

use std::path::PathBuf;
use std::time::Instant;

use chunkproof_verifier::shape::ChunkCircuitParams;
use chunkproof_verifier::{Bundle, ChunkSummary, CircuitStats, PlanSummary, PLAN_VERSION};
use halo2_axiom::halo2curves::bn256::{Bn256, G1Affine};
use halo2_axiom::plonk::ProvingKey;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use rand_core::OsRng;

use crate::circuit::{ChunkCircuit, Fr};
use crate::driver::{assemble, job_circuit, prepare, Provenance};
use crate::engine::{CpuEngine, ProofEngine};
use crate::error::Result;
use crate::job::{prove_job_with, Stage};
use crate::keygen::{chunk_vk, size_chunk};
use crate::model::{Graph, ModelInput};
use crate::plan::Plan;
use crate::setup::{SetupChoice, Srs};

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
    /// Peak RSS of the process that proved the chunk, KiB (Linux).
    pub peak_rss_kib: Option<u64>,
    /// Host that proved the chunk.
    pub host: String,
    /// Attempts it took (1 = no retry; `None` where the backend does not say, as with Ray, whose
    /// retries happen inside the cluster).
    pub attempts: Option<u32>,
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

/// [`prove_model`] in this process, one chunk after the other, with the chunk proofs made by
/// `engine` (every other step is the same as with worker processes or Ray: see
/// [`driver`](crate::driver)).
pub fn prove_model_with(
    graph: &Graph,
    input: &ModelInput,
    cfg: &ProveConfig,
    engine: &dyn ProofEngine,
    progress: &mut dyn FnMut(Event),
) -> Result<(Bundle, ProveReport)> {
    let start = Instant::now();
    let prep = prepare(graph, &[], input, cfg, None, &mut OsRng)?;
    progress(Event::Planned { cuts: prep.plan.cuts.clone() });
    let mut srs = Srs::open(&cfg.setup, Some(&cfg.keys_dir))?;
    let mut keys = Vec::with_capacity(prep.jobs.len());
    let mut results = Vec::with_capacity(prep.jobs.len());
    for job in &prep.jobs {
        let chunk = job.index;
        // The driver's verifying key, and the keygen circuit it came from for the proving key.
        let (spec, witness) = job_circuit(&prep, job)?;
        let (params, expected) = size_chunk(graph, &spec, &witness, cfg.min_k)?;
        let (vk, keygen_circuit) =
            chunk_vk(&cfg.keys_dir, graph, &spec, &witness, (params, &expected), &mut srs)?;
        keys.push(vk.clone());
        let label = PathBuf::from(format!("<chunk {chunk} job>"));
        let known = Some((vk, keygen_circuit));
        let r =
            prove_job_with(
                job,
                graph,
                &label,
                &cfg.keys_dir,
                cfg.cache_pk,
                engine,
                known,
                &mut |s| match s {
                    Stage::Sized { params } => progress(Event::ChunkSized { chunk, params }),
                    Stage::Keys { cached, ms } => {
                        progress(Event::KeysReady { chunk, cached, ms: ms as u128 })
                    }
                    Stage::Proving => {}
                },
            )?;
        progress(Event::Proven { chunk, ms: r.prove_ms as u128, bytes: r.proof.len() });
        results.push(r);
    }
    let n = results.len();
    let how = Provenance { backend: "in-process (sequential)".into(), start, attempts: vec![Some(1); n] };
    assemble(graph, cfg, &prep, &srs, &keys, &results, &how)
}
