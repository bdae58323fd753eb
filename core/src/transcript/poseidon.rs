//! The Poseidon Fiat–Shamir transcript that aggregation circuits recompute.
//!
//! Byte- and challenge-compatible with snark-verifier's `PoseidonTranscript` over BN254 with the
//! parameters of [`crate::poseidon`] (width 3, rate 2, 8 full and 57 partial rounds), which is
//! what its halo2 loader reads inside an aggregation circuit:
//! - one running sponge state for the whole proof, starting at [`poseidon::initial_state`];
//! - absorbed scalars are buffered as field elements; a point `(x, y)` is buffered as its two
//!   coordinates, each reduced from the base field into the scalar field (`x mod r`);
//! - a challenge absorbs the buffer in blocks of two ([`poseidon::absorb_blocks`]: padding with
//!   a `1` after the last element, or a whole block `[1, 0]`, also for an empty buffer), one
//!   permutation per block, and is `state[1]`; the buffer is emptied, the state kept;
//! - the proof stream holds scalars as 32 bytes little-endian and points compressed (32 bytes,
//!   halo2curves' encoding).

use std::io::{self, Read, Write};

use halo2_axiom::halo2curves::bn256::G1Affine;
use halo2_axiom::halo2curves::ff::{FromUniformBytes, PrimeField};
use halo2_axiom::halo2curves::group::GroupEncoding;
use halo2_axiom::halo2curves::CurveAffine;
use halo2_axiom::transcript::{
    EncodedChallenge, Transcript, TranscriptRead, TranscriptReadBuffer, TranscriptWrite,
    TranscriptWriterBuffer,
};

use crate::field::Fr;
use crate::poseidon::{self, WIDTH};

/// A challenge squeezed from a [`PoseidonTranscript`].
#[derive(Clone, Copy, Debug)]
pub struct ChallengePoseidon(Fr);

impl EncodedChallenge<G1Affine> for ChallengePoseidon {
    type Input = Fr;

    fn new(challenge_input: &Fr) -> Self {
        Self(*challenge_input)
    }

    fn get_scalar(&self) -> Fr {
        self.0
    }
}

/// Poseidon transcript over a reader (verifying) or a writer (proving).
#[derive(Debug)]
pub struct PoseidonTranscript<S> {
    stream: S,
    state: [Fr; WIDTH],
    buf: Vec<Fr>,
}

impl<S> PoseidonTranscript<S> {
    /// A fresh transcript over `stream`.
    pub fn new(stream: S) -> Self {
        Self { stream, state: poseidon::initial_state(), buf: Vec::new() }
    }

    /// The underlying stream (the proof bytes, for a writer; what is left, for a reader).
    pub fn into_inner(self) -> S {
        self.stream
    }
}

/// A base-field coordinate as a scalar: its integer value reduced mod `r`.
fn base_to_scalar(repr: impl AsRef<[u8]>) -> Fr {
    let mut wide = [0u8; 64];
    wide[..32].copy_from_slice(repr.as_ref());
    Fr::from_uniform_bytes(&wide)
}

impl<S> Transcript<G1Affine, ChallengePoseidon> for PoseidonTranscript<S> {
    fn squeeze_challenge(&mut self) -> ChallengePoseidon {
        let buf = std::mem::take(&mut self.buf);
        for block in poseidon::absorb_blocks(&buf) {
            for (s, x) in self.state[1..].iter_mut().zip(block.iter()) {
                *s += x;
            }
            poseidon::permute(&mut self.state);
        }
        ChallengePoseidon(self.state[1])
    }

    fn common_point(&mut self, point: G1Affine) -> io::Result<()> {
        let coords: Option<halo2_axiom::halo2curves::Coordinates<G1Affine>> = point.coordinates().into();
        let coords = coords.ok_or_else(|| io::Error::other("point at infinity in transcript"))?;
        self.buf.push(base_to_scalar(coords.x().to_repr()));
        self.buf.push(base_to_scalar(coords.y().to_repr()));
        Ok(())
    }

    fn common_scalar(&mut self, scalar: Fr) -> io::Result<()> {
        self.buf.push(scalar);
        Ok(())
    }
}

impl<R: Read> TranscriptRead<G1Affine, ChallengePoseidon> for PoseidonTranscript<R> {
    fn read_point(&mut self) -> io::Result<G1Affine> {
        let mut repr = <G1Affine as GroupEncoding>::Repr::default();
        self.stream.read_exact(repr.as_mut())?;
        let point: Option<G1Affine> = G1Affine::from_bytes(&repr).into();
        let point = point.ok_or_else(|| io::Error::other("invalid point encoding in proof"))?;
        self.common_point(point)?;
        Ok(point)
    }

    fn read_scalar(&mut self) -> io::Result<Fr> {
        let mut b = [0u8; 32];
        self.stream.read_exact(&mut b)?;
        let scalar: Option<Fr> = Fr::from_repr(b).into();
        let scalar = scalar.ok_or_else(|| io::Error::other("non-canonical scalar in proof"))?;
        self.common_scalar(scalar)?;
        Ok(scalar)
    }
}

impl<W: Write> TranscriptWrite<G1Affine, ChallengePoseidon> for PoseidonTranscript<W> {
    fn write_point(&mut self, point: G1Affine) -> io::Result<()> {
        self.common_point(point)?;
        self.stream.write_all(point.to_bytes().as_ref())
    }

    fn write_scalar(&mut self, scalar: Fr) -> io::Result<()> {
        self.common_scalar(scalar)?;
        self.stream.write_all(scalar.to_repr().as_ref())
    }
}

impl<R: Read> TranscriptReadBuffer<R, G1Affine, ChallengePoseidon> for PoseidonTranscript<R> {
    fn init(reader: R) -> Self {
        Self::new(reader)
    }
}

impl<W: Write> TranscriptWriterBuffer<W, G1Affine, ChallengePoseidon> for PoseidonTranscript<W> {
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
        let p = (G1Affine::generator() * Fr::from(5)).to_affine();
        let mut w = PoseidonTranscript::<Vec<u8>>::new(Vec::new());
        w.write_point(p).unwrap();
        w.write_scalar(Fr::from(9)).unwrap();
        let c1 = w.squeeze_challenge().get_scalar();
        let c2 = w.squeeze_challenge().get_scalar();
        let bytes = w.into_inner();
        assert_eq!(bytes.len(), 64);

        let mut r = PoseidonTranscript::new(bytes.as_slice());
        assert_eq!(r.read_point().unwrap(), p);
        assert_eq!(r.read_scalar().unwrap(), Fr::from(9));
        assert_eq!(r.squeeze_challenge().get_scalar(), c1);
        assert_eq!(r.squeeze_challenge().get_scalar(), c2);
        assert_ne!(c1, c2);
    }

    #[test]
    fn first_challenge_is_the_sponge_hash_of_the_buffer() {
        // From the initial state, one squeeze is exactly the fixed-length sponge hash.
        let mut t = PoseidonTranscript::<Vec<u8>>::new(Vec::new());
        let xs = [Fr::from(1), Fr::from(2), Fr::from(3)];
        for x in xs {
            t.common_scalar(x).unwrap();
        }
        assert_eq!(t.squeeze_challenge().get_scalar(), poseidon::hash(&xs));
    }

    #[test]
    fn malformed_input_is_an_error() {
        let mut r = PoseidonTranscript::new(&[0xffu8; 32][..]);
        assert!(r.read_scalar().is_err());
        let mut r = PoseidonTranscript::new(&[0u8; 10][..]);
        assert!(r.read_point().is_err());
    }
}
