//! `chunkproof prove`: arguments, the proof engine choice, progress output.

use std::path::PathBuf;

use chunkproof_prover::model::{load_input, load_model};
use chunkproof_prover::prove::{prove_model_with, Event, ProveConfig};
use chunkproof_prover::setup::SetupChoice;
use chunkproof_prover::{engine, EngineChoice};
use clap::Args;

use crate::{fmt_values, gpu_worker, Failure};

#[derive(Args)]
#[group(id = "setup", required = true, multiple = false)]
pub struct SetupArgs {
    /// Use the deterministic, INSECURE development setup (tests and demos only).
    #[arg(long, group = "setup")]
    dev_setup: bool,
    /// A halo2 KZG params (powers-of-tau) file; needs --srs-sha256.
    #[arg(long, value_name = "FILE", group = "setup", requires = "srs_sha256")]
    srs: Option<PathBuf>,
}

#[derive(Args)]
pub struct ProveArgs {
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

/// Runs `chunkproof prove`.
pub fn prove(a: ProveArgs) -> Result<(), Failure> {
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
