//! The verifier's view of the structured reference string: the three points a KZG verifier
//! uses, their digest, where they came from, and which SRS the verifier trusts.
//!
//! - `srs digest = keccak256("chunkproof/srs/v1" ‖ g₁ ‖ g₂ ‖ [τ]₂)` (compressed points)
//!
//! Every proof's soundness rests on nobody knowing `τ`. With the standard generators `g₁`, `g₂`
//! (checked), an SRS is named by `[τ]₂`. The verifier accepts keys on an SRS only when `[τ]₂` is
//! the point of a public ceremony ([`CEREMONIES`]), when the caller names its digest, or — for
//! tests — when it is the public development setup and the caller asked for that.

use halo2_axiom::halo2curves::bn256::{Bn256, Fq, Fq2, G1Affine, G2Affine, G2};
use halo2_axiom::halo2curves::ff::PrimeField;
use halo2_axiom::halo2curves::group::cofactor::CofactorGroup;
use halo2_axiom::halo2curves::group::prime::PrimeCurveAffine;
use halo2_axiom::halo2curves::group::GroupEncoding;
use halo2_axiom::halo2curves::CurveAffine;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use halo2_axiom::SerdeFormat;
use serde::{Deserialize, Serialize};

use crate::digest::keccak;
use crate::error::{FormatError, Result};
use crate::field::Bytes32;

/// Digest of the verifier part of the deterministic development setup
/// (`chunkproof_prover::setup::dev_params`); a key set with these points is insecure whatever
/// its manifest says. A prover test recomputes it.
pub const DEV_SRS_DIGEST: &str = "0xf912a4e9a393df1ef6a8ecc6932defa585c74efe6628ad1c272119d2054cb578";

/// A public powers-of-tau ceremony the verifier trusts, known by its `[τ]₂` point.
#[derive(Clone, Copy, Debug)]
pub struct Ceremony {
    /// Short name, printed by `verify` and `audit`.
    pub name: &'static str,
    /// Where the point comes from (see `docs/protocol.md` for the full provenance).
    pub provenance: &'static str,
    /// `[τ]₂` as `x = x₀ + x₁·u`, `y = y₀ + y₁·u`: `[x₀, x₁, y₀, y₁]`, 32-byte big-endian hex.
    pub s_g2: [&'static str; 4],
}

/// The ceremonies whose SRS the verifier accepts without being told.
pub const CEREMONIES: [Ceremony; 2] = [
    Ceremony {
        name: "perpetual powers of tau, challenge_0085 (Axiom kzg_bn254_k)",
        provenance: "the accumulator after response 0084 of the BN254 perpetual powers-of-tau \
                     ceremony, converted to halo2 params kzg_bn254_{k}.srs by Axiom; embedded (as \
                     -[tau]_2) in axiom-crypto/axiom-v2-contracts AxiomV2CoreVerifier.v0.12.sol, \
                     openvm-org/openvm-solidity-sdk Halo2Verifier.sol, scroll-tech/zkvm-prover \
                     Halo2Verifier.sol",
        s_g2: [
            "2ae0c8c3a090f7200ff398ee9845bbae8f8c1445ae7b632212775f60a0e21600",
            "172aa93c41f16e1e04d62ac976a5d945f4be0acab990c6dc19ac4a7cf68bf77b",
            "1459fe6cc8a1222fd4290864ff9e47d4b8cf7a403593c7107c39538ddefd857e",
            "1754a9fc3b7e4da9197c283c7401773208190c5555caf254e644e99c29366704",
        ],
    },
    Ceremony {
        name: "Hermez powers of tau (powersOfTau28_hez_final)",
        provenance: "the snarkjs files powersOfTau28_hez_final_{k}.ptau of the Hermez ceremony \
                     (also converted to halo2 params hermez-raw-{k}); X_2 of \
                     0xPolygonHermez/zkevm-contracts FflonkVerifier.sol, and -[tau]_2 in \
                     summa-dev/summa-solvency verifying_key.sol generated from hermez-raw-17",
        s_g2: [
            "30441fd1b5d3370482c42152a8899027716989a6996c2535bc9f7fee8aaef79e",
            "26186a2d65ee4d2f9c9a5b91f86597d35f192cd120caf7e935d8443d1938e23d",
            "054793348f12c0cf5622c340573cb277586319de359ab9389778f689786b1e48",
            "1970ea81dd6992adfbc571effb03503adbbb6a857f578403c6c40e22d65b3c02",
        ],
    },
];

fn fq_be(hex_be: &str) -> Option<Fq> {
    let mut b: [u8; 32] = hex::decode(hex_be).ok()?.try_into().ok()?;
    b.reverse();
    Option::from(Fq::from_repr(b))
}

impl Ceremony {
    /// `[τ]₂`, checked to be on the curve and in the prime-order subgroup.
    pub fn s_g2(&self) -> G2Affine {
        let [x0, x1, y0, y1] = self.s_g2.map(|h| fq_be(h).expect("ceremony constants are canonical"));
        let p: Option<G2Affine> = G2Affine::from_xy(Fq2 { c0: x0, c1: x1 }, Fq2 { c0: y0, c1: y1 }).into();
        let p = p.expect("ceremony points are on the curve");
        assert!(bool::from(G2::from(p).is_torsion_free()), "ceremony points are in the subgroup");
        p
    }

