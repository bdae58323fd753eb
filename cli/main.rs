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
mod inspect;
mod progress;
mod prove;

use chunkproof_prover::model::load_model;
use chunkproof_prover::plan::plan;
use chunkproof_prover::ProverError;
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
    Prove(prove::ProveArgs),
    /// Prove one chunk job (what local workers and Ray tasks run).
    ProveChunk(prove::ProveChunkArgs),
    /// Verify a bundle against a key directory.
    Verify(VerifyArgs),
    /// Report per chunk what a bundle covers and whether it links.
    Audit(AuditArgs),
    /// A model's layers, shapes, weights, estimated rows per layer, and the plan for N chunks.
    Inspect(inspect::InspectArgs),
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
        Command::Prove(a) => prove::prove(a),
        Command::ProveChunk(a) => prove::prove_chunk(a),
        Command::Inspect(a) => inspect::inspect(a),
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
