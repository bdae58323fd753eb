//! Powers-of-tau ceremony files as snarkjs writes them (`.ptau`, the files users download, e.g.
//! `powersOfTau28_hez_final_{k}.ptau`) turned into halo2 KZG parameters.
//!
//! Layout (little-endian): `"ptau"`, `u32` version 1, `u32` section count, then sections
//! `u32 id ‖ u64 size ‖ payload`. Section 1 is the header (`u32 n8 = 32`, the base-field modulus
//! `q`, `u32 power`, `u32 ceremony power`), section 2 the `2·2^power − 1` points `[τ^i]₁`,
//! section 3 the `2^power` points `[τ^i]₂`, section 7 the contributions; a file prepared for
//! phase 2 adds the Lagrange bases for every size in section 12. Points are affine, each
//! coordinate 32 bytes little-endian in Montgomery form (`G2`: `x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1`), the
//! very layout of halo2curves' raw encoding.
//!
//! Nothing in the file is believed: the header must name BN254, every point must be on the
//! curve, the generators standard, `[τ]₂` in the prime-order subgroup, and every imported power
//! and Lagrange point consistent with `[τ]₂` ([`check_consistency`]).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use halo2_axiom::arithmetic::{g_to_lagrange, parallelize};
use halo2_axiom::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine};
use halo2_axiom::halo2curves::ff::{Field, PrimeField};
use halo2_axiom::halo2curves::group::prime::PrimeCurveAffine;
use halo2_axiom::halo2curves::serde::SerdeObject;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;

use crate::error::{ProverError, Result};
use crate::setup::{check_consistency, seed_params};

const G1_BYTES: usize = 64;
/// The BN254 base-field modulus, big-endian hex.
const BN254_Q: &str = "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47";
const G2_BYTES: usize = 128;
/// Largest power this importer accepts (halo2 circuits here go up to `2^26` rows).
pub const MAX_IMPORT_K: u32 = 26;

/// What was imported.
pub struct Imported {
    /// The parameters for circuits of size `2^k`.
    pub params: ParamsKZG<Bn256>,
    /// Powers of tau in the file (`2^power`).
    pub power: u32,
    /// The power of the ceremony the file was cut from.
    pub ceremony_power: u32,
    /// Contributions recorded in the file.
    pub contributions: u32,
    /// Whether the Lagrange basis came from the file's phase-2 section (else it was computed).
    pub lagrange_from_file: bool,
}

struct Sections {
    at: BTreeMap<u32, (u64, u64)>,
}

impl Sections {
    fn get(&self, id: u32, what: &str) -> Result<(u64, u64)> {
        self.at.get(&id).copied().ok_or_else(|| bad(format!("no {what} section (id {id})")))
    }
}

fn bad(detail: String) -> ProverError {
    ProverError::Setup { detail: format!("ptau file: {detail}") }
}

fn read_exact(f: &mut (impl Read + Seek), at: u64, len: usize, path: &Path) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    f.seek(SeekFrom::Start(at)).map_err(|e| ProverError::io(path, e))?;
    f.read_exact(&mut buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => bad(format!("truncated at byte {at} (+{len})")),
        _ => ProverError::io(path, e),
    })?;
    Ok(buf)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn sections(f: &mut std::fs::File, path: &Path) -> Result<Sections> {
    let len = f.metadata().map_err(|e| ProverError::io(path, e))?.len();
    let head = read_exact(f, 0, 12, path)?;
    if &head[..4] != b"ptau" {
        return Err(bad("not a ptau file (no \"ptau\" magic)".into()));
    }
    if u32_at(&head, 4) != 1 {
        return Err(bad(format!("version {} (this reader knows version 1)", u32_at(&head, 4))));
    }
    let count = u32_at(&head, 8);
    let mut at = BTreeMap::new();
    let mut pos = 12u64;
    for _ in 0..count {
        let h = read_exact(f, pos, 12, path)?;
        let id = u32_at(&h, 0);
        let size = u64::from_le_bytes(h[4..12].try_into().expect("8 bytes"));
        let start = pos + 12;
        if start.checked_add(size).is_none_or(|end| end > len) {
            return Err(bad(format!("section {id} runs past the end of the file")));
        }
        if at.insert(id, (start, size)).is_some() {
            return Err(bad(format!("section {id} appears twice")));
        }
        pos = start + size;
    }
    Ok(Sections { at })
}

