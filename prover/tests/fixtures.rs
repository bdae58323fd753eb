//! The generated transformer and ranking fixtures: they load as zkml's converter writes them,
//! and every tensor the interpreter computes equals, bit for bit, that of an independent numpy reference
//! (`scripts/zkml_reference.py`, run with `CHUNKPROOF_PYTHON`, which `make test` provides with
//! numpy and msgpack installed).
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use chunkproof_prover::interpret::run;
use chunkproof_prover::model::{parse_input, parse_model};
use chunkproof_prover::testing::prerequisite;
use chunkproof_prover::zoo;

fn python() -> Option<PathBuf> {
    let py = PathBuf::from(std::env::var_os("CHUNKPROOF_PYTHON").unwrap_or_else(|| "python3".into()));
    let ok = Command::new(&py).args(["-c", "import numpy, msgpack"]).status().is_ok_and(|s| s.success());
    ok.then_some(py)
}

fn check(name: &str) {
    let py = python();
    let why = "CHUNKPROOF_PYTHON (or python3) with numpy and msgpack is needed (make ray-env installs them)";
    if !prerequisite("numpy", py.is_some(), why) {
        return;
    }
    let (model, input) = zoo::generate(name).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mp, ip) = (dir.path().join("model.msgpack"), dir.path().join("input.msgpack"));
    std::fs::write(&mp, &model).unwrap();
    std::fs::write(&ip, &input).unwrap();
    let graph = parse_model(&model, &mp).unwrap();
    let inp = parse_input(&input, &ip, &graph).unwrap();
    let trace = run(&graph, &inp).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/zkml_reference.py");
    let out = Command::new(py.unwrap()).arg(script).arg(&mp).arg(&ip).output().unwrap();
    assert!(out.status.success(), "{name}: reference failed: {}", String::from_utf8_lossy(&out.stderr));
    let reference: BTreeMap<String, Vec<i64>> = serde_json::from_slice(&out.stdout).unwrap();
    // every tensor a layer computes, not only the outputs
    let computed: Vec<u32> = graph.layers.iter().flat_map(|l| l.outputs.iter().copied()).collect();
    assert_eq!(reference.len(), computed.len(), "{name}: tensors computed");
    for id in computed {
        let want = &reference[&id.to_string()];
        let got = trace.get(id);
        let first = (0..got.len().min(want.len())).find(|i| got[*i] != want[*i]);
        assert!(
            got.len() == want.len() && first.is_none(),
            "{name}: tensor {id} differs from the reference (first at {first:?})"
        );
    }
    let ours = trace.outputs(&graph);
    // Outputs are not trivial: they vary.
    assert!(ours.iter().any(|v| *v != ours[0]), "{name}: constant output");
}

#[test]
fn transformer_v1_matches_the_numpy_reference() {
    check("transformer_v1");
}

#[test]
fn ranking_v1_matches_the_numpy_reference() {
    check("ranking_v1");
}
