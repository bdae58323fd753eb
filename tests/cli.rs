//! The `chunkproof` command end to end: prove → verify → audit on the shipped fixture and on
//! zkml's MNIST (when `../shared` is present), the golden bundle, setups, and exit codes.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::root;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chunkproof"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("fixtures/digits_v1").join(name)
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run chunkproof");
    eprintln!(
        "$ {:?}\n{}{}",
        cmd,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn expected_outputs() -> Vec<i64> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("expected.json")).unwrap()).unwrap();
    v["fixed_output"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

fn prove(model: &Path, input: &Path, keys: &Path, out: &Path, extra: &[&str]) -> Output {
    let chunks = if extra.contains(&"--chunks") { vec![] } else { vec!["--chunks", "4"] };
    run(bin()
        .args(["prove", "--model"])
        .arg(model)
        .arg("--input")
        .arg(input)
        .args(chunks)
        .arg("--keys")
        .arg(keys)
        .arg("--out")
        .arg(out)
        .args(extra))
}

#[test]
fn fixture_prove_verify_audit() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, bundle) = (dir.path().join("keys"), dir.path().join("digits.bundle"));
    let o = prove(
        &fixture("model.msgpack"),
        &fixture("input.msgpack"),
        &keys,
        &bundle,
        &["--dev-setup", "--json"],
    );
    assert!(o.status.success());
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let outputs: Vec<i64> =
        report["outputs"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    assert_eq!(outputs, expected_outputs());
    // Same circuits as the golden bundle: if this fails, circuits changed — run `make golden`.
    let golden = chunkproof_core::Bundle::read(&fixture("bundle_v5.bundle")).unwrap();
    assert_eq!(
        report["model_id"].as_str().unwrap(),
        golden.model_id.to_string(),
        "circuits changed: run `make golden`"
    );

    let o = run(bin().arg("verify").arg(&bundle).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert!(o.status.success());
    let line = stdout(&o);
    assert!(line.starts_with("ok: 4 chunks, root 0x"), "{line}");
    assert!(line.contains(&format!("{:?}", expected_outputs()).replace(' ', " ")), "{line}");

    let o = run(bin().arg("audit").arg(&bundle).arg("--keys").arg(&keys).arg("--dev-setup").arg("--json"));
    assert!(o.status.success());
    let a: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(a["ok"], true);
    assert_eq!(a["chunks"].as_array().unwrap().len(), 4);
    assert!(a["chunks"].as_array().unwrap().iter().all(|c| c["status"] == "ok"));
    let o = run(bin().arg("audit").arg(&bundle));
    assert!(o.status.success());
    assert!(stdout(&o).contains("linked (proof unchecked)"));

    // dev keys are refused without --dev-setup
    let o = run(bin().arg("verify").arg(&bundle).arg("--keys").arg(&keys));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("INSECURE"), "{}", stderr(&o));

    // a flipped proof byte: rejected, exit 1, chunk named
    let mut b = chunkproof_core::Bundle::read(&bundle).unwrap();
    b.chunks[2].proof[100] ^= 0x80;
    let bad = dir.path().join("bad.bundle");
    b.write(&bad).unwrap();
    let o = run(bin().arg("verify").arg(&bad).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("rejected: chunk 2"), "{}", stderr(&o));
    let o = run(bin().arg("audit").arg(&bad).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert_eq!(o.status.code(), Some(1));

    // a truncated file: malformed, exit 1, no panic
    let bytes = std::fs::read(&bundle).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 3]).unwrap();
    let o = run(bin().arg("verify").arg(&bad).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("malformed bundle"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

/// `--no-product-check` computes every product: every chunk circuit is single-phase (what the GPU
/// worker proves), the keys and model id differ from the default's, and the outputs are the same.
#[test]
fn products_can_be_computed_instead_of_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, bundle) = (dir.path().join("keys"), dir.path().join("d.bundle"));
    let o = prove(
        &fixture("model.msgpack"),
        &fixture("input.msgpack"),
        &keys,
        &bundle,
        &["--dev-setup", "--json", "--no-product-check", "--no-cache-pk"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let outputs: Vec<i64> =
        report["outputs"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    assert_eq!(outputs, expected_outputs());
    let b = chunkproof_core::Bundle::read(&bundle).unwrap();
    let golden = chunkproof_core::Bundle::read(&fixture("bundle_v5.bundle")).unwrap();
    assert_ne!(b.model_id, golden.model_id);
    let ks = chunkproof_verifier::KeySet::load(&keys, Some(&b.model_id)).unwrap();
    assert!(ks.manifest.plan.chunks.iter().all(|c| !c.params.products), "{:?}", ks.manifest.plan);
    assert!(golden_has_products());
    // no proving key kept
    let pks = walk(&keys).into_iter().filter(|p| p.ends_with("pk.bin")).count();
    assert_eq!(pks, 0);
    let o = run(bin().arg("verify").arg(&bundle).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `--input-range u16`: chunk 0 packs the model input in 16 bits (enforcing the range), the
/// bundle verifies, and an input outside the range is refused by name before any proving.
#[test]
fn a_declared_input_range_is_packed_and_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, bundle) = (dir.path().join("keys"), dir.path().join("d.bundle"));
    let plan = |extra: &[&str]| {
        let o =
            run(bin().args(["plan", "--chunks", "2", "--model"]).arg(fixture("model.msgpack")).args(extra));
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o).lines().find(|l| l.starts_with("chunk 0")).unwrap().to_string()
    };
    assert!(plan(&[]).contains("boundary in 64 values (32-bit)"), "{}", plan(&[]));
    assert!(plan(&["--input-range", "u16"]).contains("boundary in 64 values (16-bit)"));
    let o = prove(
        &fixture("model.msgpack"),
        &fixture("input.msgpack"),
        &keys,
        &bundle,
        &["--dev-setup", "--json", "--chunks", "2", "--input-range", "u16", "--no-cache-pk"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let b = chunkproof_core::Bundle::read(&bundle).unwrap();
    let ks = chunkproof_verifier::KeySet::load(&keys, Some(&b.model_id)).unwrap();
    let packing = ks.manifest.plan.chunks[0].input_packing;
    assert_eq!((packing.bits, packing.offset), (16, 0));
    let o = run(bin().arg("verify").arg(&bundle).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert!(o.status.success(), "{}", stderr(&o));
    // unknown ranges are a usage error; a value outside the range is named, nothing written
    let out = dir.path().join("x.bundle");
    let o = prove(
        &fixture("model.msgpack"),
        &fixture("input.msgpack"),
        &keys,
        &out,
        &["--dev-setup", "--input-range", "u8"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("u16 (0..=65535) and i16"), "{}", stderr(&o));
    let o = run(bin().args(["gen-fixture", "cnn_large_v1", "--out"]).arg(dir.path()));
    assert!(o.status.success(), "{}", stderr(&o));
    let (model, input) = (dir.path().join("model.msgpack"), dir.path().join("input.msgpack"));
    let o = prove(&model, &input, &dir.path().join("k2"), &out, &["--dev-setup", "--input-range", "u16"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("outside the declared input range u16 (0..=65535)"), "{}", stderr(&o));
    assert!(!out.exists());
}

fn golden_has_products() -> bool {
    let golden = chunkproof_core::Bundle::read(&fixture("bundle_v5.bundle")).unwrap();
    let ks = chunkproof_verifier::KeySet::load(&fixture("keys_v5"), Some(&golden.model_id)).unwrap();
    ks.manifest.plan.chunks.iter().any(|c| c.params.products)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The golden bundles of every circuit version still verify with their shipped keys: `v1`
/// (single-phase circuits, every product computed), `v2` (products checked with a random
/// challenge in a second phase), `v3` (the same circuits; the plan keeps no chunk of data
/// movement alone) and `v4` (boundaries the model bounds to 16 bits packed fifteen to an
/// element).
#[test]
fn golden_bundles_verify_with_shipped_keys() {
    for v in ["v1", "v2", "v3", "v4", "v5"] {
        let (bundle, keys) = (fixture(&format!("bundle_{v}.bundle")), fixture(&format!("keys_{v}")));
        let o = run(bin().arg("verify").arg(&bundle).arg("--keys").arg(&keys).arg("--dev-setup"));
        assert!(o.status.success(), "{v}: {}", stderr(&o));
        assert!(stdout(&o).contains(&format!("outputs {:?}", expected_outputs())), "{v}: {}", stdout(&o));
        let o = run(bin().arg("audit").arg(&bundle).arg("--keys").arg(&keys).arg("--dev-setup"));
        assert!(o.status.success(), "{v}: {}", stderr(&o));
    }
}

/// `audit` without keys folds every chunk's problem into its verdict (a wrong root instance, a
/// wrong index); `verify` prints the model id and SRS it checked, and a key directory holding
/// several models needs `--model-id` (a bundle never picks its own keys).
#[test]
fn audit_and_verify_say_what_they_checked() {
    let dir = tempfile::tempdir().unwrap();
    let golden = chunkproof_core::Bundle::read(&fixture("bundle_v5.bundle")).unwrap();
    for (what, edit) in [
        (
            "root",
            Box::new(|b: &mut chunkproof_core::Bundle| b.chunks[1].instances[0].0[31] ^= 1)
                as Box<dyn Fn(&mut chunkproof_core::Bundle)>,
        ),
        ("index", Box::new(|b: &mut chunkproof_core::Bundle| b.chunks[2].index = 3)),
    ] {
        let mut b = golden.clone();
        edit(&mut b);
        let path = dir.path().join(format!("{what}.bundle"));
        b.write(&path).unwrap();
        let o = run(bin().arg("audit").arg(&path).arg("--json"));
        assert_eq!(o.status.code(), Some(1), "{what}: audit without keys accepted it");
        let a: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(a["ok"], false);
        let verdict = a["verdict"].as_str().unwrap();
        let pos = if what == "root" { 1 } else { 2 };
        assert!(verdict.contains(&format!("chunk at position {pos}")), "{what}: {verdict}");
    }
    let o = run(bin().arg("audit").arg(fixture("bundle_v5.bundle")));
    assert!(o.status.success());
    assert!(stdout(&o).contains("INSECURE development setup (claimed"), "{}", stdout(&o));

    // Two models in one key directory.
    let keys = dir.path().join("keys");
    common::copy_dir(&fixture("keys_v5"), &keys);
    let fx = dir.path().join("fx");
    assert!(run(bin().args(["gen-fixture", "tiny_dense_v1", "--out"]).arg(&fx)).status.success());
    let other = dir.path().join("other.bundle");
    let o = prove(
        &fx.join("model.msgpack"),
        &fx.join("input.msgpack"),
        &keys,
        &other,
        &["--dev-setup", "--chunks", "2"],
    );
    assert!(o.status.success());
    let o =
        run(bin().arg("verify").arg(fixture("bundle_v5.bundle")).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("holds 2 models") && stderr(&o).contains("--model-id"), "{}", stderr(&o));
    let id = golden.model_id.to_string();
    let o = run(bin()
        .arg("verify")
        .arg(fixture("bundle_v5.bundle"))
        .arg("--keys")
        .arg(&keys)
        .arg("--dev-setup")
        .args(["--model-id", &id]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(&format!("model {id}")), "{}", stdout(&o));
    assert!(stdout(&o).contains("srs   0x") && stdout(&o).contains("INSECURE"), "{}", stdout(&o));
    // The other model's bundle against the golden model: rejected, not re-pointed.
    let o = run(bin()
        .arg("verify")
        .arg(&other)
        .arg("--keys")
        .arg(&keys)
        .arg("--dev-setup")
        .args(["--model-id", &id]));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("rejected: bundle is for model"), "{}", stderr(&o));
}

#[test]
fn bad_invocations_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // no setup chosen: refused, nothing written
    let out = dir.path().join("x.bundle");
    let o = prove(&fixture("model.msgpack"), &fixture("input.msgpack"), &dir.path().join("k"), &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists());
    // a model file that is not a model
    let o = prove(
        &fixture("input.msgpack"),
        &fixture("input.msgpack"),
        &dir.path().join("k"),
        &out,
        &["--dev-setup"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("malformed model"), "{}", stderr(&o));
    assert!(!out.exists());
    // too many chunks
    let o = prove(
        &fixture("model.msgpack"),
        &fixture("input.msgpack"),
        &dir.path().join("k"),
        &out,
        &["--dev-setup", "--chunks", "99"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot plan 99 chunks"), "{}", stderr(&o));
    // missing files
    let o = run(bin().arg("verify").arg(dir.path().join("none.bundle")).arg("--keys").arg(dir.path()));
    assert_ne!(o.status.code(), Some(0));
    let o = run(bin().arg("verify").arg(fixture("bundle_v5.bundle")).arg("--keys").arg(dir.path()));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no key set found"), "{}", stderr(&o));
}

#[test]
fn srs_file_with_pinned_hash() {
    use halo2_axiom::halo2curves::bn256::Bn256;
    use halo2_axiom::poly::commitment::Params;
    use halo2_axiom::poly::kzg::commitment::ParamsKZG;
    use rand::SeedableRng;
    let dir = tempfile::tempdir().unwrap();
    // a "ceremony" file: not the dev secret
    let params = ParamsKZG::<Bn256>::setup(15, rand_chacha::ChaCha20Rng::seed_from_u64(20261122));
    let srs = dir.path().join("kzg_bn254_15.srs");
    let mut f = std::fs::File::create(&srs).unwrap();
    params.write(&mut f).unwrap();
    drop(f);
    let sha = chunkproof_prover::setup::sha256_file(&srs).unwrap();
    let (keys, bundle) = (dir.path().join("keys"), dir.path().join("b.bundle"));

    let wrong = "00".repeat(32);
    let o = prove(
        &fixture("model.msgpack"),
        &fixture("input.msgpack"),
        &keys,
        &bundle,
        &["--srs", srs.to_str().unwrap(), "--srs-sha256", &wrong],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pinned hash"), "{}", stderr(&o));
    assert!(!bundle.exists());

    let o = prove(
        &fixture("model.msgpack"),
        &fixture("input.msgpack"),
        &keys,
        &bundle,
        &["--srs", srs.to_str().unwrap(), "--srs-sha256", &sha],
    );
    assert!(o.status.success());
    // Not the dev setup, but not a known ceremony either (its tau comes from a public seed):
    // refused until the verifier trusts its digest by name.
    let digest = chunkproof_core::Bundle::read(&bundle).unwrap().srs_digest.to_string();
    let o = run(bin().arg("verify").arg(&bundle).arg("--keys").arg(&keys));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a known ceremony") && stderr(&o).contains(&digest), "{}", stderr(&o));
    let o = run(bin().arg("verify").arg(&bundle).arg("--keys").arg(&keys).args(["--trust-srs", &digest]));
    assert!(o.status.success());
    assert!(!stdout(&o).contains("INSECURE"));
    assert!(stdout(&o).contains("trusted by --trust-srs"), "{}", stdout(&o));
}

#[test]
fn zkml_mnist_when_present() {
    let mnist = root().join("../shared/fixtures/zkml/mnist");
    let present = mnist.join("model.msgpack").exists();
    if !chunkproof_prover::testing::prerequisite(
        "shared",
        present,
        &format!("{} is not present", mnist.display()),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (keys, bundle) = (dir.path().join("keys"), dir.path().join("mnist.bundle"));
    let o = prove(&mnist.join("model.msgpack"), &mnist.join("inp.msgpack"), &keys, &bundle, &["--dev-setup"]);
    assert!(o.status.success());
    let o = run(bin().arg("verify").arg(&bundle).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert!(o.status.success());
    // the digit in zkml's input is a 5: the largest logit is the sixth
    let line = stdout(&o);
    let outs: Vec<i64> = line[line.find('[').unwrap() + 1..line.find(']').unwrap()]
        .split(", ")
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(outs.iter().enumerate().max_by_key(|(_, v)| **v).unwrap().0, 5);
    let o = run(bin().arg("audit").arg(&bundle).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert!(o.status.success());
}

/// `--engine cuda-msm` on a machine or build without a GPU, and `--gpu` / `--engine cuda-full`
/// with a stand-in worker: clear errors, exit status 2, no bundle; arguments forwarded intact.
#[test]
fn gpu_engines_fail_cleanly_without_a_gpu() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.bundle");
    let keys = dir.path().join("k");
    let o = prove(
        &fixture("model.msgpack"),
        &fixture("input.msgpack"),
        &keys,
        &out,
        &["--dev-setup", "--engine", "cuda-msm"],
    );
    if o.status.success() {
        // A `gpu` build on a GPU machine: then the bundle must verify.
        let v = run(bin().arg("verify").arg(&out).arg("--keys").arg(&keys).arg("--dev-setup"));
        assert!(v.status.success());
    } else {
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("backend cuda-msm"), "{}", stderr(&o));
        assert!(!out.exists());
    }

    let worker = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    let with_worker = |w: &Path, extra: &[&str]| {
        let mut c = bin();
        c.env("CHUNKPROOF_GPU_WORKER", w).args(["prove", "--model"]).arg(fixture("model.msgpack"));
        c.arg("--input").arg(fixture("input.msgpack")).arg("--keys").arg(&keys).arg("--out").arg(&out);
        c.args(["--dev-setup", "--chunks", "3"]).args(extra);
        run(&mut c)
    };
    // No driver: the dynamic loader's exit status 127.
    let o = with_worker(&worker("nodriver", "exit 127"), &["--gpu"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("libcuda.so.1"), "{}", stderr(&o));
    // No GPU: halo2-axiom-gpu aborts before main.
    let o = with_worker(&worker("abort", "kill -ABRT $$"), &["--engine", "cuda-full"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("killed by signal 6"), "{}", stderr(&o));
    // The worker-pool options do not apply to the single GPU worker: refused by name.
    let o = with_worker(&worker("unused", "exit 0"), &["--gpu", "--resume", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--resume is not available with full GPU proving"), "{}", stderr(&o));
    // A missing worker.
    let o = with_worker(&dir.path().join("absent"), &["--gpu"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot start the GPU worker"), "{}", stderr(&o));
    assert!(!out.exists());
    // The worker gets `prove` and every argument but the engine selection.
    let args = dir.path().join("args.txt");
    let o = with_worker(&worker("echo", &format!("echo \"$@\" > {}", args.display())), &["--gpu", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = std::fs::read_to_string(&args).unwrap();
    assert!(
        got.starts_with("prove --model ") && got.contains("--chunks 3") && got.contains("--json"),
        "{got}"
    );
    assert!(!got.contains("--gpu") && !got.contains("--engine"), "{got}");
}

/// `aggregate --gpu` hands the whole command to the GPU worker: its `aggregate` subcommand gets
/// every argument but `--gpu`; a worker that cannot start is a clean error (exit 2) that names
/// what was not written, and no aggregated proof appears.
#[test]
fn aggregate_on_the_gpu_goes_through_the_worker() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.agg");
    let worker = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    let aggregate = |w: &Path, extra: &[&str]| {
        let mut c = bin();
        c.env("CHUNKPROOF_GPU_WORKER", w).arg("aggregate").arg(dir.path().join("b.bundle"));
        c.arg("--keys").arg(dir.path().join("keys")).arg("--out").arg(&out).arg("--dev-setup").args(extra);
        run(&mut c)
    };
    let o = aggregate(&worker("nodriver", "exit 127"), &["--gpu"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("libcuda.so.1") && stderr(&o).contains("no aggregated proof"),
        "{}",
        stderr(&o)
    );
    let o = aggregate(&worker("abort", "kill -ABRT $$"), &["--gpu", "--arity", "2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("killed by signal 6"), "{}", stderr(&o));
    // the worker's own verdict (1: the bundle did not verify) is passed on
    let o = aggregate(&worker("rejects", "exit 1"), &["--gpu"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!out.exists());
    let args = dir.path().join("args.txt");
    let o = aggregate(
        &worker("echo", &format!("echo \"$@\" > {}", args.display())),
        &["--gpu", "--k", "21", "--keep-pk", "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let got = std::fs::read_to_string(&args).unwrap();
    assert!(
        got.starts_with("aggregate ")
            && got.contains("--k 21")
            && got.contains("--keep-pk")
            && got.contains("--json"),
        "{got}"
    );
    assert!(got.contains("--dev-setup") && !got.contains("--gpu"), "{got}");
    // without --gpu the CPU runs it here: a missing bundle is this binary's own error
    let o = aggregate(&worker("unused", "exit 0"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("GPU worker"), "{}", stderr(&o));
}

/// `inspect`: every layer with shapes, weights, MACs and estimated rows; the monolithic estimate
/// and the plan; JSON agrees with the table; a bad model file is a clean error.
#[test]
fn inspect_model() {
    let o = run(bin().arg("inspect").arg(fixture("model.msgpack")));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for kind in ["Conv2D", "AveragePool2D", "Mul", "Add", "Reshape", "FullyConnected"] {
        assert!(text.contains(kind), "{kind} missing:\n{text}");
    }
    assert!(text.contains("monolithic: ~") && text.contains("plan for 4 chunks"), "{text}");
    let o = run(bin().arg("inspect").arg(fixture("model.msgpack")).args(["--chunks", "3", "--json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let layers = j["layers"].as_array().unwrap();
    let plan = j["plan"].as_array().unwrap();
    assert_eq!(plan.len(), 3);
    assert_eq!(plan[0]["layers"][0], 0);
    assert_eq!(plan[2]["layers"][1].as_u64().unwrap() as usize, layers.len());
    let weights: u64 = layers.iter().map(|l| l["weights"].as_u64().unwrap()).sum();
    assert_eq!(j["weights"].as_u64().unwrap(), weights);
    assert!(weights > 0);
    let conv = layers.iter().find(|l| l["kind"] == "Conv2D").unwrap();
    // the fixture's convolutions are checked with the random challenge: product rows, no dot rows
    assert!(conv["macs"].as_u64().unwrap() > 0 && conv["product_rows"].as_u64().unwrap() > 0);
    assert_eq!(conv["check"], "random challenge");
    assert!(layers
        .iter()
        .filter(|l| l["kind"] == "Reshape")
        .all(|l| l["macs"] == 0 && l["custom_rows"] == 0 && l["product_rows"] == 0));
    assert!(j["monolithic"]["rows"].as_u64().unwrap() > 0);
    assert!(plan.iter().all(|c| c["passed_through"] == 0), "a chain of whole layers passes nothing through");
    // In 6 chunks the first convolution's run is cut into parts: a chunk reads the model input
    // (leaf 0) without its predecessor's leaf, and the chunk that joins the parts reads the
    // leaves of the chunks that computed them; nothing is read only to be passed on.
    let o = run(bin().arg("inspect").arg(fixture("model.msgpack")).args(["--chunks", "6", "--json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let plan = j["plan"].as_array().unwrap();
    let reads: Vec<Vec<u64>> = plan
        .iter()
        .map(|c| c["reads"].as_array().unwrap().iter().map(|r| r["leaf"].as_u64().unwrap()).collect())
        .collect();
    assert!(reads.iter().enumerate().any(|(i, r)| r != &[i as u64]), "{reads:?}");
    assert!(reads.iter().any(|r| r.len() >= 2), "{reads:?}");
    let through: Vec<u64> = plan.iter().map(|c| c["passed_through"].as_u64().unwrap()).collect();
    assert!(through.iter().all(|n| *n == 0), "{through:?}");
    let o = run(bin().args(["plan", "--chunks", "6", "--model"]).arg(fixture("model.msgpack")));
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> =
        stdout(&o).lines().filter(|l| l.starts_with("chunk ")).map(String::from).collect();
    // `plan` names the leaves a chunk reads when they are not just its predecessor's
    let said: Vec<Vec<u64>> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| match l.split_once("reads leaves ") {
            None => vec![i as u64],
            Some((_, rest)) => rest
                .split(", out ")
                .next()
                .unwrap()
                .split(" + ")
                .map(|r| r.split(' ').next().unwrap().parse().unwrap())
                .collect(),
        })
        .collect();
    assert_eq!(said, reads, "plan and inspect agree on the leaves read");
    // inspect's text says what each chunk reads in plan's words
    let o = run(bin().arg("inspect").arg(fixture("model.msgpack")).args(["--chunks", "6"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(!text.contains("null"), "{text}");
    for (i, l) in lines.iter().enumerate() {
        let reads = l.split("], ").nth(1).unwrap().split(", out ").next().unwrap();
        assert!(
            text.contains(&format!("  chunk {i}: ")) && text.contains(&format!("], {reads}, out ")),
            "{reads}:\n{text}"
        );
    }
    let said: Vec<u64> = lines
        .iter()
        .map(|l| {
            l.split(" passed through")
                .next()
                .filter(|h| h.len() < l.len())
                .map_or(0, |h| h.rsplit(' ').next().unwrap().parse().unwrap())
        })
        .collect();
    assert_eq!(said, through, "plan and inspect agree");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.msgpack");
    std::fs::write(&bad, b"\x93\x01\x02").unwrap();
    let o = run(bin().arg("inspect").arg(&bad));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("malformed model"), "{}", stderr(&o));
}

/// `inspect` and `plan` on a model of 67M weights (a 8192 → 8192 dense layer twice over, about
/// 140 MB of msgpack) finish in seconds and hold each weight once (about 8 bytes per weight).
#[test]
fn inspect_and_plan_a_67m_weight_model() {
    #[derive(serde::Serialize)]
    struct T {
        idx: i64,
        shape: Vec<i64>,
        data: Vec<i64>,
    }
    let n = 8192usize;
    let half = n * n / 2;
    let tensors = vec![
        T {
            idx: 1,
            shape: vec![(n / 2) as i64, n as i64],
            data: (0..half).map(|i| (i % 601) as i64 - 300).collect(),
        },
        T {
            idx: 2,
            shape: vec![n as i64, (n / 2) as i64],
            data: (0..half).map(|i| (i % 599) as i64 - 299).collect(),
        },
    ];
    let fc = |ins: [i64; 2], k: usize, o: usize, out: i64| {
        serde_json::json!({"layer_type": "FullyConnected", "params": [1], "inp_idxes": ins,
            "inp_shapes": [[1, k], [o, k]], "out_idxes": [out], "out_shapes": [[1, o]], "mask": []})
    };
    #[derive(serde::Serialize)]
    struct M {
        global_sf: i64,
        inp_idxes: Vec<i64>,
        out_idxes: Vec<i64>,
        tensors: Vec<T>,
        layers: Vec<serde_json::Value>,
    }
    let model = M {
        global_sf: 256,
        inp_idxes: vec![0],
        out_idxes: vec![4],
        tensors,
        layers: vec![fc([0, 1], n, n / 2, 3), fc([3, 2], n / 2, n, 4)],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.msgpack");
    std::fs::write(&path, rmp_serde::to_vec_named(&model).unwrap()).unwrap();
    drop(model);
    let start = std::time::Instant::now();
    let o = run(bin().arg("inspect").arg(&path).args(["--chunks", "2", "--json"]));
    let secs = start.elapsed().as_secs_f64();
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["weights"].as_u64().unwrap(), (n * n) as u64);
    let rss_mib = j["peak_rss_kib"].as_u64().unwrap() / 1024;
    println!("inspect of {} weights: {secs:.1} s, peak RSS {rss_mib} MiB", n * n);
    assert!(secs < 30.0, "inspect took {secs:.1} s");
    assert!(rss_mib < 1536, "inspect peaked at {rss_mib} MiB for {} weights", n * n);
    let start = std::time::Instant::now();
    let o = run(bin().arg("plan").arg("--model").arg(&path).args(["--chunks", "2"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("chunk 1: layers 1..2"), "{}", stdout(&o));
    assert!(start.elapsed().as_secs_f64() < 30.0);
}

/// `--max-k`: a dense layer too large for `2^15` rows is cut into parts; the jobs carry the
/// splits to local worker processes, which rewrite the model the same way; the bundle verifies
/// and its outputs are the unsplit model's. Too small a `k` is a typed error naming the layer.
#[test]
fn max_k_cuts_a_layer_into_parts_across_workers() {
    let (k, o) = (512usize, 64usize);
    let w: Vec<i64> = (0..o * k).map(|i| (i as i64 * 7919 % 81) - 40).collect();
    let w2: Vec<i64> = (0..4 * o).map(|i| (i as i64 * 104_729 % 81) - 40).collect();
    let model = serde_json::json!({
        "global_sf": 64, "inp_idxes": [0], "out_idxes": [11],
        "tensors": [{"idx": 1, "shape": [o, k], "data": w}, {"idx": 2, "shape": [4, o], "data": w2}],
        "layers": [
            {"layer_type": "FullyConnected", "params": [1], "inp_idxes": [0, 1], "inp_shapes": [[1, k], [o, k]],
             "out_idxes": [10], "out_shapes": [[1, o]], "mask": []},
            {"layer_type": "FullyConnected", "params": [0], "inp_idxes": [10, 2], "inp_shapes": [[1, o], [4, o]],
             "out_idxes": [11], "out_shapes": [[1, 4]], "mask": []}]});
    let input: Vec<i64> = (0..k).map(|i| (i as i64 * 31 % 129) - 64).collect();
    let dir = tempfile::tempdir().unwrap();
    let (mp, ip) = (dir.path().join("m.msgpack"), dir.path().join("i.msgpack"));
    std::fs::write(&mp, rmp_serde::to_vec_named(&model).unwrap()).unwrap();
    std::fs::write(
        &ip,
        rmp_serde::to_vec_named(&serde_json::json!([{"idx": 0, "shape": [1, k], "data": input}])).unwrap(),
    )
    .unwrap();
    let graph = chunkproof_prover::model::load_model(&mp).unwrap();
    let inp = chunkproof_prover::model::load_input(&ip, &graph).unwrap();
    let want = chunkproof_prover::interpret::run(&graph, &inp).unwrap().outputs(&graph);

    let o = run(bin().arg("plan").arg("--model").arg(&mp).args(["--max-k", "15"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("layer 0 (FullyConnected) cut into"), "{}", stdout(&o));
    // the parts read the model input (leaf 0) and the chunk that joins them reads their leaves
    assert!(stdout(&o).contains("reads leaves 0 ("), "{}", stdout(&o));
    assert!(stdout(&o).contains(" + "), "{}", stdout(&o));
    let (keys, out) = (dir.path().join("keys"), dir.path().join("b.bundle"));
    let o = run(bin()
        .arg("prove")
        .arg("--model")
        .arg(&mp)
        .arg("--input")
        .arg(&ip)
        .arg("--keys")
        .arg(&keys)
        .arg("--out")
        .arg(&out)
        .args(["--dev-setup", "--max-k", "15", "--workers", "2", "--json"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let chunks = report["report"]["chunks"].as_array().unwrap();
    assert!(chunks.len() > 1, "{} chunks", chunks.len());
    assert!(chunks.iter().all(|c| c["params"]["k"].as_u64().unwrap() <= 15), "{chunks:?}");
    let outputs: Vec<i64> =
        report["outputs"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert_eq!(outputs, want);
    let o = run(bin().arg("verify").arg(&out).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(bin().arg("audit").arg(&out).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert!(o.status.success() && stdout(&o).contains("(part 1 of"), "{}", stdout(&o));
    let o = run(bin().arg("audit").arg(&out).arg("--keys").arg(&keys).arg("--dev-setup").arg("--json"));
    let audit: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let reads: Vec<usize> = audit["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["leaves_in"].as_array().unwrap().len())
        .collect();
    assert!(reads.iter().any(|n| *n >= 2), "a chunk reads several leaves: {reads:?}");

    let o = run(bin().arg("plan").arg("--model").arg(&mp).args(["--max-k", "12"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("2^12") && stderr(&o).contains("layer 0 (FullyConnected)"), "{}", stderr(&o));
}

/// `--width`: chunk circuits with several columns per kind, proven by two worker processes (the
/// jobs carry the width), verified, and their columns part of what the model id binds.
#[test]
fn width_gives_shorter_circuits_with_more_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, out) = (dir.path().join("keys"), dir.path().join("wide.bundle"));
    let o = prove(
        &fixture("model.msgpack"),
        &fixture("input.msgpack"),
        &keys,
        &out,
        &["--dev-setup", "--width", "6", "--workers", "2", "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let outputs: Vec<i64> =
        report["outputs"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    assert_eq!(outputs, expected_outputs());
    let chunks = report["report"]["chunks"].as_array().unwrap();
    let golden = chunkproof_core::Bundle::read(&fixture("bundle_v5.bundle")).unwrap();
    assert_ne!(report["model_id"].as_str().unwrap(), golden.model_id.to_string());
    let wide: Vec<&serde_json::Value> =
        chunks.iter().filter(|c| c["params"].get("columns").is_some()).collect();
    assert!(!wide.is_empty(), "no chunk took more columns: {chunks:?}");
    for c in &wide {
        let cols = &c["params"]["columns"];
        for kind in ["main", "lookup", "custom"] {
            assert!((1..=6).contains(&cols[kind].as_u64().unwrap()), "{c}");
        }
    }
    let o = run(bin().arg("verify").arg(&out).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert!(o.status.success(), "{}", stderr(&o));

    // a cache entry's break points and shape are compared with the circuit, not believed
    let entry = std::fs::read_dir(keys.join("circuits"))
        .unwrap()
        .map(|e| e.unwrap().path().join("meta.json"))
        .find(|m| std::fs::read_to_string(m).unwrap().contains("\"columns\""))
        .expect("a wide cache entry");
    let honest = std::fs::read(&entry).unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&honest).unwrap();
    let again = || {
        prove(
            &fixture("model.msgpack"),
            &fixture("input.msgpack"),
            &keys,
            &dir.path().join("again.bundle"),
            &["--dev-setup", "--width", "6"],
        )
    };
    for (field, value, says) in [
        ("break_points", serde_json::json!([[1usize << 40]]), "break points"),
        ("params", serde_json::json!({"k": 20, "lookup_bits": 16}), "recorded shape"),
    ] {
        let mut bad = meta.clone();
        bad[field] = value;
        std::fs::write(&entry, serde_json::to_vec(&bad).unwrap()).unwrap();
        let o = again();
        assert!(!o.status.success() && stderr(&o).contains(says), "{field}: {}", stderr(&o));
    }
    std::fs::write(&entry, &honest).unwrap();
    // a truncated proving key is a typed error naming it (halo2 would panic reading it)
    let pk = entry.with_file_name("pk.bin");
    let whole = std::fs::read(&pk).unwrap();
    std::fs::write(&pk, &whole[..whole.len() / 2]).unwrap();
    let o = again();
    assert!(!o.status.success() && o.status.code() != Some(101), "{}", stderr(&o));
    assert!(stderr(&o).contains("pk.bin unreadable"), "{}", stderr(&o));
    std::fs::write(&pk, &whole).unwrap();

    // the key set records the columns; another count is another circuit, refused
    let models = keys.join("models");
    let record = std::fs::read_dir(&models).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(&record).unwrap();
    let at = text.find("\"main\":").expect("columns in the key set");
    let digit = at + "\"main\":".len() + text[at + 7..].find(|c: char| c.is_ascii_digit()).unwrap();
    let n: u32 = text[digit..digit + 1].parse().unwrap();
    let tampered =
        format!("{}{}{}", &text[..digit], (n % 5) + 1 + u32::from(n % 5 + 1 == n), &text[digit + 1..]);
    assert_ne!(tampered, text);
    std::fs::write(&record, tampered).unwrap();
    let o = run(bin().arg("verify").arg(&out).arg("--keys").arg(&keys).arg("--dev-setup"));
    assert!(!o.status.success(), "a key set with another column count verified");
}