/// `n` G1 points from raw bytes, each checked (coordinates `< q`, on the curve, not the
/// identity); `first` names the index of the first one in errors.
fn g1_points(bytes: &[u8], what: &str, first: usize) -> Result<Vec<G1Affine>> {
    let mut points = vec![None; bytes.len() / G1_BYTES];
    parallelize(&mut points, |chunk, start| {
        for (i, p) in chunk.iter_mut().enumerate() {
            let at = (start + i) * G1_BYTES;
            *p = G1Affine::from_raw_bytes(&bytes[at..at + G1_BYTES])
                .filter(|p: &G1Affine| !bool::from(p.is_identity()));
        }
    });
    points
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.ok_or_else(|| bad(format!("{what}[{}] is not a point of the curve", first + i))))
        .collect()
}

/// The exponent `J` with `ω_snarkjs = ω_halo2^J` for domains of size `2^k`: snarkjs takes its
/// roots of unity from the generator 5, halo2 from 7, so the two Lagrange bases list the same
/// points in another order (`snarkjs_L[i] = halo2_L[J·i mod 2^k]`).
fn root_exponent(k: u32) -> u64 {
    // (r − 1) / 2^k as little-endian limbs
    let r1 = (-Fr::ONE).to_repr();
    let mut e = [0u64; 4];
    for (l, c) in e.iter_mut().zip(r1.as_ref().chunks(8)) {
        *l = u64::from_le_bytes(c.try_into().expect("8 bytes"));
    }
    for _ in 0..k {
        for i in 0..4 {
            e[i] = (e[i] >> 1) | e.get(i + 1).map_or(0, |h| h << 63);
        }
    }
    let omega_h = (k..Fr::S).fold(Fr::ROOT_OF_UNITY, |w, _| w.square());
    let omega_s = Fr::from(5).pow_vartime(e);
    // Pohlig–Hellman in the cyclic group of order 2^k, one bit at a time.
    let inv_h = omega_h.invert().expect("a root of unity");
    let mut j = 0u64;
    for bit in 0..k {
        let rest = omega_s * inv_h.pow_vartime([j]);
        if (0..k - 1 - bit).fold(rest, |x, _| x.square()) != Fr::ONE {
            j |= 1 << bit;
        }
    }
    j
}

