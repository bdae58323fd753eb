//! Verification of a whole bundle: linkage checks, then all chunk proofs batched into one
//! pairing check.

use std::time::Instant;

use halo2_axiom::halo2curves::bn256::{Bn256, G1Affine};
use halo2_axiom::plonk::{verify_proof, VerifyingKey};
use halo2_axiom::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_axiom::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_axiom::poly::kzg::strategy::{AccumulatorStrategy, SingleStrategy};
use halo2_axiom::poly::VerificationStrategy;

use chunkproof_core::merkle::MerkleTree;
use chunkproof_core::transcript::{
    ChallengeEvm, ChallengePoseidon, EvmTranscript, PoseidonTranscript, TranscriptKind,
};
use chunkproof_core::{fr_from_i64, Bundle, Bytes32, FormatError, Fr};

use crate::error::{Result, VerifyError};
use crate::keys::KeySet;
use crate::trust::SrsTrust;

/// Caller's choices for [`verify_bundle`].
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Accept keys made with the public, insecure development setup.
    pub allow_dev_setup: bool,
    /// Require this model id (an auditor's pin).
    pub expected_model_id: Option<Bytes32>,
    /// Digests of SRSs to trust besides the known ceremonies
    /// ([`CEREMONIES`](chunkproof_core::srs::CEREMONIES)).
    pub trusted_srs: Vec<Bytes32>,
}

/// What a successful verification established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The model.
    pub model_id: Bytes32,
    /// The Merkle root shared by all chunks.
    pub root: Bytes32,
    /// Number of chunks verified.
    pub num_chunks: usize,
    /// Public model inputs (empty when private).
    pub inputs: Vec<i64>,
    /// Public model outputs (empty when private).
    pub outputs: Vec<i64>,
    /// Whether the keys rest on the insecure development setup.
    pub dev_setup: bool,
    /// Why the SRS is trusted.
    pub srs: SrsTrust,
    /// Time spent in the proof checks, microseconds.
    pub proof_check_us: u128,
}

/// Public instances of every chunk, decoded; also checks root equality and public values.
fn decode_instances(bundle: &Bundle, keys: &KeySet) -> Result<Vec<Vec<Fr>>> {
    let plan = &keys.manifest.plan;
    let root = bundle.root.to_fr_named("bundle root")?;
    let mut all = Vec::with_capacity(bundle.chunks.len());
    for (i, chunk) in bundle.chunks.iter().enumerate() {
        let inst = chunk
            .instances
            .iter()
            .enumerate()
            .map(|(j, b)| b.to_fr_named(format!("chunk {i} instance {j}")))
            .collect::<std::result::Result<Vec<Fr>, _>>()?;
        if inst[0] != root {
            return Err(VerifyError::RootMismatch {
                chunk: i,
                expected: bundle.root.to_string(),
                got: chunk.instances[0].to_string(),
            });
        }
        let mut at = 1;
        let mut check = |what: &'static str, claimed: &[i64]| -> Result<()> {
            for (j, v) in claimed.iter().enumerate() {
                if inst[at + j] != fr_from_i64(*v) {
                    return Err(VerifyError::PublicValueMismatch {
                        chunk: i,
                        what,
                        index: j,
                        expected: v.to_string(),
                        got: chunk.instances[at + j].to_string(),
                    });
                }
            }
            at += claimed.len();
            Ok(())
        };
        if i == 0 && plan.input_public {
            check("inputs", &bundle.inputs)?;
        }
        if i + 1 == plan.num_chunks() && plan.output_public {
            check("outputs", &bundle.outputs)?;
        }
        all.push(inst);
    }
    Ok(all)
}

fn check_linkage(bundle: &Bundle, keys: &KeySet, opts: &VerifyOptions) -> Result<()> {
    let keys_id = keys.model_id();
    if let Some(want) = &opts.expected_model_id {
        if want != keys_id {
            return Err(VerifyError::ModelMismatch { bundle: want.to_string(), keys: keys_id.to_string() });
        }
    }
    if &bundle.model_id != keys_id
        || bundle.plan != keys.manifest.plan
        || bundle.srs_digest != keys.srs.digest()
    {
        return Err(VerifyError::ModelMismatch {
            bundle: bundle.model_id.to_string(),
            keys: keys_id.to_string(),
        });
    }
    let n = keys.manifest.plan.num_chunks();
    if bundle.chunks.len() != n {
        return Err(VerifyError::ChunkCountMismatch { expected: n, got: bundle.chunks.len() });
    }
    for (pos, (chunk, rec)) in bundle.chunks.iter().zip(&keys.manifest.chunks).enumerate() {
        if chunk.index != pos {
            return Err(VerifyError::ChunkOutOfOrder { position: pos, found: chunk.index });
        }
        if chunk.vk_digest != rec.vk_digest {
            return Err(VerifyError::VkMismatch {
                chunk: pos,
                expected: rec.vk_digest.to_string(),
                got: chunk.vk_digest.to_string(),
            });
        }
        let want = keys.manifest.plan.num_instances(pos);
        if chunk.instances.len() != want {
            return Err(FormatError::Inconsistent {
                detail: format!(
                    "chunk {pos}: {} public instances, its circuit has {want}",
                    chunk.instances.len()
                ),
            }
            .into());
        }
    }
    let leaves = bundle
        .leaves
        .iter()
        .enumerate()
        .map(|(j, l)| l.to_fr_named(format!("leaf {j}")))
        .collect::<std::result::Result<Vec<Fr>, _>>()?;
    let computed = MerkleTree::new(&leaves).root();
    if Bytes32::from_fr(&computed) != bundle.root {
        return Err(VerifyError::LeavesDoNotHashToRoot {
            leaves: leaves.len(),
            computed: Bytes32::from_fr(&computed).to_string(),
            expected: bundle.root.to_string(),
        });
    }
    Ok(())
}

