//! Leaves and nodes of the chunk-linkage tree (protocol v1, see `docs/protocol.md`).
//!
//! - Leaf `j`: `Poseidon(TAG_LEAF, j, s_j, H_j, P_0, P_1, …)` where `P_t` packs consecutive
//!   boundary values `v` as `Σ (v + o)·2^(b·i)` with the boundary's [`Packing`] (`b` bits per
//!   value, offset `o`, `⌊253 / b⌋` values per element: seven for the wide packing, `b = 32`,
//!   `o = 2^31`). `H_j` is `len(A_j)` for the wide packing and `len(A_j) + 2^64·b + 2^72·o` for
//!   any other. Packing is injective because every packed value is proven to satisfy
//!   `v + o ∈ [0, 2^b)`; the salt `s_j` hides the values.
//! - Node: `Poseidon(TAG_NODE, left, right)`; empty leaf: `Poseidon(TAG_EMPTY)`.

use halo2_axiom::halo2curves::ff::{Field, PrimeField};
use serde::{Deserialize, Serialize};

use crate::error::{FormatError, Result};
use crate::field::{Fr, VALUE_BITS, VALUE_OFFSET};
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

/// Bits of a field element that packing may fill (every packed element is below `2^253 < p`).
pub const PACK_CAPACITY: u32 = 253;

/// How the values of one boundary are packed into field elements: value `v` takes the `bits`
/// bits of `v + offset`, which the circuits prove lies in `[0, 2^bits)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Packing {
    /// Bits per value, `1..=32`.
    pub bits: u32,
    /// Added to each value before packing, `< 2^bits`.
    pub offset: u64,
}

impl Packing {
    /// Any activation (`[-2^31, 2^31)`): 32 bits, seven values per element.
    pub const WIDE: Self = Self { bits: VALUE_BITS, offset: VALUE_OFFSET as u64 };
    /// Bits of the short packings, one lookup in the 16-bit range table per value.
    pub const SHORT_BITS: u32 = 16;

    /// The 16-bit packing that holds every value of `[lo, hi]`, if one does: offset `0` for
    /// `[0, 2^16)`, `2^15` for `[-2^15, 2^15)`.
    pub fn short(lo: i128, hi: i128) -> Option<Self> {
        Self::fitting(lo, hi, Self::SHORT_BITS)
    }

    /// The packing of `bits` bits (`1..=31`) that holds every value of `[lo, hi]`, if one does:
    /// offset `0` for `[0, 2^bits)`, `2^(bits − 1)` for `[-2^(bits − 1), 2^(bits − 1))`.
    pub fn fitting(lo: i128, hi: i128, bits: u32) -> Option<Self> {
        if !(1..VALUE_BITS).contains(&bits) {
            return None;
        }
        let size = 1i128 << bits;
        [0u64, 1 << (bits - 1)]
            .into_iter()
            .map(|offset| Self { bits, offset })
            .find(|p| lo <= hi && lo + p.offset as i128 >= 0 && hi + (p.offset as i128) < size)
    }

    /// Checks `1 ≤ bits ≤ 32` and `offset < 2^bits`.
    pub fn validate(self) -> Result<Self> {
        if !(1..=VALUE_BITS).contains(&self.bits) || self.offset >= 1u64 << self.bits {
            return Err(FormatError::malformed(
                "packing",
                format!("{} bits with offset {} (1 to 32 bits, offset below 2^bits)", self.bits, self.offset),
            ));
        }
        Ok(self)
    }

    /// Values per field element.
    pub fn per_element(self) -> usize {
        (PACK_CAPACITY / self.bits) as usize
    }

    /// The smallest value this packing holds.
    pub fn lowest(self) -> i128 {
        -(self.offset as i128)
    }

    /// The largest value this packing holds.
    pub fn highest(self) -> i128 {
        (1i128 << self.bits) - 1 - self.offset as i128
    }

    /// True if `v` can be packed.
    pub fn holds(self, v: i128) -> bool {
        (self.lowest()..=self.highest()).contains(&v)
    }

    /// The header word of a leaf over `len` values (`len` for the wide packing).
    pub fn header(self, len: usize) -> Fr {
        let len = Fr::from(len as u64);
        if self == Self::WIDE {
            return len;
        }
        len + Fr::from_u128(1 << 64) * Fr::from(u64::from(self.bits))
            + Fr::from_u128(1 << 72) * Fr::from(self.offset)
    }

