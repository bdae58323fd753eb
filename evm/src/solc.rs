//! A driver for any `solc`-compatible compiler through its standard-JSON interface.
//!
//! Found as `$CHUNKPROOF_SOLC`, else `solc` on `PATH`. On machines without a native compiler the
//! repository's `tools/solc` (solc-js behind a native-style command line) serves.

use std::{
    collections::BTreeMap,
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
};

use serde_json::{json, Value};

use crate::error::{EvmError, Result};

/// The compiler version the generated verifiers pin (`pragma solidity 0.8.19`).
pub const SOLC_VERSION: &str = "0.8.19";

/// Optimizer settings, the same as `foundry.toml` so that sizes and gas agree: the bytecode
/// optimizer with `runs = 1` (smallest code), without the Yul optimizer, which fails on the
/// generated verifiers' inline assembly ("stack too deep"). The generated verifiers are
/// 2–4% smaller than unoptimized, which is what keeps them under EIP-170.
const OPTIMIZER_RUNS: u32 = 1;

/// A `solc`-compatible compiler.
#[derive(Clone, Debug)]
pub struct Solc {
    path: PathBuf,
}

/// One compiled contract.
#[derive(Clone, Debug)]
pub struct CompiledContract {
    /// Creation (init) code.
    pub creation: Vec<u8>,
    /// Deployed (runtime) code; EIP-170 limits its size.
    pub runtime: Vec<u8>,
    /// `"signature" -> "selector hex"` of every external function.
    pub method_identifiers: BTreeMap<String, String>,
    /// The JSON ABI.
    pub abi: Value,
}

impl Solc {
    /// A compiler at an explicit path.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `$CHUNKPROOF_SOLC`, else `solc` from `PATH`; checks that it answers and is version
    /// [`SOLC_VERSION`].
    pub fn find() -> Result<Self> {
        let path = std::env::var_os("CHUNKPROOF_SOLC").map(PathBuf::from).unwrap_or_else(|| "solc".into());
        let solc = Self { path };
        let version = solc.version()?;
        if !version.contains(&format!("Version: {SOLC_VERSION}+")) {
            return Err(EvmError::tooling(format!(
                "{} is not solc {SOLC_VERSION} (it says {:?}); set CHUNKPROOF_SOLC",
                solc.path.display(),
                version.trim()
            )));
        }
        Ok(solc)
    }

    /// The compiler's `--version` text.
    pub fn version(&self) -> Result<String> {
        let out = Command::new(&self.path).arg("--version").output().map_err(|e| {
            EvmError::tooling(format!(
                "cannot run the Solidity compiler {:?}: {e} (install solc {SOLC_VERSION}, or run \
                 `make tools` and set CHUNKPROOF_SOLC=$PWD/tools/solc)",
                self.path
            ))
        })?;
        if !out.status.success() {
            return Err(EvmError::tooling(format!("{:?} --version failed", self.path)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Compiles `sources` (`(file name, content)`) and returns every contract by name.
    pub fn compile(&self, sources: &[(String, String)]) -> Result<BTreeMap<String, CompiledContract>> {
        let input = json!({
            "language": "Solidity",
            "sources": sources.iter().map(|(n, c)| (n.clone(), json!({ "content": c }))).collect::<serde_json::Map<_, _>>(),
            "settings": {
                "optimizer": { "enabled": true, "runs": OPTIMIZER_RUNS, "details": { "yul": false } },
                "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"] } }
            }
        });
        let mut child = Command::new(&self.path)
            .arg("--standard-json")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| EvmError::tooling(format!("cannot run {:?}: {e}", self.path)))?;
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input.to_string().as_bytes())
            .map_err(|e| EvmError::tooling(format!("writing to solc: {e}")))?;
        let out = child.wait_with_output().map_err(|e| EvmError::tooling(format!("solc: {e}")))?;
        if !out.status.success() {
            return Err(EvmError::tooling(format!(
                "solc exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let output: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| EvmError::tooling(format!("solc printed no standard-JSON output: {e}")))?;
        let errors: Vec<String> = output["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["severity"] == "error")
            .map(|e| e["formattedMessage"].as_str().unwrap_or("?").to_string())
            .collect();
        if !errors.is_empty() {
            return Err(EvmError::tooling(format!("solc: {}", errors.join("\n"))));
        }
        let mut contracts = BTreeMap::new();
        for (_, file) in output["contracts"].as_object().into_iter().flatten() {
            for (name, c) in file.as_object().into_iter().flatten() {
                let hex_of = |v: &Value| {
                    hex::decode(v.as_str().unwrap_or_default())
                        .map_err(|e| EvmError::tooling(format!("solc output for {name}: {e}")))
                };
                let method_identifiers = c["evm"]["methodIdentifiers"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                contracts.insert(
                    name.clone(),
                    CompiledContract {
                        creation: hex_of(&c["evm"]["bytecode"]["object"])?,
                        runtime: hex_of(&c["evm"]["deployedBytecode"]["object"])?,
                        method_identifiers,
                        abi: c["abi"].clone(),
                    },
                );
            }
        }
        Ok(contracts)
    }
}
