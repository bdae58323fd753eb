//! `chunkproof`: prove a model in chunks, verify and audit bundles.
//!
//! Exit status: 0 success; 1 the bundle is rejected or malformed; 2 the command could not run
//! (bad arguments, missing or unusable keys, I/O).

use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod bench_msm;
mod chain;
mod evm;
mod gpu_worker;

use chunkproof_prover::model::{load_input, load_model};
use chunkproof_prover::plan::plan;
use chunkproof_prover::prove::{prove_model_with, Event, ProveConfig};
use chunkproof_prover::setup::SetupChoice;
use chunkproof_prover::ProverError;
use chunkproof_prover::{engine, EngineChoice};
use chunkproof_verifier::{audit, verify_bundle, Bundle, Bytes32, KeySet, VerifyError, VerifyOptions};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "chunkproof", version, about = "Chunked, Merkle-linked halo2 proofs of ML inference")]
struct Cli {
    /// More log output (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prove a model on an input in chunks and write a verified bundle.
    Prove(ProveArgs),
    /// Verify a bundle against a key directory.
    Verify(VerifyArgs),
    /// Report per chunk what a bundle covers and whether it links.
    Audit(AuditArgs),
    /// Show the chunk plan of a model without proving.
    Plan(PlanArgs),
    /// Generate the Solidity verifiers of a key set (and a bundle fixture for tests).
    ExportVerifier(evm::ExportArgs),
    /// Measure monolithic vs chunked proving and verification of a model (dev setup).
    Bench(BenchCmd),
    /// Measure BN254 MSMs of 2^min … 2^max points, CPU vs GPU (`gpu` builds).
    BenchMsm(bench_msm::BenchMsmArgs),
    /// Verify a bundle locally, then record its root in a RootRegistry on chain (exactly once).
    Publish(chain::PublishArgs),
    /// Deploy a RootRegistry, and optionally a model's verifiers registered in it.
    DeployRegistry(chain::DeployArgs),
    /// Is this root of this model recorded? Block, sender, transaction.
    Status(chain::StatusArgs),
    /// TRUST-BASED: record a root without proofs (registry-named attesters only).
    Attest(chain::AttestArgs),
    /// Registry owner: allow or revoke an attester.
    SetAttester(chain::SetAttesterArgs),
}

#[derive(Args)]
struct BenchCmd {
    /// zkml msgpack model.
    #[arg(long)]
    model: PathBuf,
    /// zkml msgpack input.
    #[arg(long)]
    input: PathBuf,
    /// Chunk counts to compare.
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    chunks: Vec<usize>,
    /// Scratch directory for keys and bundles.
    #[arg(long, default_value = "out/bench")]
    work: PathBuf,
    /// Also write the Markdown table here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Verification repetitions.
    #[arg(long, default_value_t = 20)]
    reps: usize,
}

#[derive(Args)]
#[group(id = "setup", required = true, multiple = false)]
struct SetupArgs {
    /// Use the deterministic, INSECURE development setup (tests and demos only).
    #[arg(long, group = "setup")]
    dev_setup: bool,
    /// A halo2 KZG params (powers-of-tau) file; needs --srs-sha256.
    #[arg(long, value_name = "FILE", group = "setup", requires = "srs_sha256")]
    srs: Option<PathBuf>,
}

