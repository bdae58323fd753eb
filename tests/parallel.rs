//! The local backend: worker processes, retries, memory budget, resume, clean failures.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use chunkproof_core::Bundle;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chunkproof"))
}

fn fixture(name: &str) -> PathBuf {
    common::root().join("fixtures/digits_v1").join(name)
}

fn prove_cmd(keys: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = bin();
    c.args(["prove", "--chunks", "4", "--dev-setup", "--json", "--model"])
        .arg(fixture("model.msgpack"))
        .arg("--input")
        .arg(fixture("input.msgpack"))
        .arg("--keys")
        .arg(keys)
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn report(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

/// JSON progress events (`--json` writes them to stderr, one per line).
fn events(o: &Output) -> Vec<serde_json::Value> {
    stderr(o).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn verify(bundle: &Path, keys: &Path) {
    let o = run(bin().arg("verify").arg(bundle).arg("--keys").arg(keys).arg("--dev-setup"));
    assert!(o.status.success(), "verify: {}", stderr(&o));
}

/// 4 chunks on 2 workers give the bundle of 1 worker (same root, outputs and model id, with
/// the test-only salt seed), and it verifies; a tiny memory budget serialises the workers.
#[test]
fn two_workers_match_one() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let mut bundles = Vec::new();
    for (name, extra) in [
        ("w1", vec!["--workers", "1"]),
        ("w2", vec!["--workers", "2"]),
        ("budget", vec!["--workers", "2", "--max-memory", "1M"]),
    ] {
        let out = dir.path().join(format!("{name}.bundle"));
        let mut args = vec!["--insecure-salt-seed", "7"];
        args.extend(extra);
        let o = run(&mut prove_cmd(&keys, &out, &args));
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        verify(&out, &keys);
        let ev = events(&o);
        let started = ev.iter().filter(|e| e["event"] == "started").count();
        assert_eq!(started, 4, "{name}: one worker process per chunk");
        if name == "budget" {
            assert!(ev.iter().any(|e| e["event"] == "waiting-for-memory"), "{name}: budget not applied");
        }
        let b = Bundle::read(&out).unwrap();
        assert_eq!(b.meta.backend, report(&o)["backend"].as_str().unwrap());
        bundles.push(b);
    }
    assert!(bundles[1].meta.backend.contains("local workers (2)"), "{}", bundles[1].meta.backend);
    for b in &bundles[1..] {
        assert_eq!(b.root, bundles[0].root);
        assert_eq!(b.outputs, bundles[0].outputs);
        assert_eq!(b.model_id, bundles[0].model_id);
        assert_eq!(b.leaves, bundles[0].leaves);
    }
    // Without the seed the salts are fresh: another root for the same outputs.
    let out = dir.path().join("fresh.bundle");
    let o = run(&mut prove_cmd(&keys, &out, &["--workers", "2"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let fresh = Bundle::read(&out).unwrap();
    assert_ne!(fresh.root, bundles[0].root);
    assert_eq!(fresh.outputs, bundles[0].outputs);
    // The seed is refused with a real setup (clap: it requires --dev-setup).
    let o = run(bin().args(["prove", "--model", "m", "--input", "i", "--keys", "k", "--out", "o"]).args([
        "--srs",
        "x",
        "--srs-sha256",
        "00",
        "--insecure-salt-seed",
        "1",
    ]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--dev-setup"), "{}", stderr(&o));
}

/// The pids of running `prove-chunk` workers of chunk `i` of the run in `run_dir`.
fn workers_of(run_dir: &Path, i: usize) -> Vec<u32> {
    let needle = run_dir.join("jobs").join(format!("chunk-{i:04}.job")).display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    let c = String::from_utf8_lossy(&c);
                    c.contains("prove-chunk") && c.contains(&needle)
                })
                .unwrap_or(false)
        })
        .collect()
}

/// Killing a worker process (SIGKILL, mid-run) makes its chunk retry; the bundle verifies.
#[test]
fn killed_worker_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let out = dir.path().join("k.bundle");
    let run_dir = dir.path().join("run");
    let child = prove_cmd(&keys, &out, &["--workers", "2", "--resume"])
        .arg(&run_dir)
        .env("CHUNKPROOF_WORKER_START_DELAY_MS", "1500")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let victim = loop {
        if let Some(pid) = workers_of(&run_dir, 1).first() {
            break *pid;
        }
        assert!(Instant::now() < deadline, "no worker for chunk 1 appeared");
        std::thread::sleep(Duration::from_millis(20));
    };
    // The worker sleeps 1.5 s before proving: it is alive when killed.
    let k = Command::new("kill").args(["-9", &victim.to_string()]).status().unwrap();
    assert!(k.success());
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let ev = events(&o);
    let failed: Vec<_> = ev.iter().filter(|e| e["event"] == "attempt-failed").collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["chunk"], 1);
    assert_eq!(failed[0]["retry"], true);
    assert!(failed[0]["reason"].as_str().unwrap().contains("signal 9"), "{failed:?}");
    let r = report(&o);
    assert_eq!(r["report"]["chunks"][1]["attempts"], 2);
    assert_eq!(r["report"]["chunks"][0]["attempts"], 1);
    verify(&out, &keys);
    // The attempt logs are kept in the run directory.
    assert!(run_dir.join("logs/chunk-0001.attempt-1.log").exists());
    assert!(run_dir.join("logs/chunk-0001.attempt-2.log").exists());
}

/// A chunk that fails on every attempt: a clear error naming it, no bundle, the other chunks'
/// results kept; `--resume` then reuses them and proves only the failed chunk.
#[test]
fn failing_chunk_then_resume() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let out = dir.path().join("r.bundle");
    let run_dir = dir.path().join("run");
    let o = run(prove_cmd(&keys, &out, &["--workers", "2", "--retries", "1", "--resume"])
        .arg(&run_dir)
        .env("CHUNKPROOF_WORKER_FAIL_CHUNK", "2"));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("chunk 2 failed after 2 attempt(s)"), "{err}");
    assert!(err.contains("injected failure of chunk 2"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert!(!out.exists(), "no bundle after a failure");
    // Other chunks may or may not have finished before the run stopped; chunk 2 has no result.
    assert!(!run_dir.join("results/chunk-0002.result").exists());
    let kept: Vec<usize> =
        (0..4).filter(|i| run_dir.join(format!("results/chunk-{i:04}.result")).exists()).collect();

    let o = run(prove_cmd(&keys, &out, &["--workers", "2", "--resume"]).arg(&run_dir));
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&o);
    let reused: Vec<usize> =
        r["reused_chunks"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    assert_eq!(reused, kept);
    let started = events(&o).iter().filter(|e| e["event"] == "started").count();
    assert_eq!(started, 4 - kept.len());
    verify(&out, &keys);

    // Resuming everything: no worker at all, the same root.
    let first = Bundle::read(&out).unwrap();
    let o = run(prove_cmd(&keys, &out, &["--resume"]).arg(&run_dir));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(events(&o).iter().filter(|e| e["event"] == "started").count(), 0);
    assert_eq!(Bundle::read(&out).unwrap().root, first.root);

    // A run directory of another run is refused by name.
    let o = run(bin()
        .args(["prove", "--chunks", "3", "--dev-setup", "--model"])
        .arg(fixture("model.msgpack"))
        .arg("--input")
        .arg(fixture("input.msgpack"))
        .arg("--keys")
        .arg(&keys)
        .arg("--out")
        .arg(dir.path().join("x.bundle"))
        .arg("--resume")
        .arg(&run_dir));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot resume from") && stderr(&o).contains("chunks (4 then, 3 now)"),
        "{}",
        stderr(&o)
    );
}

