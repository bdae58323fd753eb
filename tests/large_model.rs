//! Generated models: the transformer and the ranking model proven in chunks and verified; the large CNN (`cnn_large_v1`, 508,914 weights): a monolithic proof would
//! need `k = 20`; cut into five chunks, each is at most `k = 20` (most are smaller) and proves
//! within the memory of a 24 GiB machine. The small `tiny_table_v1` takes function-table chunks through real keys,
//! proofs and the Rust verifier.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chunkproof"))
}

fn generate_named(name: &str, dir: &Path) {
    let o = bin().args(["gen-fixture", name, "--out"]).arg(dir).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn generate(dir: &Path) {
    generate_named("cnn_large_v1", dir)
}

/// `prove` of the generated model in `dir` with `args` (`--chunks N`, `--max-k K`, …; dev setup,
/// JSON report), keys in `dir/keys`, bundle `dir/b.bundle`; returns the report.
fn prove(dir: &Path, args: &[&str]) -> Value {
    json(
        bin()
            .args(["prove", "--dev-setup", "--json", "--model"])
            .arg(dir.join("model.msgpack"))
            .arg("--input")
            .arg(dir.join("input.msgpack"))
            .arg("--keys")
            .arg(dir.join("keys"))
            .arg("--out")
            .arg(dir.join("b.bundle"))
            .args(args)
            .output()
            .unwrap(),
    )
}

fn json(o: std::process::Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The generator is deterministic, and the plan shows what the fixture is for (estimates).
#[test]
fn large_cnn_is_deterministic_and_needs_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    generate(&a);
    generate(&b);
    for f in ["model.msgpack", "input.msgpack"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
    let report = json(
        bin().arg("inspect").arg(a.join("model.msgpack")).args(["--chunks", "5", "--json"]).output().unwrap(),
    );
    assert!(report["weights"].as_u64().unwrap() >= 500_000, "{}", report["weights"]);
    let mono = report["monolithic"]["k"].as_u64().unwrap();
    assert!(mono >= 20, "{}", report["monolithic"]);
    let plan = report["plan"].as_array().unwrap();
    for c in plan {
        assert!(c["k"].as_u64().unwrap() <= 20, "{c}");
    }
    assert!(plan.iter().filter(|c| c["k"].as_u64().unwrap() < mono).count() >= 3, "{plan:?}");
    let kinds: Vec<&str> =
        report["layers"].as_array().unwrap().iter().map(|l| l["kind"].as_str().unwrap()).collect();
    for k in
        ["Conv2D", "DepthwiseConv2D", "MaxPool2D", "Add", "Concatenation", "Pad", "FullyConnected", "Softmax"]
    {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let bad = bin().args(["gen-fixture", "nope", "--out"]).arg(dir.path()).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cnn_large_v1"));
}

/// Proves it: every chunk's circuit as built is at most `k = 20`, the layers' halo2-base cells
/// together do not fit `k = 19`, the bundle verifies, and per chunk the time and peak RSS are
/// printed.
#[test]
#[ignore = "proves five k = 19..20 chunks: about 15 minutes and 5 GiB per worker on 2 cores (make test-large)"]
fn large_cnn_proves_in_chunks_of_k20() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let (keys, out) = (dir.path().join("keys"), dir.path().join("b.bundle"));
    let report = prove(dir.path(), &["--chunks", "5", "--max-memory", "24G"]);
    let chunks = report["report"]["chunks"].as_array().unwrap();
    let mut layer_cells = 0;
    println!("| chunk | layers | k | rows (cells, custom, product) | keygen s | prove s | peak RSS MiB |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for c in chunks {
        let k = c["params"]["k"].as_u64().unwrap();
        let s = &c["stats"];
        let custom = s["custom_rows"].as_u64().unwrap();
        let product = s["product_rows"].as_u64().unwrap_or(0);
        layer_cells += s["main_cells"].as_u64().unwrap() - s["linkage_main_cells"].as_u64().unwrap();
        let rss = c["peak_rss_kib"].as_u64().unwrap_or(0) / 1024;
        println!(
            "| {} | {}..{} | {k} | {}, {custom}, {product} | {:.1} | {:.1} | {rss} |",
            c["index"],
            c["layers"]["start"],
            c["layers"]["end"],
            s["main_cells"],
            c["keygen_ms"].as_f64().unwrap() / 1e3,
            c["prove_ms"].as_f64().unwrap() / 1e3,
        );
        assert!(k <= 20, "chunk {} needs k = {k}", c["index"]);
        assert!(rss < 24 << 10, "chunk {} peaked at {rss} MiB", c["index"]);
    }
    // one circuit holding every layer needs at least these halo2-base cells: more than 2^19
    assert!(layer_cells > 1 << 19, "layers need {layer_cells} cells, which would fit k = 19");
    println!("layers' halo2-base cells together: {layer_cells} (> 2^19: a monolithic circuit needs k >= 20)");
    let v = bin().arg("verify").arg(&out).arg("--keys").arg(&keys).arg("--dev-setup").output().unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}

/// Chunks with function tables (Tanh, Softmax) end to end: keygen, proofs and the Rust verifier;
/// the Solidity path refuses them by name (their verifiers exceed EIP-170).
#[test]
fn table_chunks_prove_and_verify_in_rust() {
    if std::env::var_os("CHUNKPROOF_SOLC").is_none() {
        std::env::set_var("CHUNKPROOF_SOLC", common::root().join("tools/solc"));
    }
    let dir = tempfile::tempdir().unwrap();
    generate_named("tiny_table_v1", dir.path());
    let (keys, out) = (dir.path().join("keys"), dir.path().join("b.bundle"));
    let report = prove(dir.path(), &["--chunks", "2"]);
    let tables: Vec<u64> = report["report"]["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["params"]["tables"].as_u64().unwrap_or(0))
        .collect();
    assert!(tables.iter().any(|t| *t != 0), "no chunk has a function table: {tables:?}");
    let verify = |extra: &[&str]| {
        bin()
            .arg("verify")
            .arg(&out)
            .arg("--keys")
            .arg(&keys)
            .arg("--dev-setup")
            .args(extra)
            .output()
            .unwrap()
    };
    let v = verify(&[]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    // Known limitation (README): a chunk verifier with the table lookup is over EIP-170, so the
    // Solidity path refuses it by name instead of producing an undeployable contract.
    let v = verify(&["--evm"]);
    let err = String::from_utf8_lossy(&v.stderr);
    assert_eq!(v.status.code(), Some(2), "{err}");
    assert!(err.contains("EIP-170"), "{err}");
    let outputs: Vec<i64> =
        report["outputs"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert!((outputs.iter().sum::<i64>() - 256).abs() <= 3, "softmax outputs {outputs:?}");
}

/// Proves generated fixture `name` with `args` with real (dev-setup) keys, verifies the
/// bundle in Rust, and prints per chunk k, time and peak RSS (the numbers in docs/benchmarks.md).
fn prove_and_verify(name: &str, args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    generate_named(name, dir.path());
    let report = prove(dir.path(), args);
    println!("{name}:");
    println!("| chunk | layers | k | rows (cells, custom, product) | keygen s | prove s | peak RSS MiB |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for c in report["report"]["chunks"].as_array().unwrap() {
        let s = &c["stats"];
        println!(
            "| {} | {}..{} | {} | {}, {}, {} | {:.1} | {:.1} | {} |",
            c["index"],
            c["layers"]["start"],
            c["layers"]["end"],
            c["params"]["k"],
            s["main_cells"],
            s["custom_rows"],
            s["product_rows"].as_u64().unwrap_or(0),
            c["keygen_ms"].as_f64().unwrap() / 1e3,
            c["prove_ms"].as_f64().unwrap() / 1e3,
            c["peak_rss_kib"].as_u64().unwrap_or(0) / 1024,
        );
    }
    let v = bin()
        .arg("verify")
        .arg(dir.path().join("b.bundle"))
        .arg("--keys")
        .arg(dir.path().join("keys"))
        .arg("--dev-setup")
        .output()
        .unwrap();
    assert!(v.status.success(), "{name}: {}", String::from_utf8_lossy(&v.stderr));
    report
}

/// The GPT-2-style decoder (LayerNorm through Mean / SquaredDifference / Rsqrt / broadcast Mul,
/// attention with FullyConnected on activations, causal mask, Softmax, GELU, residual Adds) in
/// four chunks with real keys, verified in Rust.
#[test]
fn transformer_proves_in_chunks_and_verifies() {
    let report = prove_and_verify("transformer_v1", &["--chunks", "4"]);
    let chunks = report["report"]["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 4);
    // the attention products of two activations are checked with random challenges
    assert!(chunks.iter().any(|c| c["params"]["products"].as_bool() == Some(true)), "{chunks:?}");
    assert_eq!(report["outputs"].as_array().unwrap().len(), 16 * 16);
}

/// The Twitter-style ranking model (Mean / Sqrt / DivVar normalisation, Concatenation of two
/// dense towers, Logistic heads) in three chunks with real keys, verified in Rust.
#[test]
fn ranking_model_proves_in_chunks_and_verifies() {
    let report = prove_and_verify("ranking_v1", &["--chunks", "3"]);
    let outputs: Vec<i64> =
        report["outputs"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(outputs.len(), 4);
    assert!(outputs.iter().all(|p| (0..=256).contains(p)), "probabilities at scale 256: {outputs:?}");
}

/// MobileNet-v2's last 1×1 convolution (320 → 1280 channels at 7×7, 20M multiply-accumulates)
/// with its pooling and dense head: one layer needs more than `2^20` rows, so `--max-k 20` cuts
/// it (and the pooling with it) into parts; every chunk is `k ≤ 20`, the bundle verifies.
#[test]
#[ignore = "proves two k = 20 chunks: about 4.5 minutes and 4.8 GiB on 2 cores (make test-slow)"]
fn conv1x1_proves_with_every_chunk_k20() {
    let report = prove_and_verify("conv1x1_v1", &["--max-k", "20"]);
    let chunks = report["report"]["chunks"].as_array().unwrap();
    assert!(chunks.len() >= 2);
    for c in chunks {
        let k = c["params"]["k"].as_u64().unwrap();
        assert!(k <= 20, "chunk {} needs k = {k}", c["index"]);
        assert!(c["peak_rss_kib"].as_u64().unwrap_or(0) < 24 << 20, "chunk {} over 24 GiB", c["index"]);
    }
}

/// The large CNN with every chunk within `2^18` rows (narrow circuits): its convolutions and its
/// dense layer cut into parts, each chunk reading the leaves its layers need; every chunk is
/// `k ≤ 18`, the bundle verifies.
#[test]
#[ignore = "proves ten k <= 18 chunks: about 10 minutes and 1.3 GiB per worker on 2 cores (make test-large)"]
fn large_cnn_proves_with_every_chunk_k18() {
    let report = prove_and_verify("cnn_large_v1", &["--max-k", "18"]);
    let chunks = report["report"]["chunks"].as_array().unwrap();
    assert!(chunks.len() >= 3);
    for c in chunks {
        let k = c["params"]["k"].as_u64().unwrap();
        assert!(k <= 18, "chunk {} needs k = {k}", c["index"]);
    }
}
