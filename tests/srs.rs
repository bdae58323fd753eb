//! Trusted setups end to end: a powers-of-tau ceremony made by snarkjs (npm, pinned in
//! `tools/`) in the test itself, imported with `chunkproof srs import`, proofs on it refused by
//! verifiers until its digest is trusted; prepared and unprepared ceremony files give the same
//! parameters; tampered ceremony files are refused by name.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::root;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chunkproof"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("runs");
    eprintln!("$ {cmd:?}\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn snarkjs() -> Command {
    let js = root().join("tools/node_modules/snarkjs/build/cli.cjs");
    assert!(js.exists(), "{} not found: run `make tools`", js.display());
    let mut c = Command::new("node");
    c.arg(js);
    c
}

/// A fresh BN254 ceremony of `2^power` powers with one contribution: `(contributed, prepared)`,
/// the second only when `prepare` (phase 2 Lagrange sections, as the downloadable files have).
fn ceremony(dir: &Path, power: u32, prepare: bool) -> (PathBuf, Option<PathBuf>) {
    let (p0, p1, pf) = (dir.join("pot_0.ptau"), dir.join("pot_1.ptau"), dir.join("pot_final.ptau"));
    let ok = |o: Output| assert!(o.status.success(), "snarkjs: {}", text(&o).1);
    ok(run(snarkjs().args(["powersoftau", "new", "bn128", &power.to_string()]).arg(&p0)));
    ok(run(snarkjs()
        .args(["powersoftau", "contribute"])
        .arg(&p0)
        .arg(&p1)
        .args(["--name=chunkproof test", "-e=chunkproof test entropy, not secret"])));
    if prepare {
        ok(run(snarkjs().args(["powersoftau", "prepare", "phase2"]).arg(&p1).arg(&pf)));
    }
    (p1, prepare.then_some(pf))
}

fn import(ptau: &Path, k: u32, out: &Path) -> Output {
    run(bin().args(["srs", "import", "--ptau"]).arg(ptau).args(["--k", &k.to_string()]).arg("--out").arg(out))
}

/// The value after `label` on a line of `s`.
fn field(s: &str, label: &str) -> String {
    s.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|r| r.split_whitespace().next().unwrap().to_string())
        .unwrap_or_else(|| panic!("no {label:?} in {s}"))
}

/// Byte offset of the points of section `id` of a ptau file.
fn section(bytes: &[u8], id: u32) -> usize {
    let mut pos = 12;
    loop {
        let sid = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap());
        let size = u64::from_le_bytes(bytes[pos + 4..pos + 12].try_into().unwrap()) as usize;
        if sid == id {
            return pos + 12;
        }
        pos += 12 + size;
    }
}