/// The driver judges a result by the verifying key it derives itself. A valid proof of another
/// chunk's circuit — a chunk of chunk 3's shape: its verifying key and proof, whose only public
/// instance is the root (the output is private), so they pass as chunk 3's — written into a `--resume`
/// directory as chunk 3's result is refused by name and chunk 3 is proven again; the model id
/// is the honest one.
#[test]
fn result_under_another_circuits_key_is_refused() {
    use chunkproof_prover::run::job::{ChunkJob, ChunkResult, JobFile};
    use chunkproof_prover::run::rundir::{job_file, result_file};
    use chunkproof_prover::setup::{SetupChoice, Srs};

    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let out = dir.path().join("h.bundle");
    let run_dir = dir.path().join("run");
    let o = run(prove_cmd(&keys, &out, &["--private-output", "--resume"]).arg(&run_dir));
    assert!(o.status.success(), "{}", stderr(&o));
    let honest = Bundle::read(&out).unwrap();

    // a chunk whose circuit has chunk 3's shape (so only its verifying key tells them apart)
    let own = ChunkResult::read(&result_file(&run_dir, 3)).unwrap();
    let donor = (0..3)
        .map(|j| ChunkResult::read(&result_file(&run_dir, j)).unwrap())
        .find(|r| r.meta.params == own.meta.params)
        .expect("another chunk with chunk 3's circuit shape");
    let job = ChunkJob::read(&job_file(&run_dir, 3)).unwrap();
    let forged = ChunkResult { index: 3, job_digest: job.digest(), ..donor };
    assert_eq!(forged.instances, job.expected_instances(), "both chunks expose the same instances");
    // It is a valid proof under the key it carries: judged by its own key, it would pass.
    let srs = Srs::open(&SetupChoice::Dev, None).unwrap();
    let vk = chunkproof_core::keyset::read_vk(&forged.vk, forged.meta.params, 3).unwrap();
    let instances: Vec<_> = forged.instances.iter().map(|b| b.to_fr().unwrap()).collect();
    let params = srs.verifier().params(forged.meta.params.k).unwrap();
    chunkproof_verifier::verify_chunk_proof(&params, &vk, &instances, &forged.proof, (3, Default::default()))
        .unwrap();
    forged.write(&result_file(&run_dir, 3)).unwrap();

    let o = run(prove_cmd(&keys, &out, &["--private-output", "--resume"]).arg(&run_dir));
    assert!(o.status.success(), "{}", stderr(&o));
    let refused: Vec<_> = events(&o).into_iter().filter(|e| e["event"] == "result-refused").collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["chunk"], 3);
    let reason = refused[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("chunk 3") && reason.contains("not the one the driver derived for this chunk"),
        "{reason}"
    );
    let reused: Vec<u64> =
        report(&o)["reused_chunks"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(reused, [0, 1, 2]);
    let again = Bundle::read(&out).unwrap();
    assert_eq!(again.model_id, honest.model_id);
    assert_eq!(again.root, honest.root);
    verify(&out, &keys);
}

