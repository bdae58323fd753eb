//! A KZG commitment scheme whose prover-side commitments run on the GPU.
//!
//! [`CudaKzg`] is halo2-axiom's KZG scheme with one change: [`CudaParams`] computes
//! `commit` and `commit_lagrange` with the GPU MSM. Multi-opening is delegated to halo2-axiom's
//! SHPLONK prover over the same parameters, and the verifier parameters are the ordinary
//! `ParamsKZG`, so the proofs are byte-for-byte the format the CPU prover makes and verify with
//! the ordinary verifier. Of a proof's commitments, all but SHPLONK's two openings go through
//! the GPU.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use halo2_axiom::halo2curves::bn256::{Bn256, Fr, G1Affine, G1};
use halo2_axiom::halo2curves::serde::SerdeObject;
use halo2_axiom::plonk::ProvingKey;
use halo2_axiom::poly::commitment::{Blind, CommitmentScheme, Params, ParamsProver, Prover};
use halo2_axiom::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_axiom::poly::kzg::msm::MSMKZG;
use halo2_axiom::poly::kzg::multiopen::ProverSHPLONK;
use halo2_axiom::poly::{Coeff, LagrangeCoeff, Polynomial, ProverQuery};
use halo2_axiom::transcript::{EncodedChallenge, TranscriptWrite};
use halo2_axiom::SerdeFormat;
use rand_core::RngCore;

use super::msm::{cpu_msm, Device};
use crate::circuit::ChunkCircuit;
use crate::engine::{prove_with_scheme, ProofEngine, TranscriptKind};
use crate::error::Result;

/// MSMs with fewer points than this run on the CPU, where they are faster than a kernel launch
/// and a host-to-device copy.
pub const MIN_GPU_POINTS: usize = 1 << 12;

/// Counters of where the MSMs ran.
#[derive(Debug, Default)]
pub struct MsmStats {
    /// MSMs run on the GPU.
    pub gpu: AtomicU64,
    /// Time spent in them, ns.
    pub gpu_ns: AtomicU64,
    /// MSMs below [`MIN_GPU_POINTS`], run on the CPU by design.
    pub cpu_small: AtomicU64,
    /// MSMs that failed on the GPU and were recomputed on the CPU (each one is logged).
    pub cpu_fallback: AtomicU64,
}

/// KZG prover parameters whose commitments use the GPU.
#[derive(Clone, Debug)]
pub struct CudaParams {
    inner: ParamsKZG<Bn256>,
    g_lagrange: Arc<Vec<G1Affine>>,
    device: Option<Arc<Device>>,
    stats: Arc<MsmStats>,
}

/// Keeps the bytes written after the first `skip`.
struct Tail {
    skip: usize,
    kept: Vec<u8>,
}

impl io::Write for Tail {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let drop = self.skip.min(buf.len());
        self.skip -= drop;
        self.kept.extend_from_slice(&buf[drop..]);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// halo2-axiom keeps the Lagrange-basis points private; they are the second block of the raw
/// serialisation (`k`, then `n` monomial points, then `n` Lagrange points, then two G2 points).
fn lagrange_bases(p: &ParamsKZG<Bn256>) -> Vec<G1Affine> {
    let n = p.n() as usize;
    let mut tail = Tail { skip: 4 + n * 64, kept: Vec::with_capacity(n * 64 + 256) };
    p.write_custom(&mut tail, SerdeFormat::RawBytes).expect("writing to memory cannot fail");
    tail.kept.chunks_exact(64).take(n).map(G1Affine::from_raw_bytes_unchecked).collect()
}

impl CudaParams {
    /// Wraps `inner`; with `device = None` every MSM runs on the CPU.
    pub fn new(inner: ParamsKZG<Bn256>, device: Option<Arc<Device>>, stats: Arc<MsmStats>) -> Self {
        let g_lagrange = Arc::new(lagrange_bases(&inner));
        Self { inner, g_lagrange, device, stats }
    }

    fn msm(&self, scalars: &[Fr], bases: &[G1Affine]) -> G1 {
        let Some(device) = self.device.as_ref().filter(|_| scalars.len() >= MIN_GPU_POINTS) else {
            self.stats.cpu_small.fetch_add(1, Ordering::Relaxed);
            return cpu_msm(scalars, bases);
        };
        let t = Instant::now();
        match device.msm(scalars, bases) {
            Ok(p) => {
                self.stats.gpu.fetch_add(1, Ordering::Relaxed);
                self.stats.gpu_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                p
            }
            Err(e) => {
                log::warn!("GPU MSM of {} points failed, recomputing on the CPU: {e}", scalars.len());
                self.stats.cpu_fallback.fetch_add(1, Ordering::Relaxed);
                cpu_msm(scalars, bases)
            }
        }
    }
}

impl<'params> Params<'params, G1Affine> for CudaParams {
    type MSM = MSMKZG<Bn256>;

    fn k(&self) -> u32 {
        self.inner.k()
    }
    fn n(&self) -> u64 {
        self.inner.n()
    }
    fn downsize(&mut self, k: u32) {
        self.inner.downsize(k);
        self.g_lagrange = Arc::new(lagrange_bases(&self.inner));
    }
    fn empty_msm(&'params self) -> MSMKZG<Bn256> {
        self.inner.empty_msm()
    }
    fn commit_lagrange(&self, poly: &Polynomial<Fr, LagrangeCoeff>, _: Blind<Fr>) -> G1 {
        self.msm(poly, &self.g_lagrange)
    }
    fn write<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
        Params::write(&self.inner, writer)
    }
    /// Reads plain KZG parameters; the result computes every MSM on the CPU.
    fn read<R: io::Read>(reader: &mut R) -> io::Result<Self> {
        let inner = <ParamsKZG<Bn256> as Params<G1Affine>>::read(reader)?;
        Ok(Self::new(inner, None, Arc::default()))
    }
}

