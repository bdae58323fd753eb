//! The body of a worker's `prove-chunk` command (shared by `chunkproof` and the GPU worker),
//! with the test hooks the fault tests of the local and Ray backends use (`test-utils` only).

use std::path::Path;

use std::time::Instant;

use chunkproof_core::Bytes32;
use chunkproof_verifier::verify_chunk_proof;
use halo2_base::gates::circuit::CircuitBuilderStage;

use super::job::{ChunkJob, ChunkResult, JobFile, Stage, JOB_VERSION, RESULT_FORMAT};
use super::report::{hostname, peak_rss_kib};
use crate::circuit::{build_chunk, ChunkCircuit};
use crate::engine::ProofEngine;
use crate::error::{ProverError, Result};
use crate::keygen::{chunk_vk, proving_key, size_chunk, ChunkVk};
use crate::model::Graph;
use crate::setup::Srs;

/// The environment variables of the worker test hooks below (forwarded to Ray workers in
/// builds that have the hooks).
pub(crate) const TEST_HOOK_ENV: [&str; 2] =
    ["CHUNKPROOF_WORKER_START_DELAY_MS", "CHUNKPROOF_WORKER_FAIL_CHUNK"];

/// Test hooks of worker processes (environment variables, for the fault tests of the local
/// and Ray backends; only in builds with the `test-utils` feature):
/// `CHUNKPROOF_WORKER_START_DELAY_MS` sleeps before proving (a window to kill the worker in);
/// `CHUNKPROOF_WORKER_FAIL_CHUNK=i` makes every attempt at chunk `i` fail.
#[cfg(feature = "test-utils")]
fn worker_test_hooks(chunk: usize) -> Result<()> {
    if let Some(ms) = std::env::var("CHUNKPROOF_WORKER_START_DELAY_MS").ok().and_then(|v| v.parse().ok()) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    if std::env::var("CHUNKPROOF_WORKER_FAIL_CHUNK").ok().and_then(|v| v.parse::<usize>().ok()) == Some(chunk)
    {
        return Err(ProverError::Backend {
            backend: "test",
            detail: format!("injected failure of chunk {chunk} (CHUNKPROOF_WORKER_FAIL_CHUNK)"),
        });
    }
    Ok(())
}

/// The body of a worker's `prove-chunk` command: reads the job, proves it with `engine`,
/// writes the result atomically. With `progress_json`, prints each [`Stage`] as a JSON line on
/// stdout (what the local backend reads).
pub fn run_worker(
    job_path: &Path,
    out: &Path,
    keys_dir: &Path,
    cache_pk: bool,
    engine: &dyn ProofEngine,
    progress_json: bool,
) -> Result<ChunkResult> {
    let job = ChunkJob::read(job_path)?;
    log::info!("chunk {} of {}: proving with {}", job.index, job.num_chunks, engine.describe());
    #[cfg(feature = "test-utils")]
    worker_test_hooks(job.index)?;
    let mut progress = |s: Stage| {
        if progress_json {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", serde_json::to_string(&s).expect("stage serialises"));
            let _ = out.flush();
        }
    };
    let result = prove_job(&job, job_path, keys_dir, cache_pk, engine, &mut progress)?;
    result.write(out)?;
    Ok(result)
}

/// Proves one job with `engine`, using (and filling) the key cache in `keys_dir` (proving keys
/// too when `cache_pk`), and checks the proof before returning it. `path` names the job in
/// errors.
pub fn prove_job(
    job: &ChunkJob,
    path: &Path,
    keys_dir: &Path,
    cache_pk: bool,
    engine: &dyn ProofEngine,
    progress: &mut dyn FnMut(Stage),
) -> Result<ChunkResult> {
    let graph = job.graph(path)?;
    prove_job_with(job, &graph, path, keys_dir, cache_pk, engine, None, progress)
}

