//! The publisher against a real anvil (npm package) on 127.0.0.1, started and stopped here:
//! deploy → publish → status, idempotence, the attester path and its upgrade to verified,
//! truthful reports, deprecated models, test-mode registries, local and on-chain rejection, a
//! node restart between sending and the receipt, a reorganisation after the confirmations
//! (simulated by a proxy in front of anvil), the chain id, and bad input. Needs `make tools`.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, FixedBytes};
use alloy::providers::Provider;
use chunkproof_core::aggregated::ROOT_INDEX;
use chunkproof_core::Bundle;
use chunkproof_publisher::{self as publisher, Chain, ChainOptions, KeySource, PublishError, PublishOptions};
use chunkproof_verifier::{KeySet, VerifyOptions};
use serde_json::Value;

mod common;
use common::{free_port, root, start_anvil, tool, Anvil, ANVIL_KEY, ANVIL_KEY_1, ANVIL_KEY_2};

const FIXTURE: &str = "fixtures/digits_v1";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chunkproof"));
    c.env(
        "CHUNKPROOF_SOLC",
        std::env::var_os("CHUNKPROOF_SOLC").unwrap_or_else(|| root().join("tools/solc").into()),
    );
    c.env("OWNER_KEY", ANVIL_KEY).env("ATTESTER_KEY", ANVIL_KEY_1).env("STRANGER_KEY", ANVIL_KEY_2);
    c
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run chunkproof");
    // Arguments only: the environment holds (public, anvil) keys and is not echoed.
    let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    eprintln!(
        "$ chunkproof {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("json output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn nonce(anvil: &Anvil, key: &str) -> u64 {
    let cast = tool("CHUNKPROOF_CAST", "cast-linux-amd64", "cast");
    let addr = Command::new(&cast).args(["wallet", "address", "--private-key", key]).output().unwrap();
    let addr = String::from_utf8_lossy(&addr.stdout).trim().to_string();
    let n = Command::new(&cast).args(["nonce", "--rpc-url", &anvil.url, &addr]).output().unwrap();
    String::from_utf8_lossy(&n.stdout).trim().parse().unwrap()
}

/// `deploy-registry --keys` of the golden fixture (a dev-setup model: a test-mode registry):
/// returns the registry address.
fn deploy(anvil: &Anvil) -> (String, Value) {
    deploy_with(&anvil.url, &[])
}

fn deploy_with(url: &str, extra: &[&str]) -> (String, Value) {
    let out = json(&run(bin()
        .args([
            "deploy-registry",
            "--rpc-url",
            url,
            "--private-key-env",
            "OWNER_KEY",
            "--json",
            "--dev-setup",
        ])
        .arg("--test-mode")
        .arg("--keys")
        .arg(root().join(FIXTURE).join("keys_v5"))
        .args(extra)));
    (out["registry"].as_str().unwrap().to_string(), out)
}

fn dev_publish() -> PublishOptions {
    PublishOptions {
        verify: VerifyOptions { allow_dev_setup: true, ..Default::default() },
        ..Default::default()
    }
}

fn publish_cmd(anvil: &Anvil, registry: &str, bundle: &Path, extra: &[&str]) -> Output {
    run(bin()
        .arg("publish")
        .arg(bundle)
        .arg("--keys")
        .arg(root().join(FIXTURE).join("keys_v5"))
        .args(["--dev-setup", "--rpc-url", &anvil.url, "--registry", registry])
        .args(extra))
}

fn golden() -> (Bundle, KeySet) {
    let bundle = Bundle::read(&root().join(FIXTURE).join("bundle_v5.bundle")).unwrap();
    let keys = KeySet::load(&root().join(FIXTURE).join("keys_v5"), Some(&bundle.model_id)).unwrap();
    (bundle, keys)
}

#[test]
fn deploy_publish_status_attest_round_trip() {
    let anvil = start_anvil();
    let t0 = Instant::now();
    let (registry, dep) = deploy(&anvil);
    let bundle_path = root().join(FIXTURE).join("bundle_v5.bundle");
    let bundle = Bundle::read(&bundle_path).unwrap();
    let (root_hex, model_hex) = (bundle.root.to_string(), bundle.model_id.to_string());
    assert_eq!(dep["model"]["model_id"].as_str().unwrap(), model_hex);

    // Not yet published.
    let status = |extra: &[&str]| {
        json(&run(bin()
            .args([
                "status",
                "--root",
                &root_hex,
                "--model",
                &model_hex,
                "--rpc-url",
                &anvil.url,
                "--registry",
                &registry,
                "--json",
            ])
            .args(extra)))
    };
    assert_eq!(status(&[])["published"], false);

    // Publish: verified on chain, recorded.
    let p = json(&publish_cmd(
        &anvil,
        &registry,
        &bundle_path,
        &["--private-key-env", "OWNER_KEY", "--json", "--chain-id", "31337"],
    ));
    assert_eq!(p["newly_recorded"], true);
    let gas = p["gas_used"].as_u64().unwrap();
    let tx = p["tx"].as_str().unwrap().to_string();
    let elapsed = t0.elapsed();
    let s = status(&[]);
    assert_eq!(s["published"], true);
    assert_eq!(s["record"]["tx"].as_str().unwrap(), tx);
    assert_eq!(s["record"]["attested"], false);
    assert_eq!(s["record"]["block"], p["record"]["block"]);

    // Publishing again is a no-op that reports the record: nothing is sent.
    let before = nonce(&anvil, ANVIL_KEY);
    let again =
        json(&publish_cmd(&anvil, &registry, &bundle_path, &["--private-key-env", "OWNER_KEY", "--json"]));
    assert_eq!(again["newly_recorded"], false);
    assert_eq!(again["record"]["tx"].as_str().unwrap(), tx);
    assert_eq!(nonce(&anvil, ANVIL_KEY), before, "a second publish sent a transaction");

    // The attester path: the owner names an attester, who records a root without proofs.
    let other_root = format!("0x{}", "ab".repeat(32));
    let o = run(bin()
        .args(["set-attester", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "--registry", &registry])
        .args(["--rpc-url", &anvil.url, "--private-key-env", "OWNER_KEY"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let attest = |key: &str| {
        run(bin()
            .args(["attest", "--root", &other_root, "--model", &model_hex, "--registry", &registry])
            .args(["--rpc-url", &anvil.url, "--private-key-env", key, "--json"]))
    };
    // An account the owner did not name is refused by the contract.
    let o = attest("STRANGER_KEY");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("NotAttester"), "{}", stderr(&o));
    let a = json(&attest("ATTESTER_KEY"));
    assert_eq!(a["newly_recorded"], true);
    assert_eq!(a["record"]["attested"], true);
    let attest_gas = a["gas_used"].as_u64().unwrap();
    let s = json(&run(bin().args([
        "status",
        "--root",
        &other_root,
        "--model",
        &model_hex,
        "--rpc-url",
        &anvil.url,
        "--registry",
        &registry,
        "--json",
    ])));
    assert_eq!(s["record"]["attested"], true);

    eprintln!(
        "NUMBERS: publish gas {gas} (4 chunks, verified), attest gas {attest_gas}, registry {} gas, \
         BundleVerifier {} gas, chunk verifiers {:?} gas, registerModel {} gas, deploy+publish {:.1} s, publish alone {:.2} s",
        dep["registry_gas"],
        dep["model"]["bundle_verifier_gas"],
        dep["model"]["chunk_verifiers"].as_array().unwrap().iter().map(|c| c["gas"].as_u64().unwrap()).collect::<Vec<_>>(),
        dep["model"]["register_gas"],
        elapsed.as_secs_f64(),
        p["seconds"].as_f64().unwrap()
    );
}

fn tampered(bundle: &Bundle) -> Bundle {
    let mut bad = bundle.clone();
    let n = bad.chunks[2].proof.len();
    bad.chunks[2].proof[n / 2] ^= 1;
    bad
}

/// keccak256 of `values` ABI-encoded as `int256[]`: what the registry records of public
/// inputs and outputs.
fn values_hash(values: &[i64]) -> String {
    use alloy::sol_types::SolValue;
    let v: Vec<alloy::primitives::I256> =
        values.iter().map(|x| alloy::primitives::I256::try_from(*x).unwrap()).collect();
    alloy::primitives::keccak256(v.abi_encode()).to_string()
}

/// A signing connection to `anvil` with its first account's key, read (as the publisher reads
/// keys) from the environment variable `var`, which this sets; each caller names its own.
async fn owner_chain(anvil: &Anvil, var: &str) -> Chain {
    std::env::set_var(var, ANVIL_KEY);
    Chain::connect(ChainOptions::new(anvil.url.clone()), Some(&KeySource::Env(var.into()))).await.unwrap()
}

/// Publishes `bundle` through the library with the local check skipped (the test hook) and a
/// gas limit, so the transaction is mined and reverts; returns the decoded revert reason.
fn reverted_on_chain(anvil: &Anvil, registry: &str, bundle: &Bundle, keys: &KeySet) -> String {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let err = rt.block_on(async {
        let chain = owner_chain(anvil, "OWNER_KEY_FOR_LIB").await;
        let opts = PublishOptions {
            skip_local_verification_for_tests: true,
            gas_limit: Some(8_000_000),
            ..dev_publish()
        };
        publisher::publish(&chain, registry.parse().unwrap(), bundle, keys, &opts).await.unwrap_err()
    });
    match err {
        PublishError::Reverted { tx: Some(_), reason, .. } => reason,
        other => panic!("expected an on-chain revert, got {other}"),
    }
}

#[test]
fn tampered_bundle_is_refused_locally_and_reverted_on_chain() {
    let anvil = start_anvil();
    let (registry, _) = deploy(&anvil);
    let (bundle, keys) = golden();
    let dir = tempfile::tempdir().unwrap();
    let bad_path = dir.path().join("bad.bundle");
    tampered(&bundle).write(&bad_path).unwrap();

    // Locally: rejected, exit 1, nothing sent.
    let before = nonce(&anvil, ANVIL_KEY);
    let o = publish_cmd(&anvil, &registry, &bad_path, &["--private-key-env", "OWNER_KEY"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("rejected: chunk 2"), "{}", stderr(&o));
    assert_eq!(nonce(&anvil, ANVIL_KEY), before);

    // Test-only path: skip the local check and force a gas limit so the transaction is mined.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let chain = Chain::connect(
            ChainOptions::new(anvil.url.clone()),
            Some(&KeySource::Env("OWNER_KEY_NEVER_SET".into())),
        )
        .await;
        // The variable is not set in this process: the key error comes first, nothing is sent.
        assert!(matches!(chain, Err(PublishError::Key { .. })));
    });
    let reason = reverted_on_chain(&anvil, &registry, &tampered(&bundle), &keys);
    assert!(reason.contains("ChunkRejected"), "{reason}");
    assert_eq!(nonce(&anvil, ANVIL_KEY), before + 1, "the reverted transaction was mined");
    // And nothing was recorded.
    let rec = rt.block_on(async {
        let chain = Chain::connect(ChainOptions::new(anvil.url.clone()), None).await.unwrap();
        publisher::status(
            &chain,
            registry.parse().unwrap(),
            FixedBytes::from(bundle.model_id.0),
            FixedBytes::from(bundle.root.0),
        )
        .await
        .unwrap()
    });
    assert!(rec.is_none());
}

/// A model whose inputs are public: `tiny_dense_v1` (8 inputs; a chunk verifier grows with its
/// public values, and the digit's 784 pixels would put chunk 0's over EIP-170) proven in 2
/// chunks with `--public-input`, deployed and published; the record holds the hash of the
/// inputs. A bundle with one input changed is refused locally, and on chain (local check
/// skipped) the BundleVerifier rejects it.
#[test]
fn public_inputs_are_verified_and_recorded_on_chain() {
    let anvil = start_anvil();
    let dir = tempfile::tempdir().unwrap();
    let (keys, bundle_path, model) =
        (dir.path().join("keys"), dir.path().join("b.bundle"), dir.path().join("m"));
    let o = run(bin().args(["gen-fixture", "tiny_dense_v1", "--out"]).arg(&model));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(bin()
        .args(["prove", "--chunks", "2", "--public-input", "--dev-setup", "--model"])
        .arg(model.join("model.msgpack"))
        .arg("--input")
        .arg(model.join("input.msgpack"))
        .arg("--keys")
        .arg(&keys)
        .arg("--out")
        .arg(&bundle_path));
    assert!(o.status.success(), "{}", stderr(&o));
    let dep = json(&run(bin()
        .args(["deploy-registry", "--test-mode", "--dev-setup", "--json", "--rpc-url", &anvil.url])
        .args(["--private-key-env", "OWNER_KEY", "--keys"])
        .arg(&keys)));
    let registry = dep["registry"].as_str().unwrap().to_string();
    let publish = |path: &Path| {
        run(bin()
            .arg("publish")
            .arg(path)
            .arg("--keys")
            .arg(&keys)
            .args(["--dev-setup", "--json", "--rpc-url", &anvil.url, "--registry", &registry])
            .args(["--private-key-env", "OWNER_KEY"]))
    };
    let bundle = Bundle::read(&bundle_path).unwrap();
    assert_eq!(bundle.inputs.len(), 8, "the inputs are public");

    // one input changed: refused locally, nothing sent
    let mut bad = bundle.clone();
    bad.inputs[3] += 1;
    let bad_path = dir.path().join("bad.bundle");
    bad.write(&bad_path).unwrap();
    let before = nonce(&anvil, ANVIL_KEY);
    let o = publish(&bad_path);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(nonce(&anvil, ANVIL_KEY), before);

    // on chain, the changed input is rejected by chunk 0's verifier
    let keyset = KeySet::load(&keys, Some(&bundle.model_id)).unwrap();
    let reason = reverted_on_chain(&anvil, &registry, &bad, &keyset);
    assert!(reason.contains("ChunkRejected") && reason.contains("chunk: 0"), "{reason}");
    assert_eq!(nonce(&anvil, ANVIL_KEY), before + 1, "the reverted transaction was mined");

    let p = json(&publish(&bundle_path));
    assert_eq!(p["newly_recorded"], true, "{p}");
    assert_eq!(p["record"]["inputs_hash"].as_str().unwrap(), values_hash(&bundle.inputs));
    assert_eq!(p["record"]["outputs_hash"].as_str().unwrap(), values_hash(&bundle.outputs));
}

/// anvil is stopped after `publish` sent its transaction and before it was mined, then
/// restarted from its dumped state: the publisher notices the lost transaction, checks the
/// registry, sends again, and the root is recorded exactly once.
#[test]
fn node_restart_between_send_and_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("anvil-state.json");
    let state_s = state.to_str().unwrap();
    let port = free_port();
    let anvil = Anvil::start_on(port, &["--dump-state", state_s]);
    let url = anvil.url.clone();
    let (registry, _) = deploy(&anvil);
    let registry: Address = registry.parse().unwrap();
    let (bundle, keys) = golden();
    // From here on transactions wait in the pool until a block is mined by hand.
    let cast = tool("CHUNKPROOF_CAST", "cast-linux-amd64", "cast");
    assert!(Command::new(&cast)
        .args(["rpc", "--rpc-url", &url, "evm_setAutomine", "false"])
        .status()
        .unwrap()
        .success());

    std::env::set_var("RESTART_TEST_KEY", ANVIL_KEY);
    drop(keys);
    let b2 = bundle.clone();
    let task = std::thread::spawn(move || {
        let (_, k2) = golden();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let mut opts = ChainOptions::new(url);
            opts.receipt_timeout = Duration::from_secs(60);
            let chain = Chain::connect(opts, Some(&KeySource::Env("RESTART_TEST_KEY".into()))).await.unwrap();
            publisher::publish(&chain, registry, &b2, &k2, &dev_publish()).await
        })
    });
    // Wait until the transaction sits in anvil's pool.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let o = Command::new(&cast).args(["rpc", "--rpc-url", &anvil.url, "txpool_status"]).output().unwrap();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        if v["pending"].as_str().is_some_and(|p| p != "0x0") || v["pending"].as_u64().is_some_and(|p| p > 0) {
            break;
        }
        assert!(Instant::now() < deadline, "the publish transaction never reached the pool");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Stop the node (it dumps its state, without the pending transaction) and bring it back.
    anvil.interrupt();
    assert!(state.exists(), "anvil wrote no state dump");
    std::thread::sleep(Duration::from_secs(1));
    let anvil = Anvil::start_on(port, &["--load-state", state_s]);
    // Whether the restored node kept the pending transaction depends on its dump; let the
    // chain move on either way (a kept transaction is mined now, a lost one is re-sent).
    std::thread::sleep(Duration::from_secs(2));
    let o = Command::new(&cast).args(["rpc", "--rpc-url", &anvil.url, "txpool_status"]).output().unwrap();
    eprintln!("pool after the restart: {}", String::from_utf8_lossy(&o.stdout).trim());
    assert!(Command::new(&cast)
        .args(["rpc", "--rpc-url", &anvil.url, "evm_mine"])
        .status()
        .unwrap()
        .success());

    let report = task.join().unwrap().expect("publish resumes after the restart");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    assert!(report.newly_recorded, "{report:?}");
    eprintln!("recorded by {:?} in block {}", report.tx, report.record.block);
    let count = rt.block_on(async {
        let chain = Chain::connect(ChainOptions::new(anvil.url.clone()), None).await.unwrap();
        let rec = publisher::status(&chain, registry, report.model_id, report.root)
            .await
            .unwrap()
            .expect("recorded");
        assert_eq!(rec.block, report.record.block);
        let filter = alloy::rpc::types::Filter::new()
            .address(registry)
            .event_signature(
                <publisher::RootRegistry::RootPublished as alloy::sol_types::SolEvent>::SIGNATURE_HASH,
            )
            .topic2(report.root)
            .from_block(0u64);
        chain.provider().get_logs(&filter).await.unwrap().len()
    });
    assert_eq!(count, 1, "the root was recorded {count} times");
}

