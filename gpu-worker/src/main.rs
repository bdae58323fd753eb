//! `chunkproof-gpu-worker prove …`: the `prove` command with every chunk proven on the GPU.
//!
//! Accepts the arguments of `chunkproof prove` that matter for proving (see `--help`) and
//! writes the same verified bundle. Exit status: 0 success; 1 the bundle did not verify;
//! 2 the command could not run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use chunkproof_gpu_worker::ENGINE_NAME;
use chunkproof_prover::circuit::{ChunkCircuit, Fr};
use chunkproof_prover::engine::{evm_proof, ProofEngine};
use chunkproof_prover::model::{load_input, load_model};
use chunkproof_prover::run::worker::run_worker;
use chunkproof_prover::run::{RunEvent, WorkerEvent};
use chunkproof_prover::setup::SetupChoice;
use chunkproof_prover::{prove_model_with, ProveConfig, ProverError, Result};
use clap::{Args, Parser, Subcommand};
use halo2_axiom::halo2curves::bn256::{Bn256, G1Affine};
use halo2_axiom::plonk::ProvingKey;
use halo2_axiom::poly::commitment::Params;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use halo2_axiom::SerdeFormat;
use halo2_axiom_gpu::poly::kzg::commitment::{KZGCommitmentScheme as GpuKzg, ParamsKZG as GpuParams};
use halo2_axiom_gpu::poly::kzg::multiopen::ProverSHPLONK as GpuShplonk;
use rand_core::OsRng;

/// halo2-axiom-gpu's prover with parameters converted once per circuit size.
#[derive(Default)]
struct FullGpuEngine {
    params: Mutex<BTreeMap<u32, Arc<GpuParams<Bn256>>>>,
}

impl FullGpuEngine {
    /// The GPU crate has its own `ParamsKZG` type; the raw serialisation is shared.
    fn params_for(&self, p: &ParamsKZG<Bn256>) -> Result<Arc<GpuParams<Bn256>>> {
        let mut cache = self.params.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(g) = cache.get(&p.k()) {
            return Ok(g.clone());
        }
        let mut bytes = Vec::new();
        p.write_custom(&mut bytes, SerdeFormat::RawBytes)
            .and_then(|_| GpuParams::<Bn256>::read_custom(&mut bytes.as_slice(), SerdeFormat::RawBytes))
            .map(|g| cache.entry(p.k()).or_insert(Arc::new(g)).clone())
            .map_err(|e| ProverError::Backend {
                backend: "cuda-full",
                detail: format!("converting KZG params: {e}"),
            })
    }
}

impl ProofEngine for FullGpuEngine {
    fn describe(&self) -> String {
        ENGINE_NAME.into()
    }

    fn prove(
        &self,
        params: &ParamsKZG<Bn256>,
        pk: &ProvingKey<G1Affine>,
        circuit: ChunkCircuit,
        instances: &[Fr],
        chunk: usize,
    ) -> Result<Vec<u8>> {
        let gp = self.params_for(params)?;
        evm_proof(chunk, |transcript| {
            halo2_axiom_gpu::plonk::create_proof::<GpuKzg<Bn256>, GpuShplonk<'_, Bn256>, _, _, _, _>(
                gp.as_ref(),
                pk,
                &[circuit],
                &[&[instances]],
                OsRng,
                transcript,
            )
        })
    }
}

#[derive(Parser)]
#[command(
    name = "chunkproof-gpu-worker",
    version,
    about = "Prove chunks entirely on the GPU (halo2-axiom-gpu)"
)]
struct Cli {
    /// More log output (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prove a model on an input in chunks and write a verified bundle (as `chunkproof prove`).
    Prove(ProveArgs),
    /// Prove one chunk job on the GPU (as `chunkproof prove-chunk`; what Ray GPU tasks run).
    ProveChunk(ProveChunkArgs),
}

