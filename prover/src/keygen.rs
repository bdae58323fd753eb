//! Key generation per chunk, cached in the key directory by circuit digest.
//!
//! `DIR/circuits/<circuit digest>/` holds `vk.bin` (what verifiers need), `meta.json` (shape,
//! break points, size figures) and, unless disabled, `pk.bin`. The digest covers everything that
//! fixes the circuit: the chunk's layers and weights, its boundaries with their packings and its
//! position, the declared input range, the circuit shape, the SRS, and [`CIRCUIT_VERSION`].
//! Cached keys whose recorded size figures differ from the circuit being proven are refused as
//! stale.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chunkproof_core::shape::ChunkCircuitParams;
use chunkproof_core::{keccak, read_capped, vk_digest, write_atomic, Bytes32, CircuitStats};
use halo2_axiom::halo2curves::bn256::{Bn256, G1Affine};
use halo2_axiom::plonk::{keygen_pk, keygen_vk, ProvingKey, VerifyingKey};
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use halo2_axiom::SerdeFormat;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use serde::{Deserialize, Serialize};

use crate::circuit::{build_chunk, choose_params, ChunkCircuit};
use crate::error::{ProverError, Result};
use crate::model::Graph;
use crate::setup::Srs;
use crate::witness::{ChunkSpec, ChunkWitness};

/// Version of the gadget code; part of every circuit digest. Bump it whenever a change to the
/// circuits would change the keys.
pub const CIRCUIT_VERSION: &str = "chunkproof-circuits-v4";

/// What `meta.json` records next to cached keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMeta {
    /// Circuit shape.
    pub params: ChunkCircuitParams,
    /// halo2-base break points (needed to re-build the circuit for proving).
    pub break_points: MultiPhaseThreadBreakPoints,
    /// Size figures at keygen.
    pub stats: CircuitStats,
    /// Digest of `vk.bin` with the params.
    pub vk_digest: Bytes32,
}

/// Digest of everything that fixes the circuit of `spec`.
pub fn circuit_digest(
    graph: &Graph,
    spec: &ChunkSpec,
    params: &ChunkCircuitParams,
    srs_digest: &Bytes32,
) -> Bytes32 {
    let mut desc = format!(
        "{CIRCUIT_VERSION}|{params:?}|scale {}|chunk {}/{}|depth {}|in_pub {}|out_pub {}|",
        graph.scale, spec.index, spec.num_chunks, spec.tree_depth, spec.input_public, spec.output_public
    );
    if spec.reads_only_previous() {
        desc += &format!("packing {:?} {:?}|", spec.reads[0].packing, spec.output_packing);
    } else {
        for r in &spec.reads {
            desc += &format!("reads leaf {} {:?}|", r.leaf, r.packing);
        }
        desc += &format!("packing out {:?}|", spec.output_packing);
    }
    if let Some(range) = graph.input_range {
        desc += &format!("input range {range:?}|");
    }
    for (what, ids) in [("in", &spec.inputs()), ("out", &spec.outputs)] {
        for id in ids.iter() {
            desc += &format!("{what} {id} {:?}|", graph.shape(*id));
        }
    }
    let mut consts: Vec<u8> = Vec::new();
    for layer in &graph.layers[spec.layers.clone()] {
        desc += &format!("layer {} {:?} {:?} {:?}|", layer.index, layer.kind, layer.inputs, layer.outputs);
        for id in &layer.inputs {
            desc += &format!("{:?};", graph.shape(*id));
            if let Some(t) = graph.constants.get(id) {
                for v in t.data.iter() {
                    consts.extend(v.to_le_bytes());
                }
            }
        }
    }
    keccak(&[b"chunkproof/circuit/v1", desc.as_bytes(), &consts, &srs_digest.0])
}

