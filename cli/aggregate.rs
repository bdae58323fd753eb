//! `aggregate` and the verification of aggregated proofs (`verify B.agg`).

use std::path::{Path, PathBuf};

use chunkproof_aggregate::{aggregate, AggregateConfig, AggregateError};
use chunkproof_args::SetupArgs;
use chunkproof_core::aggregated::AggregatedProof;
use chunkproof_core::Bundle;
use chunkproof_prover::setup::SetupChoice;
use chunkproof_verifier::{verify_aggregated, AggregationKey, VerifyOptions};
use clap::Args;

use crate::{fmt_values, Failure};

/// Arguments of `aggregate`.
#[derive(Args)]
pub(crate) struct AggregateArgs {
    /// The bundle (proven with `--transcript poseidon`).
    bundle: PathBuf,
    /// Key directory of the bundle's model; the aggregation key is written here.
    #[arg(long, value_name = "DIR")]
    keys: PathBuf,
    /// Output aggregated proof (written atomically).
    #[arg(long, value_name = "B.agg")]
    out: PathBuf,
    /// The setup the chunk keys were made with.
    #[command(flatten)]
    setup: SetupArgs,
    /// Pinned SHA-256 of the --srs file.
    #[arg(long, value_name = "HEX")]
    srs_sha256: Option<String>,
    /// The aggregation circuit has 2^K rows: a larger K means fewer columns (a smaller on-chain
    /// verifier) and more memory. Default: the smallest K whose verifier fits EIP-170 (at most
    /// 5 gate columns).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(18..=26))]
    k: Option<u32>,
    /// Most proofs one aggregation circuit takes; a bundle of more chunks is aggregated in a
    /// tree (groups of consecutive chunks, each aggregated, then their proofs). Four chunk
    /// proofs need about 18 GiB.
    #[arg(long, value_name = "A", default_value_t = chunkproof_aggregate::DEFAULT_ARITY,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=16))]
    arity: usize,
    /// Print a JSON report.
    #[arg(long)]
    json: bool,
}

fn failure(e: AggregateError) -> Failure {
    match e {
        AggregateError::Verify(v) => v.into(),
        AggregateError::Format(f) => f.into(),
        e => Failure::error(e),
    }
}

/// `chunkproof aggregate`.
pub(crate) fn aggregate_cmd(a: AggregateArgs) -> Result<(), Failure> {
    let start = std::time::Instant::now();
    let bundle = Bundle::read(&a.bundle)?;
    let setup = match (&a.setup.srs, &a.srs_sha256) {
        _ if a.setup.dev_setup => SetupChoice::Dev,
        (Some(path), Some(sha)) => SetupChoice::File { path: path.clone(), sha256: sha.clone() },
        _ => return Err(Failure::error("--srs needs --srs-sha256")),
    };
    let cfg = AggregateConfig { keys_dir: a.keys.clone(), setup, k: a.k, arity: a.arity };
    let (agg, report) = aggregate(&bundle, &cfg, &VerifyOptions::default()).map_err(failure)?;
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
            "prove_ms": report.prove_ms,
            "self_check_ms": report.verify_ms,
            "proof_bytes": report.proof_bytes,
            "arity": a.arity,
            "tree": report.nodes.iter().map(|n| serde_json::json!({
                "chunks": [n.chunks.start, n.chunks.end], "k": n.shape.k,
                "columns": {"gate": n.shape.num_advice, "lookup": n.shape.num_lookup_advice, "fixed": n.shape.num_fixed},
                "build_ms": n.build_ms, "keygen_ms": n.keygen_ms, "prove_ms": n.prove_ms,
            })).collect::<Vec<_>>(),
            "vk_digest": agg.vk_digest.to_string(),
            "total_ms": start.elapsed().as_millis() as u64,
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        for n in &report.nodes {
            println!(
                "node over chunks {}..{}: k = {}, {} gate columns, keys {:.1} s, proving {:.1} s",
                n.chunks.start,
                n.chunks.end,
                n.shape.k,
                n.shape.num_advice,
                n.keygen_ms as f64 / 1e3,
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
            "circuit {:.1} s, keys {:.1} s, proving {:.1} s, self-check {:.2} s; aggregation key {}",
            report.build_ms as f64 / 1e3,
            report.keygen_ms as f64 / 1e3,
            report.prove_ms as f64 / 1e3,
            report.verify_ms as f64 / 1e3,
            agg.vk_digest
        );
    }
    Ok(())
}

/// `chunkproof verify B.agg`: the aggregated proof against the key directory.
pub(crate) fn verify_aggregated_cmd(
    path: &Path,
    keys: &chunkproof_verifier::KeySet,
    opts: &VerifyOptions,
    (json, evm): (bool, bool),
) -> Result<(), Failure> {
    let start = std::time::Instant::now();
    let agg = AggregatedProof::read(path)?;
    let key = AggregationKey::load(keys, &agg.vk_digest)?;
    let ok = verify_aggregated(&agg, keys, &key, opts)?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let evm = if evm {
        let solc = chunkproof_evm::Solc::find()?;
        Some(chunkproof_evm::verify_aggregated_evm(&agg, keys, &key, &solc)?)
    } else {
        None
    };
    if json {
        let out = serde_json::json!({
            "ok": true,
            "aggregated": true,
            "chunks": ok.num_chunks,
            "model_id": ok.model_id.to_string(),
            "root": ok.root.to_string(),
            "inputs": ok.inputs,
            "outputs": ok.outputs,
            "srs": { "digest": keys.srs.digest().to_string(), "trust": ok.srs.to_string() },
            "aggregation_key": agg.vk_digest.to_string(),
            "total_ms": ms,
            "evm": evm.as_ref().map(|r| serde_json::json!({
                "runtime_size": r.runtime_size, "wrapper_size": r.wrapper_size, "deployable": r.deployable, "deploy_gas": r.deploy_gas, "verify_gas": r.verify_gas, "verifier_gas": r.verifier_gas,
            })),
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        println!(
            "ok: aggregated proof of {} chunks, root {}, outputs {}",
            ok.num_chunks,
            ok.root,
            fmt_values(&ok.outputs)
        );
        println!("model {}", ok.model_id);
        println!("srs   {} ({})", keys.srs.digest(), ok.srs);
        println!("aggregation key {} ({ms:.0} ms)", agg.vk_digest);
        if let Some(r) = &evm {
            println!(
                "evm: aggregation verifier {} bytes of runtime code and AggregatedVerifier {} bytes{}, deployed for {} gas; \
                 verifyAggregated {} gas (the generated verifier alone: {} gas)",
                r.runtime_size,
                r.wrapper_size,
                if r.deployable {
                    String::new()
                } else {
                    format!(
                        " (OVER EIP-170's {}: not deployable on Ethereum; measured without the limit; \
                         aggregate with a larger --k)",
                        chunkproof_evm::EIP170_LIMIT
                    )
                },
                r.deploy_gas,
                r.verify_gas,
                r.verifier_gas
            );
        }
    }
    Ok(())
}