/// Reads the first `2^k` powers of `path` and makes halo2 parameters of them, checked.
pub fn import_ptau(path: &Path, k: u32) -> Result<Imported> {
    let mut f = std::fs::File::open(path).map_err(|e| ProverError::io(path, e))?;
    let s = sections(&mut f, path)?;
    let (h_at, h_len) = s.get(1, "header")?;
    let header = read_exact(&mut f, h_at, h_len.min(64) as usize, path)?;
    if header.len() < 44 || u32_at(&header, 0) != 32 {
        return Err(bad("the header does not describe 32-byte field elements".into()));
    }
    let mut q = header[4..36].to_vec();
    q.reverse();
    if hex::encode(q) != BN254_Q {
        return Err(bad("the curve is not BN254 (\"bn128\"): another base-field modulus".into()));
    }
    let (power, ceremony_power) = (u32_at(&header, 36), u32_at(&header, 40));
    if !(1..=MAX_IMPORT_K).contains(&k) {
        return Err(bad(format!("k = {k} is outside 1..={MAX_IMPORT_K}")));
    }
    if k > power {
        return Err(bad(format!("it holds 2^{power} powers of tau; k = {k} needs 2^{k}")));
    }
    let n = 1usize << k;
    let (g1_at, g1_len) = s.get(2, "tauG1")?;
    let (g2_at, g2_len) = s.get(3, "tauG2")?;
    if g1_len != ((2u64 << power) - 1) * G1_BYTES as u64 || g2_len != (1u64 << power) * G2_BYTES as u64 {
        return Err(bad(format!("the tau sections do not have the sizes of 2^{power} powers")));
    }
    let g = g1_points(&read_exact(&mut f, g1_at, n * G1_BYTES, path)?, "tauG1", 0)?;
    let g2_bytes = read_exact(&mut f, g2_at, 2 * G2_BYTES, path)?;
    let g2 = |i: usize| {
        G2Affine::from_raw_bytes(&g2_bytes[i * G2_BYTES..(i + 1) * G2_BYTES])
            .ok_or_else(|| bad(format!("tauG2[{i}] is not a point of the curve")))
    };
    let (gen2, s_g2) = (g2(0)?, g2(1)?);
    if g[0] != G1Affine::generator() || gen2 != G2Affine::generator() {
        return Err(bad("tauG1[0] and tauG2[0] are not the standard generators".into()));
    }
    let contributions = match s.at.get(&7) {
        Some((at, len)) if *len >= 4 => u32_at(&read_exact(&mut f, *at, 4, path)?, 0),
        _ => 0,
    };

    // Lagrange basis: the prepared file's, reordered to halo2's roots of unity, when it checks out.
    let mut lagrange_from_file = false;
    let mut params = None;
    if let Some((l_at, l_len)) = s.at.get(&12).copied() {
        if l_len == ((4u64 << power) - 1) * G1_BYTES as u64 {
            let at = l_at + (n as u64 - 1) * G1_BYTES as u64;
            let snark = g1_points(&read_exact(&mut f, at, n * G1_BYTES, path)?, "lagrange tauG1", n - 1)?;
            let j = root_exponent(k) as usize;
            let mut halo2 = vec![G1Affine::identity(); n];
            for (i, p) in snark.into_iter().enumerate() {
                halo2[(j.wrapping_mul(i)) % n] = p;
            }
            let candidate = seed_params().from_parts(k, g.clone(), Some(halo2), gen2, s_g2);
            match check_consistency(&candidate) {
                Ok(()) => {
                    lagrange_from_file = true;
                    params = Some(candidate);
                }
                Err(e) => log::warn!(
                    "{}: the file's Lagrange basis is unusable ({e}); computing it",
                    path.display()
                ),
            }
        }
    }
    let params = match params {
        Some(p) => p,
        None => {
            log::info!("computing the Lagrange basis of 2^{k} points (a group FFT: slow for large k)");
            let lagrange = g_to_lagrange(g.iter().map(|p| p.to_curve()).collect(), k);
            let p = seed_params().from_parts(k, g, Some(lagrange), gen2, s_g2);
            check_consistency(&p)?;
            p
        }
    };
    Ok(Imported { params, power, ceremony_power, contributions, lagrange_from_file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_exponent_maps_roots() {
        for k in [1, 4, 5, 6, 12, 20, 26] {
            let j = root_exponent(k);
            let omega_h = (k..Fr::S).fold(Fr::ROOT_OF_UNITY, |w, _| w.square());
            let omega_s = (k..Fr::S).fold(Fr::from(5).pow_vartime(root_t()), |w, _| w.square());
            assert_eq!(omega_h.pow_vartime([j]), omega_s, "k = {k}");
            assert_eq!(j % 2, 1, "k = {k}: J must map a generator to a generator");
        }
        // the two choices of roots agree up to 2^5 and differ from 2^6 on (J = 33 mod 64)
        assert_eq!(root_exponent(5), 1);
        assert_eq!(root_exponent(6), 33);
    }

    /// `(r − 1) / 2^S`.
    fn root_t() -> [u64; 4] {
        let r1 = (-Fr::ONE).to_repr();
        let mut e = [0u64; 4];
        for (l, c) in e.iter_mut().zip(r1.as_ref().chunks(8)) {
            *l = u64::from_le_bytes(c.try_into().unwrap());
        }
        for _ in 0..Fr::S {
            for i in 0..4 {
                e[i] = (e[i] >> 1) | e.get(i + 1).map_or(0, |h| h << 63);
            }
        }
        e
    }
}
