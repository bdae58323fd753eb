//! The Ray backend against a real two-node Ray cluster on 127.0.0.1, inside a private network
//! namespace (`unshare -n`), started and stopped by `tests/ray/scenarios.sh`; and clean errors
//! when Python or `ray` is missing.
//!
//! Needs the pinned Ray (`make ray-env`: `CHUNKPROOF_PYTHON` and `CHUNKPROOF_RAY`, or the
//! default virtual environment under `~/.cache/chunkproof/ray-venv`) and permission to create
//! a network namespace (root).
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chunkproof_core::Bundle;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chunkproof"))
}

fn fixture_dir() -> PathBuf {
    common::root().join("fixtures/digits_v1")
}

fn venv_tool(var: &str, name: &str) -> PathBuf {
    let p = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/chunkproof/ray-venv/bin").join(name)
    });
    assert!(p.exists(), "{} not found: run `make ray-env` (or set {var})", p.display());
    p
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn events(text: &str) -> Vec<serde_json::Value> {
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn verify(bundle: &Path, keys: &Path) -> Output {
    Command::new(bin()).arg("verify").arg(bundle).arg("--keys").arg(keys).arg("--dev-setup").output().unwrap()
}

#[test]
fn two_node_cluster() {
    let can = Command::new("unshare").args(["-n", "true"]).status().map(|s| s.success()).unwrap_or(false);
    if !chunkproof_prover::testing::prerequisite(
        "unshare",
        can,
        "cannot create a network namespace here (`unshare -n` needs root); the Ray cluster test did not run",
    ) {
        return;
    }
    let python = venv_tool("CHUNKPROOF_PYTHON", "python");
    let ray = venv_tool("CHUNKPROOF_RAY", "ray");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let status = Command::new("unshare")
        .arg("-n")
        .arg("bash")
        .arg(common::root().join("tests/ray/scenarios.sh"))
        .arg(out)
        .arg(bin())
        .arg(&ray)
        .arg(&python)
        .arg(fixture_dir())
        .status()
        .unwrap();
    assert!(status.success(), "cluster scenarios failed to run ({status}); logs in {}", out.display());
    eprintln!("{}", read(out, "timing.txt"));
    let keys = out.join("keys");

    // 1. Honest: every chunk proven on the worker node (the one with the custom resource),
    //    the bundle verifies and matches a local run with the same salts.
    assert_eq!(read(out, "honest.rc").trim(), "0", "{}", read(out, "honest.err"));
    let ev = events(&read(out, "honest.err"));
    let proven: Vec<_> = ev.iter().filter(|e| e["event"] == "proven").collect();
    assert_eq!(proven.len(), 4, "{ev:?}");
    for e in &proven {
        let res: Vec<&str> =
            e["node_resources"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert!(
            res.contains(&"chunkproof_worker"),
            "chunk {} ran on a node without the resource: {e}",
            e["chunk"]
        );
    }
    let v = verify(&out.join("honest.bundle"), &keys);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let honest = Bundle::read(&out.join("honest.bundle")).unwrap();
    assert!(honest.meta.backend.starts_with("ray ("), "{}", honest.meta.backend);
    let local = out.join("local.bundle");
    let o = Command::new(bin())
        .args(["prove", "--chunks", "4", "--dev-setup", "--insecure-salt-seed", "7", "--model"])
        .arg(fixture_dir().join("model.msgpack"))
        .arg("--input")
        .arg(fixture_dir().join("input.msgpack"))
        .arg("--keys")
        .arg(&keys)
        .arg("--out")
        .arg(&local)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let local = Bundle::read(&local).unwrap();
    assert_eq!((local.root, local.model_id, &local.outputs), (honest.root, honest.model_id, &honest.outputs));

    // 2. The worker process of chunk 1 was killed mid-proof: Ray retried it, the bundle verifies.
    let killed = read(out, "killed.pid");
    assert!(killed.trim().parse::<u32>().is_ok(), "no worker of chunk 1 was seen to kill: {killed}");
    assert_eq!(read(out, "killed.rc").trim(), "0", "{}", read(out, "killed.err"));
    let v = verify(&out.join("killed.bundle"), &keys);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    assert_eq!(Bundle::read(&out.join("killed.bundle")).unwrap().root, honest.root);

    // 3. A chunk that always fails: exit 2, an error naming it, no bundle.
    assert_eq!(read(out, "failing.rc").trim(), "2");
    let err = read(out, "failing.err");
    assert!(err.contains("chunk 2 failed after 2 attempt(s)"), "{err}");
    assert!(err.contains("injected failure of chunk 2"), "{err}");
    assert!(!out.join("failing.bundle").exists());

    // 4. A resource no node offers: a clear error, not a task pending forever.
    assert_eq!(read(out, "infeasible.rc").trim(), "2");
    let err = read(out, "infeasible.err");
    assert!(err.contains("no node of the cluster offers") && err.contains("no_such_resource=1"), "{err}");
    assert!(err.contains("chunkproof_worker"), "the offered resources are listed: {err}");
}

/// No Python, or a Python without `ray`: a clear error, exit 2, nothing written.
#[test]
fn missing_python_or_ray() {
    let dir = tempfile::tempdir().unwrap();
    let no_ray = dir.path().join("python-without-ray");
    std::fs::write(&no_ray, "#!/bin/sh\nexec python3 -S \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&no_ray, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (python, needle) in [
        (dir.path().join("absent-python"), "cannot start Python"),
        (no_ray, "has no `ray` module: pip install ray==2.60.0"),
    ] {
        let out = dir.path().join("b.bundle");
        let o = Command::new(bin())
            .args(["prove", "--chunks", "2", "--dev-setup", "--ray", "127.0.0.1:1", "--model"])
            .arg(fixture_dir().join("model.msgpack"))
            .arg("--input")
            .arg(fixture_dir().join("input.msgpack"))
            .arg("--keys")
            .arg(dir.path().join("keys"))
            .arg("--out")
            .arg(&out)
            .env("CHUNKPROOF_PYTHON", &python)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(!out.exists());
    }
}
