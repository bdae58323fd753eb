//! `chunkproof bench`: monolithic vs chunked proving of one model, measured, as a Markdown table.
//!
//! Each configuration is proven twice by a child `chunkproof prove --json` process (one worker;
//! the peak RSS is the largest of that driver's and its chunk workers'): first with an empty key
//! cache, then with cached verifying keys. Bundle
//! verification (one batched pairing check) is then timed in-process against verifying each
//! chunk proof on its own.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chunkproof_core::{write_atomic, Bundle, Fr};
use chunkproof_verifier::{verify_bundle, verify_chunk_proof, KeySet, VerifyOptions};

/// What to measure.
pub(crate) struct BenchArgs {
    /// Model.
    pub model: PathBuf,
    /// Input.
    pub input: PathBuf,
    /// Chunk counts to compare.
    pub chunks: Vec<usize>,
    /// `--max-k` values to compare.
    pub max_k: Vec<u32>,
    /// Circuit widths to compare (most advice columns of each kind).
    pub widths: Vec<u32>,
    /// The model input's declared range, if any.
    pub input_range: Option<chunkproof_prover::model::InputRange>,
    /// Scratch directory (keys and bundles).
    pub work: PathBuf,
    /// Where to write the table.
    pub out: Option<PathBuf>,
    /// Verification repetitions.
    pub reps: usize,
}

/// How a configuration is planned.
#[derive(Clone, Copy)]
enum Chunking {
    Chunks(usize),
    MaxK(u32),
}

impl Chunking {
    fn args(self) -> [String; 2] {
        match self {
            Self::Chunks(n) => ["--chunks".into(), n.to_string()],
            Self::MaxK(k) => ["--max-k".into(), k.to_string()],
        }
    }

    fn name(self) -> String {
        match self {
            Self::Chunks(n) => n.to_string(),
            Self::MaxK(k) => format!("k{k}"),
        }
    }

    /// The table's label, with the chunk count the planner chose for `--max-k`.
    fn label(self, chunks: usize) -> String {
        match self {
            Self::Chunks(n) => n.to_string(),
            Self::MaxK(k) => format!("{chunks} (`--max-k {k}`)"),
        }
    }
}

fn prove_child(
    a: &BenchArgs,
    (plan, width): (Chunking, u32),
    keys: &Path,
    bundle: &Path,
) -> Result<serde_json::Value, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.arg("prove");
    if let Some(r) = a.input_range {
        cmd.args(["--input-range", r.name()]);
    }
    let out = cmd
        .arg("--model")
        .arg(&a.model)
        .arg("--input")
        .arg(&a.input)
        .args(plan.args())
        .args(["--width", &width.to_string(), "--dev-setup", "--json", "--keys"])
        .arg(keys)
        .arg("--out")
        .arg(bundle)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

fn secs(ms: &serde_json::Value) -> f64 {
    ms.as_f64().unwrap_or(0.0) / 1e3
}

