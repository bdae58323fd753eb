//! `chunkproof srs import`: a powers-of-tau ceremony file (`.ptau`) as halo2 parameters.

use std::path::PathBuf;

use chunkproof_core::srs::ceremony_of;
use chunkproof_core::{write_atomic_with, VerifierSrs};
use chunkproof_prover::ptau::import_ptau;
use chunkproof_prover::setup::sha256_file;
use clap::{Args, Subcommand};
use halo2_axiom::poly::commitment::ParamsProver;
use halo2_axiom::SerdeFormat;

use crate::Failure;

/// `chunkproof srs …`.
#[derive(Subcommand)]
pub(crate) enum SrsCommand {
    /// Turn a snarkjs / perpetual powers-of-tau `.ptau` file into halo2 KZG parameters for
    /// circuits of up to 2^K rows, checking every imported power against `[tau]_2`.
    Import(ImportArgs),
}

/// Arguments of `srs import`.
#[derive(Args)]
pub(crate) struct ImportArgs {
    /// The `.ptau` file (prepared for phase 2 or not).
    #[arg(long, value_name = "FILE")]
    ptau: PathBuf,
    /// Import the first 2^K powers (the largest chunk circuit's size).
    #[arg(long, value_name = "K")]
    k: u32,
    /// The halo2 parameters file to write (atomically).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Runs `chunkproof srs …`.
pub(crate) fn run(c: SrsCommand) -> Result<(), Failure> {
    match c {
        SrsCommand::Import(a) => import(a),
    }
}

fn import(a: ImportArgs) -> Result<(), Failure> {
    let start = std::time::Instant::now();
    let imported = import_ptau(&a.ptau, a.k)?;
    let p = &imported.params;
    write_atomic_with(&a.out, |mut w| p.write_custom(&mut w, SerdeFormat::RawBytes))?;
    let sha = sha256_file(&a.out).map_err(|e| Failure::error(format!("{}: {e}", a.out.display())))?;
    let srs = VerifierSrs { g1: p.get_g()[0], g2: p.g2(), s_g2: p.s_g2() };
    let digest = srs.digest();
    eprintln!(
        "imported 2^{} of the 2^{} powers of tau of {} (ceremony power {}, {} contribution(s); Lagrange \
         basis {}) in {:.1} s",
        a.k,
        imported.power,
        a.ptau.display(),
        imported.ceremony_power,
        imported.contributions,
        if imported.lagrange_from_file { "from the file, checked" } else { "computed" },
        start.elapsed().as_secs_f64()
    );
    println!("wrote {}", a.out.display());
    println!("sha256 {sha}");
    match ceremony_of(&digest) {
        Some(c) => println!("srs    {digest} ({})", c.name),
        None => println!(
            "srs    {digest} (not a known ceremony: verifiers must pass --trust-srs {digest} to accept keys on it)"
        ),
    }
    println!("prove with: --srs {} --srs-sha256 {sha}", a.out.display());
    Ok(())
}
