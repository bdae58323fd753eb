//! `chunkproof bench-msm`: BN254 G1 MSM time, CPU (halo2-axiom, all cores) vs GPU (sppark).
//!
//! Bases are `P_i = (i + 1)·G` (built by additions, so large sizes are cheap to set up; an MSM's
//! cost does not depend on which points it gets), scalars are uniformly random. Every GPU
//! result is compared with the CPU result and with `(Σ sᵢ·(i+1))·G`; a mismatch fails the run.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use chunkproof_core::write_atomic;
use halo2_axiom::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_axiom::halo2curves::ff::Field;
use halo2_axiom::halo2curves::group::Curve;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Arguments.
#[derive(clap::Args)]
pub(crate) struct BenchMsmArgs {
    /// Smallest size, log2 of the number of points.
    #[arg(long, default_value_t = 16)]
    min_log: u32,
    /// Largest size, log2 of the number of points.
    #[arg(long, default_value_t = 22)]
    max_log: u32,
    /// Timed repetitions per size and side (the median is reported).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// CPU only (no GPU column; works in every build).
    #[arg(long)]
    cpu_only: bool,
    /// Also write the Markdown table here.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn bases(n: usize) -> Vec<G1Affine> {
    let g = G1::generator();
    let mut acc = g;
    let mut proj = Vec::with_capacity(n);
    for _ in 0..n {
        proj.push(acc);
        acc += g;
    }
    let mut aff = vec![G1Affine::default(); n];
    G1::batch_normalize(&proj, &mut aff);
    aff
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn time<T>(reps: usize, mut f: impl FnMut() -> Result<T, String>) -> Result<(f64, T), String> {
    let mut times = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        last = Some(f()?);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok((median(times), last.expect("at least one repetition")))
}

/// The GPU side, if this build has one.
#[cfg(feature = "gpu")]
mod gpu {
    use super::*;
    pub(super) use chunkproof_prover::gpu::Device;

    pub(super) fn open() -> Result<Device, String> {
        Device::open().map_err(|e| e.to_string())
    }
    pub(super) fn msm(d: &Device, s: &[Fr], b: &[G1Affine]) -> Result<G1, String> {
        d.msm(s, b).map_err(|e| e.to_string())
    }
}

#[cfg(not(feature = "gpu"))]
mod gpu {
    use super::*;
    pub(super) struct Device {
        pub name: String,
    }
    pub(super) fn open() -> Result<Device, String> {
        Err("this build has no GPU support; rebuild with `--features gpu` (`make gpu-build`) or pass --cpu-only".into())
    }
    pub(super) fn msm(_: &Device, _: &[Fr], _: &[G1Affine]) -> Result<G1, String> {
        unreachable!("no device can be opened without the gpu feature")
    }
}

/// Runs the benchmark; returns the Markdown table.
pub(crate) fn run(a: &BenchMsmArgs) -> Result<String, String> {
    if a.min_log > a.max_log || a.max_log > 26 {
        return Err(format!("bad size range 2^{}..2^{} (at most 2^26)", a.min_log, a.max_log));
    }
    let device = if a.cpu_only { None } else { Some(gpu::open()?) };
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let max = 1usize << a.max_log;
    let t = Instant::now();
    let all_bases = bases(max);
    let mut rng = ChaCha20Rng::seed_from_u64(20261123);
    let all_scalars: Vec<Fr> = (0..max).map(|_| Fr::random(&mut rng)).collect();
    eprintln!("inputs for 2^{} points ready in {:.1} s", a.max_log, t.elapsed().as_secs_f64());

    let mut md = String::new();
    let gpu_name = device.as_ref().map(|d| d.name.clone()).unwrap_or_else(|| "none".into());
    let _ = writeln!(md, "CPU: halo2-axiom `best_multiexp` on {threads} threads; GPU: sppark Pippenger on {gpu_name} (time includes copying points and scalars to the device). Median of {} runs.\n", a.reps);
    let _ = writeln!(md, "| points | CPU ms | GPU ms | speed-up | GPU = CPU |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    if let Some(d) = &device {
        // The first call initialises the CUDA context; keep it out of the timings.
        gpu::msm(d, &all_scalars[..1 << 10], &all_bases)?;
    }
    for log in a.min_log..=a.max_log {
        let n = 1usize << log;
        let (s, b) = (&all_scalars[..n], &all_bases[..n]);
        let (cpu_ms, cpu) = time(a.reps, || Ok(chunkproof_prover_cpu_msm(s, b)))?;
        let expected = G1::generator()
            * s.iter().enumerate().fold(Fr::ZERO, |acc, (i, si)| acc + si * Fr::from(i as u64 + 1));
        if cpu.to_affine() != expected.to_affine() {
            return Err(format!("2^{log}: the CPU MSM disagrees with the closed form"));
        }
        let row = match &device {
            Some(d) => {
                let (gpu_ms, g) = time(a.reps, || gpu::msm(d, s, b))?;
                let same = g.to_affine() == cpu.to_affine();
                if !same {
                    return Err(format!("2^{log}: the GPU MSM differs from the CPU MSM"));
                }
                format!("| 2^{log} | {cpu_ms:.1} | {gpu_ms:.2} | {:.1}× | yes |", cpu_ms / gpu_ms)
            }
            None => format!("| 2^{log} | {cpu_ms:.1} | – | – | – |"),
        };
        eprintln!("{row}");
        let _ = writeln!(md, "{row}");
    }
    if let Some(out) = &a.out {
        write_atomic(out, md.as_bytes()).map_err(|e| e.to_string())?;
    }
    Ok(md)
}

fn chunkproof_prover_cpu_msm(s: &[Fr], b: &[G1Affine]) -> G1 {
    halo2_axiom::arithmetic::best_multiexp(s, b)
}