#[derive(Args)]
struct ProveArgs {
    /// zkml msgpack model.
    #[arg(long, value_name = "M.msgpack")]
    model: PathBuf,
    /// zkml msgpack input.
    #[arg(long, value_name = "I.msgpack")]
    input: PathBuf,
    /// Number of chunks.
    #[arg(long, default_value_t = 4)]
    chunks: usize,
    /// Key directory (created if missing; keys are cached here).
    #[arg(long, value_name = "DIR")]
    keys: PathBuf,
    /// Output bundle (written atomically).
    #[arg(long, value_name = "B.bundle")]
    out: PathBuf,
    #[command(flatten)]
    setup: SetupArgs,
    /// Pinned SHA-256 of the --srs file.
    #[arg(long, value_name = "HEX")]
    srs_sha256: Option<String>,
    /// Make the model input a public value of chunk 0.
    #[arg(long)]
    public_input: bool,
    /// Keep the model output private (by default it is public in the last chunk).
    #[arg(long)]
    private_output: bool,
    /// Also cache proving keys (large files; saves keygen on later runs).
    #[arg(long)]
    cache_pk: bool,
    /// Smallest circuit size 2^k per chunk (17 or more selects the 16-bit fixed-point gates).
    #[arg(long, default_value_t = 0, hide = true)]
    min_k: u32,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
    /// Proof engine: `cpu`; `cuda-msm` (commitment MSMs on the GPU, needs a `gpu` build);
    /// `cuda-full` (the whole prover on the GPU, run by the `chunkproof-gpu-worker` binary).
    #[arg(long, value_enum, default_value_t = EngineArg::Cpu)]
    engine: EngineArg,
    /// Prove on the GPU with the faster GPU engine (`--engine cuda-full`).
    #[arg(long, conflicts_with = "engine")]
    gpu: bool,
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

#[derive(Args)]
struct VerifyArgs {
    /// The bundle.
    bundle: PathBuf,
    /// Key directory.
    #[arg(long, value_name = "DIR")]
    keys: PathBuf,
    /// Accept keys made with the INSECURE development setup.
    #[arg(long)]
    dev_setup: bool,
    /// Require this model id.
    #[arg(long, value_name = "HEX")]
    model_id: Option<String>,
    /// Also check the bundle with the generated Solidity contracts in an in-process EVM (revm;
    /// needs solc 0.8.19: `solc` on PATH or CHUNKPROOF_SOLC), and print gas per chunk.
    #[arg(long)]
    evm: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct AuditArgs {
    /// The bundle.
    bundle: PathBuf,
    /// Also verify each proof against this key directory.
    #[arg(long, value_name = "DIR")]
    keys: Option<PathBuf>,
    /// Accept keys made with the INSECURE development setup.
    #[arg(long)]
    dev_setup: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct PlanArgs {
    /// zkml msgpack model.
    #[arg(long)]
    model: PathBuf,
    /// Number of chunks.
    #[arg(long, default_value_t = 4)]
    chunks: usize,
}

/// A failure with its exit status.
struct Failure {
    code: u8,
    message: String,
}

impl From<VerifyError> for Failure {
    fn from(e: VerifyError) -> Self {
        let bundle_fault = e.is_rejection()
            || matches!(
                e,
                VerifyError::Malformed { .. }
                    | VerifyError::UnsupportedVersion { .. }
                    | VerifyError::Inconsistent { .. }
                    | VerifyError::NonCanonicalScalar { .. }
                    | VerifyError::ValueOutOfRange { .. }
                    | VerifyError::TooLarge { .. }
            );
        let code = if bundle_fault { 1 } else { 2 };
        let prefix = if e.is_rejection() { "rejected" } else { "error" };
        Failure { code, message: format!("{prefix}: {e}") }
    }
}

impl From<ProverError> for Failure {
    fn from(e: ProverError) -> Self {
        Failure { code: 2, message: format!("error: {e}") }
    }
}

fn fmt_values(v: &[i64]) -> String {
    const SHOW: usize = 16;
    let mut s: Vec<String> = v.iter().take(SHOW).map(|x| x.to_string()).collect();
    if v.len() > SHOW {
        s.push(format!("… {} more", v.len() - SHOW));
    }
    format!("[{}]", s.join(", "))
}

fn prove(a: ProveArgs) -> Result<(), Failure> {
    let engine_arg = if a.gpu { GPU_DEFAULT } else { a.engine };
    let choice = match engine_arg {
        EngineArg::Cpu => EngineChoice::Cpu,
        EngineArg::CudaMsm => EngineChoice::CudaMsm,
        EngineArg::CudaFull => return gpu_worker::delegate(),
    };
    let setup = match (a.setup.dev_setup, a.setup.srs) {
        (true, _) => SetupChoice::Dev,
        (false, Some(path)) => SetupChoice::File {
            path,
            sha256: a
                .srs_sha256
                .ok_or(Failure { code: 2, message: "error: --srs needs --srs-sha256".into() })?,
        },
        (false, None) => unreachable!("clap requires one setup"),
    };
    let graph = load_model(&a.model)?;
    let input = load_input(&a.input, &graph)?;
    let cfg = ProveConfig {
        chunks: a.chunks,
        keys_dir: a.keys.clone(),
        setup,
        input_public: a.public_input,
        output_public: !a.private_output,
        cache_pk: a.cache_pk,
        min_k: a.min_k,
    };
    let n = a.chunks;
    let json = a.json;
    let mut progress = |e: Event| {
        if json {
            return;
        }
        match e {
            Event::Planned { cuts } => eprintln!("plan: {n} chunks, layer cuts {cuts:?}"),
            Event::ChunkSized { chunk, params } => {
                eprintln!("chunk {}/{n}: k = {}, lookup table 2^{}", chunk + 1, params.k, params.lookup_bits)
            }
            Event::KeysReady { chunk, cached, ms } => eprintln!(
                "chunk {}/{n}: keys {} in {:.1} s",
                chunk + 1,
                if cached { "loaded" } else { "generated" },
                ms as f64 / 1e3
            ),
            Event::Proven { chunk, ms, bytes } => {
                eprintln!("chunk {}/{n}: proved in {:.1} s ({bytes} bytes)", chunk + 1, ms as f64 / 1e3)
            }
        }
    };
    let engine = engine(choice)?;
    if !json {
        eprintln!("proof engine: {}", engine.describe());
    }
    let (bundle, report) = prove_model_with(&graph, &input, &cfg, engine.as_ref(), &mut progress)?;
    bundle.write(&a.out)?;
    if json {
        let out = serde_json::json!({
            "bundle": a.out,
            "model_id": bundle.model_id.to_string(),
            "root": bundle.root.to_string(),
            "outputs": bundle.outputs,
            "report": report,
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        println!(
            "wrote {}: {} chunks, root {}, model {}, outputs {} ({:.1} s)",
            a.out.display(),
            bundle.chunks.len(),
            bundle.root,
            bundle.model_id,
            fmt_values(&bundle.outputs),
            report.total_ms as f64 / 1e3
        );
    }
    Ok(())
}

fn parse_model_id(s: Option<String>) -> Result<Option<Bytes32>, Failure> {
    s.map(|s| {
        Bytes32::from_hex(&s)
            .ok_or(Failure { code: 2, message: format!("error: --model-id {s:?} is not 32 bytes of hex") })
    })
    .transpose()
}

fn verify(a: VerifyArgs) -> Result<(), Failure> {
    let start = std::time::Instant::now();
    let bundle = Bundle::read(&a.bundle)?;
    let pinned = parse_model_id(a.model_id)?;
    let keys = KeySet::load(&a.keys, Some(pinned.as_ref().unwrap_or(&bundle.model_id)))?;
    let opts = VerifyOptions { allow_dev_setup: a.dev_setup, expected_model_id: pinned };
    let ok = verify_bundle(&bundle, &keys, &opts)?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let evm = if a.evm { Some(evm::verify_evm(&bundle, &keys)?) } else { None };
    if a.json {
        let out = serde_json::json!({
            "ok": true,
            "chunks": ok.num_chunks,
            "model_id": ok.model_id.to_string(),
            "root": ok.root.to_string(),
            "inputs": ok.inputs,
            "outputs": ok.outputs,
            "dev_setup": ok.dev_setup,
            "proof_check_ms": ok.proof_check_us as f64 / 1e3,
            "total_ms": ms,
            "evm": evm.as_ref().map(|r| serde_json::json!({
                "chunk_gas": r.chunk_gas,
                "bundle_gas": r.bundle_gas,
                "runtime_sizes": r.runtime_sizes.iter().map(|(n, s)| serde_json::json!({"contract": n, "bytes": s})).collect::<Vec<_>>(),
            })),
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        println!(
            "ok: {} chunks, root {}, outputs {}{}",
            ok.num_chunks,
            ok.root,
            fmt_values(&ok.outputs),
            if ok.dev_setup { " (INSECURE dev setup)" } else { "" }
        );
        if let Some(r) = &evm {
            evm::print_evm(r);
        }
    }
    Ok(())
}

fn audit_cmd(a: AuditArgs) -> Result<(), Failure> {
    let bundle = Bundle::read(&a.bundle)?;
    let keys = a.keys.as_ref().map(|d| KeySet::load(d, Some(&bundle.model_id))).transpose()?;
    let report = audit(
        &bundle,
        keys.as_ref(),
        &VerifyOptions { allow_dev_setup: a.dev_setup, expected_model_id: None },
    );
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    } else {
        println!("{report}");
    }
    if report.ok {
        Ok(())
    } else {
        Err(Failure { code: 1, message: format!("rejected: {}", report.verdict) })
    }
}

fn plan_cmd(a: PlanArgs) -> Result<(), Failure> {
    let graph = load_model(&a.model)?;
    let p = plan(&graph, a.chunks, false, true)?;
    println!("{} layers, {} chunks, scale {}", graph.layers.len(), p.num_chunks(), graph.scale);
    for i in 0..p.num_chunks() {
        let kinds: Vec<&str> = graph.layers[p.cuts[i]..p.cuts[i + 1]].iter().map(|l| l.kind.name()).collect();
        let len = |s: &[u32]| s.iter().map(|id| graph.numel(*id)).sum::<usize>();
        println!(
            "chunk {i}: layers {}..{} [{}], boundary in {} values, out {} values, est. {} main cells / {} custom rows",
            p.cuts[i],
            p.cuts[i + 1],
            kinds.join(", "),
            len(&p.sets[i]),
            len(&p.sets[i + 1]),
            p.costs[i].main,
            p.costs[i].custom
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or(format!("{level},halo2_base=error")),
    )
    .format_timestamp(None)
    .init();
    let result = match cli.command {
        Command::Prove(a) => prove(a),
        Command::Verify(a) => verify(a),
        Command::Audit(a) => audit_cmd(a),
        Command::Plan(a) => plan_cmd(a),
        Command::ExportVerifier(a) => evm::export_verifier(a),
        Command::Bench(a) => bench::run(&bench::BenchArgs {
            model: a.model,
            input: a.input,
            chunks: a.chunks,
            work: a.work,
            out: a.out,
            reps: a.reps.max(1),
        })
        .map(|md| println!("{md}"))
        .map_err(|e| Failure { code: 2, message: format!("error: {e}") }),
        Command::Publish(a) => chain::publish(a),
        Command::DeployRegistry(a) => chain::deploy(a),
        Command::Status(a) => chain::status(a),
        Command::Attest(a) => chain::attest(a),
        Command::SetAttester(a) => chain::set_attester(a),
        Command::BenchMsm(a) => bench_msm::run(&a)
            .map(|md| println!("{md}"))
            .map_err(|e| Failure { code: 2, message: format!("error: {e}") }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("{}", f.message);
            ExitCode::from(f.code)
        }
    }
}