#[test]
fn imported_ceremony_proves_and_must_be_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (ptau, _) = ceremony(dir.path(), 12, false);
    let srs = dir.path().join("ceremony-k12.params");
    let o = import(&ptau, 12, &srs);
    assert!(o.status.success());
    let (out, _) = text(&o);
    let (sha, digest) = (field(&out, "sha256 "), field(&out, "srs    "));
    assert!(out.contains("not a known ceremony"), "{out}");
    // More powers than the file holds: refused by name, nothing written.
    let big = dir.path().join("k13.params");
    let o = import(&ptau, 13, &big);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("it holds 2^12 powers of tau; k = 13 needs 2^13"), "{}", text(&o).1);
    assert!(!big.exists());

    let fx = dir.path().join("fx");
    assert!(run(bin().args(["gen-fixture", "tiny_dense_v1", "--out"]).arg(&fx)).status.success());
    let (keys, bundle) = (dir.path().join("keys"), dir.path().join("b.bundle"));
    let o = run(bin()
        .args(["prove", "--chunks", "2", "--model"])
        .arg(fx.join("model.msgpack"))
        .arg("--input")
        .arg(fx.join("input.msgpack"))
        .arg("--keys")
        .arg(&keys)
        .arg("--out")
        .arg(&bundle)
        .arg("--srs")
        .arg(&srs)
        .args(["--srs-sha256", &sha]));
    assert!(o.status.success(), "{}", text(&o).1);
    let said = text(&o).0 + &text(&o).1;
    assert!(said.contains(&format!("--trust-srs {digest}")), "prove names the digest to trust: {said}");

    // Not a known ceremony: refused until the verifier names it; the origin is printed.
    for cmd in ["verify", "audit"] {
        let o = run(bin().arg(cmd).arg(&bundle).arg("--keys").arg(&keys));
        assert_eq!(o.status.code(), Some(if cmd == "verify" { 2 } else { 1 }), "{cmd}");
        let err = text(&o);
        assert!(
            (err.0.clone() + &err.1).contains("not a known ceremony") && (err.0 + &err.1).contains(&digest),
            "{cmd}"
        );
        let o = run(bin().arg(cmd).arg(&bundle).arg("--keys").arg(&keys).args(["--trust-srs", &digest]));
        assert!(o.status.success(), "{cmd}: {}", text(&o).1);
        assert!(text(&o).0.contains(&format!("trusted by --trust-srs {digest}")), "{cmd}: {}", text(&o).0);
    }
    // Another digest does not help.
    let o = run(bin()
        .arg("verify")
        .arg(&bundle)
        .arg("--keys")
        .arg(&keys)
        .args(["--trust-srs", &"11".repeat(32)]));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn prepared_and_tampered_ceremony_files() {
    let dir = tempfile::tempdir().unwrap();
    // 2^7: past 2^5, where snarkjs's roots of unity and halo2's part ways
    let (ptau, prepared) = ceremony(dir.path(), 7, true);
    let prepared = prepared.unwrap();
    let (a, b) = (dir.path().join("a.params"), dir.path().join("b.params"));
    let o = import(&ptau, 7, &a);
    assert!(o.status.success());
    assert!(text(&o).1.contains("Lagrange basis computed"), "{}", text(&o).1);
    let o = import(&prepared, 7, &b);
    assert!(o.status.success());
    assert!(text(&o).1.contains("Lagrange basis from the file, checked"), "{}", text(&o).1);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "prepared and unprepared differ");
    // a smaller k from the same file
    assert!(import(&prepared, 5, &dir.path().join("k5.params")).status.success());

    let bytes = std::fs::read(&ptau).unwrap();
    let g1 = section(&bytes, 2);
    let tampered = |name: &str, edit: &dyn Fn(&mut Vec<u8>)| {
        let mut t = bytes.clone();
        edit(&mut t);
        let p = dir.path().join(name);
        std::fs::write(&p, t).unwrap();
        let out = dir.path().join(format!("{name}.params"));
        let o = import(&p, 7, &out);
        assert_eq!(o.status.code(), Some(2), "{name} accepted");
        assert!(!out.exists(), "{name}: a file was written");
        text(&o).1
    };
    // two valid powers swapped: every point is on the curve, but not a chain of one tau
    let err = tampered("swapped.ptau", &|t| {
        let (x, y) = (g1 + 3 * 64, g1 + 4 * 64);
        let p3: Vec<u8> = t[x..x + 64].to_vec();
        t.copy_within(y..y + 64, x);
        t[y..y + 64].copy_from_slice(&p3);
    });
    assert!(err.contains("not successive powers"), "{err}");
    let err = tampered("offcurve.ptau", &|t| t[g1 + 2 * 64 + 5] ^= 1);
    assert!(err.contains("tauG1[2] is not a point of the curve"), "{err}");
    let err = tampered("magic.ptau", &|t| t[0] = b'x');
    assert!(err.contains("not a ptau file"), "{err}");
    let err = tampered("truncated.ptau", &|t| t.truncate(g1 + 100));
    assert!(err.contains("runs past the end"), "{err}");

    // A corrupt phase-2 section alone: the basis is recomputed from the checked powers.
    let pbytes = std::fs::read(&prepared).unwrap();
    let l = section(&pbytes, 12) + ((1 << 7) - 1) * 64;
    let mut t = pbytes.clone();
    let p0: Vec<u8> = t[l..l + 64].to_vec();
    t.copy_within(l + 64..l + 128, l);
    t[l + 64..l + 128].copy_from_slice(&p0);
    let bad = dir.path().join("bad-lagrange.ptau");
    std::fs::write(&bad, t).unwrap();
    let c = dir.path().join("c.params");
    let o = import(&bad, 7, &c);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(text(&o).1.contains("Lagrange basis computed"), "{}", text(&o).1);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
}
