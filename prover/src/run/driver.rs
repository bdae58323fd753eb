//! The driver: the cheap part done once (interpreter, plan, salts, leaves, root, one job per
//! chunk), every chunk's verifying key derived here, the check of every result that comes back,
//! and the assembly and verification of the bundle once every chunk is proven. Where the jobs
//! are proven — in this process, in local worker processes, on a Ray cluster — is the
//! backend's business ([`super::Backend`]).

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chunkproof_core::keyset::{manifest_path, ChunkKeyRecord, KEYSET_VERSION};
use chunkproof_core::linkage::Packing;
use chunkproof_core::plan::{ChunkSummary, PLAN_VERSION};
use chunkproof_core::shape::ChunkCircuitParams;
use chunkproof_core::srs::{SrsOrigin, SrsRecord};
use chunkproof_core::{
    model_id, write_atomic, Bundle, Bytes32, ChunkProof, KeySetManifest, PlanSummary, ProverMeta,
    VerifierSrs, BUNDLE_FORMAT, BUNDLE_VERSION,
};
use chunkproof_verifier::{verify_bundle, verify_chunk_proof, KeySet, VerifyOptions};
use rand_core::RngCore;

use super::config::ProveConfig;
use super::job::{ChunkJob, ChunkResult, JOB_FORMAT, JOB_VERSION};
use super::report::{peak_rss_kib, ChunkReport, ProveReport};
use crate::error::{ProverError, Result};
use crate::interpret::run;
use crate::keygen::{chunk_vk, size_chunk, ChunkVk};
use crate::model::{Graph, ModelInput};
use crate::plan::{column_rows, Plan, Planned, Split};
use crate::setup::Srs;
use crate::witness::Linkage;
use crate::witness::{ChunkSpec, ChunkWitness};

/// Everything the driver computes before any proving.
pub struct Prepared {
    /// The model as proven: layers the planner split are replaced by their parts.
    pub graph: Graph,
    /// Layers split into parts.
    pub splits: Vec<Split>,
    /// For each layer of [`Prepared::graph`], `Some((j, n))` when it is part `j` of `n`.
    pub parts: Vec<Option<(usize, usize)>>,
    /// The plan (of [`Prepared::graph`]).
    pub plan: Plan,
    /// Salts, boundary values, leaves, tree.
    pub linkage: Linkage,
    /// One job per chunk.
    pub jobs: Vec<ChunkJob>,
    /// Model inputs, flattened.
    pub inputs: Vec<i64>,
    /// Model outputs, flattened.
    pub outputs: Vec<i64>,
}

/// Runs the interpreter and the planner, commits to every boundary with the salts from
/// `salts` (or fresh ones from `rng`), and builds the chunk jobs. `model_bytes` is the model
/// file `graph` was parsed from (jobs carry it).
pub fn prepare(
    graph: &Graph,
    model_bytes: &[u8],
    input: &ModelInput,
    cfg: &ProveConfig,
    salts: Option<Vec<Bytes32>>,
    rng: &mut dyn RngCore,
) -> Result<Prepared> {
    let Planned { splits, split, plan } = cfg.planned(graph)?;
    let parts = split.origin.iter().map(|(_, p)| *p).collect();
    let graph = split.graph;
    let trace = run(&graph, input)?;
    let linkage = match salts {
        Some(s) => {
            let frs = s.iter().map(|b| b.to_fr_named("salt")).collect::<std::result::Result<Vec<_>, _>>()?;
            Linkage::with_salts(&plan, &trace, frs)?
        }
        None => Linkage::new(&plan, &trace, rng)?,
    };
    let n = plan.num_chunks();
    let root = Bytes32::from_fr(&linkage.root());
    let bytes = |v: &[crate::circuit::Fr]| v.iter().map(Bytes32::from_fr).collect::<Vec<_>>();
    let jobs = (0..n)
        .map(|i| {
            let w = linkage.witness(i);
            ChunkJob {
                format: JOB_FORMAT.into(),
                version: JOB_VERSION,
                index: i,
                num_chunks: n,
                model: model_bytes.to_vec(),
                splits: splits.clone(),
                cuts: plan.cuts.clone(),
                input_public: cfg.input_public,
                output_public: cfg.output_public,
                min_k: cfg.min_k,
                width: cfg.width,
                transcript: cfg.transcript,
                product_check: graph.product_check,
                input_range: graph.input_range,
                setup: cfg.setup.clone(),
                inputs: w.inputs,
                outputs: linkage.values[i + 1].clone(),
                salts_in: bytes(&w.salts_in),
                salt_out: Bytes32::from_fr(&w.salt_out),
                paths_in: w.paths_in.iter().map(|p| bytes(p)).collect(),
                path_out: bytes(&w.path_out),
                root,
            }
        })
        .collect();
    let inputs = graph.inputs.iter().flat_map(|t| trace.get(*t).iter().copied()).collect();
    Ok(Prepared { outputs: trace.outputs(&graph), inputs, graph, splits, parts, plan, linkage, jobs })
}

