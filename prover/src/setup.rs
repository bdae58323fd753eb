//! The structured reference string: a powers-of-tau file checked against a pinned hash, or —
//! only when asked for — the deterministic, **insecure** development setup.
//!
//! There is no silent setup: a caller must choose [`SetupChoice::Dev`] or name a file.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chunkproof_core::srs::SrsOrigin;
use chunkproof_core::{write_atomic, VerifierSrs};
use halo2_axiom::arithmetic::{best_multiexp, parallelize};
use halo2_axiom::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine, G1, G2};
use halo2_axiom::halo2curves::ff::{BatchInvert, Field, PrimeField};
use halo2_axiom::halo2curves::group::cofactor::CofactorGroup;
use halo2_axiom::halo2curves::group::prime::PrimeCurveAffine;
use halo2_axiom::halo2curves::group::{Curve, Group, GroupEncoding};
use halo2_axiom::halo2curves::pairing::Engine;
use halo2_axiom::poly::commitment::{Blind, Params, ParamsProver};
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use halo2_axiom::poly::EvaluationDomain;
use halo2_axiom::SerdeFormat;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_core::OsRng;
use sha2::{Digest, Sha256};

use crate::error::{ProverError, Result};

/// Seed of the development setup. Its secret `τ` is public knowledge: proofs made with it prove
/// nothing.
pub const DEV_SEED: [u8; 32] = *b"chunkproof INSECURE dev setup v1";

/// Largest SRS file read (2^26 points in halo2's raw format is about 8.6 GB; the cap leaves
/// room for that).
pub const MAX_SRS_BYTES: u64 = 10 << 30;

/// Where the SRS comes from (also the setup reference carried by a chunk job: a file must exist
/// at the same path wherever the job runs).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SetupChoice {
    /// The deterministic development setup (insecure, for tests and demos only).
    Dev,
    /// A halo2 KZG params file (`ParamsKZG::write` format) whose SHA-256 must equal `sha256`.
    File {
        /// The file.
        path: PathBuf,
        /// Expected SHA-256, hex (the pin).
        sha256: String,
    },
}

/// An opened SRS, handing out prover parameters per circuit size.
pub struct Srs {
    origin: SrsOrigin,
    verifier: VerifierSrs,
    full: Option<ParamsKZG<Bn256>>,
    cache_dir: Option<PathBuf>,
    by_k: BTreeMap<u32, ParamsKZG<Bn256>>,
}

fn verifier_points(p: &ParamsKZG<Bn256>) -> Result<VerifierSrs> {
    let g1 =
        *p.get_g().first().ok_or_else(|| ProverError::Setup { detail: "params hold no points".into() })?;
    Ok(VerifierSrs { g1, g2: p.g2(), s_g2: p.s_g2() })
}

/// The development setup's parameters for size `2^k` (same `τ` for every `k`).
///
/// Equal to `ParamsKZG::setup(k, ChaCha20Rng::from_seed(DEV_SEED))` (a test checks it), but
/// computed with field arithmetic and one fixed-base table instead of `2^(k+1)` generic scalar
/// multiplications: seconds instead of minutes at `k = 19`.
pub fn dev_params(k: u32) -> ParamsKZG<Bn256> {
    let tau = Fr::random(ChaCha20Rng::from_seed(DEV_SEED));
    let n = 1usize << k;
    let mut powers = vec![Fr::ONE; n];
    for i in 1..n {
        powers[i] = powers[i - 1] * tau;
    }
    // L_i(τ) = (τ^n − 1)/n · ω^i / (τ − ω^i)
    let mut omega = Fr::ROOT_OF_UNITY;
    for _ in k..Fr::S {
        omega = omega.square();
    }
    let n_inv = Fr::from(n as u64).invert().expect("n is invertible");
    let multiplier = (tau.pow_vartime([n as u64]) - Fr::ONE) * n_inv;
    let mut omegas = vec![Fr::ONE; n];
    for i in 1..n {
        omegas[i] = omegas[i - 1] * omega;
    }
    let mut denominators: Vec<Fr> = omegas.iter().map(|w| tau - w).collect();
    denominators.iter_mut().batch_invert();
    let lagrange: Vec<Fr> = omegas.iter().zip(&denominators).map(|(w, d)| multiplier * w * d).collect();

    let table = FixedBase::new();
    let g = table.mul_all(&powers);
    let g_lagrange = table.mul_all(&lagrange);
    let g2 = G2Affine::generator();
    let s_g2: G2Affine = (g2 * tau).into();
    seed_params().from_parts(k, g, Some(g_lagrange), g2, s_g2)
}