/// Size figures that must match between keygen and proving (the constant count is only known in
/// keygen mode).
fn same_size(a: &CircuitStats, b: &CircuitStats) -> bool {
    CircuitStats { constants: 0, ..a.clone() } == CircuitStats { constants: 0, ..b.clone() }
}

/// Break points fit `shape`: phase 0 breaks at most once per extra gate column, each within a
/// column's usable rows; no other phase has any.
fn check_break_points(
    shape: &ChunkCircuitParams,
    bp: &MultiPhaseThreadBreakPoints,
) -> std::result::Result<(), String> {
    let usable = shape.usable_rows();
    let phase0 = bp.first().map_or(&[][..], |p| &p[..]);
    if phase0.len() >= shape.columns.main as usize
        || phase0.iter().any(|b| *b >= usable)
        || bp.iter().skip(1).any(|p| !p.is_empty())
    {
        return Err(format!("break points {bp:?} do not fit {shape:?}"));
    }
    Ok(())
}

/// Reads the proving key in `path` (written by [`write_proving_key`]) for a circuit of `params`.
/// halo2 decodes the polynomials with `unwrap`, so a short or corrupt file panics inside it; that
/// panic is returned as an error here.
pub fn read_proving_key<C: halo2_axiom::plonk::Circuit<chunkproof_core::Fr>>(
    path: &Path,
    params: C::Params,
) -> std::io::Result<ProvingKey<G1Affine>> {
    let f = std::fs::File::open(path)?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ProvingKey::<G1Affine>::read::<_, C>(
            &mut std::io::BufReader::new(f),
            SerdeFormat::RawBytesUnchecked,
            params,
        )
    }))
    .unwrap_or_else(|_| Err(std::io::Error::other("halo2 could not decode it (truncated or corrupt)")))
}

/// Writes `pk` to `path` atomically (halo2 writes with `unwrap`: a panic is a write error).
pub fn write_proving_key(path: &Path, pk: &ProvingKey<G1Affine>) -> Result<()> {
    chunkproof_core::write_atomic_with(path, |mut out| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pk.write(&mut out, SerdeFormat::RawBytesUnchecked)
        }))
        .unwrap_or_else(|_| Err(std::io::Error::other("halo2 could not write the proving key")))
    })?;
    Ok(())
}

/// A chunk's verifying key with what fixes it: its circuit digest, shape and break points.
#[derive(Clone, Debug)]
pub struct ChunkVk {
    /// The cache entry, `circuits/<digest>/`.
    pub dir: PathBuf,
    /// Circuit digest.
    pub digest: Bytes32,
    /// Verifying key.
    pub vk: VerifyingKey<G1Affine>,
    /// Serialized verifying key (`Processed` format).
    pub vk_bytes: Vec<u8>,
    /// Shape, break points, size figures, VK digest.
    pub meta: KeyMeta,
    /// Whether it came from the cache.
    pub cached: bool,
    /// Time spent generating or loading, ms.
    pub ms: u128,
}

/// Keys of one chunk.
pub struct ChunkKeys {
    /// The verifying key and what fixes it.
    pub vk: ChunkVk,
    /// Proving key.
    pub pk: ProvingKey<G1Affine>,
    /// Whether the verifying key and the proving key both came from the cache.
    pub cached: bool,
    /// Time spent generating or loading both, ms.
    pub ms: u128,
}

