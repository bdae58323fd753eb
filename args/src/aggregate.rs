//! `aggregate`: its arguments and the command itself, shared by `chunkproof` (CPU) and the GPU
//! worker (every aggregation circuit proven on the GPU).

use std::path::PathBuf;

use chunkproof_aggregate::{aggregate_with, AggregateConfig, AggregateError, AggregationEngine};
use chunkproof_core::Bundle;
use chunkproof_prover::setup::SetupChoice;
use chunkproof_verifier::VerifyOptions;
use clap::Args;

use crate::{Failure, SetupArgs};

/// Arguments of `aggregate`.
#[derive(Args)]
pub struct AggregateArgs {
    /// The bundle (proven with `--transcript poseidon`).
    pub bundle: PathBuf,
    /// Key directory of the bundle's model; the aggregation key is written here.
    #[arg(long, value_name = "DIR")]
    pub keys: PathBuf,
    /// Output aggregated proof (written atomically).
    #[arg(long, value_name = "B.agg")]
    pub out: PathBuf,
    /// The setup the chunk keys were made with.
    #[command(flatten)]
    pub setup: SetupArgs,
    /// Pinned SHA-256 of the --srs file.
    #[arg(long, value_name = "HEX")]
    srs_sha256: Option<String>,
    /// The aggregation circuit has 2^K rows: a larger K means fewer columns (a smaller on-chain
    /// verifier) and more memory. Default: the smallest K whose verifier fits EIP-170 (at most
    /// 5 gate columns).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(18..=26))]
    pub k: Option<u32>,
    /// Most proofs one aggregation circuit takes; a bundle of more chunks is aggregated in a
    /// tree (groups of consecutive chunks, each aggregated, then their proofs). Four chunk
    /// proofs need about 18 GiB.
    #[arg(long, value_name = "A", default_value_t = chunkproof_aggregate::DEFAULT_ARITY,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=16))]
    pub arity: usize,
    /// Keep each aggregation circuit's keys in the key directory
    /// (`aggregation/kept/<circuit digest>/`, a proving key of several GiB) and load them on the
    /// next aggregation of this model instead of deriving them again.
    #[arg(long)]
    pub keep_pk: bool,
    /// Prove on a CUDA GPU: the `chunkproof-gpu-worker` binary (halo2-axiom-gpu) runs the whole
    /// command, proving every aggregation circuit on the GPU; everything else is this code.
    #[arg(long)]
    pub gpu: bool,
    /// Print a JSON report.
    #[arg(long)]
    pub json: bool,
}

/// Exit status of an aggregation failure: the bundle's verdict, a format error, else 2.
fn failure(e: AggregateError) -> Failure {
    match e {
        AggregateError::Verify(v) => v.into(),
        AggregateError::Format(f) => f.into(),
        e => Failure::error(e),
    }
}

/// `chunkproof aggregate` with the proving step done by `engine`: reads the bundle, aggregates
/// it, writes the aggregated proof (atomically, after its self-check) and prints the report.
pub fn run_aggregate(a: &AggregateArgs, engine: &dyn AggregationEngine) -> Result<(), Failure> {
    let start = std::time::Instant::now();
    let bundle = Bundle::read(&a.bundle)?;
    let setup = match (&a.setup.srs, &a.srs_sha256) {
        _ if a.setup.dev_setup => SetupChoice::Dev,
        (Some(path), Some(sha)) => SetupChoice::File { path: path.clone(), sha256: sha.clone() },
        _ => return Err(Failure::error("--srs needs --srs-sha256")),
    };
    let cfg = AggregateConfig { keys_dir: a.keys.clone(), setup, k: a.k, arity: a.arity, keep_pk: a.keep_pk };
    let (agg, report) = aggregate_with(&bundle, &cfg, &VerifyOptions::default(), engine).map_err(failure)?;
    agg.write(&a.out)?;
    let shape = report.shape.expect("set by a successful aggregation");
    if a.json {
        let out = serde_json::json!({
            "ok": true,
            "chunks": report.num_chunks,
            "k": shape.k,
            "columns": {"gate": shape.num_advice, "lookup": shape.num_lookup_advice, "fixed": shape.num_fixed},
            "verify_bundle_ms": report.verify_bundle_ms,
            "build_ms": report.build_ms,
            "keygen_ms": report.keygen_ms,
            "pk_kept": report.pk_kept,
            "prove_ms": report.prove_ms,
            "self_check_ms": report.verify_ms,
            "proof_bytes": report.proof_bytes,
            "engine": report.engine,
            "arity": a.arity,
            "tree": report.nodes.iter().map(|n| serde_json::json!({
                "chunks": [n.chunks.start, n.chunks.end], "k": n.shape.k,
                "columns": {"gate": n.shape.num_advice, "lookup": n.shape.num_lookup_advice, "fixed": n.shape.num_fixed},
                "build_ms": n.build_ms, "keygen_ms": n.keygen_ms, "pk_kept": n.pk_kept, "prove_ms": n.prove_ms,
            })).collect::<Vec<_>>(),
            "vk_digest": agg.vk_digest.to_string(),
            "total_ms": start.elapsed().as_millis() as u64,
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        for n in &report.nodes {
            println!(
                "node over chunks {}..{}: k = {}, {} gate columns, keys {:.1} s{}, proving {:.1} s",
                n.chunks.start,
                n.chunks.end,
                n.shape.k,
                n.shape.num_advice,
                n.keygen_ms as f64 / 1e3,
                if n.pk_kept { " (kept keys)" } else { "" },
                n.prove_ms as f64 / 1e3
            );
        }
        println!(
            "wrote {}: {} chunk proofs in one proof of {} bytes (k = {}, {} gate / {} lookup / {} fixed columns)",
            a.out.display(),
            report.num_chunks,
            report.proof_bytes,
            shape.k,
            shape.num_advice,
            shape.num_lookup_advice,
            shape.num_fixed
        );
        println!(
            "circuit {:.1} s, keys {:.1} s{}, proving {:.1} s ({}), self-check {:.2} s; aggregation key {}",
            report.build_ms as f64 / 1e3,
            report.keygen_ms as f64 / 1e3,
            if report.pk_kept { " (kept keys)" } else { "" },
            report.prove_ms as f64 / 1e3,
            report.engine,
            report.verify_ms as f64 / 1e3,
            agg.vk_digest
        );
    }
    Ok(())
}