/// A one-point parameter set, only to call `ParamsKZG::from_parts` on.
pub(crate) fn seed_params() -> ParamsKZG<Bn256> {
    let mut bytes = 0u32.to_le_bytes().to_vec();
    for _ in 0..2 {
        bytes.extend(G1Affine::generator().to_bytes().as_ref());
    }
    for _ in 0..2 {
        bytes.extend(G2Affine::generator().to_bytes().as_ref());
    }
    ParamsKZG::<Bn256>::read_custom(&mut bytes.as_slice(), SerdeFormat::Processed).expect("valid seed params")
}

/// Multiples of the G1 generator by byte-window table: 32 mixed additions per scalar.
struct FixedBase {
    table: Vec<[G1Affine; 256]>,
}

impl FixedBase {
    fn new() -> Self {
        let mut base = G1::generator();
        let table = (0..32)
            .map(|_| {
                let mut row = [G1::identity(); 256];
                for b in 1..256 {
                    row[b] = row[b - 1] + base;
                }
                let mut affine = [G1Affine::identity(); 256];
                G1::batch_normalize(&row, &mut affine);
                for _ in 0..8 {
                    base = base.double();
                }
                affine
            })
            .collect();
        Self { table }
    }

    fn mul(&self, s: &Fr) -> G1 {
        let repr = s.to_repr();
        let mut acc = G1::identity();
        for (j, byte) in repr.as_ref().iter().enumerate() {
            if *byte != 0 {
                acc += self.table[j][*byte as usize];
            }
        }
        acc
    }

    fn mul_all(&self, scalars: &[Fr]) -> Vec<G1Affine> {
        let mut proj = vec![G1::identity(); scalars.len()];
        parallelize(&mut proj, |chunk, start| {
            for (i, p) in chunk.iter_mut().enumerate() {
                *p = self.mul(&scalars[start + i]);
            }
        });
        let mut out = vec![G1Affine::identity(); scalars.len()];
        parallelize(&mut out, |chunk, start| {
            G1::batch_normalize(&proj[start..start + chunk.len()], chunk);
        });
        out
    }
}

/// Hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| ProverError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| ProverError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

impl Srs {
    /// Opens the SRS. `cache_dir` (for the dev setup) keeps generated parameters between runs.
    pub fn open(choice: &SetupChoice, cache_dir: Option<&Path>) -> Result<Self> {
        match choice {
            SetupChoice::Dev => {
                log::warn!(
                    "using the INSECURE development setup (public toxic waste): proofs are for testing only"
                );
                let small = dev_params(1);
                Ok(Self {
                    origin: SrsOrigin::DevInsecure,
                    verifier: verifier_points(&small)?,
                    full: None,
                    cache_dir: cache_dir.map(|d| d.join("srs")),
                    by_k: BTreeMap::new(),
                })
            }
            SetupChoice::File { path, sha256 } => {
                let want = sha256.trim().trim_start_matches("0x").to_ascii_lowercase();
                if want.len() != 64 || !want.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(ProverError::Setup {
                        detail: format!("pinned hash {sha256:?} is not 64 hex digits"),
                    });
                }
                let size = std::fs::metadata(path).map_err(|e| ProverError::io(path, e))?.len();
                if size > MAX_SRS_BYTES {
                    return Err(ProverError::Setup {
                        detail: format!("{} is {size} bytes, over {MAX_SRS_BYTES}", path.display()),
                    });
                }
                let got = sha256_file(path)?;
                if got != want {
                    return Err(ProverError::Setup {
                        detail: format!("{} has SHA-256 {got}, the pinned hash is {want}", path.display()),
                    });
                }
                let mut f =
                    std::io::BufReader::new(std::fs::File::open(path).map_err(|e| ProverError::io(path, e))?);
                let params = ParamsKZG::<Bn256>::read_custom(&mut f, SerdeFormat::RawBytes).map_err(|e| {
                    ProverError::Setup {
                        detail: format!("{}: not a halo2 KZG params file: {e}", path.display()),
                    }
                })?;
                check_consistency(&params)?;
                log::info!("SRS {} (2^{} points, sha256 {got})", path.display(), params.k());
                Ok(Self {
                    origin: SrsOrigin::File { sha256: got, k: params.k() },
                    verifier: verifier_points(&params)?,
                    full: Some(params),
                    cache_dir: None,
                    by_k: BTreeMap::new(),
                })
            }
        }
    }

    /// Provenance, for the key-set manifest.
    pub fn origin(&self) -> &SrsOrigin {
        &self.origin
    }

    /// The verifier's points.
    pub fn verifier(&self) -> &VerifierSrs {
        &self.verifier
    }

    /// Prover parameters for circuits of size `2^k`.
    pub fn params(&mut self, k: u32) -> Result<&ParamsKZG<Bn256>> {
        if !self.by_k.contains_key(&k) {
            let p = match &self.full {
                Some(full) => {
                    if k > full.k() {
                        return Err(ProverError::Setup {
                            detail: format!("a chunk needs 2^{k} points, the SRS file has 2^{}", full.k()),
                        });
                    }
                    let mut p = full.clone();
                    if k < full.k() {
                        p.downsize(k);
                    }
                    p
                }
                None => self.dev_params_cached(k)?,
            };
            self.by_k.insert(k, p);
        }
        Ok(&self.by_k[&k])
    }

    fn dev_params_cached(&self, k: u32) -> Result<ParamsKZG<Bn256>> {
        let Some(dir) = &self.cache_dir else { return Ok(dev_params(k)) };
        let path = dir.join(format!("dev-insecure-k{k}.params"));
        if let Ok(f) = std::fs::File::open(&path) {
            if let Ok(p) = ParamsKZG::<Bn256>::read_custom(
                &mut std::io::BufReader::new(f),
                SerdeFormat::RawBytesUnchecked,
            ) {
                if p.k() == k && verifier_points(&p)? == self.verifier {
                    return Ok(p);
                }
            }
            log::warn!("ignoring unreadable cached dev params {}", path.display());
        }
        let p = dev_params(k);
        let mut bytes = Vec::new();
        p.write_custom(&mut bytes, SerdeFormat::RawBytesUnchecked).map_err(|e| ProverError::io(&path, e))?;
        write_atomic(&path, &bytes)?;
        Ok(p)
    }
}