/// Loads the verifying key of `digest` from `keys_dir`, or generates it with `keygen_circuit()`
/// and stores `vk.bin` and `meta.json` (no proving key). `expected` are the size figures of the
/// circuit about to be proven. Returns the keygen circuit when one was built, so that a proving
/// key can be made from it without building it again.
pub fn load_or_generate_vk(
    keys_dir: &Path,
    chunk: usize,
    digest: &Bytes32,
    params: &ParamsKZG<Bn256>,
    (shape, expected): (&ChunkCircuitParams, &CircuitStats),
    keygen_circuit: impl FnOnce() -> Result<ChunkCircuit>,
) -> Result<(ChunkVk, Option<ChunkCircuit>)> {
    let dir = keys_dir.join("circuits").join(digest.to_string());
    let start = Instant::now();
    let meta_path = dir.join("meta.json");
    if meta_path.exists() {
        let meta: KeyMeta =
            serde_json::from_slice(&read_capped(&meta_path, 1 << 24, "key metadata")?).map_err(|e| {
                ProverError::StaleKeys { chunk, path: dir.clone(), detail: format!("meta.json: {e}") }
            })?;
        // what the entry says of its circuit is compared, not believed: its shape with the one
        // derived here, its break points with that shape (they drive the prover's layout)
        let stale = |detail: String| ProverError::StaleKeys { chunk, path: dir.clone(), detail };
        if meta.params != *shape {
            return Err(stale(format!("recorded shape {:?}, circuit now {:?}", meta.params, shape)));
        }
        check_break_points(shape, &meta.break_points).map_err(stale)?;
        if !same_size(&meta.stats, expected) {
            return Err(ProverError::StaleKeys {
                chunk,
                path: dir,
                detail: format!(
                    "recorded size {:?}, circuit now {:?}; delete the entry to regenerate",
                    meta.stats, expected
                ),
            });
        }
        let vk_bytes = read_capped(&dir.join("vk.bin"), 1 << 30, "verifying key")?;
        if vk_digest(&meta.params, &vk_bytes) != meta.vk_digest {
            return Err(ProverError::StaleKeys {
                chunk,
                path: dir,
                detail: "vk.bin does not match its recorded digest".into(),
            });
        }
        let vk = chunkproof_core::keyset::read_vk(&vk_bytes, meta.params, chunk)?;
        let ms = start.elapsed().as_millis();
        return Ok((ChunkVk { dir, digest: *digest, vk, vk_bytes, meta, cached: true, ms }, None));
    }

    let circuit = keygen_circuit()?;
    if !same_size(&circuit.stats, expected) {
        return Err(ProverError::StaleKeys {
            chunk,
            path: dir,
            detail: format!(
                "keygen circuit {:?} differs from the proving circuit {:?}",
                circuit.stats, expected
            ),
        });
    }
    let vk = keygen_vk(params, &circuit).map_err(|e| ProverError::Halo2 {
        chunk,
        stage: "keygen_vk",
        detail: format!("{e:?}"),
    })?;
    let vk_bytes = vk.to_bytes(SerdeFormat::Processed);
    let meta = KeyMeta {
        params: circuit.params,
        break_points: circuit.break_points(),
        stats: circuit.stats.clone(),
        vk_digest: vk_digest(&circuit.params, &vk_bytes),
    };
    write_atomic(&dir.join("vk.bin"), &vk_bytes)?;
    // meta.json last: its presence marks a complete entry.
    write_atomic(&meta_path, &serde_json::to_vec_pretty(&meta).expect("meta serialises"))?;
    let ms = start.elapsed().as_millis();
    Ok((ChunkVk { dir, digest: *digest, vk, vk_bytes, meta, cached: false, ms }, Some(circuit)))
}