/// [`prove_job`] with the model already parsed (the in-process backend; `job.model` is not read)
/// and, when the caller derived it already, the chunk's verifying key and the keygen circuit it
/// was made from, if still at hand (then the circuit is not sized again and only the proving key
/// is made).
#[allow(clippy::too_many_arguments)]
pub fn prove_job_with(
    job: &ChunkJob,
    graph: &Graph,
    path: &Path,
    keys_dir: &Path,
    cache_pk: bool,
    engine: &dyn ProofEngine,
    known_vk: Option<(ChunkVk, Option<ChunkCircuit>)>,
    progress: &mut dyn FnMut(Stage),
) -> Result<ChunkResult> {
    let i = job.index;
    let t0 = Instant::now();
    if graph.product_check != job.product_check {
        return Err(ProverError::BadJobFile {
            path: path.to_path_buf(),
            detail: format!(
                "the job says product_check = {}, the model was prepared with {}",
                job.product_check, graph.product_check
            ),
        });
    }
    if graph.input_range != job.input_range {
        return Err(ProverError::BadJobFile {
            path: path.to_path_buf(),
            detail: format!(
                "the job declares the input range {:?}, the model was prepared with {:?}",
                job.input_range, graph.input_range
            ),
        });
    }
    let spec = job.spec(graph, path)?;
    let witness = job.witness(path)?;
    let (params, expected) = match &known_vk {
        Some((k, _)) => (k.meta.params, None),
        None => {
            let (params, expected) = size_chunk(graph, &spec, &witness, job.min_k, job.width)?;
            (params, Some(expected))
        }
    };
    progress(Stage::Sized { params });
    let witness_ms = t0.elapsed().as_millis() as u64;

    let ts = Instant::now();
    let mut srs = Srs::open(&job.setup, Some(keys_dir))?;
    let kzg = srs.params(params.k)?.clone();
    let srs_ms = ts.elapsed().as_millis() as u64;
    let keygen = || build_chunk(graph, &spec, &witness, params, CircuitBuilderStage::Keygen, None);
    let (vk, keygen_circuit) = match (known_vk, &expected) {
        (Some(known), _) => known,
        (None, Some(expected)) => chunk_vk(keys_dir, graph, &spec, &witness, (params, expected), &mut srs)?,
        (None, None) => unreachable!("sized above when no key is known"),
    };
    let keys = proving_key(vk, i, &kzg, cache_pk, keygen_circuit, keygen)?;
    progress(Stage::Keys { cached: keys.cached, ms: keys.ms as u64 });

    let t1 = Instant::now();
    let circuit = build_chunk(
        graph,
        &spec,
        &witness,
        params,
        CircuitBuilderStage::Prover,
        Some(keys.vk.meta.break_points.clone()),
    )?;
    if circuit.output_values != job.outputs {
        return Err(ProverError::InvalidModel {
            detail: format!(
                "chunk {i}: the circuit computes other boundary values than the driver's interpreter"
            ),
        });
    }
    let instances = circuit.instances.clone();
    progress(Stage::Proving);
    let proof = engine.prove(&kzg, &keys.pk, circuit, &instances, i, job.transcript)?;
    let prove_ms = t1.elapsed().as_millis() as u64;
    let verifier_params = srs.verifier().params(params.k)?;
    verify_chunk_proof(&verifier_params, &keys.vk.vk, &instances, &proof, (i, job.transcript))
        .map_err(|source| ProverError::SelfCheck { chunk: i, source })?;
    Ok(ChunkResult {
        format: RESULT_FORMAT.into(),
        version: JOB_VERSION,
        index: i,
        job_digest: job.digest(),
        circuit_digest: keys.vk.digest,
        meta: keys.vk.meta.clone(),
        vk: keys.vk.vk_bytes.clone(),
        instances: instances.iter().map(Bytes32::from_fr).collect(),
        proof,
        engine: engine.describe(),
        keys_cached: keys.cached,
        witness_ms,
        keygen_ms: keys.ms as u64,
        prove_ms,
        srs_ms,
        peak_rss_kib: peak_rss_kib(),
        host: hostname(),
    })
}