/// Checks an SRS read from a file: the standard generators, `[τ]₂` in the prime-order subgroup,
/// **every** G1 power consistent with `[τ]₂` and the Lagrange basis consistent with the powers.
///
/// Both consistency checks are random linear combinations (two MSMs each), sound except with
/// probability about `n / r`: with fresh random `ρ`, `e(Σ ρ_i·g_{i+1}, g₂) = e(Σ ρ_i·g_i, [τ]₂)`
/// holds only if `g_{i+1} = τ·g_i` for every `i`; and the Lagrange points committed with the
/// evaluations `ρ` must equal the powers committed with the coefficients of the polynomial that
/// takes those evaluations.
pub fn check_consistency(p: &ParamsKZG<Bn256>) -> Result<()> {
    let bad = |detail: String| ProverError::Setup { detail };
    let g = p.get_g();
    let n = g.len();
    if n < 2 || g[0] != G1Affine::generator() || p.g2() != G2Affine::generator() {
        return Err(bad("params do not start from the standard generators".into()));
    }
    let s_g2 = p.s_g2();
    if bool::from(s_g2.is_identity()) || s_g2 == p.g2() || !bool::from(G2::from(s_g2).is_torsion_free()) {
        return Err(
            bad("[tau]_2 is the identity, the generator, or outside the prime-order subgroup".into()),
        );
    }
    let rho: Vec<Fr> = (0..n - 1).map(|_| Fr::random(OsRng)).collect();
    let shifted = best_multiexp(&rho, &g[1..]);
    let base = best_multiexp(&rho, &g[..n - 1]);
    if Bn256::pairing(&shifted.to_affine(), &p.g2()) != Bn256::pairing(&base.to_affine(), &s_g2) {
        return Err(bad(
            "params are inconsistent: the G1 powers are not successive powers of the [tau]_2 secret".into(),
        ));
    }
    let domain = EvaluationDomain::<Fr>::new(1, p.k());
    let evals = domain.lagrange_from_vec((0..n).map(|_| Fr::random(OsRng)).collect());
    let coeffs = domain.lagrange_to_coeff(evals.clone());
    if p.commit_lagrange(&evals, Blind::default()) != p.commit(&coeffs, Blind::default()) {
        return Err(bad("params are inconsistent: the Lagrange basis does not match the G1 powers".into()));
    }
    Ok(())
}
