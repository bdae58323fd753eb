//! `contracts/artifacts/*.json` (what the `sol!` bindings and deployments use) must be what
//! the pinned solc makes of `contracts/src` today. `make artifacts` (CHUNKPROOF_BLESS=1)
//! rewrites them.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use std::path::PathBuf;

use chunkproof_evm::Solc;
use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn artifacts_match_the_solidity_sources() {
    if std::env::var_os("CHUNKPROOF_SOLC").is_none() {
        std::env::set_var("CHUNKPROOF_SOLC", root().join("tools/solc"));
    }
    let solc = Solc::find().expect("solc 0.8.19: run `make tools`");
    let sources: Vec<(String, String)> = ["RootRegistry.sol", "BundleVerifier.sol", "AggregatedVerifier.sol"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read_to_string(root().join("contracts/src").join(f)).unwrap()))
        .collect();
    let compiled = solc.compile(&sources).unwrap();
    let bless = std::env::var_os("CHUNKPROOF_BLESS").is_some();
    for (name, committed) in chunkproof_evm::bindings::ARTIFACTS {
        let c = &compiled[name];
        let fresh = json!({
            "_generated": "by `make artifacts` (solc 0.8.19, optimizer runs 1) from contracts/src; a test recompiles and fails on any difference",
            "abi": c.abi,
            "bytecode": format!("0x{}", hex::encode(&c.creation)),
            "deployedBytecode": format!("0x{}", hex::encode(&c.runtime)),
        });
        let path = root().join("contracts/artifacts").join(format!("{name}.json"));
        if bless {
            std::fs::write(&path, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
            continue;
        }
        let committed: Value = serde_json::from_str(committed).unwrap();
        assert_eq!(committed, fresh, "{} is stale: run `make artifacts` and rebuild", path.display());
    }
}
