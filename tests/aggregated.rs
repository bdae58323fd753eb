//! The golden aggregated proof (`fixtures/digits_v1/aggregated_v1.agg`, `make golden-aggregated`)
//! with its shipped keys: it verifies in Rust and through the generated contracts in revm, for
//! the bundle's outputs, within EIP-170 and the gas target; tampered, or against other keys, it
//! is refused.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::root;

fn chunkproof(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chunkproof"));
    if std::env::var_os("CHUNKPROOF_SOLC").is_none() {
        cmd.env("CHUNKPROOF_SOLC", root().join("tools/solc"));
    }
    let out = cmd.args(args).current_dir(root()).output().unwrap();
    eprintln!(
        "$ chunkproof {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const AGG: &str = "fixtures/digits_v1/aggregated_v1.agg";
const KEYS: &str = "fixtures/digits_v1/keys_agg_v1";

fn expected_outputs() -> Value {
    let e: Value =
        serde_json::from_slice(&std::fs::read(root().join("fixtures/digits_v1/expected.json")).unwrap())
            .unwrap();
    e["fixed_output"].clone()
}

#[test]
fn golden_aggregated_proof_verifies_in_rust_and_in_the_evm() {
    let out = chunkproof(&["verify", AGG, "--keys", KEYS, "--dev-setup", "--evm", "--json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["aggregated"], true);
    assert_eq!(v["chunks"], 2);
    assert_eq!(v["outputs"], expected_outputs());
    let evm = &v["evm"];
    assert_eq!(evm["deployable"], true, "both contracts fit EIP-170");
    let gas = evm["verify_gas"].as_u64().unwrap();
    assert!(gas > 100_000 && gas <= 500_000, "one aggregated verification: {gas} gas (target ≤ 500k)");
}

#[test]
fn golden_aggregated_proof_needs_the_dev_setup_flag_and_its_own_keys() {
    let out = chunkproof(&["verify", AGG, "--keys", KEYS]);
    assert_eq!(out.status.code(), Some(2), "dev-setup keys refused without --dev-setup");
    // The chunk-verifier golden keys are another model: no aggregation key of this proof there.
    let out = chunkproof(&["verify", AGG, "--keys", "fixtures/digits_v1/keys_v5", "--dev-setup"]);
    assert!(!out.status.success());
}

#[test]
fn tampered_golden_aggregated_proofs_are_rejected() {
    let bytes = std::fs::read(root().join(AGG)).unwrap();
    let agg = chunkproof_core::aggregated::AggregatedProof::from_bytes(&bytes).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    let mut t = agg.clone();
    let n = t.proof.len();
    t.proof[n / 3] ^= 1;
    cases.push(("a flipped proof byte", t));
    let mut t = agg.clone();
    let last = t.instances.len() - 1;
    t.instances[last].0[31] ^= 1;
    cases.push(("another output", t));
    let mut t = agg.clone();
    t.instances[chunkproof_core::aggregated::ROOT_INDEX].0[31] ^= 1;
    cases.push(("another root", t));
    for (what, t) in cases {
        let path = dir.path().join("t.agg");
        t.write(&path).unwrap();
        let out = chunkproof(&["verify", path.to_str().unwrap(), "--keys", KEYS, "--dev-setup"]);
        assert_eq!(out.status.code(), Some(1), "{what}: rejected");
        assert!(String::from_utf8_lossy(&out.stderr).contains("rejected"), "{what}");
    }
    // Trailing bytes: malformed.
    let path = dir.path().join("trailing.agg");
    std::fs::write(&path, [bytes.as_slice(), &[0]].concat()).unwrap();
    assert_eq!(
        chunkproof(&["verify", path.to_str().unwrap(), "--keys", KEYS, "--dev-setup"]).status.code(),
        Some(1)
    );
}

#[test]
fn the_aggregated_bundle_verifies_in_rust_and_is_refused_by_the_chunk_contracts() {
    let bundle = "fixtures/digits_v1/bundle_poseidon_v1.bundle";
    let out = chunkproof(&["verify", bundle, "--keys", KEYS, "--dev-setup", "--json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["outputs"], expected_outputs());
    let out = chunkproof(&["verify", bundle, "--keys", KEYS, "--dev-setup", "--evm"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("poseidon transcript"));
}

#[test]
fn aggregate_refuses_a_keccak_bundle_before_any_work_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("b.agg");
    let out = out_path.to_str().unwrap();
    let keys = root().join("fixtures/digits_v1/keys_v5");
    let keys = keys.to_str().unwrap();
    let started = std::time::Instant::now();
    let o = chunkproof(&[
        "aggregate",
        "fixtures/digits_v1/bundle_v5.bundle",
        "--keys",
        keys,
        "--out",
        out,
        "--dev-setup",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--transcript poseidon"));
    assert!(started.elapsed().as_secs() < 30, "refused before building anything");
    assert!(!out_path.exists(), "no output file");
    // A setup that is not the keys' SRS is refused too (a pinned file that does not exist here).
    let o = chunkproof(&[
        "aggregate",
        "fixtures/digits_v1/bundle_poseidon_v1.bundle",
        "--keys",
        "fixtures/digits_v1/keys_agg_v1",
        "--out",
        out,
        "--srs",
        "/nonexistent.params",
        "--srs-sha256",
        &"0".repeat(64),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out_path.exists(), "no output file");
}

/// Whether any chunk circuit of the key set in `keys` has the `max` gate.
fn has_max_gate(keys: &std::path::Path) -> bool {
    std::fs::read_dir(keys.join("circuits"))
        .unwrap()
        .map(|d| {
            serde_json::from_slice::<Value>(&std::fs::read(d.unwrap().path().join("meta.json")).unwrap())
                .unwrap()
        })
        .any(|meta| meta["params"]["max_gate"] == true)
}

/// The golden aggregated proofs of a model with function tables (`fixtures/tiny_table_v1`,
/// `make golden-table-aggregated`; Tanh, max pooling and Softmax, whose chunk verifiers exceed
/// EIP-170): `_v2` (maxima taken with the `max` gate) and `_v1` (made before it). Each proof
/// verifies in Rust and in revm, both contracts deployable, for the bundle's root and (softmax)
/// outputs; a flipped byte is rejected.
#[test]
fn golden_table_model_aggregated_proofs_verify_in_rust_and_in_the_evm() {
    for (version, max_gate) in [("v2", true), ("v1", false)] {
        let dir = root().join("fixtures/tiny_table_v1");
        let (agg, keys, bundle) = (
            dir.join(format!("aggregated_{version}.agg")),
            dir.join(format!("keys_agg_{version}")),
            dir.join(format!("bundle_poseidon_{version}.bundle")),
        );
        assert_eq!(has_max_gate(&keys), max_gate, "{version}: max gate");
        let (agg_s, keys_s, bundle_s) =
            (agg.to_str().unwrap(), keys.to_str().unwrap(), bundle.to_str().unwrap());
        let b = chunkproof_core::Bundle::read(&bundle).unwrap();
        let out = chunkproof(&["verify", agg_s, "--keys", keys_s, "--dev-setup", "--evm", "--json"]);
        assert!(out.status.success(), "{version}: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["aggregated"], true);
        assert_eq!(v["chunks"], 2);
        assert_eq!(v["root"].as_str().unwrap(), b.root.to_string());
        assert_eq!(v["outputs"], serde_json::to_value(&b.outputs).unwrap());
        assert_eq!(v["evm"]["deployable"], true, "{version}: both contracts fit EIP-170");
        let gas = v["evm"]["verify_gas"].as_u64().unwrap();
        assert!(
            gas > 100_000 && gas <= 500_000,
            "{version}: one aggregated verification: {gas} gas (target ≤ 500k)"
        );
        // The bundle itself verifies in Rust (its chunk verifiers are too large for the chain).
        assert!(chunkproof(&["verify", bundle_s, "--keys", keys_s, "--dev-setup"]).status.success());
        let tmp = tempfile::tempdir().unwrap();
        let mut t = chunkproof_core::aggregated::AggregatedProof::read(&agg).unwrap();
        let n = t.proof.len();
        t.proof[n / 2] ^= 1;
        let path = tmp.path().join("t.agg");
        t.write(&path).unwrap();
        let out = chunkproof(&["verify", path.to_str().unwrap(), "--keys", keys_s, "--dev-setup"]);
        assert_eq!(out.status.code(), Some(1), "{version}: a flipped byte: rejected");
    }
}
