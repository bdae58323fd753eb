//! `chunkproof prove`: arguments, the proof engine and backend choice (local worker processes
//! or Ray), progress; and `chunkproof prove-chunk`, what each worker runs.

use std::path::PathBuf;

use chunkproof_prover::model::{load_input, parse_model};
use chunkproof_prover::run::worker::run_worker;
use chunkproof_prover::run::{
    prove as prove_run, temp_run_dir, Backend, LocalOptions, LocalWorkers, ModelRef, RayCluster, RayOptions,
    Salts, WorkerCommand,
};
use chunkproof_prover::{engine, EngineChoice, ProverError};
use clap::Args;

use crate::progress::Progress;
use crate::{fmt_values, gpu_worker, Failure};

/// `chunkproof prove`: the arguments every proving binary shares, the engine and where the
/// chunks are proven.
#[derive(Args)]
pub(crate) struct ProveCommand {
    #[command(flatten)]
    common: chunkproof_args::ProveArgs,
    /// Proof engine: `cpu`; `cuda-msm` (commitment MSMs on the GPU, needs a `gpu` build);
    /// `cuda-full` (the whole prover on the GPU, run by the `chunkproof-gpu-worker` binary).
    #[arg(long, value_enum, default_value_t = EngineArg::Cpu)]
    engine: EngineArg,
    /// Prove on the GPU with the faster GPU engine (`--engine cuda-full`).
    #[arg(long, conflicts_with = "engine")]
    gpu: bool,
    #[command(flatten)]
    parallel: ParallelArgs,
}

/// Where the chunks are proven.
#[derive(Args)]
pub(crate) struct ParallelArgs {
    /// Local worker processes proving chunks at the same time (each chunk in its own process).
    #[arg(long, default_value_t = 1, value_name = "N")]
    workers: usize,
    /// Memory budget of all local workers together (e.g. 20G, 512M), against each chunk's
    /// estimated peak; a chunk waits until it fits (default: 80% of the available memory).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<u64>,
    /// Prover threads per worker (default: the machine's cores divided among the workers).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Extra attempts at a chunk whose worker fails or is killed.
    #[arg(long, default_value_t = 2, value_name = "N")]
    retries: u32,
    /// Keep the run (jobs, results, logs) in DIR; when DIR already holds this run, every chunk
    /// proof in it is reused. Without it a temporary directory is used, kept only on failure.
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// Prove the chunks as Ray tasks on the cluster at ADDRESS (default: $RAY_ADDRESS when set).
    #[arg(long, value_name = "ADDRESS")]
    ray: Option<String>,
    /// Ray: a custom resource each chunk task needs one unit of (puts chunks on the nodes that
    /// offer it).
    #[arg(long, value_name = "NAME")]
    ray_resource: Option<String>,
    /// Ray: CPUs per chunk task.
    #[arg(long, default_value_t = 1.0, value_name = "N")]
    ray_cpus: f64,
    /// Ray: the worker binary, at this path on every node (default: this executable; with
    /// --gpu, chunkproof-gpu-worker beside it).
    #[arg(long, value_name = "PATH")]
    ray_worker_bin: Option<PathBuf>,
    /// Ray: key cache directory on the worker nodes (`~` expands on each node).
    #[arg(long, default_value = "~/.cache/chunkproof/worker-keys", value_name = "DIR")]
    ray_keys: String,
    /// INSECURE, tests only: derive the salts from this seed, so runs on different backends
    /// commit to the same root (refused without --dev-setup, and in builds without test hooks).
    #[arg(long, hide = true, requires = "dev_setup", value_name = "N")]
    insecure_salt_seed: Option<u64>,
}

/// Parses `20G`, `512M`, `1024K` or a byte count.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num.trim().parse().map_err(|_| format!("{s:?} is not a size like 20G or 512M"))?;
    let mult: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use K, M, G or T)")),
    };
    if !(v > 0.0 && v.is_finite()) {
        return Err(format!("{s:?}: the budget must be positive"));
    }
    Ok((v * mult as f64) as u64)
}

/// `--engine` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum EngineArg {
    /// halo2-axiom on the CPU.
    Cpu,
    /// Commitment MSMs on a CUDA GPU (sppark), everything else on the CPU.
    CudaMsm,
    /// Everything on a CUDA GPU (halo2-axiom-gpu), in the separate GPU worker binary.
    CudaFull,
}

/// What `--gpu` selects (the faster GPU engine as measured; see README, GPU section).
const GPU_DEFAULT: EngineArg = EngineArg::CudaFull;

fn exe() -> Result<PathBuf, Failure> {
    std::env::current_exe().map_err(|e| Failure::error(format!("cannot locate this executable: {e}")))
}