#[test]
fn bad_input_fails_cleanly_and_sends_nothing() {
    let anvil = start_anvil();
    let (registry, _) = deploy(&anvil);
    let bundle = root().join(FIXTURE).join("bundle_v5.bundle");
    let before = nonce(&anvil, ANVIL_KEY);
    let check = |o: Output, needle: &str| {
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(needle), "expected {needle:?} in: {}", stderr(&o));
        assert!(!stderr(&o).contains(&ANVIL_KEY[2..]), "the key was printed");
    };
    // Unreachable RPC (a port nobody listens on), with few retries.
    // The URL carries an "API key" in its path, as hosted endpoints do: it must not be printed.
    let dead = format!("http://127.0.0.1:{}/v3/SECRETAPIKEY", free_port());
    let o = run(bin()
        .args(["publish"])
        .arg(&bundle)
        .arg("--keys")
        .arg(root().join(FIXTURE).join("keys_v5"))
        .args([
            "--dev-setup",
            "--rpc-url",
            &dead,
            "--registry",
            &registry,
            "--private-key-env",
            "OWNER_KEY",
            "--retries",
            "1",
        ]));
    assert!(!stderr(&o).contains("SECRETAPIKEY"), "the RPC URL's secret was printed: {}", stderr(&o));
    check(o, "eth_chainId failed");
    // Wrong chain id.
    check(
        publish_cmd(&anvil, &registry, &bundle, &["--private-key-env", "OWNER_KEY", "--chain-id", "1"]),
        "is chain 31337, expected chain 1",
    );
    // No contract at the address.
    check(
        publish_cmd(
            &anvil,
            "0x000000000000000000000000000000000000dEaD",
            &bundle,
            &["--private-key-env", "OWNER_KEY"],
        ),
        "no RootRegistry at 0x000000000000000000000000000000000000dEaD",
    );
    // Malformed key.
    let o = run(&mut publish_cmd_env(&anvil, &registry, &bundle, "BAD_KEY", "0x1234"));
    check(o, "BAD_KEY does not hold a private key");
    let o = run(&mut publish_cmd_env(&anvil, &registry, &bundle, "BAD_KEY", &"zz".repeat(32)));
    check(o, "BAD_KEY does not hold a private key");
    // Missing variable.
    check(
        publish_cmd(&anvil, &registry, &bundle, &["--private-key-env", "NO_SUCH_VARIABLE_X"]),
        "NO_SUCH_VARIABLE_X is not set",
    );
    // No signer at all.
    check(publish_cmd(&anvil, &registry, &bundle, &[]), "give --private-key-env VAR or --keystore FILE");
    // Missing keystore.
    check(
        publish_cmd(&anvil, &registry, &bundle, &["--keystore", "/nonexistent/ks.json"]),
        "keystore /nonexistent/ks.json does not exist",
    );
    // A registry address that is not an address.
    check(
        publish_cmd(&anvil, "0x12", &bundle, &["--private-key-env", "OWNER_KEY"]),
        "--registry \"0x12\" is not an address",
    );
    assert_eq!(nonce(&anvil, ANVIL_KEY), before, "a failed command sent a transaction");
}