    /// The field elements absorbed for `values` (after the header).
    pub fn pack(self, values: &[i64]) -> Result<Vec<Fr>> {
        if let Some((index, v)) = values.iter().enumerate().find(|(_, v)| !self.holds(**v as i128)) {
            if self == Self::WIDE {
                return Err(FormatError::ValueOutOfRange {
                    what: "boundary values".into(),
                    index,
                    value: *v as i128,
                });
            }
            return Err(FormatError::OutsidePacking {
                what: "boundary values".into(),
                index,
                value: *v as i128,
                lowest: self.lowest(),
                highest: self.highest(),
            });
        }
        let shift = Fr::from_u128(1u128 << self.bits);
        Ok(values
            .chunks(self.per_element())
            .map(|group| {
                group.iter().rev().fold(Fr::ZERO, |acc, v| {
                    acc * shift + Fr::from((*v as i128 + self.offset as i128) as u64)
                })
            })
            .collect())
    }
}

/// The full preimage of leaf `index` (header and packed values).
pub fn leaf_preimage(index: u64, salt: Fr, values: &[i64], packing: Packing) -> Result<Vec<Fr>> {
    let mut pre =
        vec![Fr::from_u128(TAG_LEAF), Fr::from(index), salt, packing.validate()?.header(values.len())];
    pre.extend(packing.pack(values)?);
    Ok(pre)
}

/// Leaf `index` committing to `values` with `salt`, packed by `packing`.
pub fn leaf_hash(index: u64, salt: Fr, values: &[i64], packing: Packing) -> Result<Fr> {
    Ok(poseidon::hash(&leaf_preimage(index, salt, values, packing)?))
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
        let p = Packing::WIDE.pack(&[0, -1, 5]).unwrap();
        assert_eq!(p.len(), 1);
        let o = VALUE_OFFSET as u128;
        let expect = o + ((o - 1) << 32) + ((o + 5) << 64);
        assert_eq!(p[0], Fr::from_u128(expect));
        assert_eq!(Packing::WIDE.pack(&[1; 8]).unwrap().len(), 2);
        assert!(Packing::WIDE.pack(&[VALUE_OFFSET]).is_err());
        assert!(Packing::WIDE.pack(&[-VALUE_OFFSET]).is_ok());
    }

    #[test]
    fn leaves_depend_on_every_input() {
        let s = Fr::from(7);
        let w = Packing::WIDE;
        let base = leaf_hash(1, s, &[1, 2, 3], w).unwrap();
        assert_ne!(base, leaf_hash(2, s, &[1, 2, 3], w).unwrap());
        assert_ne!(base, leaf_hash(1, Fr::from(8), &[1, 2, 3], w).unwrap());
        assert_ne!(base, leaf_hash(1, s, &[1, 2, 4], w).unwrap());
        assert_ne!(base, leaf_hash(1, s, &[1, 2, 3, 0], w).unwrap());
        let short = Packing::short(0, 3).unwrap();
        assert_ne!(base, leaf_hash(1, s, &[1, 2, 3], short).unwrap());
        let signed = Packing::short(-1, 3).unwrap();
        assert_ne!(leaf_hash(1, s, &[1, 2, 3], short).unwrap(), leaf_hash(1, s, &[1, 2, 3], signed).unwrap());
    }

    #[test]
    fn short_packings() {
        let u = Packing::short(0, 65535).unwrap();
        assert_eq!((u.bits, u.offset, u.per_element()), (16, 0, 15));
        let s = Packing::short(-32768, 32767).unwrap();
        assert_eq!((s.offset, s.lowest(), s.highest()), (32768, -32768, 32767));
        assert_eq!(Packing::short(-1, 32768), None);
        assert_eq!(Packing::short(0, 65536), None);
        assert_eq!(Packing::fitting(0, 3072, 12), Some(Packing { bits: 12, offset: 0 }));
        assert_eq!(Packing::fitting(-5, 3, 4), Some(Packing { bits: 4, offset: 8 }));
        assert_eq!(Packing::fitting(0, 4096, 12), None);
        assert_eq!(Packing::fitting(0, 1, 32), None);
        assert_eq!(Packing { bits: 12, offset: 0 }.per_element(), 21);
        assert_eq!(Packing::WIDE.per_element(), 7);
        // the wide header is the bare length (leaves of earlier bundles are unchanged)
        assert_eq!(Packing::WIDE.header(5), Fr::from(5));
        // 15 values of 16 bits, positional
        let p = u.pack(&(0..16).collect::<Vec<i64>>()).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1], Fr::from(15));
        assert_eq!(
            p[0],
            (0..15u128).rev().fold(Fr::ZERO, |a, v| a * Fr::from_u128(1 << 16) + Fr::from_u128(v))
        );
        assert!(u.pack(&[-1]).is_err());
        assert!(s.pack(&[-32769]).is_err());
        assert!(Packing { bits: 33, offset: 0 }.validate().is_err());
        assert!(Packing { bits: 8, offset: 256 }.validate().is_err());
    }
}