/// `prove-chunk` on bad job files, and bad `prove` options: typed errors, exit 2, no output.
#[test]
fn bad_jobs_and_options() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.result");
    let job = dir.path().join("bad.job");
    std::fs::write(&job, b"not msgpack at all").unwrap();
    let o = run(bin().arg("prove-chunk").arg(&job).arg("--out").arg(&out).arg("--keys").arg(dir.path()));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a chunkproof-chunk-job file"), "{}", stderr(&o));
    // A result file is not a job.
    let mut wrong =
        rmp_serde::to_vec_named(&serde_json::json!({"format": "chunkproof-chunk-result", "version": 1}))
            .unwrap();
    std::fs::write(&job, &wrong).unwrap();
    let o = run(bin().arg("prove-chunk").arg(&job).arg("--out").arg(&out).arg("--keys").arg(dir.path()));
    assert!(stderr(&o).contains("expected \"chunkproof-chunk-job\""), "{}", stderr(&o));
    wrong = rmp_serde::to_vec_named(&serde_json::json!({"format": "chunkproof-chunk-job", "version": 9}))
        .unwrap();
    std::fs::write(&job, &wrong).unwrap();
    let o = run(bin().arg("prove-chunk").arg(&job).arg("--out").arg(&out).arg("--keys").arg(dir.path()));
    assert!(stderr(&o).contains("version 9"), "{}", stderr(&o));
    assert!(!out.exists());

    let keys = dir.path().join("keys");
    let b = dir.path().join("b.bundle");
    for (args, needle) in [
        (vec!["--workers", "0"], "--workers must be at least 1"),
        (vec!["--max-memory", "lots"], "not a size"),
        (vec!["--max-memory", "5X"], "unknown unit"),
    ] {
        let o = run(&mut prove_cmd(&keys, &b, &args));
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    assert!(!b.exists());
}