fn publish_cmd_env(anvil: &Anvil, registry: &str, bundle: &Path, var: &str, value: &str) -> Command {
    let mut c = bin();
    c.env(var, value)
        .arg("publish")
        .arg(bundle)
        .arg("--keys")
        .arg(root().join(FIXTURE).join("keys_v5"))
        .args(["--dev-setup", "--rpc-url", &anvil.url, "--registry", registry, "--private-key-env", var]);
    c
}

/// An encrypted keystore as the signer (wrong password refused, nothing sent), and
/// `--confirmations 3` on a chain that mines a block per second.
#[test]
fn keystore_signer_and_confirmations() {
    use alloy::signers::local::PrivateKeySigner;
    use rand::SeedableRng;
    let anvil = Anvil::start_on(free_port(), &["--block-time", "1"]);
    let (registry, _) = deploy(&anvil);
    let dir = tempfile::tempdir().unwrap();
    let key = hex::decode(&ANVIL_KEY[2..]).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    PrivateKeySigner::encrypt_keystore(dir.path(), &mut rng, key, "correct horse", Some("owner.json"))
        .unwrap();
    let ks = dir.path().join("owner.json");
    let bundle = root().join(FIXTURE).join("bundle_v5.bundle");
    let before = nonce(&anvil, ANVIL_KEY);
    let publish = |password: &str, extra: &[&str]| {
        run(bin()
            .env("KS_PASSWORD", password)
            .arg("publish")
            .arg(&bundle)
            .arg("--keys")
            .arg(root().join(FIXTURE).join("keys_v5"))
            .args(["--dev-setup", "--rpc-url", &anvil.url, "--registry", &registry])
            .args(["--password-env", "KS_PASSWORD", "--keystore", ks.to_str().unwrap()])
            .args(extra))
    };
    let o = publish("wrong", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot decrypt keystore"), "{}", stderr(&o));
    assert_eq!(nonce(&anvil, ANVIL_KEY), before);

    let o = publish("correct horse", &["--confirmations", "3", "--json"]);
    let p = json(&o);
    assert_eq!(p["newly_recorded"], true);
    let block = p["record"]["block"].as_u64().unwrap();
    let cast = tool("CHUNKPROOF_CAST", "cast-linux-amd64", "cast");
    let head = Command::new(cast).args(["block-number", "--rpc-url", &anvil.url]).output().unwrap();
    let head: u64 = String::from_utf8_lossy(&head.stdout).trim().parse().unwrap();
    assert!(head >= block + 2, "reported after {} confirmations only", head + 1 - block);
}

fn cast() -> Command {
    Command::new(tool("CHUNKPROOF_CAST", "cast-linux-amd64", "cast"))
}

fn address_of(key: &str) -> String {
    let o = cast().args(["wallet", "address", "--private-key", key]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// An attester records the golden root without proofs; a valid `publish` then verifies it (an
/// upgrade, reported as such) with the outputs' hash; publishing again from another account
/// sends nothing and says the root was verified by another account.
#[test]
fn attested_root_is_upgraded_and_reports_tell_the_truth() {
    let anvil = start_anvil();
    let (registry, _) = deploy(&anvil);
    let (bundle, _) = golden();
    let bundle_path = root().join(FIXTURE).join("bundle_v5.bundle");
    let (root_hex, model_hex) = (bundle.root.to_string(), bundle.model_id.to_string());
    let attester = address_of(ANVIL_KEY_1);
    let o = run(bin().args(["set-attester", &attester, "--registry", &registry]).args([
        "--rpc-url",
        &anvil.url,
        "--private-key-env",
        "OWNER_KEY",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let a = json(&run(bin()
        .args(["attest", "--root", &root_hex, "--model", &model_hex, "--registry", &registry])
        .args(["--rpc-url", &anvil.url, "--private-key-env", "ATTESTER_KEY", "--json"])));
    assert_eq!(a["record"]["attested"], true);

    // An attested-only root is not "already recorded": publish verifies it now.
    let p =
        json(&publish_cmd(&anvil, &registry, &bundle_path, &["--private-key-env", "OWNER_KEY", "--json"]));
    assert_eq!(p["newly_recorded"], true, "{p}");
    assert_eq!(p["upgraded_attestation_by"].as_str().unwrap().to_lowercase(), attester.to_lowercase());
    assert_eq!(p["record"]["attested"], false);
    assert_eq!(p["recorded_by_this_key"], true);
    let want = values_hash(&bundle.outputs);
    assert_eq!(p["record"]["outputs_hash"].as_str().unwrap(), want, "RootPublished ties the outputs");
    let text = run(bin()
        .args(["status", "--root", &root_hex, "--model", &model_hex, "--registry", &registry])
        .args(["--rpc-url", &anvil.url]));
    let no_inputs = values_hash(&[]);
    assert_eq!(p["record"]["inputs_hash"].as_str().unwrap(), no_inputs, "private inputs: the empty array");
    let said = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        said.contains(&format!("verified on chain (inputs hash {no_inputs}, outputs hash {want})")),
        "{said}"
    );

    // Someone else publishing the same bundle: nothing sent, and the report says who recorded it.
    let before = nonce(&anvil, ANVIL_KEY_2);
    let o = publish_cmd(&anvil, &registry, &bundle_path, &["--private-key-env", "STRANGER_KEY"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.starts_with("already verified by another account, nothing sent"), "{out}");
    assert_eq!(nonce(&anvil, ANVIL_KEY_2), before);
    let again =
        json(&publish_cmd(&anvil, &registry, &bundle_path, &["--private-key-env", "OWNER_KEY", "--json"]));
    assert_eq!(
        (again["newly_recorded"].clone(), again["recorded_by_this_key"].clone()),
        (false.into(), true.into())
    );
}

/// The owner retires a model: `publish` and `attest` are refused before anything is sent.
#[test]
fn deprecated_model_takes_nothing_more() {
    let anvil = start_anvil();
    let (registry, _) = deploy(&anvil);
    let (bundle, _) = golden();
    let bundle_path = root().join(FIXTURE).join("bundle_v5.bundle");
    let model_hex = bundle.model_id.to_string();
    // only the owner may deprecate
    let o = run(bin().args(["deprecate-model", "--model", &model_hex, "--registry", &registry]).args([
        "--rpc-url",
        &anvil.url,
        "--private-key-env",
        "STRANGER_KEY",
    ]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("NotOwner"), "{}", stderr(&o));
    let o = run(bin().args(["deprecate-model", "--model", &model_hex, "--registry", &registry]).args([
        "--rpc-url",
        &anvil.url,
        "--private-key-env",
        "OWNER_KEY",
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let before = nonce(&anvil, ANVIL_KEY);
    let o = publish_cmd(&anvil, &registry, &bundle_path, &["--private-key-env", "OWNER_KEY"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is deprecated"), "{}", stderr(&o));
    assert_eq!(nonce(&anvil, ANVIL_KEY), before, "sent a transaction for a deprecated model");
}

/// Models on the development setup go only into a registry deployed in test mode.
#[test]
fn dev_setup_models_need_a_test_mode_registry() {
    let anvil = start_anvil();
    let keys = root().join(FIXTURE).join("keys_v5");
    let before = nonce(&anvil, ANVIL_KEY);
    let o = run(bin()
        .args([
            "deploy-registry",
            "--rpc-url",
            &anvil.url,
            "--private-key-env",
            "OWNER_KEY",
            "--dev-setup",
            "--keys",
        ])
        .arg(&keys));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--test-mode"), "{}", stderr(&o));
    assert_eq!(nonce(&anvil, ANVIL_KEY), before);
    // A real registry, then the dev model into it: refused before any deployment.
    let reg = json(&run(bin().args([
        "deploy-registry",
        "--rpc-url",
        &anvil.url,
        "--private-key-env",
        "OWNER_KEY",
        "--json",
    ])));
    let registry = reg["registry"].as_str().unwrap();
    let before = nonce(&anvil, ANVIL_KEY);
    let o = run(bin()
        .args(["deploy-registry", "--rpc-url", &anvil.url, "--private-key-env", "OWNER_KEY", "--dev-setup"])
        .args(["--registry", registry, "--keys"])
        .arg(&keys));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not in test mode"), "{}", stderr(&o));
    assert_eq!(nonce(&anvil, ANVIL_KEY), before, "deployed verifiers for a registry that refuses them");
}

/// Off a local development chain, transactions need `--chain-id`.
#[test]
fn chain_id_is_required_off_local_chains() {
    let anvil = Anvil::start_on(free_port(), &["--chain-id", "5"]);
    let o = run(bin()
        .args(["deploy-registry", "--rpc-url", &anvil.url, "--private-key-env", "OWNER_KEY", "--dev-setup"])
        .arg("--test-mode")
        .arg("--keys")
        .arg(root().join(FIXTURE).join("keys_v5")));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--chain-id is required") && stderr(&o).contains("chain 5"),
        "{}",
        stderr(&o)
    );
    assert_eq!(nonce(&anvil, ANVIL_KEY), 0);
    let (registry, _) = deploy_with(&anvil.url, &["--chain-id", "5"]);
    let bundle_path = root().join(FIXTURE).join("bundle_v5.bundle");
    let o = publish_cmd(&anvil, &registry, &bundle_path, &["--private-key-env", "OWNER_KEY"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--chain-id is required"), "{}", stderr(&o));
    let p = json(&publish_cmd(
        &anvil,
        &registry,
        &bundle_path,
        &["--private-key-env", "OWNER_KEY", "--chain-id", "5", "--json"],
    ));
    assert_eq!(p["newly_recorded"], true);
    // Reading needs no chain id.
    let (bundle, _) = golden();
    let s = json(&run(bin()
        .args(["status", "--root", &bundle.root.to_string(), "--model", &bundle.model_id.to_string()])
        .args(["--registry", &registry, "--rpc-url", &anvil.url, "--json"])));
    assert_eq!(s["published"], true);
}

/// A JSON-RPC proxy in front of anvil that simulates a reorganisation right after the
/// confirmations: once a transaction's receipt has been served, later requests for it answer
/// `null`, as a node does when the block holding it was replaced.
struct ReorgProxy {
    url: String,
}

impl ReorgProxy {
    fn start(upstream: u16) -> Self {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashSet::<String>::new()));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    loop {
                        let mut len = 0usize;
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        loop {
                            let mut h = String::new();
                            reader.read_line(&mut h).unwrap();
                            if h == "\r\n" || h.is_empty() {
                                break;
                            }
                            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                                len = v.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0u8; len];
                        reader.read_exact(&mut body).unwrap();
                        let req: Value = serde_json::from_slice(&body).unwrap();
                        let is_receipt = req["method"] == "eth_getTransactionReceipt";
                        let tx = req["params"][0].as_str().unwrap_or_default().to_string();
                        let gone = is_receipt && seen.lock().unwrap().contains(&tx);
                        let reply = if gone {
                            serde_json::to_vec(
                                &serde_json::json!({"jsonrpc": "2.0", "id": req["id"], "result": null}),
                            )
                            .unwrap()
                        } else {
                            let mut up = std::net::TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                            write!(
                                up,
                                "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                body.len()
                            )
                            .unwrap();
                            up.write_all(&body).unwrap();
                            let mut raw = Vec::new();
                            up.read_to_end(&mut raw).unwrap();
                            let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                            let reply = raw[split..].to_vec();
                            if is_receipt {
                                let v: Value = serde_json::from_slice(&reply).unwrap_or(Value::Null);
                                if !v["result"].is_null() {
                                    seen.lock().unwrap().insert(tx);
                                }
                            }
                            reply
                        };
                        write!(
                            conn,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                            reply.len()
                        )
                        .unwrap();
                        conn.write_all(&reply).unwrap();
                    }
                });
            }
        });
        Self { url }
    }
}

/// The publish transaction is confirmed, then its block is gone (simulated by the proxy): the
/// publisher reads the chain back after the confirmations and fails loudly instead of claiming
/// the root is recorded.
#[test]
fn reorganisation_after_the_confirmations_fails_loudly() {
    let anvil = start_anvil();
    let (registry, _) = deploy(&anvil);
    let proxy = ReorgProxy::start(anvil.port);
    let bundle_path = root().join(FIXTURE).join("bundle_v5.bundle");
    let o = run(bin()
        .arg("publish")
        .arg(&bundle_path)
        .arg("--keys")
        .arg(root().join(FIXTURE).join("keys_v5"))
        .args([
            "--dev-setup",
            "--rpc-url",
            &proxy.url,
            "--registry",
            &registry,
            "--private-key-env",
            "OWNER_KEY",
        ]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("chain reorganised") && err.contains("no longer in block"), "{err}");
    assert!(err.contains("run it again"), "{err}");
}

/// The aggregated path (golden `aggregated_v1.agg`): `deploy-registry --aggregated` deploys the
/// aggregation verifier and an AggregatedVerifier and registers it; a tampered proof is refused
/// locally (nothing sent) and, sent anyway, reverted on chain with nothing recorded; the honest
/// proof is published once in one transaction, a second publish sends nothing; a registry that
/// has no AggregatedVerifier for the model and a second registration are refused before sending.
#[test]
fn aggregated_proof_deploys_and_publishes_once() {
    let anvil = start_anvil();
    let keys_dir = root().join(FIXTURE).join("keys_agg_v1");
    let agg_path = root().join(FIXTURE).join("aggregated_v1.agg");
    let agg = chunkproof_core::aggregated::AggregatedProof::read(&agg_path).unwrap();
    let deploy_agg = |extra: &[&str]| {
        run(bin()
            .args(["deploy-registry", "--rpc-url", &anvil.url, "--private-key-env", "OWNER_KEY", "--json"])
            .args(["--dev-setup", "--keys"])
            .arg(&keys_dir)
            .arg("--aggregated")
            .arg(&agg_path)
            .args(extra))
    };
    let dep = json(&deploy_agg(&["--test-mode"]));
    let registry = dep["registry"].as_str().unwrap().to_string();
    assert_eq!(dep["model"]["model_id"].as_str().unwrap(), agg.model_id.to_string());
    let publish = |path: &Path, extra: &[&str]| {
        run(bin()
            .arg("publish")
            .arg(path)
            .arg("--keys")
            .arg(&keys_dir)
            .args(["--dev-setup", "--rpc-url", &anvil.url, "--registry", &registry])
            .args(["--private-key-env", "OWNER_KEY"])
            .args(extra))
    };

    // A flipped proof byte: rejected locally, exit 1, nothing sent.
    let dir = tempfile::tempdir().unwrap();
    let mut bad = agg.clone();
    let n = bad.proof.len();
    bad.proof[n / 2] ^= 1;
    let bad_path = dir.path().join("bad.agg");
    bad.write(&bad_path).unwrap();
    let before = nonce(&anvil, ANVIL_KEY);
    let o = publish(&bad_path, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(nonce(&anvil, ANVIL_KEY), before, "a rejected proof was sent");
    // Sent anyway (test hook): the contract reverts and records nothing.
    let keys = KeySet::load(&keys_dir, Some(&agg.model_id)).unwrap();
    let key = chunkproof_verifier::AggregationKey::load(&keys, &agg.vk_digest).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (err, rec) = rt.block_on(async {
        let chain = owner_chain(&anvil, "OWNER_KEY_FOR_AGG").await;
        let opts = PublishOptions {
            skip_local_verification_for_tests: true,
            gas_limit: Some(3_000_000),
            ..dev_publish()
        };
        let reg: Address = registry.parse().unwrap();
        let err = publisher::publish_aggregated(&chain, reg, &bad, &keys, &key, &opts).await.unwrap_err();
        let rec = publisher::status(
            &chain,
            reg,
            FixedBytes::from(agg.model_id.0),
            FixedBytes::from(agg.instances[ROOT_INDEX].0),
        )
        .await
        .unwrap();
        (err, rec)
    });
    match &err {
        PublishError::Reverted { tx: Some(_), reason, .. } => {
            assert!(reason.contains("AggregatedRejected"), "{reason}")
        }
        other => panic!("expected an on-chain revert, got {other}"),
    }
    assert!(rec.is_none(), "a rejected proof was recorded");

    // Honest: published once.
    let p = json(&publish(&agg_path, &["--json"]));
    assert_eq!(p["newly_recorded"], true);
    assert_eq!(p["aggregated"], true);
    assert_eq!(p["root"].as_str().unwrap(), agg.instances[ROOT_INDEX].to_string());
    let gas = p["gas_used"].as_u64().unwrap();
    assert!(gas < 600_000, "publishAggregated used {gas} gas");
    let before = nonce(&anvil, ANVIL_KEY);
    let again = json(&publish(&agg_path, &["--json"]));
    assert_eq!(again["newly_recorded"], false);
    assert_eq!(again["record"]["tx"], p["tx"]);
    assert_eq!(nonce(&anvil, ANVIL_KEY), before, "a second publish sent a transaction");

    // A second AggregatedVerifier for the model: refused before deploying anything.
    let before = nonce(&anvil, ANVIL_KEY);
    let o = deploy_agg(&["--registry", &registry]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("already has an AggregatedVerifier"), "{}", stderr(&o));
    assert_eq!(nonce(&anvil, ANVIL_KEY), before);
    // A registry without one for the model: refused by name, nothing sent.
    let (bare, _) = deploy_with(&anvil.url, &[]);
    let o = run(bin().arg("publish").arg(&agg_path).arg("--keys").arg(&keys_dir).args([
        "--dev-setup",
        "--rpc-url",
        &anvil.url,
        "--registry",
        &bare,
        "--private-key-env",
        "OWNER_KEY",
    ]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("has no AggregatedVerifier"), "{}", stderr(&o));

    eprintln!(
        "NUMBERS: publishAggregated gas {gas} (2 chunks), aggregation verifier {} gas, AggregatedVerifier {} gas, \
         registerAggregatedVerifier {} gas",
        dep["model"]["aggregation_verifier"]["gas"],
        dep["model"]["aggregated_verifier_gas"],
        dep["model"]["register_gas"]
    );
}

/// Deploys the aggregated proof `agg` (keys `keys`, bundle `bundle`) with
/// `deploy-registry --aggregated` and publishes it once; returns the publish report and the
/// deployment's. `public_inputs`: the model's inputs are public (the record hashes them).
fn deploy_and_publish_aggregated(
    anvil: &Anvil,
    keys: &Path,
    bundle: &Path,
    agg: &Path,
    public_inputs: bool,
) -> (Value, Value) {
    let dep = json(&run(bin()
        .args(["deploy-registry", "--test-mode", "--dev-setup", "--json", "--rpc-url", &anvil.url])
        .args(["--private-key-env", "OWNER_KEY", "--keys"])
        .arg(keys)
        .arg("--aggregated")
        .arg(agg)));
    let registry = dep["registry"].as_str().unwrap().to_string();
    let publish = || {
        json(&run(bin()
            .arg("publish")
            .arg(agg)
            .arg("--keys")
            .arg(keys)
            .args(["--dev-setup", "--json", "--rpc-url", &anvil.url, "--registry", &registry])
            .args(["--private-key-env", "OWNER_KEY"])))
    };
    let p = publish();
    assert_eq!(p["newly_recorded"], true);
    assert_eq!(p["aggregated"], true);
    assert_eq!(publish()["newly_recorded"], false);
    let b = Bundle::read(bundle).unwrap();
    assert_eq!(p["root"].as_str().unwrap(), b.root.to_string());
    // The recorded hashes are those of the bundle's public inputs (or none) and outputs.
    assert_eq!(p["record"]["outputs_hash"].as_str().unwrap(), values_hash(&b.outputs));
    assert_eq!(b.inputs.is_empty(), !public_inputs);
    assert_eq!(
        p["record"]["inputs_hash"].as_str().unwrap(),
        values_hash(if public_inputs { &b.inputs } else { &[] })
    );
    (p, dep)
}

/// A model with function tables (Tanh, Softmax), whose chunk verifiers are over EIP-170, goes on
/// chain through aggregation: the golden aggregated proof of `tiny_table_v1` in 2 chunks
/// (`make golden-table-aggregated`, `_v2`) is deployed with `deploy-registry --aggregated` and
/// published once.
#[test]
fn table_model_is_deployed_and_published_aggregated() {
    let anvil = start_anvil();
    let d = root().join("fixtures/tiny_table_v1");
    let (keys, bundle, agg) =
        (d.join("keys_agg_v2"), d.join("bundle_poseidon_v2.bundle"), d.join("aggregated_v2.agg"));
    let (p, dep) = deploy_and_publish_aggregated(&anvil, &keys, &bundle, &agg, false);
    eprintln!(
        "NUMBERS: tiny_table_v1 publishAggregated gas {}, aggregation verifier {} gas, AggregatedVerifier {} gas",
        p["gas_used"], dep["model"]["aggregation_verifier"]["gas"], dep["model"]["aggregated_verifier_gas"]
    );
}

/// `fixture` generated, proven in 2 chunks with the Poseidon transcript (and `extra` prove
/// options), aggregated at the default (deployable) shape, deployed with `deploy-registry
/// --aggregated` and published once through the CLI; prints what it measured.
fn aggregated_from_scratch(fixture: &str, extra: &[&str], public_inputs: bool) {
    let anvil = start_anvil();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = run(bin().args(["gen-fixture", fixture, "--out"]).arg(d));
    assert!(o.status.success(), "{}", stderr(&o));
    let (keys, bundle, agg) = (d.join("keys"), d.join("b.bundle"), d.join("b.agg"));
    let o = run(bin()
        .args(["prove", "--dev-setup", "--chunks", "2", "--transcript", "poseidon"])
        .args(extra)
        .arg("--model")
        .arg(d.join("model.msgpack"))
        .arg("--input")
        .arg(d.join("input.msgpack"))
        .arg("--keys")
        .arg(&keys)
        .arg("--out")
        .arg(&bundle));
    assert!(o.status.success(), "{}", stderr(&o));
    let t = Instant::now();
    let a = json(&run(bin()
        .arg("aggregate")
        .arg(&bundle)
        .arg("--keys")
        .arg(&keys)
        .arg("--out")
        .arg(&agg)
        .args(["--dev-setup", "--json"])));
    let agg_s = t.elapsed().as_secs_f64();
    let (p, dep) = deploy_and_publish_aggregated(&anvil, &keys, &bundle, &agg, public_inputs);
    eprintln!(
        "NUMBERS: {fixture} {extra:?} aggregated in {agg_s:.1} s (k = {}, columns {}), publishAggregated gas {}, \
         aggregation verifier {} gas, AggregatedVerifier {} gas",
        a["k"], a["columns"], p["gas_used"], dep["model"]["aggregation_verifier"]["gas"], dep["model"]["aggregated_verifier_gas"]
    );
}

/// The same from scratch through the CLI: `tiny_table_v1` generated, proven in 2 chunks with
/// the Poseidon transcript, aggregated (the default, deployable shape), deployed and published.
#[test]
#[ignore = "aggregates from scratch: 5.4 to 10 min and ≈ 9.4 GiB on 2 cores (make test-slow)"]
fn table_model_is_aggregated_deployed_and_published() {
    aggregated_from_scratch("tiny_table_v1", &[], false);
}

/// A model with public inputs goes on chain aggregated: `tiny_dense_v1` proven with
/// `--public-input` (its aggregation verifier takes the 8 inputs), aggregated, deployed and
/// published; the record holds the inputs' hash.
#[test]
#[ignore = "aggregates from scratch: about 5 to 10 min and 9 GiB on 2 cores (make test-slow)"]
fn public_input_model_is_aggregated_deployed_and_published() {
    aggregated_from_scratch("tiny_dense_v1", &["--public-input"], true);
}
