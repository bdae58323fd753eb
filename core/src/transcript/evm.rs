//! The Keccak-256 Fiat–Shamir transcript of the EVM verifiers.
//!
//! Byte-compatible with snark-verifier's `EvmTranscript` so that one proof verifies in Rust and in
//! the generated Solidity:
//! - absorbed scalars are 32 bytes big-endian; points are `x ‖ y`, each 32 bytes big-endian;
//! - a challenge is `keccak256(buffer)`, with one extra byte `0x01` appended when the buffer is
//!   exactly 32 bytes long (so that squeezing twice in a row gives two different challenges), read
//!   as a big-endian integer mod `r`; the buffer is then replaced by that hash;
//! - the proof stream holds the written points and scalars in the same encodings.

use std::io::{self, Read, Write};
use std::marker::PhantomData;

use halo2_axiom::halo2curves::bn256::{Fq, G1Affine};
use halo2_axiom::halo2curves::ff::{FromUniformBytes, PrimeField};
use halo2_axiom::halo2curves::CurveAffine;
use halo2_axiom::transcript::{
    EncodedChallenge, Transcript, TranscriptRead, TranscriptReadBuffer, TranscriptWrite,
    TranscriptWriterBuffer,
};
use sha3::{Digest, Keccak256};

use crate::field::Fr;

/// A challenge squeezed from an [`EvmTranscript`].
#[derive(Clone, Copy, Debug)]
pub struct ChallengeEvm(Fr);

impl EncodedChallenge<G1Affine> for ChallengeEvm {
    type Input = [u8; 32];

    fn new(challenge_input: &[u8; 32]) -> Self {
        Self(be_bytes_mod_r(challenge_input))
    }

    fn get_scalar(&self) -> Fr {
        self.0
    }
}

/// A 256-bit big-endian integer reduced mod the scalar field order.
fn be_bytes_mod_r(be: &[u8; 32]) -> Fr {
    let mut wide = [0u8; 64];
    for (dst, src) in wide.iter_mut().zip(be.iter().rev()) {
        *dst = *src;
    }
    Fr::from_uniform_bytes(&wide)
}

fn be32(repr: impl AsRef<[u8]>) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (dst, src) in out.iter_mut().zip(repr.as_ref().iter().rev()) {
        *dst = *src;
    }
    out
}

/// Keccak transcript over a reader (verifying) or a writer (proving).
#[derive(Debug)]
pub struct EvmTranscript<S> {
    stream: S,
    buf: Vec<u8>,
    _marker: PhantomData<G1Affine>,
}

impl<S> EvmTranscript<S> {
    /// A fresh transcript over `stream`.
    pub fn new(stream: S) -> Self {
        Self { stream, buf: Vec::new(), _marker: PhantomData }
    }

    /// The underlying stream (the proof bytes, for a writer).
    pub fn into_inner(self) -> S {
        self.stream
    }
}

impl<S> Transcript<G1Affine, ChallengeEvm> for EvmTranscript<S> {
    fn squeeze_challenge(&mut self) -> ChallengeEvm {
        let mut hasher = Keccak256::new();
        hasher.update(&self.buf);
        if self.buf.len() == 32 {
            hasher.update([1u8]);
        }
        let hash: [u8; 32] = hasher.finalize().into();
        self.buf = hash.to_vec();
        ChallengeEvm::new(&hash)
    }

    fn common_point(&mut self, point: G1Affine) -> io::Result<()> {
        let coords: Option<halo2_axiom::halo2curves::Coordinates<G1Affine>> = point.coordinates().into();
        let coords = coords.ok_or_else(|| io::Error::other("point at infinity in transcript"))?;
        self.buf.extend(be32(coords.x().to_repr()));
        self.buf.extend(be32(coords.y().to_repr()));
        Ok(())
    }

    fn common_scalar(&mut self, scalar: Fr) -> io::Result<()> {
        self.buf.extend(be32(scalar.to_repr()));
        Ok(())
    }
}

