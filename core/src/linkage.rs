//! Leaves and nodes of the chunk-linkage tree (protocol v1, see `docs/protocol.md`).
//!
//! - Leaf `j`: `Poseidon(TAG_LEAF, j, s_j, len(A_j), P_0, P_1, …)` where `P_t` packs seven
//!   consecutive boundary values `v` as `Σ (v + 2^31)·2^(32·i)`. Packing is injective because
//!   every packed value is proven to lie in `[-2^31, 2^31)`; the salt `s_j` hides the values.
//! - Node: `Poseidon(TAG_NODE, left, right)`; empty leaf: `Poseidon(TAG_EMPTY)`.

use halo2_axiom::halo2curves::ff::{Field, PrimeField};

use crate::error::{FormatError, Result};
use crate::field::{in_value_range, Fr, VALUE_BITS, VALUE_OFFSET};
use crate::poseidon;

/// Domain tags, the ASCII of their names read as a big-endian integer.
const fn tag(name: &[u8]) -> u128 {
    let mut v: u128 = 0;
    let mut i = 0;
    while i < name.len() {
        v = (v << 8) | name[i] as u128;
        i += 1;
    }
    v
}

/// Tag of a leaf hash.
pub const TAG_LEAF: u128 = tag(b"chunkproof/leaf");
/// Tag of an inner node hash.
pub const TAG_NODE: u128 = tag(b"chunkproof/node");
/// Tag of the padding leaf.
pub const TAG_EMPTY: u128 = tag(b"chunkproof/empty");

/// Values packed into one field element.
pub const PACK_PER_ELEMENT: usize = 7;
/// Bits per packed value.
pub const PACK_BITS: u32 = VALUE_BITS;

/// The field elements absorbed for the values of one boundary (before the header).
pub fn pack_values(values: &[i64]) -> Result<Vec<Fr>> {
    if let Some((index, v)) = values.iter().enumerate().find(|(_, v)| !in_value_range(**v as i128)) {
        return Err(FormatError::ValueOutOfRange {
            what: "boundary values".into(),
            index,
            value: *v as i128,
        });
    }
    let shift = Fr::from_u128(1u128 << PACK_BITS);
    Ok(values
        .chunks(PACK_PER_ELEMENT)
        .map(|group| {
            group.iter().rev().fold(Fr::ZERO, |acc, v| acc * shift + Fr::from((v + VALUE_OFFSET) as u64))
        })
        .collect())
}

/// The full preimage of leaf `index` (header and packed values).
pub fn leaf_preimage(index: u64, salt: Fr, values: &[i64]) -> Result<Vec<Fr>> {
    let mut pre = vec![Fr::from_u128(TAG_LEAF), Fr::from(index), salt, Fr::from(values.len() as u64)];
    pre.extend(pack_values(values)?);
    Ok(pre)
}

/// Leaf `index` committing to `values` with `salt`.
pub fn leaf_hash(index: u64, salt: Fr, values: &[i64]) -> Result<Fr> {
    Ok(poseidon::hash(&leaf_preimage(index, salt, values)?))
}

/// Inner node of the tree.
pub fn node_hash(left: Fr, right: Fr) -> Fr {
    poseidon::hash(&[Fr::from_u128(TAG_NODE), left, right])
}

/// The padding leaf.
pub fn empty_leaf() -> Fr {
    poseidon::hash(&[Fr::from_u128(TAG_EMPTY)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_is_positional_and_bounded() {
        let p = pack_values(&[0, -1, 5]).unwrap();
        assert_eq!(p.len(), 1);
        let o = VALUE_OFFSET as u128;
        let expect = o + ((o - 1) << 32) + ((o + 5) << 64);
        assert_eq!(p[0], Fr::from_u128(expect));
        assert_eq!(pack_values(&[1; 8]).unwrap().len(), 2);
        assert!(pack_values(&[VALUE_OFFSET]).is_err());
        assert!(pack_values(&[-VALUE_OFFSET]).is_ok());
    }

    #[test]
    fn leaves_depend_on_every_input() {
        let s = Fr::from(7);
        let base = leaf_hash(1, s, &[1, 2, 3]).unwrap();
        assert_ne!(base, leaf_hash(2, s, &[1, 2, 3]).unwrap());
        assert_ne!(base, leaf_hash(1, Fr::from(8), &[1, 2, 3]).unwrap());
        assert_ne!(base, leaf_hash(1, s, &[1, 2, 4]).unwrap());
        assert_ne!(base, leaf_hash(1, s, &[1, 2, 3, 0]).unwrap());
    }
}