/// The proving key for `vk`: `pk.bin` from its cache entry when present, else `keygen_pk` on
/// `circuit` (or on `keygen_circuit()` when none was built yet), stored when `cache_pk`.
pub fn proving_key(
    vk: ChunkVk,
    chunk: usize,
    params: &ParamsKZG<Bn256>,
    cache_pk: bool,
    circuit: Option<ChunkCircuit>,
    keygen_circuit: impl FnOnce() -> Result<ChunkCircuit>,
) -> Result<ChunkKeys> {
    let start = Instant::now();
    let pk_path = vk.dir.join("pk.bin");
    if pk_path.exists() {
        let pk = read_proving_key::<ChunkCircuit>(&pk_path, vk.meta.params).map_err(|e| {
            ProverError::StaleKeys {
                chunk,
                path: vk.dir.clone(),
                detail: format!("pk.bin unreadable ({e}); delete it"),
            }
        })?;
        // A cached proving key must belong to this verifying key.
        if pk.get_vk().transcript_repr() != vk.vk.transcript_repr() {
            return Err(ProverError::StaleKeys {
                chunk,
                path: vk.dir.clone(),
                detail: "pk.bin belongs to another verifying key; delete it".into(),
            });
        }
        let ms = vk.ms + start.elapsed().as_millis();
        let cached = vk.cached;
        return Ok(ChunkKeys { vk, pk, cached, ms });
    }
    let circuit = match circuit {
        Some(c) => c,
        None => keygen_circuit()?,
    };
    let pk = keygen_pk(params, vk.vk.clone(), &circuit).map_err(|e| ProverError::Halo2 {
        chunk,
        stage: "keygen_pk",
        detail: format!("{e:?}"),
    })?;
    if cache_pk {
        write_proving_key(&pk_path, &pk)?;
    }
    let ms = vk.ms + start.elapsed().as_millis();
    Ok(ChunkKeys { vk, pk, cached: false, ms })
}

/// Loads the keys of `digest` from `keys_dir`, or generates and stores them with
/// `keygen_circuit()` ([`load_or_generate_vk`], then [`proving_key`]).
pub fn load_or_generate(
    keys_dir: &Path,
    chunk: usize,
    digest: &Bytes32,
    params: &ParamsKZG<Bn256>,
    (shape, expected): (&ChunkCircuitParams, &CircuitStats),
    cache_pk: bool,
    keygen_circuit: impl Fn() -> Result<ChunkCircuit>,
) -> Result<ChunkKeys> {
    let (vk, circuit) =
        load_or_generate_vk(keys_dir, chunk, digest, params, (shape, expected), &keygen_circuit)?;
    proving_key(vk, chunk, params, cache_pk, circuit, keygen_circuit)
}

/// The shape of the circuit of chunk `spec` (the smallest `k ≥ min_k` that fits with at most
/// `width` advice columns of each kind, see [`choose_params`]) and the size figures of the circuit that will be proven.
pub fn size_chunk(
    graph: &Graph,
    spec: &ChunkSpec,
    witness: &ChunkWitness,
    min_k: u32,
    width: u32,
) -> Result<(ChunkCircuitParams, CircuitStats)> {
    // several columns: their layout is only known where selectors are recorded (mock stage)
    let stage = |p: &ChunkCircuitParams, exact: bool| {
        if exact || !p.columns.is_narrow() {
            CircuitBuilderStage::Mock
        } else {
            CircuitBuilderStage::Prover
        }
    };
    let params = choose_params(spec.index, min_k, width, |p, exact| {
        build_chunk(graph, spec, witness, p, stage(&p, exact), None)
    })?;
    let sized = build_chunk(graph, spec, witness, params, stage(&params, false), None)?;
    Ok((params, sized.stats))
}

/// The verifying key of the circuit of chunk `spec` with shape `params`, derived here from the
/// plan and the setup (`keygen_vk`) or loaded from `keys_dir`, where it is cached by the circuit
/// digest computed here. Returns the keygen circuit when one was built.
pub fn chunk_vk(
    keys_dir: &Path,
    graph: &Graph,
    spec: &ChunkSpec,
    witness: &ChunkWitness,
    (params, expected): (ChunkCircuitParams, &CircuitStats),
    srs: &mut Srs,
) -> Result<(ChunkVk, Option<ChunkCircuit>)> {
    let digest = circuit_digest(graph, spec, &params, &srs.verifier().digest());
    let kzg = srs.params(params.k)?;
    load_or_generate_vk(keys_dir, spec.index, &digest, kzg, (&params, expected), || {
        build_chunk(graph, spec, witness, params, CircuitBuilderStage::Keygen, None)
    })
}