    /// The verifier points of this ceremony's SRS.
    pub fn srs(&self) -> VerifierSrs {
        VerifierSrs { g1: G1Affine::generator(), g2: G2Affine::generator(), s_g2: self.s_g2() }
    }
}

/// The ceremony whose SRS has this digest, if any.
pub fn ceremony_of(digest: &Bytes32) -> Option<&'static Ceremony> {
    CEREMONIES.iter().find(|c| c.srs().digest() == *digest)
}

/// Where the SRS of a key set came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SrsOrigin {
    /// The deterministic development setup: its secret is public. Never use it for anything real.
    DevInsecure,
    /// A powers-of-tau file.
    File {
        /// SHA-256 of the file, hex.
        sha256: String,
        /// Its size, `2^k` points.
        k: u32,
    },
}

/// The three SRS points a KZG verifier needs: `g₁`, `g₂` and `[τ]₂`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierSrs {
    /// Generator of G1 (`[τ⁰]₁`).
    pub g1: G1Affine,
    /// Generator of G2.
    pub g2: G2Affine,
    /// `[τ]₂`.
    pub s_g2: G2Affine,
}

impl VerifierSrs {
    /// Compressed encodings, concatenated.
    pub fn to_bytes(&self) -> Vec<u8> {
        [self.g1.to_bytes().as_ref(), self.g2.to_bytes().as_ref(), self.s_g2.to_bytes().as_ref()].concat()
    }

    /// The SRS digest.
    pub fn digest(&self) -> Bytes32 {
        keccak(&[b"chunkproof/srs/v1", &self.to_bytes()])
    }

    /// True if these are the points of the public development setup.
    pub fn is_dev(&self) -> bool {
        self.digest().to_string() == DEV_SRS_DIGEST
    }

    /// Verifier parameters for circuits of size `2^k` (only `g₁`, `g₂`, `[τ]₂` are used: the
    /// SHPLONK verifier does not commit to instances).
    pub fn params(&self, k: u32) -> Result<ParamsKZG<Bn256>> {
        // `from_parts` needs an instance to be called on: read a one-point SRS first.
        let mut bytes = 0u32.to_le_bytes().to_vec();
        for _ in 0..2 {
            bytes.extend(self.g1.to_bytes().as_ref());
        }
        bytes.extend(self.g2.to_bytes().as_ref());
        bytes.extend(self.s_g2.to_bytes().as_ref());
        let seed = ParamsKZG::<Bn256>::read_custom(&mut bytes.as_slice(), SerdeFormat::Processed)
            .map_err(|e| FormatError::malformed("verifier SRS", e))?;
        Ok(seed.from_parts(k, vec![self.g1], Some(vec![]), self.g2, self.s_g2))
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.g1 != G1Affine::generator() || self.g2 != G2Affine::generator() {
            return Err("g1 and g2 must be the standard generators".into());
        }
        if bool::from(self.s_g2.is_identity()) || self.s_g2 == self.g2 {
            return Err("[tau]_2 is degenerate".into());
        }
        Ok(())
    }
}

/// The SRS section of a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrsRecord {
    /// Provenance (informational; dev points are recognised by their digest anyway).
    pub origin: SrsOrigin,
    /// Compressed `g₁`, hex.
    pub g1: String,
    /// Compressed `g₂`, hex.
    pub g2: String,
    /// Compressed `[τ]₂`, hex.
    pub s_g2: String,
}

impl SrsRecord {
    /// Record for `srs` with provenance `origin`.
    pub fn new(origin: SrsOrigin, srs: &VerifierSrs) -> Self {
        Self {
            origin,
            g1: hex::encode(srs.g1.to_bytes()),
            g2: hex::encode(srs.g2.to_bytes()),
            s_g2: hex::encode(srs.s_g2.to_bytes()),
        }
    }

