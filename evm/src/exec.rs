//! An in-process EVM (revm, mainnet rules of its default hard fork) to deploy and call the
//! generated contracts without a node.

use revm::{
    context::{
        result::{ExecutionResult, Output},
        TxEnv,
    },
    database::InMemoryDB,
    handler::{MainnetContext, MainnetEvm},
    primitives::{Address, Bytes, TxKind},
    Context, ExecuteCommitEvm, MainBuilder, MainContext,
};

use crate::error::{EvmError, Result};

/// EIP-170: the largest deployable runtime code, in bytes.
pub const EIP170_LIMIT: usize = 24_576;

/// Gas limit of every transaction (a typical block limit).
const TX_GAS_LIMIT: u64 = 30_000_000;

/// What one bundle cost in the EVM.
#[derive(Clone, Debug, Default)]
pub struct EvmBundleReport {
    /// Gas of a transaction that calls chunk `i`'s verifier directly (21,000 intrinsic gas and
    /// calldata included).
    pub chunk_gas: Vec<u64>,
    /// Gas of one `verifyBundle` transaction for the whole bundle.
    pub bundle_gas: u64,
    /// Runtime code size of each chunk verifier, then of the `BundleVerifier`.
    pub runtime_sizes: Vec<(String, usize)>,
}

/// The outcome of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// Success: gas used and return data.
    Success {
        /// Gas of the transaction.
        gas: u64,
        /// Returned bytes.
        output: Vec<u8>,
    },
    /// Reverted with these bytes.
    Revert {
        /// Gas of the transaction.
        gas: u64,
        /// Revert data.
        output: Vec<u8>,
    },
    /// Halted (out of gas, invalid opcode, ...).
    Halt {
        /// Why.
        reason: String,
    },
}

/// A private in-memory chain.
pub struct InProcessEvm {
    evm: MainnetEvm<MainnetContext<InMemoryDB>>,
    nonce: u64,
    gas_used: u64,
}

impl Default for InProcessEvm {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for InProcessEvm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessEvm").field("nonce", &self.nonce).finish()
    }
}

impl InProcessEvm {
    /// An empty chain.
    pub fn new() -> Self {
        Self { evm: Context::mainnet().with_db(InMemoryDB::default()).build_mainnet(), nonce: 0, gas_used: 0 }
    }

    /// An empty chain without EIP-170's code-size limit: only to measure the gas of a contract
    /// too large to deploy on Ethereum (never to claim it deploys).
    pub fn without_code_size_limit() -> Self {
        let ctx = Context::mainnet()
            .modify_cfg_chained(|cfg| cfg.limit_contract_code_size = Some(usize::MAX))
            .with_db(InMemoryDB::default());
        Self { evm: ctx.build_mainnet(), nonce: 0, gas_used: 0 }
    }

    fn transact(&mut self, kind: TxKind, data: Vec<u8>) -> Result<ExecutionResult> {
        let tx = TxEnv {
            gas_limit: TX_GAS_LIMIT,
            kind,
            data: Bytes::from(data),
            nonce: self.nonce,
            ..Default::default()
        };
        let result = self.evm.transact_commit(tx).map_err(|e| EvmError::tooling(format!("revm: {e}")))?;
        self.nonce += 1;
        self.gas_used += result.gas_used();
        Ok(result)
    }

    /// Gas used by every transaction so far (deployments included).
    pub fn gas_used(&self) -> u64 {
        self.gas_used
    }

    /// Deploys `creation` code (constructor arguments appended); `name` is for errors.
    pub fn deploy(&mut self, name: &str, creation: Vec<u8>) -> Result<Address> {
        match self.transact(TxKind::Create, creation)? {
            ExecutionResult::Success { output: Output::Create(_, Some(address)), .. } => Ok(address),
            ExecutionResult::Revert { output, .. } => {
                Err(EvmError::tooling(format!("deploying {name} reverted (0x{})", hex::encode(output))))
            }
            ExecutionResult::Halt { reason, .. } => {
                Err(EvmError::tooling(format!("deploying {name} halted: {reason:?}")))
            }
            other => Err(EvmError::tooling(format!("deploying {name}: unexpected result {other:?}"))),
        }
    }

    /// Sends a transaction with `data` to `to` and reports what happened.
    pub fn call(&mut self, to: Address, data: Vec<u8>) -> Result<CallOutcome> {
        Ok(match self.transact(TxKind::Call(to), data)? {
            ExecutionResult::Success { gas_used, output, .. } => {
                CallOutcome::Success { gas: gas_used, output: output.into_data().to_vec() }
            }
            ExecutionResult::Revert { gas_used, output } => {
                CallOutcome::Revert { gas: gas_used, output: output.to_vec() }
            }
            ExecutionResult::Halt { reason, .. } => CallOutcome::Halt { reason: format!("{reason:?}") },
        })
    }
}
