//! A `solc`-compatible compiler driven through its standard-JSON interface with
//! `foundry-compilers` (its input and output types and process handling; no compiler downloads).
//!
//! Found as `$CHUNKPROOF_SOLC`, else `solc` on `PATH`. On machines without a native compiler the
//! repository's `tools/solc` (solc-js behind a native-style command line) serves.

use std::{collections::BTreeMap, path::PathBuf};

use foundry_compilers::artifacts::output_selection::OutputSelection;
use foundry_compilers::artifacts::{
    Optimizer, OptimizerDetails, Settings, SolcInput, SolcLanguage, Source, Sources,
};
use serde_json::Value;

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
        if version != SOLC_VERSION {
            return Err(EvmError::tooling(format!(
                "{} is not solc {SOLC_VERSION} (it says {version}); set CHUNKPROOF_SOLC",
                solc.path.display(),
            )));
        }
        Ok(solc)
    }

    /// The compiler's version `major.minor.patch` (from `--version`; answered once per path
    /// and process).
    pub fn version(&self) -> Result<String> {
        let v = self.driver()?.version;
        Ok(format!("{}.{}.{}", v.major, v.minor, v.patch))
    }

    fn driver(&self) -> Result<foundry_compilers::solc::Solc> {
        foundry_compilers::solc::Solc::new(&self.path).map_err(|e| {
            EvmError::tooling(format!(
                "cannot run the Solidity compiler {:?}: {e} (install solc {SOLC_VERSION}, or run \
                 `make tools` and set CHUNKPROOF_SOLC=$PWD/tools/solc)",
                self.path
            ))
        })
    }

    /// Compiles `sources` (`(file name, content)`) and returns every contract by name.
    pub fn compile(&self, sources: &[(String, String)]) -> Result<BTreeMap<String, CompiledContract>> {
        let output = self
            .driver()?
            .compile_exact(&input(sources))
            .map_err(|e| EvmError::tooling(format!("solc: {e}")))?;
        let errors: Vec<String> = output
            .errors
            .iter()
            .filter(|e| e.is_error())
            .map(|e| e.formatted_message.clone().unwrap_or_else(|| e.message.clone()))
            .collect();
        if !errors.is_empty() {
            return Err(EvmError::tooling(format!("solc: {}", errors.join("\n"))));
        }
        let mut contracts = BTreeMap::new();
        for (name, c) in output.contracts.into_values().flatten() {
            let missing = |what: &str| EvmError::tooling(format!("solc output for {name}: no {what}"));
            let evm = c.evm.ok_or_else(|| missing("evm output"))?;
            let creation =
                evm.bytecode.and_then(|b| b.into_bytes()).ok_or_else(|| missing("linked bytecode"))?;
            let runtime = evm
                .deployed_bytecode
                .and_then(|b| b.into_bytes())
                .ok_or_else(|| missing("linked deployed bytecode"))?;
            let abi = serde_json::to_value(c.abi.ok_or_else(|| missing("ABI"))?)
                .map_err(|e| EvmError::tooling(format!("solc output for {name}: {e}")))?;
            contracts.insert(
                name,
                CompiledContract {
                    creation: creation.to_vec(),
                    runtime: runtime.to_vec(),
                    method_identifiers: evm.method_identifiers,
                    abi,
                },
            );
        }
        Ok(contracts)
    }
}

/// The standard-JSON input: the sources, the optimizer settings above, the EVM version left to
/// the compiler's default (as `foundry.toml` does), and only the outputs used here.
fn input(sources: &[(String, String)]) -> SolcInput {
    let mut files = Sources::new();
    for (name, content) in sources {
        files.insert(PathBuf::from(name), Source::new(content.as_str()));
    }
    let outputs = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"]
        .map(String::from)
        .to_vec();
    let selection = BTreeMap::from([("*".to_string(), BTreeMap::from([("*".to_string(), outputs)]))]);
    let settings = Settings {
        optimizer: Optimizer {
            enabled: Some(true),
            runs: Some(OPTIMIZER_RUNS as usize),
            details: Some(OptimizerDetails { yul: Some(false), ..Default::default() }),
        },
        output_selection: OutputSelection(selection),
        evm_version: None,
        ..Settings::default()
    };
    SolcInput::new(SolcLanguage::Solidity, files, settings)
}