/// Estimated peak memory of proving chunk `i` of `plan` with up to `width` columns of each
/// kind, bytes (from the planner's row estimate; calibrated on measured worker peaks, see
/// docs/distributed.md). A narrow circuit pays for its whole `2^k`; a wide one roughly for the
/// rows it fills, never more than the narrow shape.
pub fn memory_estimate(plan: &Plan, i: usize, min_k: u32, width: u32) -> u64 {
    let rows = plan.costs[i].rows();
    let narrow = MEM_BASE + MEM_PER_ROW * (1u64 << estimated_k(rows, min_k, 1));
    if width <= 1 {
        narrow
    } else {
        narrow.min(MEM_BASE + MEM_PER_FILLED_ROW * rows as u64)
    }
}

/// The circuit size `k` that `rows` estimated rows suggest with up to `width` columns of each
/// kind (the smallest `2^k` holding the rows of one column, [`column_rows`]; the real `k` is
/// fixed when the worker sizes the circuit and can be one more).
pub fn estimated_k(rows: usize, min_k: u32, width: u32) -> u32 {
    let rows = column_rows(rows, width).max(1) as u64;
    (64 - (rows - 1).leading_zeros()).max(min_k).max(8)
}

/// Fixed part of a worker's memory (binary, model, SRS handling), bytes.
pub const MEM_BASE: u64 = 32 << 20;
/// Memory per circuit row `2^k`, bytes. Measured worker peaks (MNIST, 2 cores): k = 14: 83 MiB,
/// 16: 300, 17: 600, 18: 1,142, 19: 2,106 — about 4.2 KiB per row; 4.5 KiB errs high.
pub const MEM_PER_ROW: u64 = 4608;
/// Memory per estimated row of a wide circuit (`--width` > 1), bytes. Measured worker peaks
/// (MNIST in 4 chunks): width 4, 134,754 gate cells at k = 16: 455 MiB (3.2 KiB per row); width
/// 16: 267 MiB (2.0 KiB); smaller chunks 2.1–2.2 KiB. 3.5 KiB errs high.
pub const MEM_PER_FILLED_ROW: u64 = 3584;

/// The verifying key of every chunk, derived by the driver itself from the plan and the setup
/// (sizing and `keygen_vk`, or its own cache in the key directory, keyed by the circuit digest it
/// computes). Results are checked against these keys: nothing a worker returns decides what
/// circuit a chunk is proven in. `each` is told about every key as it is ready.
pub fn derive_keys(
    graph: &Graph,
    prep: &Prepared,
    cfg: &ProveConfig,
    srs: &mut Srs,
    each: &mut dyn FnMut(usize, &ChunkVk),
) -> Result<Vec<ChunkVk>> {
    prep.jobs
        .iter()
        .map(|job| {
            let (spec, witness) = job_circuit(prep, job)?;
            let (params, expected) = size_chunk(graph, &spec, &witness, cfg.min_k, cfg.width)?;
            if let Some(max_k) = cfg.max_k.filter(|k| params.k > *k) {
                return Err(ProverError::Plan {
                    chunks: prep.jobs.len(),
                    detail: format!(
                        "chunk {} needs k = {} once built, above --max-k {max_k} (the planner's estimate was {} rows); try --max-k {}",
                        job.index,
                        params.k,
                        prep.plan.costs[job.index].rows(),
                        max_k - 1
                    ),
                });
            }
            let (vk, _) = chunk_vk(&cfg.keys_dir, graph, &spec, &witness, (params, &expected), srs)?;
            each(job.index, &vk);
            Ok(vk)
        })
        .collect()
}

/// The circuit description and witness of a job of the driver's own plan.
pub(crate) fn job_circuit(prep: &Prepared, job: &ChunkJob) -> Result<(ChunkSpec, ChunkWitness)> {
    let label = PathBuf::from(format!("<chunk {} job>", job.index));
    Ok((ChunkSpec::of(&prep.plan, job.index), job.witness(&label)?))
}