/// Runs the benchmark and returns the Markdown report.
pub(crate) fn run(a: &BenchArgs) -> Result<String, String> {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Model `{}`, input `{}`{}; {} cores; dev setup.\n",
        a.model.display(),
        a.input.display(),
        a.input_range.map(|r| format!(" declared {r}")).unwrap_or_default(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    let _ = writeln!(
        md,
        "| chunks | width | chunk | k | columns (gate/lookup/custom/product) | main cells | custom rows | product rows | linkage share | keygen s | prove s | peak RSS MiB | proof B |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut summary = String::new();
    let _ = writeln!(summary, "\n| chunks | width | prove, cold keys s | prove, cached keys s | of which proving s | peak RSS MiB | bundle B | verify bundle ms | verify one proof ms (mean) | ratio |");
    let _ = writeln!(summary, "|---|---|---|---|---|---|---|---|---|---|");
    let plans =
        a.chunks.iter().map(|n| Chunking::Chunks(*n)).chain(a.max_k.iter().map(|k| Chunking::MaxK(*k)));
    let runs: Vec<(Chunking, u32)> = plans.flat_map(|p| a.widths.iter().map(move |w| (p, *w))).collect();
    for (plan, width) in runs {
        let name = plan.name();
        let keys = a.work.join(format!("keys-{name}-w{width}"));
        let bundle = a.work.join(format!("bench-{name}-w{width}.bundle"));
        // dev parameters are generated on first use: make sure they exist before timing
        let _ = std::fs::remove_dir_all(&keys);
        let cold = prove_child(a, (plan, width), &keys, &bundle)?;
        let warm = prove_child(a, (plan, width), &keys, &bundle)?;
        let n = plan.label(cold["report"]["chunks"].as_array().map_or(0, |c| c.len()));
        let warm_chunks = warm["report"]["chunks"].as_array().cloned().unwrap_or_default();
        for (i, c) in cold["report"]["chunks"].as_array().into_iter().flatten().enumerate() {
            let cols = &c["params"]["columns"];
            let col = |kind: &str| cols[kind].as_u64().unwrap_or(1);
            let w = warm_chunks.get(i).unwrap_or(c);
            let st = &c["stats"];
            let n64 = |key: &str| st[key].as_u64().unwrap_or(0);
            let link = n64("linkage_main_cells") + n64("linkage_custom_rows");
            let all = n64("main_cells") + n64("custom_rows") + n64("product_rows") + n64("lookup_cells");
            let _ = writeln!(
                md,
                "| {n} | {width} | {} | {} | {}/{}/{}/{} | {} | {} | {} | {:.1}% | {:.1} | {:.1} | {} | {} |",
                c["index"],
                c["params"]["k"],
                col("main"),
                col("lookup"),
                col("custom"),
                col("product"),
                st["main_cells"],
                st["custom_rows"],
                n64("product_rows"),
                100.0 * link as f64 / all.max(1) as f64,
                secs(&c["keygen_ms"]),
                secs(&w["prove_ms"]),
                w["peak_rss_kib"].as_u64().unwrap_or(0) / 1024,
                c["proof_bytes"]
            );
        }
        let proving: f64 =
            warm["report"]["chunks"].as_array().into_iter().flatten().map(|c| secs(&c["prove_ms"])).sum();
        let b = Bundle::read(&bundle).map_err(|e| e.to_string())?;
        let keyset = KeySet::load(&keys, Some(&b.model_id)).map_err(|e| e.to_string())?;
        let opts = VerifyOptions { allow_dev_setup: true, ..Default::default() };
        let t = Instant::now();
        for _ in 0..a.reps {
            verify_bundle(&b, &keyset, &opts).map_err(|e| e.to_string())?;
        }
        let batched = t.elapsed().as_secs_f64() * 1e3 / a.reps as f64;
        let mut single = 0.0;
        for (i, c) in b.chunks.iter().enumerate() {
            let inst: Vec<Fr> = c.instances.iter().map(|x| x.to_fr().expect("canonical")).collect();
            let params = keyset.srs.params(b.plan.chunks[i].params.k).map_err(|e| e.to_string())?;
            let t = Instant::now();
            for _ in 0..a.reps {
                verify_chunk_proof(&params, &keyset.vks[i], &inst, &c.proof, (i, b.transcript))
                    .map_err(|e| e.to_string())?;
            }
            single += t.elapsed().as_secs_f64() * 1e3 / a.reps as f64;
        }
        let single = single / b.chunks.len() as f64;
        // The driver's own peak and every chunk worker's (each chunk is proven in its own process).
        let rss = [&cold, &warm]
            .iter()
            .flat_map(|r| {
                let workers = r["report"]["chunks"].as_array().cloned().unwrap_or_default();
                std::iter::once(r["report"]["peak_rss_kib"].as_u64())
                    .chain(workers.into_iter().map(|c| c["peak_rss_kib"].as_u64()))
            })
            .flatten()
            .max()
            .unwrap_or(0);
        let _ = writeln!(
            summary,
            "| {n} | {width} | {:.1} | {:.1} | {:.1} | {} | {} | {:.1} | {:.1} | {:.2} |",
            secs(&cold["report"]["total_ms"]) - secs(&cold["report"]["srs_ms"]),
            secs(&warm["report"]["total_ms"]) - secs(&warm["report"]["srs_ms"]),
            proving,
            rss / 1024,
            b.to_bytes().len(),
            batched,
            single,
            batched / single
        );
    }
    md.push_str(&summary);
    let _ = writeln!(md, "\nProve times exclude obtaining SRS parameters; \"cold keys\" derives every key, \"cached keys\" loads the verifying and proving keys the first run kept; \"width\": most advice columns of each kind (`--width`); \"prove s\" and \"peak RSS\" per chunk: the cached-keys run, each chunk in its own worker process; \"linkage share\": linkage cells (boundary range checks, packing, leaf hashes, Merkle paths) over all cells of the chunk (halo2-base, custom, product and lookup); \"verify bundle\" includes every linkage check and the one batched pairing check.");
    if let Some(out) = &a.out {
        write_atomic(out, md.as_bytes()).map_err(|e| e.to_string())?;
    }
    Ok(md)
}