/// Runs halo2's SHPLONK verifier over one proof read with the transcript `kind`, adding its
/// opening to `strategy`; trailing bytes after the proof are a rejection.
fn verify_into<'p, S>(
    (params, vk): (&'p ParamsKZG<Bn256>, &VerifyingKey<G1Affine>),
    strategy: S,
    instances: &[Fr],
    proof: &[u8],
    (chunk, kind): (usize, TranscriptKind),
) -> Result<S::Output>
where
    S: VerificationStrategy<'p, KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'p, Bn256>>,
{
    let rejected =
        |e: halo2_axiom::plonk::Error| VerifyError::ProofRejected { chunk, detail: format!("{e:?}") };
    let (out, rest) = match kind {
        TranscriptKind::Keccak => {
            let mut t = EvmTranscript::new(proof);
            let out = verify_proof::<_, VerifierSHPLONK<'p, Bn256>, ChallengeEvm, _, _>(
                params,
                vk,
                strategy,
                &[&[instances]],
                &mut t,
            )
            .map_err(rejected)?;
            (out, t.into_inner())
        }
        TranscriptKind::Poseidon => {
            let mut t = PoseidonTranscript::new(proof);
            let out = verify_proof::<_, VerifierSHPLONK<'p, Bn256>, ChallengePoseidon, _, _>(
                params,
                vk,
                strategy,
                &[&[instances]],
                &mut t,
            )
            .map_err(rejected)?;
            (out, t.into_inner())
        }
    };
    trailing(rest, chunk)?;
    Ok(out)
}

/// Verifies one chunk proof, made with the transcript `kind`, on its own (one pairing check).
pub fn verify_chunk_proof(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
    (chunk, kind): (usize, TranscriptKind),
) -> Result<()> {
    verify_into((params, vk), SingleStrategy::new(params), instances, proof, (chunk, kind))
}

fn trailing(rest: &[u8], chunk: usize) -> Result<()> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(VerifyError::ProofRejected {
            chunk,
            detail: format!("{} trailing bytes after the proof", rest.len()),
        })
    }
}

/// Verifies all chunk proofs with one final pairing check; if the batch fails, finds the chunk
/// that fails on its own.
fn verify_proofs(bundle: &Bundle, keys: &KeySet, instances: &[Vec<Fr>]) -> Result<()> {
    let params = bundle
        .plan
        .chunks
        .iter()
        .map(|c| keys.srs.params(c.params.k))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let kind = bundle.transcript;
    let mut strategy = AccumulatorStrategy::new(&params[0]);
    for (i, chunk) in bundle.chunks.iter().enumerate() {
        strategy = verify_into((&params[i], &keys.vks[i]), strategy, &instances[i], &chunk.proof, (i, kind))?;
    }
    if VerificationStrategy::<'_, KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>>::finalize(strategy)
    {
        return Ok(());
    }
    for (i, chunk) in bundle.chunks.iter().enumerate() {
        verify_chunk_proof(&params[i], &keys.vks[i], &instances[i], &chunk.proof, (i, kind)).map_err(
            |e| match e {
                VerifyError::ProofRejected { chunk, detail } if detail == "ConstraintSystemFailure" => {
                    VerifyError::ProofRejected { chunk, detail: "KZG opening check failed".into() }
                }
                other => other,
            },
        )?;
    }
    Err(VerifyError::BatchRejected)
}

/// Verifies a bundle against a key set.
///
/// Checks, in order: the setup is trusted ([`KeySet::srs_trust`]); the bundle is for the keys' model; it holds every
/// chunk once, in order, each naming its registered verifying key; every proof carries the
/// bundle's root; the published leaves hash to that root; the public inputs/outputs match the
/// first/last chunk's instances; and all proofs verify (one batched pairing check).
pub fn verify_bundle(bundle: &Bundle, keys: &KeySet, opts: &VerifyOptions) -> Result<Verified> {
    let srs = keys.srs_trust(opts)?;
    let dev = srs == SrsTrust::DevInsecure;
    bundle.check_structure()?;
    check_linkage(bundle, keys, opts)?;
    let instances = decode_instances(bundle, keys)?;
    let start = Instant::now();
    verify_proofs(bundle, keys, &instances)?;
    Ok(Verified {
        model_id: bundle.model_id,
        root: bundle.root,
        num_chunks: bundle.chunks.len(),
        inputs: bundle.inputs.clone(),
        outputs: bundle.outputs.clone(),
        dev_setup: dev,
        srs,
        proof_check_us: start.elapsed().as_micros(),
    })
}