/// Checks a result against its job and the chunk's verifying key as the driver derived it
/// ([`derive_keys`]) before it is accepted: same chunk, same job, the expected public
/// instances, the same circuit shape and verifying-key bytes, and a proof that verifies under
/// the driver's key. Nothing else in the result (its digests, metadata, paths) is used.
pub fn check_result(job: &ChunkJob, result: &ChunkResult, key: &ChunkVk, srs: &VerifierSrs) -> Result<()> {
    let i = job.index;
    let refuse = |detail: String| ProverError::ResultRefused { chunk: i, detail };
    if result.index != i {
        return Err(refuse(format!("it is the result of chunk {}", result.index)));
    }
    if result.job_digest != job.digest() {
        return Err(refuse("it answers another job (different run or stale result)".into()));
    }
    let want = job.expected_instances();
    if result.instances != want {
        return Err(refuse(format!(
            "public instances differ from the job's (expected {}, got {})",
            want.len(),
            result.instances.len()
        )));
    }
    same_key(result, key)?;
    let instances = result
        .instances
        .iter()
        .map(|b| b.to_fr_named("instance"))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    verify_chunk_proof(
        &srs.params(key.meta.params.k)?,
        &key.vk,
        &instances,
        &result.proof,
        (i, job.transcript),
    )
    .map_err(|e| refuse(format!("the proof does not verify under the driver's verifying key: {e}")))
}

/// A result's circuit shape and verifying key must be the driver's.
fn same_key(result: &ChunkResult, key: &ChunkVk) -> Result<()> {
    let refuse = |detail: String| ProverError::ResultRefused { chunk: result.index, detail };
    if result.meta.params != key.meta.params {
        return Err(refuse(format!(
            "its circuit shape {:?} differs from the driver's {:?}",
            result.meta.params, key.meta.params
        )));
    }
    if result.vk != key.vk_bytes {
        return Err(refuse(format!(
            "its verifying key is not the one the driver derived for this chunk (vk digest {})",
            key.meta.vk_digest
        )));
    }
    Ok(())
}

/// How the chunks were proven, for the bundle's metadata.
pub struct Provenance {
    /// e.g. `local workers (2)`, `ray (127.0.0.1:6379)`, `in-process`.
    pub backend: String,
    /// When the run started.
    pub start: Instant,
    /// Attempts per chunk (1 = no retry; `None`: not known, as with Ray).
    pub attempts: Vec<Option<u32>>,
}