impl<R: Read> TranscriptRead<G1Affine, ChallengeEvm> for EvmTranscript<R> {
    fn read_point(&mut self) -> io::Result<G1Affine> {
        let mut coord = || -> io::Result<Fq> {
            let mut b = [0u8; 32];
            self.stream.read_exact(&mut b)?;
            b.reverse();
            Option::from(Fq::from_repr(b))
                .ok_or_else(|| io::Error::other("non-canonical base field element in proof"))
        };
        let x = coord()?;
        let y = coord()?;
        let point: Option<G1Affine> = G1Affine::from_xy(x, y).into();
        let point = point.ok_or_else(|| io::Error::other("point not on the curve in proof"))?;
        self.common_point(point)?;
        Ok(point)
    }

    fn read_scalar(&mut self) -> io::Result<Fr> {
        let mut b = [0u8; 32];
        self.stream.read_exact(&mut b)?;
        b.reverse();
        let scalar: Option<Fr> = Fr::from_repr(b).into();
        let scalar = scalar.ok_or_else(|| io::Error::other("non-canonical scalar in proof"))?;
        self.common_scalar(scalar)?;
        Ok(scalar)
    }
}

impl<W: Write> TranscriptWrite<G1Affine, ChallengeEvm> for EvmTranscript<W> {
    fn write_point(&mut self, point: G1Affine) -> io::Result<()> {
        self.common_point(point)?;
        let coords: Option<halo2_axiom::halo2curves::Coordinates<G1Affine>> = point.coordinates().into();
        let coords = coords.ok_or_else(|| io::Error::other("point at infinity in transcript"))?;
        self.stream.write_all(&be32(coords.x().to_repr()))?;
        self.stream.write_all(&be32(coords.y().to_repr()))
    }

    fn write_scalar(&mut self, scalar: Fr) -> io::Result<()> {
        self.common_scalar(scalar)?;
        self.stream.write_all(&be32(scalar.to_repr()))
    }
}

impl<R: Read> TranscriptReadBuffer<R, G1Affine, ChallengeEvm> for EvmTranscript<R> {
    fn init(reader: R) -> Self {
        Self::new(reader)
    }
}

impl<W: Write> TranscriptWriterBuffer<W, G1Affine, ChallengeEvm> for EvmTranscript<W> {
    fn init(writer: W) -> Self {
        Self::new(writer)
    }

    fn finalize(self) -> W {
        self.stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_axiom::halo2curves::group::Curve;

    #[test]
    fn write_then_read_gives_same_challenges() {
        let g = G1Affine::generator();
        let p = (g * Fr::from(5)).to_affine();
        let mut w = EvmTranscript::<Vec<u8>>::new(Vec::new());
        w.write_point(p).unwrap();
        w.write_scalar(Fr::from(9)).unwrap();
        let c1 = w.squeeze_challenge().get_scalar();
        let c2 = w.squeeze_challenge().get_scalar();
        let bytes = w.into_inner();
        assert_eq!(bytes.len(), 96);

        let mut r = EvmTranscript::new(bytes.as_slice());
        assert_eq!(r.read_point().unwrap(), p);
        assert_eq!(r.read_scalar().unwrap(), Fr::from(9));
        assert_eq!(r.squeeze_challenge().get_scalar(), c1);
        assert_eq!(r.squeeze_challenge().get_scalar(), c2);
        assert_ne!(c1, c2);
    }

    #[test]
    fn challenge_is_keccak_of_big_endian_buffer() {
        let mut t = EvmTranscript::<Vec<u8>>::new(Vec::new());
        t.common_scalar(Fr::from(1)).unwrap();
        t.common_scalar(Fr::from(2)).unwrap();
        let mut be = [0u8; 64];
        be[31] = 1;
        be[63] = 2;
        let h: [u8; 32] = Keccak256::digest(be).into();
        assert_eq!(t.squeeze_challenge().get_scalar(), be_bytes_mod_r(&h));
        // a squeeze over a buffer of exactly 32 bytes appends 0x01
        let h2: [u8; 32] = Keccak256::digest([&h[..], &[1u8]].concat()).into();
        assert_eq!(t.squeeze_challenge().get_scalar(), be_bytes_mod_r(&h2));
    }

    #[test]
    fn malformed_points_are_errors() {
        let mut r = EvmTranscript::new(&[0xffu8; 64][..]);
        assert!(r.read_point().is_err());
        let mut r = EvmTranscript::new(&[0u8; 10][..]);
        assert!(r.read_scalar().is_err());
    }
}