#[derive(Args)]
struct ProveChunkArgs {
    /// The chunk job file.
    #[arg(value_name = "JOB")]
    job: PathBuf,
    /// Where to write the result (atomically).
    #[arg(long, value_name = "RESULT")]
    out: PathBuf,
    /// Key cache directory.
    #[arg(long, value_name = "DIR")]
    keys: PathBuf,
    /// Also cache proving keys.
    #[arg(long)]
    cache_pk: bool,
    /// Print the stages as JSON lines on stdout.
    #[arg(long)]
    progress_json: bool,
}

fn prove_chunk(a: ProveChunkArgs) -> std::result::Result<(), (u8, String)> {
    let engine = FullGpuEngine::default();
    let r = run_worker(&a.job, &a.out, &a.keys, a.cache_pk, &engine, a.progress_json)
        .map_err(|e| (2, format!("error: {e}")))?;
    if !a.progress_json {
        println!("chunk {}: proved on the GPU in {:.2} s", r.index, r.prove_ms as f64 / 1e3);
    }
    Ok(())
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
    /// Key directory.
    #[arg(long, value_name = "DIR")]
    keys: PathBuf,
    /// Output bundle (written atomically).
    #[arg(long, value_name = "B.bundle")]
    out: PathBuf,
    /// Use the deterministic, INSECURE development setup.
    #[arg(long, required_unless_present = "srs")]
    dev_setup: bool,
    /// A halo2 KZG params file; needs --srs-sha256.
    #[arg(long, value_name = "FILE", requires = "srs_sha256", conflicts_with = "dev_setup")]
    srs: Option<PathBuf>,
    /// Pinned SHA-256 of the --srs file.
    #[arg(long, value_name = "HEX")]
    srs_sha256: Option<String>,
    /// Make the model input a public value of chunk 0.
    #[arg(long)]
    public_input: bool,
    /// Keep the model output private.
    #[arg(long)]
    private_output: bool,
    /// Also cache proving keys.
    #[arg(long)]
    cache_pk: bool,
    /// Smallest circuit size 2^k per chunk.
    #[arg(long, default_value_t = 0, hide = true)]
    min_k: u32,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

fn prove(a: ProveArgs) -> std::result::Result<(), (u8, String)> {
    let fail = |e: ProverError| {
        let code = if matches!(e, ProverError::Verifier(ref v) if v.is_rejection()) { 1 } else { 2 };
        (code, format!("error: {e}"))
    };
    let setup = match a.srs {
        Some(path) => SetupChoice::File { path, sha256: a.srs_sha256.unwrap_or_default() },
        None => SetupChoice::Dev,
    };
    let graph = load_model(&a.model).map_err(fail)?;
    let input = load_input(&a.input, &graph).map_err(fail)?;
    let cfg = ProveConfig {
        chunks: a.chunks,
        keys_dir: a.keys,
        setup,
        input_public: a.public_input,
        output_public: !a.private_output,
        cache_pk: a.cache_pk,
        min_k: a.min_k,
    };
    let json = a.json;
    let n = a.chunks;
    let mut progress = |e: RunEvent| {
        if !json {
            if let RunEvent::Worker(WorkerEvent::Done { chunk, result }) = e {
                eprintln!(
                    "chunk {}/{n}: proved on the GPU in {:.2} s ({} bytes)",
                    chunk + 1,
                    result.prove_ms as f64 / 1e3,
                    result.proof.len()
                );
            }
        }
    };
    let engine = FullGpuEngine::default();
    if !json {
        eprintln!("proof engine: {}", engine.describe());
    }
    let (bundle, report) = prove_model_with(&graph, &input, &cfg, &engine, &mut progress).map_err(fail)?;
    bundle.write(&a.out).map_err(|e| (2, format!("error: {e}")))?;
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
        println!("ok: {} chunks, root {}, written to {}", bundle.chunks.len(), bundle.root, a.out.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = ["warn", "info", "debug"][usize::from(cli.verbose.min(2))];
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or(format!("{level},halo2_base=error")),
    )
    .format_timestamp(None)
    .init();
    let result = match cli.command {
        Command::Prove(a) => prove(a),
        Command::ProveChunk(a) => prove_chunk(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("{msg}");
            ExitCode::from(code)
        }
    }
}
