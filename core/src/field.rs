//! BN254 scalars: the signed fixed-point embedding and a 32-byte big-endian wire type.

use std::fmt;

use halo2_axiom::halo2curves::ff::PrimeField;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use halo2_axiom::halo2curves::bn256::{Fr, G1Affine};

use crate::error::{FormatError, Result};

/// Activations are signed integers in `[-2^31, 2^31)` (zkml's range); the circuits prove it at
/// every chunk boundary.
pub const VALUE_BITS: u32 = 32;
/// `2^31`: the offset that maps a signed value to `[0, 2^32)`.
pub const VALUE_OFFSET: i64 = 1 << (VALUE_BITS - 1);

/// True if `v` lies in the fixed-point range `[-2^31, 2^31)`.
pub fn in_value_range(v: i128) -> bool {
    (-(VALUE_OFFSET as i128)..VALUE_OFFSET as i128).contains(&v)
}

/// The field element of a signed integer: `v` for `v >= 0`, `p - |v|` otherwise.
pub fn fr_from_i64(v: i64) -> Fr {
    if v >= 0 {
        Fr::from(v as u64)
    } else {
        -Fr::from(v.unsigned_abs())
    }
}

/// The signed integer of a field element, when it or its negation is below 2^63.
pub fn fr_to_i64(f: &Fr) -> Option<i64> {
    let small = |x: &Fr| -> Option<u64> {
        let repr = x.to_repr();
        if repr[8..].iter().all(|b| *b == 0) {
            let v = u64::from_le_bytes(repr[..8].try_into().ok()?);
            (v < 1 << 63).then_some(v)
        } else {
            None
        }
    };
    if let Some(v) = small(f) {
        return Some(v as i64);
    }
    small(&-*f).map(|v| -(v as i64))
}

/// A 32-byte value (a field element in big-endian, or a digest). Serialised as msgpack `bin`,
/// displayed as `0x…` hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Bytes32(pub [u8; 32]);

impl Bytes32 {
    /// Big-endian bytes of a field element (the EVM's word order).
    pub fn from_fr(f: &Fr) -> Self {
        let mut b = f.to_repr();
        b.reverse();
        Self(b)
    }

    /// The field element, if these bytes are a canonical big-endian encoding (`< p`).
    pub fn to_fr(&self) -> Option<Fr> {
        let mut le = self.0;
        le.reverse();
        Option::from(Fr::from_repr(le))
    }

    /// Like [`Self::to_fr`] with a typed error naming `what`.
    pub fn to_fr_named(&self, what: impl Into<String>) -> Result<Fr> {
        self.to_fr()
            .ok_or_else(|| FormatError::NonCanonicalScalar { what: what.into(), value: self.to_string() })
    }

    /// Parses `0x`-prefixed or bare hex of exactly 32 bytes.
    pub fn from_hex(s: &str) -> Option<Self> {
        let s = s.strip_prefix("0x").unwrap_or(s);
        let v = hex::decode(s).ok()?;
        Some(Self(v.try_into().ok()?))
    }
}

impl fmt::Display for Bytes32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Bytes32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<&Fr> for Bytes32 {
    fn from(f: &Fr) -> Self {
        Self::from_fr(f)
    }
}

impl Serialize for Bytes32 {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_string())
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Bytes32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error;
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            Self::from_hex(&s).ok_or_else(|| D::Error::custom("expected 32 bytes of hex"))
        } else {
            let b: serde_bytes::ByteBuf = Deserialize::deserialize(d)?;
            let arr: [u8; 32] = b
                .into_vec()
                .try_into()
                .map_err(|v: Vec<u8>| D::Error::invalid_length(v.len(), &"32 bytes"))?;
            Ok(Self(arr))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_embedding_round_trips() {
        for v in [0i64, 1, -1, 42, -42, VALUE_OFFSET - 1, -VALUE_OFFSET, i64::MAX, i64::MIN + 1] {
            assert_eq!(fr_to_i64(&fr_from_i64(v)), Some(v), "{v}");
        }
        assert_eq!(fr_from_i64(-1) + Fr::one(), Fr::zero());
    }

    #[test]
    fn bytes32_is_big_endian_and_canonical() {
        let b = Bytes32::from_fr(&Fr::from(0x0102u64));
        assert_eq!(b.0[30..], [1, 2]);
        assert_eq!(b.to_fr(), Some(Fr::from(0x0102u64)));
        assert_eq!(Bytes32([0xff; 32]).to_fr(), None);
        assert_eq!(Bytes32::from_hex(&b.to_string()), Some(b));
    }
}