/// Writes the key set, assembles the bundle and verifies it exactly as a verifier will (every
/// proof, the root, the public values). The key set is made of the driver's own `keys`
/// ([`derive_keys`]); a result whose verifying key differs is refused. `results` must already
/// have passed [`check_result`] (every backend checks each result as it arrives, to retry a bad
/// one). Nothing is written but the key set: the caller writes the bundle.
#[allow(clippy::too_many_arguments)]
pub fn assemble(
    graph: &Graph,
    cfg: &ProveConfig,
    prep: &Prepared,
    srs: &Srs,
    keys: &[ChunkVk],
    results: &[ChunkResult],
    how: &Provenance,
) -> Result<(Bundle, ProveReport)> {
    let n = prep.jobs.len();
    if results.len() != n || keys.len() != n {
        return Err(ProverError::InvalidModel {
            detail: format!(
                "{} results and {} keys for {n} chunks (a bug in the backend)",
                results.len(),
                keys.len()
            ),
        });
    }
    for (r, key) in results.iter().zip(keys) {
        same_key(r, key)?;
    }
    let srs_digest = srs.verifier().digest();
    let params: Vec<_> = keys.iter().map(|k| k.meta.params).collect();
    let summary = plan_summary(graph, &prep.plan, &prep.parts, &params);
    let vk_digests: Vec<Bytes32> = keys.iter().map(|k| k.meta.vk_digest).collect();
    let id = model_id(&summary, &srs_digest, &vk_digests);
    let manifest = KeySetManifest {
        format: "chunkproof-keyset".into(),
        version: KEYSET_VERSION,
        model_id: id,
        srs: SrsRecord::new(srs.origin().clone(), srs.verifier()),
        plan: summary.clone(),
        chunks: keys
            .iter()
            .enumerate()
            .map(|(index, k)| ChunkKeyRecord {
                index,
                circuit_digest: k.digest,
                vk_digest: k.meta.vk_digest,
                vk_file: format!("circuits/{}/vk.bin", k.digest),
                stats: k.meta.stats.clone(),
            })
            .collect(),
    };
    write_atomic(
        &manifest_path(&cfg.keys_dir, &id),
        &serde_json::to_vec_pretty(&manifest).expect("manifest serialises"),
    )?;
    let mut engines: Vec<&str> = results.iter().map(|r| r.engine.as_str()).collect();
    engines.dedup();
    let bundle = Bundle {
        format: BUNDLE_FORMAT.into(),
        version: BUNDLE_VERSION,
        model_id: id,
        srs_digest,
        plan: summary,
        root: Bytes32::from_fr(&prep.linkage.root()),
        leaves: prep.linkage.leaves.iter().map(Bytes32::from_fr).collect(),
        chunks: results
            .iter()
            .zip(keys)
            .map(|(r, k)| ChunkProof {
                index: r.index,
                vk_digest: k.meta.vk_digest,
                instances: r.instances.clone(),
                proof: r.proof.clone(),
            })
            .collect(),
        transcript: cfg.transcript,
        inputs: if cfg.input_public { prep.inputs.clone() } else { vec![] },
        outputs: if cfg.output_public { prep.outputs.clone() } else { vec![] },
        meta: ProverMeta {
            tool: format!("chunkproof {}", env!("CARGO_PKG_VERSION")),
            created_unix: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            backend: how.backend.clone(),
            msm: engines.join(", "),
            chunk_prove_ms: results.iter().map(|r| r.prove_ms).collect(),
            total_ms: how.start.elapsed().as_millis() as u64,
        },
    };
    let t = Instant::now();
    let key_set = KeySet::load(&cfg.keys_dir, Some(&id))?;
    let dev = matches!(srs.origin(), SrsOrigin::DevInsecure);
    // The prover chose its SRS: it trusts it for this check (verifiers decide for themselves).
    let opts = VerifyOptions { allow_dev_setup: dev, expected_model_id: None, trusted_srs: vec![srs_digest] };
    verify_bundle(&bundle, &key_set, &opts)?;
    let verify_ms = t.elapsed().as_millis();
    let chunks = results
        .iter()
        .zip(keys)
        .enumerate()
        .map(|(i, (r, k))| ChunkReport {
            index: i,
            layers: prep.plan.cuts[i]..prep.plan.cuts[i + 1],
            params: k.meta.params,
            stats: k.meta.stats.clone(),
            keys_cached: r.keys_cached,
            witness_ms: r.witness_ms as u128,
            keygen_ms: r.keygen_ms as u128,
            prove_ms: r.prove_ms as u128,
            proof_bytes: r.proof.len(),
            peak_rss_kib: r.peak_rss_kib,
            host: r.host.clone(),
            attempts: how.attempts.get(i).copied().flatten(),
        })
        .collect();
    Ok((
        bundle,
        ProveReport {
            chunks,
            total_ms: how.start.elapsed().as_millis(),
            verify_ms,
            srs_ms: results.iter().map(|r| r.srs_ms as u128).sum(),
            peak_rss_kib: peak_rss_kib(),
        },
    ))
}

/// The plan summary committed to by the model id (`parts`: per layer, `Some((j, n))` for part
/// `j` of `n` of a split layer; named so in the layer kinds).
pub fn plan_summary(
    graph: &Graph,
    plan: &Plan,
    parts: &[Option<(usize, usize)>],
    params: &[ChunkCircuitParams],
) -> PlanSummary {
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
                layer_kinds: (plan.cuts[i]..plan.cuts[i + 1])
                    .map(|pos| {
                        let name = graph.layers[pos].kind.name();
                        match parts.get(pos).copied().flatten() {
                            Some((j, n)) => format!("{name} (part {} of {n})", j + 1),
                            None => name.to_string(),
                        }
                    })
                    .collect(),
                reads: (!plan.reads_only_previous(i)).then(|| plan.reads[i].clone()),
                input_tensors: plan.reads[i].iter().flat_map(|j| plan.leaves[*j].iter().copied()).collect(),
                input_len: plan.reads[i].iter().map(|j| len(&plan.leaves[*j])).sum(),
                output_tensors: plan.leaves[i + 1].clone(),
                output_len: len(&plan.leaves[i + 1]),
                input_packing: plan.reads[i].last().map_or(Packing::WIDE, |j| plan.packings[*j]),
                output_packing: plan.packings[i + 1],
                params: params[i],
            })
            .collect(),
    }
}