/// Runs `chunkproof prove`.
pub(crate) fn prove(a: ProveCommand) -> Result<(), Failure> {
    let engine_arg = if a.gpu { GPU_DEFAULT } else { a.engine };
    let p = a.parallel;
    let ray = p.ray.clone().or_else(|| std::env::var("RAY_ADDRESS").ok().filter(|s| !s.is_empty()));
    let choice = match engine_arg {
        EngineArg::Cpu => Some(EngineChoice::Cpu),
        EngineArg::CudaMsm => Some(EngineChoice::CudaMsm),
        EngineArg::CudaFull if ray.is_some() => None,
        // One GPU: the GPU worker runs the whole proof in one process; the worker-pool options
        // do not apply to it (its `prove` would refuse them less clearly).
        EngineArg::CudaFull => {
            let pool_options = [
                (p.workers != 1, "--workers"),
                (p.max_memory.is_some(), "--max-memory"),
                (p.threads.is_some(), "--threads"),
                (p.retries != 2, "--retries"),
                (p.resume.is_some(), "--resume"),
                (p.insecure_salt_seed.is_some(), "--insecure-salt-seed"),
            ];
            if let Some((_, flag)) = pool_options.iter().find(|(given, _)| *given) {
                return Err(Failure {
                    code: 2,
                    message: format!(
                        "error: {flag} is not available with full GPU proving on this machine (one GPU \
                         worker proves every chunk); for GPU workers across machines use --ray ADDRESS --gpu"
                    ),
                });
            }
            return gpu_worker::delegate("bundle");
        }
    };
    if p.insecure_salt_seed.is_some() && !chunkproof_prover::TEST_UTILS {
        return Err(Failure {
            code: 2,
            message: "error: --insecure-salt-seed is a test hook: this build has none (feature test-utils)"
                .into(),
        });
    }
    if p.insecure_salt_seed.is_some() && !a.common.setup.dev_setup {
        return Err(Failure::error("--insecure-salt-seed is for tests and needs --dev-setup"));
    }
    if p.workers == 0 {
        return Err(Failure::error("--workers must be at least 1"));
    }
    let cfg = a.common.config()?;
    let a = a.common;
    let model_bytes =
        std::fs::read(&a.model).map_err(|e| ProverError::Io { path: a.model.clone(), source: e })?;
    let mut graph = parse_model(&model_bytes, &a.model)?;
    // GPU workers (choice `None`: `--gpu` on Ray) prove single-phase circuits only.
    graph.product_check = !a.no_product_check && choice.is_some();
    a.chunking.declare(&mut graph);
    if !graph.product_check && !a.json {
        eprintln!("products: every one computed, none checked with random challenges");
    }
    let input = load_input(&a.input, &graph)?;
    let json = a.json;
    let mut worker_args: Vec<String> = vec!["prove-chunk".into()];
    if cfg.cache_pk {
        worker_args.push("--cache-pk".into());
    }
    let backend: Box<dyn Backend> = match (&ray, choice) {
        (Some(address), choice) => {
            let (bin, gpus) = match choice {
                Some(c) => {
                    worker_args.extend(["--engine".into(), engine_name(c).into()]);
                    (p.ray_worker_bin.clone().map(Ok).unwrap_or_else(exe)?, 0.0)
                }
                None => {
                    let bin = match p.ray_worker_bin.clone() {
                        Some(b) => b,
                        None => exe()?.with_file_name("chunkproof-gpu-worker"),
                    };
                    (bin, 1.0)
                }
            };
            let mut worker = vec![bin.display().to_string()];
            worker.extend(worker_args);
            let env = RayOptions::forwarded_env();
            Box::new(RayCluster(RayOptions {
                address: address.clone(),
                python: std::env::var_os("CHUNKPROOF_PYTHON")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| "python3".into()),
                worker,
                keys_dir: p.ray_keys.clone(),
                retries: p.retries,
                resource: p.ray_resource.clone(),
                num_cpus: p.ray_cpus,
                num_gpus: gpus,
                env,
            }))
        }
        (None, Some(c)) => {
            // Fail fast (and clearly) when the engine cannot run here.
            let e = engine(c)?;
            if !json {
                eprintln!("proof engine: {}", e.describe());
            }
            worker_args.extend(["--engine".into(), engine_name(c).into()]);
            let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            let threads = p.threads.or((p.workers > 1).then(|| (cores / p.workers).max(1)));
            Box::new(LocalWorkers {
                cmd: WorkerCommand { program: exe()?, args: worker_args.iter().map(Into::into).collect() },
                opts: LocalOptions {
                    workers: p.workers,
                    max_memory: p.max_memory.or_else(LocalOptions::default_memory_budget),
                    retries: p.retries,
                    threads_per_worker: threads,
                    keys_dir: a.keys.clone(),
                },
            })
        }
        (None, None) => unreachable!("cuda-full without Ray is delegated above"),
    };
    let (run_dir, keep) = match &p.resume {
        Some(d) => (d.clone(), true),
        None => (temp_run_dir()?, false),
    };
    if !json {
        eprintln!(
            "run directory: {} ({})",
            run_dir.display(),
            if keep { "kept" } else { "removed on success; resume with --resume DIR after an interruption" }
        );
    }
    let salts = p.insecure_salt_seed.map(Salts::InsecureSeed).unwrap_or(Salts::Random);
    // the chunk count (with --max-k the planner decides it; planning is cheap)
    let n = cfg.planned(&graph)?.plan.num_chunks();
    let mut progress = Progress::new(n, json);
    let model = ModelRef { graph: &graph, bytes: &model_bytes, input: &input };
    let outcome =
        prove_run(model, &cfg, backend.as_ref(), Some(&run_dir), salts, &mut |e| progress.event(&e));
    let finished = match outcome {
        Ok(f) => f,
        Err(e) => {
            let mut f = Failure::from(e);
            f.message += &format!(
                "\nno bundle was written; finished chunks are kept in {} (rerun with --resume {})",
                run_dir.display(),
                run_dir.display()
            );
            return Err(f);
        }
    };
    finished.bundle.write(&a.out)?;
    if !keep {
        let _ = std::fs::remove_dir_all(&run_dir);
    }
    let (bundle, report) = (&finished.bundle, &finished.report);
    let srs_note = match chunkproof_core::srs::ceremony_of(&bundle.srs_digest) {
        Some(c) => c.name.to_string(),
        None if bundle.srs_digest.to_string() == chunkproof_core::srs::DEV_SRS_DIGEST => {
            "INSECURE development setup: verifiers need --dev-setup".to_string()
        }
        None => format!("not a known ceremony: verifiers must pass --trust-srs {}", bundle.srs_digest),
    };
    if json {
        let out = serde_json::json!({
            "bundle": a.out,
            "model_id": bundle.model_id.to_string(),
            "root": bundle.root.to_string(),
            "outputs": bundle.outputs,
            "backend": bundle.meta.backend,
            "reused_chunks": finished.reused,
            "srs": { "digest": bundle.srs_digest.to_string(), "note": srs_note },
            "run_dir": keep.then_some(&run_dir),
            "report": report,
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        println!(
            "wrote {}: {} chunks, root {}, model {}, outputs {} ({:.1} s, {})",
            a.out.display(),
            bundle.chunks.len(),
            bundle.root,
            bundle.model_id,
            fmt_values(&bundle.outputs),
            report.total_ms as f64 / 1e3,
            bundle.meta.backend
        );
        eprintln!("srs {} ({srs_note})", bundle.srs_digest);
    }
    Ok(())
}

fn engine_name(c: EngineChoice) -> &'static str {
    match c {
        EngineChoice::CudaMsm => "cuda-msm",
        _ => "cpu",
    }
}

