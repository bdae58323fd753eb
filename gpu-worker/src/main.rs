//! `chunkproof-gpu-worker prove …`: the `prove` command with every chunk proven on the GPU;
//! `chunkproof-gpu-worker aggregate …`: the `aggregate` command with every aggregation circuit
//! proven on the GPU.
//!
//! Accepts the arguments of `chunkproof prove` and `chunkproof aggregate` (the same argument
//! types, from `chunkproof-args`) and writes the same verified bundle or aggregated proof. Exit
//! status: 0 success; 1 the bundle did not verify; 2 the command could not run.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use chunkproof_aggregate::AggregationEngine;
use chunkproof_args::{exit, init_logging, run_aggregate, AggregateArgs, Failure, ProveArgs, ProveChunkArgs};
use chunkproof_gpu_worker::ENGINE_NAME;
use chunkproof_prover::circuit::{ChunkCircuit, Fr};
use chunkproof_prover::engine::{halo2_failure, write_proof, ProofEngine, ProofSink, TranscriptKind};
use chunkproof_prover::model::{load_input, load_model};
use chunkproof_prover::run::worker::run_worker;
use chunkproof_prover::run::{RunEvent, WorkerEvent};
use chunkproof_prover::{prove_model_with, ProverError, Result};
use clap::{Parser, Subcommand};
use halo2_axiom::halo2curves::bn256::{Bn256, G1Affine};
use halo2_axiom::plonk::{Circuit, ProvingKey};
use halo2_axiom::poly::commitment::Params;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use halo2_axiom::SerdeFormat;
use halo2_axiom_gpu::plonk::{create_proof, GpuError};
use halo2_axiom_gpu::poly::kzg::commitment::{KZGCommitmentScheme as GpuKzg, ParamsKZG as GpuParams};
use halo2_axiom_gpu::poly::kzg::multiopen::ProverSHPLONK as GpuShplonk;
use rand_core::OsRng;
use snark_verifier_sdk::halo2::aggregation::AggregationCircuit;

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
        transcript: TranscriptKind,
    ) -> Result<Vec<u8>> {
        // halo2-axiom-gpu 1.0.1 proves single-phase circuits only (it asserts otherwise).
        if pk.get_vk().cs().num_challenges() > 0 {
            return Err(ProverError::Backend {
                backend: "cuda-full",
                detail: format!(
                    "chunk {chunk} checks products with random challenges (a two-phase circuit), which \
                     the GPU prover cannot prove; prove with --no-product-check"
                ),
            });
        }
        let gp = self.params_for(params)?;
        gpu_proof(&gp, pk, circuit, instances, transcript).map_err(|e| halo2_failure(chunk, e))
    }
}

/// Aggregation circuits are halo2-base circuits of one phase: halo2-axiom-gpu proves them as it
/// proves chunk circuits. The aggregation code checks every proof with the ordinary verifier.
impl AggregationEngine for FullGpuEngine {
    fn describe(&self) -> String {
        ENGINE_NAME.into()
    }

    fn prove(
        &self,
        params: &ParamsKZG<Bn256>,
        pk: &ProvingKey<G1Affine>,
        circuit: AggregationCircuit,
        instances: &[Fr],
        transcript: TranscriptKind,
    ) -> std::result::Result<Vec<u8>, String> {
        let gp = self.params_for(params).map_err(|e| e.to_string())?;
        gpu_proof(&gp, pk, circuit, instances, transcript).map_err(|e| format!("{e:?}"))
    }
}

/// halo2-axiom-gpu's `create_proof` of any one-instance-column circuit (a chunk's, an
/// aggregation's) into a fresh transcript of kind `transcript`.
fn gpu_proof<C: Circuit<Fr>>(
    gp: &GpuParams<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Fr],
    transcript: TranscriptKind,
) -> std::result::Result<Vec<u8>, GpuError> {
    write_proof(transcript, |sink| match sink {
        ProofSink::Keccak(t) => create_proof::<GpuKzg<Bn256>, GpuShplonk<'_, Bn256>, _, _, _, _>(
            gp,
            pk,
            &[circuit],
            &[&[instances]],
            OsRng,
            t,
        ),
        ProofSink::Poseidon(t) => create_proof::<GpuKzg<Bn256>, GpuShplonk<'_, Bn256>, _, _, _, _>(
            gp,
            pk,
            &[circuit],
            &[&[instances]],
            OsRng,
            t,
        ),
    })
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
    /// Aggregate a bundle into one proof, every aggregation circuit proven on the GPU (as
    /// `chunkproof aggregate`).
    Aggregate(AggregateArgs),
}

fn prove_chunk(a: ProveChunkArgs) -> std::result::Result<(), Failure> {
    let engine = FullGpuEngine::default();
    let r = run_worker(&a.job, &a.out, &a.keys, a.cache_pk, &engine, a.progress_json)?;
    if !a.progress_json {
        println!("chunk {}: proved on the GPU in {:.2} s", r.index, r.prove_ms as f64 / 1e3);
    }
    Ok(())
}

fn prove(a: ProveArgs) -> std::result::Result<(), Failure> {
    let cfg = a.config()?;
    let mut graph = load_model(&a.model)?;
    // the GPU prover is single-phase: every product is computed, none checked with challenges
    graph.product_check = false;
    a.chunking.declare(&mut graph);
    let input = load_input(&a.input, &graph)?;
    let json = a.json;
    // the chunk count (with --max-k the planner decides it; planning is cheap)
    let n = cfg.planned(&graph)?.plan.num_chunks();
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
        eprintln!(
            "proof engine: {} (products computed, not checked with challenges)",
            ProofEngine::describe(&engine)
        );
    }
    let (bundle, report) = prove_model_with(&graph, &input, &cfg, &engine, &mut progress)?;
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
        println!("ok: {} chunks, root {}, written to {}", bundle.chunks.len(), bundle.root, a.out.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    exit(match cli.command {
        Command::Prove(a) => prove(a),
        Command::ProveChunk(a) => prove_chunk(a),
        Command::Aggregate(a) => run_aggregate(&a, &FullGpuEngine::default()),
    })
}
