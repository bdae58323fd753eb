//! `export-verifier` and `verify --evm`.

use std::path::PathBuf;

use chunkproof_core::Bundle;
use chunkproof_evm::{export, verify_bundle_evm, EvmBundleReport, ExportOptions, Solc};
use chunkproof_verifier::KeySet;
use clap::Args;

use crate::{parse_model_id, Failure};

/// Arguments of `export-verifier`.
#[derive(Args)]
pub(crate) struct ExportArgs {
    /// Key directory.
    #[arg(long, value_name = "DIR")]
    keys: PathBuf,
    /// Output directory of the generated contracts.
    #[arg(long, value_name = "DIR", default_value = "contracts/src/generated")]
    out: PathBuf,
    /// Model id, when DIR holds several models.
    #[arg(long, value_name = "HEX")]
    model_id: Option<String>,
    #[command(flatten)]
    trust: crate::trust::TrustArgs,
    /// Also emit this bundle as a Solidity test fixture ...
    #[arg(long, value_name = "FILE", requires = "fixture", conflicts_with = "aggregated")]
    bundle: Option<PathBuf>,
    /// ... into this file (with --bundle or --aggregated).
    #[arg(long, value_name = "FILE")]
    fixture: Option<PathBuf>,
    /// Instead of the chunk verifiers: the verifier of this aggregated proof's aggregation key
    /// (`AggregationVerifier_*.sol` and `GeneratedAggregated.sol`; with --fixture, the proof as
    /// a Solidity fixture).
    #[arg(long, value_name = "B.agg")]
    aggregated: Option<PathBuf>,
    /// Import path of AggregatedVerifier.sol as seen from the output directory.
    #[arg(long, value_name = "PATH", default_value = "../AggregatedVerifier.sol")]
    aggregated_verifier_import: String,
    /// Import path of BundleVerifier.sol as seen from the output directory.
    #[arg(long, value_name = "PATH", default_value = "../BundleVerifier.sol")]
    bundle_verifier_import: String,
}

/// The canonical command line that regenerates what `a` asks for (written into the headers).
fn command_line(a: &ExportArgs) -> String {
    let mut c = format!("chunkproof export-verifier --keys {} --out {}", a.keys.display(), a.out.display());
    if let Some(id) = &a.model_id {
        c.push_str(&format!(" --model-id {id}"));
    }
    c.push_str(&a.trust.command_line());
    if let Some(b) = &a.bundle {
        c.push_str(&format!(" --bundle {}", b.display()));
    }
    if let Some(g) = &a.aggregated {
        c.push_str(&format!(" --aggregated {}", g.display()));
    }
    if let Some(f) = &a.fixture {
        c.push_str(&format!(" --fixture {}", f.display()));
    }
    if a.aggregated.is_some() && a.aggregated_verifier_import != "../AggregatedVerifier.sol" {
        c.push_str(&format!(" --aggregated-verifier-import {}", a.aggregated_verifier_import));
    }
    if a.bundle_verifier_import != "../BundleVerifier.sol" {
        c.push_str(&format!(" --bundle-verifier-import {}", a.bundle_verifier_import));
    }
    c
}

/// `chunkproof export-verifier`.
pub(crate) fn export_verifier(a: ExportArgs) -> Result<(), Failure> {
    let start = std::time::Instant::now();
    let pinned = parse_model_id(a.model_id.clone())?;
    let keys = crate::trust::load_keys(&a.keys, pinned.as_ref())?;
    let trust = a.trust.check(&keys)?;
    eprintln!("srs {} ({trust})", keys.srs.digest());
    if let Some(path) = &a.aggregated {
        let agg = chunkproof_core::aggregated::AggregatedProof::read(path)?;
        let key = chunkproof_verifier::AggregationKey::load(&keys, &agg.vk_digest)?;
        let opts = chunkproof_evm::AggregatedExportOptions {
            out_dir: a.out.clone(),
            wrapper_import: a.aggregated_verifier_import.clone(),
            fixture: a.fixture.clone(),
            command: command_line(&a),
        };
        let files = chunkproof_evm::export_aggregated(&keys, &key, &agg, &opts)?;
        for f in &files {
            println!("{}", f.display());
        }
        eprintln!("generated {} files in {:.1} s", files.len(), start.elapsed().as_secs_f64());
        return Ok(());
    }
    if a.fixture.is_some() && a.bundle.is_none() {
        return Err(Failure::error("--fixture needs --bundle (or --aggregated)"));
    }
    let fixture = match (&a.bundle, &a.fixture) {
        (Some(b), Some(f)) => Some((Bundle::read(b)?, f.clone())),
        _ => None,
    };
    let opts = ExportOptions {
        out_dir: a.out.clone(),
        bundle_verifier_import: a.bundle_verifier_import.clone(),
        fixture,
        command: command_line(&a),
    };
    let report = export(&keys, &opts)?;
    for v in &report.verifiers {
        eprintln!(
            "chunk {}: {} ({} instances, proofs of {} bytes)",
            v.chunk, v.contract, v.num_instances, v.proof_len
        );
    }
    for f in &report.files {
        println!("{}", f.display());
    }
    eprintln!("generated {} files in {:.1} s", report.files.len(), start.elapsed().as_secs_f64());
    Ok(())
}

/// Runs `bundle` through the generated contracts in revm.
pub(crate) fn verify_evm(bundle: &Bundle, keys: &KeySet) -> Result<EvmBundleReport, Failure> {
    let solc = Solc::find()?;
    Ok(verify_bundle_evm(bundle, keys, &solc)?)
}

/// Prints gas and code sizes.
pub(crate) fn print_evm(r: &EvmBundleReport) {
    for (i, g) in r.chunk_gas.iter().enumerate() {
        println!("evm: chunk {i}: {g} gas ({} bytes of runtime code)", r.runtime_sizes[i].1);
    }
    println!(
        "evm: verifyBundle: {} gas in one transaction (BundleVerifier {} bytes)",
        r.bundle_gas,
        r.runtime_sizes.last().map(|s| s.1).unwrap_or_default()
    );
}