impl<'params> ParamsProver<'params, G1Affine> for CudaParams {
    type ParamsVerifier = ParamsKZG<Bn256>;

    /// An insecure random setup with CPU MSMs (halo2's trait requires the constructor; the
    /// prover never calls it).
    fn new(k: u32) -> Self {
        Self::new(<ParamsKZG<Bn256> as ParamsProver<G1Affine>>::new(k), None, Arc::default())
    }
    fn commit(&self, poly: &Polynomial<Fr, Coeff>, _: Blind<Fr>) -> G1 {
        self.msm(poly, self.inner.get_g())
    }
    fn get_g(&self) -> &[G1Affine] {
        self.inner.get_g()
    }
    fn verifier_params(&'params self) -> &'params ParamsKZG<Bn256> {
        &self.inner
    }
}

/// halo2-axiom's KZG scheme with GPU commitments.
#[derive(Debug)]
pub struct CudaKzg;

impl CommitmentScheme for CudaKzg {
    type Scalar = Fr;
    type Curve = G1Affine;
    type ParamsProver = CudaParams;
    type ParamsVerifier = ParamsKZG<Bn256>;

    fn new_params(k: u32) -> CudaParams {
        <CudaParams as ParamsProver<G1Affine>>::new(k)
    }
    fn read_params<R: io::Read>(reader: &mut R) -> io::Result<CudaParams> {
        <CudaParams as Params<G1Affine>>::read(reader)
    }
}

/// SHPLONK multi-opening over [`CudaParams`] (delegates to halo2-axiom's prover).
#[derive(Debug)]
pub struct CudaShplonk<'params>(ProverSHPLONK<'params, Bn256>);

impl<'params> Prover<'params, CudaKzg> for CudaShplonk<'params> {
    const QUERY_INSTANCE: bool =
        <ProverSHPLONK<'params, Bn256> as Prover<'params, KZGCommitmentScheme<Bn256>>>::QUERY_INSTANCE;

    fn new(params: &'params CudaParams) -> Self {
        Self(ProverSHPLONK::new(&params.inner))
    }

    fn create_proof<'com, E, T, R, I>(&self, rng: R, transcript: &mut T, queries: I) -> io::Result<()>
    where
        E: EncodedChallenge<G1Affine>,
        T: TranscriptWrite<G1Affine, E>,
        I: IntoIterator<Item = ProverQuery<'com, G1Affine>> + Clone,
        R: RngCore,
    {
        self.0.create_proof(rng, transcript, queries)
    }
}

/// Proves on the CPU with every large commitment MSM on the GPU.
#[derive(Debug)]
pub struct CudaMsmEngine {
    device: Arc<Device>,
    stats: Arc<MsmStats>,
    cache: Mutex<BTreeMap<u32, CudaParams>>,
}

impl CudaMsmEngine {
    /// Opens the first GPU; fails with [`ProverError::Backend`] if there is none.
    pub fn new() -> Result<Self> {
        let device = Arc::new(Device::open()?);
        Ok(Self { device, stats: Arc::default(), cache: Mutex::default() })
    }

    /// Where the MSMs ran so far.
    pub fn stats(&self) -> &MsmStats {
        &self.stats
    }

    fn params_for(&self, params: &ParamsKZG<Bn256>) -> CudaParams {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let k = params.k();
        match cache.get(&k) {
            Some(c) if c.inner.s_g2() == params.s_g2() && c.inner.get_g()[..1] == params.get_g()[..1] => {
                c.clone()
            }
            _ => {
                let c = CudaParams::new(params.clone(), Some(self.device.clone()), self.stats.clone());
                cache.insert(k, c.clone());
                c
            }
        }
    }
}

impl ProofEngine for CudaMsmEngine {
    fn describe(&self) -> String {
        format!(
            "cuda-msm (sppark Pippenger on {}, MSMs of ≥ {MIN_GPU_POINTS} points; rest on the CPU)",
            self.device.name
        )
    }

    fn prove(
        &self,
        params: &ParamsKZG<Bn256>,
        pk: &ProvingKey<G1Affine>,
        circuit: ChunkCircuit,
        instances: &[Fr],
        chunk: usize,
        transcript: TranscriptKind,
    ) -> Result<Vec<u8>> {
        let cp = self.params_for(params);
        let proof =
            prove_with_scheme::<CudaKzg, CudaShplonk<'_>>(&cp, pk, circuit, instances, (chunk, transcript))?;
        let s = &self.stats;
        log::info!(
            "chunk {chunk}: MSMs so far: {} on the GPU ({:.0} ms), {} small on the CPU, {} GPU failures recomputed on the CPU",
            s.gpu.load(Ordering::Relaxed),
            s.gpu_ns.load(Ordering::Relaxed) as f64 / 1e6,
            s.cpu_small.load(Ordering::Relaxed),
            s.cpu_fallback.load(Ordering::Relaxed)
        );
        Ok(proof)
    }
}