/// `chunkproof prove-chunk`: prove one chunk job (what workers and Ray tasks run).
#[derive(Args)]
pub(crate) struct ProveChunkArgs {
    #[command(flatten)]
    common: chunkproof_args::ProveChunkArgs,
    /// Proof engine (`cpu`, or `cuda-msm` in a `gpu` build; full GPU proving is
    /// `chunkproof-gpu-worker prove-chunk`).
    #[arg(long, value_enum, default_value_t = EngineArg::Cpu)]
    engine: EngineArg,
}

/// Runs `chunkproof prove-chunk`.
pub(crate) fn prove_chunk(a: ProveChunkArgs) -> Result<(), Failure> {
    let choice = match a.engine {
        EngineArg::Cpu => EngineChoice::Cpu,
        EngineArg::CudaMsm => EngineChoice::CudaMsm,
        EngineArg::CudaFull => {
            return Err(Failure::error("full GPU proving of a job is `chunkproof-gpu-worker prove-chunk`"))
        }
    };
    let e = engine(choice)?;
    let a = a.common;
    let r = run_worker(&a.job, &a.out, &a.keys, a.cache_pk, e.as_ref(), a.progress_json)?;
    if !a.progress_json {
        println!(
            "chunk {}: proved in {:.1} s, k = {}, {} bytes, written to {}",
            r.index,
            r.prove_ms as f64 / 1e3,
            r.meta.params.k,
            r.proof.len(),
            a.out.display()
        );
    }
    Ok(())
}