    /// Decodes and checks the points.
    pub fn points(&self) -> std::result::Result<VerifierSrs, String> {
        fn g1(s: &str) -> Option<G1Affine> {
            let mut repr = <G1Affine as GroupEncoding>::Repr::default();
            let b = hex::decode(s).ok()?;
            (b.len() == repr.as_ref().len()).then_some(())?;
            repr.as_mut().copy_from_slice(&b);
            Option::from(G1Affine::from_bytes(&repr))
        }
        fn g2(s: &str) -> Option<G2Affine> {
            let mut repr = <G2Affine as GroupEncoding>::Repr::default();
            let b = hex::decode(s).ok()?;
            (b.len() == repr.as_ref().len()).then_some(())?;
            repr.as_mut().copy_from_slice(&b);
            Option::from(G2Affine::from_bytes(&repr))
        }
        let srs = VerifierSrs {
            g1: g1(&self.g1).ok_or("bad g1 encoding")?,
            g2: g2(&self.g2).ok_or("bad g2 encoding")?,
            s_g2: g2(&self.s_g2).ok_or("bad [tau]_2 encoding")?,
        };
        srs.check()?;
        Ok(srs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Big-endian hex of a base-field element.
    fn be(x: &Fq) -> String {
        let mut b = x.to_repr();
        b.reverse();
        hex::encode(b)
    }

    #[test]
    fn ceremony_points_match_their_public_sources() {
        // Each ceremony as embedded by a generated verifier: snark-verifier writes -[τ]₂ as the
        // EIP-197 words x.c1, x.c0, y.c1, y.c0 (copied here from the sources named in
        // `provenance`, independently of `s_g2` above).
        let embedded = [
            [
                "172aa93c41f16e1e04d62ac976a5d945f4be0acab990c6dc19ac4a7cf68bf77b",
                "2ae0c8c3a090f7200ff398ee9845bbae8f8c1445ae7b632212775f60a0e21600",
                "190fa476a5b352809ed41d7a0d7fe12b8f685e3c12a6d83855dba27aaf469643",
                "1c0a500618907df9e4273d5181e31088deb1f05132de037cbfe73888f97f77c9",
            ],
            [
                "26186a2d65ee4d2f9c9a5b91f86597d35f192cd120caf7e935d8443d1938e23d",
                "30441fd1b5d3370482c42152a8899027716989a6996c2535bc9f7fee8aaef79e",
                "16f363f103c80d7bbc8ad3c6867e0822bbc6000be91a4689755c7df40221c145",
                "2b1cbb3e521edf5a622d82762a44a5e63f1e50b332d71154a4a7958d6011deff",
            ],
        ];
        for (c, words) in CEREMONIES.iter().zip(embedded) {
            let neg = -c.s_g2();
            let coords = neg.coordinates().unwrap();
            let (x, y) = (coords.x(), coords.y());
            assert_eq!([be(&x.c1), be(&x.c0), be(&y.c1), be(&y.c0)], words, "{}", c.name);
            assert_ne!(c.s_g2(), G2Affine::generator());
        }
        // snarkjs writes X_2 = [τ]₂ itself, in decimal, c0 first (Polygon's FflonkVerifier.sol).
        let x2 = [
            "21831381940315734285607113342023901060522397560371972897001948545212302161822",
            "17231025384763736816414546592865244497437017442647097510447326538965263639101",
            "2388026358213174446665280700919698872609886601280537296205114254867301080648",
            "11507326595632554467052522095592665270651932854513688777769618397986436103170",
        ];
        let hermez = CEREMONIES[1].s_g2();
        let coords = hermez.coordinates().unwrap();
        let got = [coords.x().c0, coords.x().c1, coords.y().c0, coords.y().c1];
        for (g, d) in got.iter().zip(x2) {
            assert_eq!(*g, Fq::from_str_vartime(d).unwrap());
        }
    }

    #[test]
    fn ceremonies_are_recognised_by_digest_and_differ() {
        let digests: Vec<Bytes32> = CEREMONIES.iter().map(|c| c.srs().digest()).collect();
        assert_ne!(digests[0], digests[1]);
        for (c, d) in CEREMONIES.iter().zip(&digests) {
            assert_eq!(ceremony_of(d).map(|c| c.name), Some(c.name));
            assert!(!c.srs().is_dev());
        }
        assert!(ceremony_of(&Bytes32::from_hex(DEV_SRS_DIGEST).unwrap()).is_none());
    }
}
