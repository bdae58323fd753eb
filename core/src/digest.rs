//! Keccak-256, the digest of every identity here (verifying keys, plans, SRSs, model ids, jobs).

use sha3::{Digest, Keccak256};

use crate::field::Bytes32;

/// Keccak-256 of the concatenation of `parts`.
pub fn keccak(parts: &[&[u8]]) -> Bytes32 {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    Bytes32(h.finalize().into())
}
