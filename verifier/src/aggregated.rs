//! Verification of an aggregated proof: the aggregation circuit's own proof, then the final
//! pairing check on the accumulator it exposes, then its public values against the keys.

use std::path::{Path, PathBuf};

use halo2_axiom::halo2curves::bn256::{Bn256, Fq, G1Affine, G2Affine, G2Prepared, Gt};
use halo2_axiom::halo2curves::ff::PrimeField;
use halo2_axiom::halo2curves::group::prime::PrimeCurveAffine;
use halo2_axiom::halo2curves::group::Group;
use halo2_axiom::halo2curves::pairing::{MillerLoopResult, MultiMillerLoop};
use halo2_axiom::halo2curves::CurveAffine;
use halo2_axiom::plonk::{verify_proof, VerifyingKey};
use halo2_axiom::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_axiom::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_axiom::poly::kzg::strategy::SingleStrategy;

use chunkproof_core::aggregated::{
    aggregation_record_path, aggregation_vk_digest, model_id_halves, read_aggregation_vk,
    AggregatedInstances, AggregatedProof, AggregationKeyRecord, ACC_LIMBS, ACC_LIMB_BITS,
    AGGREGATION_KEY_VERSION,
};
use chunkproof_core::keyset::MAX_VK_BYTES;
use chunkproof_core::transcript::{ChallengeEvm, EvmTranscript};
use chunkproof_core::{read_capped, Bytes32, FormatError, Fr, VerifierSrs};

use crate::error::{Result, VerifyError};
use crate::keys::KeySet;
use crate::verify::VerifyOptions;

/// A model's aggregation circuit key, as recorded in a key directory.
pub struct AggregationKey {
    /// The record (`aggregation/<model id>.json`).
    pub record: AggregationKeyRecord,
    /// The verifying key it names (digest checked on load).
    pub vk: VerifyingKey<G1Affine>,
}

impl AggregationKey {
    /// Loads the aggregation key with digest `vk_digest` from `keys.dir`, recomputing the
    /// verifying key's digest from its file and checking that the record names `keys`' model
    /// and SRS.
    pub fn load(keys: &KeySet, vk_digest: &Bytes32) -> Result<Self> {
        let dir: &Path = &keys.dir;
        let path = aggregation_record_path(dir, vk_digest);
        let err = |detail: String| VerifyError::KeySet { path: path.clone(), detail };
        if !path.exists() {
            return Err(err(format!(
                "no aggregation key {vk_digest} for model {} (`chunkproof aggregate` makes one)",
                keys.model_id()
            )));
        }
        let bytes = read_capped(&path, 1 << 20, "aggregation key record")?;
        let record: AggregationKeyRecord =
            serde_json::from_slice(&bytes).map_err(|e| FormatError::Malformed {
                what: format!("aggregation key record {}", path.display()),
                detail: e.to_string(),
            })?;
        if record.version != AGGREGATION_KEY_VERSION {
            return Err(FormatError::UnsupportedVersion {
                what: "aggregation key record".into(),
                found: record.version,
                supported: AGGREGATION_KEY_VERSION,
            }
            .into());
        }
        if &record.model_id != keys.model_id() {
            return Err(err(format!("names model {}, not {}", record.model_id, keys.model_id())));
        }
        if record.srs_digest != keys.srs.digest() {
            return Err(err(format!("names SRS {}, the keys use {}", record.srs_digest, keys.srs.digest())));
        }
        record.shape.validate().map_err(|e| err(format!("shape: {e}")))?;
        if record.vk_file.contains("..") || Path::new(&record.vk_file).is_absolute() {
            return Err(err(format!("vk file {:?} escapes the directory", record.vk_file)));
        }
        let vk_path: PathBuf = dir.join(&record.vk_file);
        let vk_bytes = read_capped(&vk_path, MAX_VK_BYTES, "aggregation verifying key")?;
        let digest = aggregation_vk_digest(&record.shape, &vk_bytes);
        if digest != record.vk_digest || &digest != vk_digest {
            return Err(err(format!(
                "{} has digest {digest}, the record says {}",
                record.vk_file, record.vk_digest
            )));
        }
        let vk = read_aggregation_vk(&vk_bytes, record.shape)?;
        Ok(Self { record, vk })
    }
}

/// What a successful verification of an aggregated proof established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAggregate {
    /// The model.
    pub model_id: Bytes32,
    /// The Merkle root shared by all aggregated chunk proofs.
    pub root: Bytes32,
    /// Number of chunk proofs the aggregated proof stands for.
    pub num_chunks: usize,
    /// Public model inputs (empty when private).
    pub inputs: Vec<i64>,
    /// Public model outputs (empty when private).
    pub outputs: Vec<i64>,
    /// The SRS trust decision.
    pub srs: crate::SrsTrust,
}

fn mismatch(what: &str, expected: impl ToString, got: impl ToString) -> VerifyError {
    VerifyError::AggregatedMismatch {
        what: what.into(),
        expected: expected.to_string(),
        got: got.to_string(),
    }
}

fn rejected(detail: impl Into<String>) -> VerifyError {
    VerifyError::AggregatedRejected { detail: detail.into() }
}

/// A base-field element from three 88-bit limbs, least significant first (`None` if a limb is
/// not below `2^88` or the value is not below the base-field modulus).
fn coordinate(limbs: &[Fr]) -> Option<Fq> {
    const LIMB_BYTES: usize = ACC_LIMB_BITS / 8;
    let mut le = [0u8; ACC_LIMBS * LIMB_BYTES];
    for (j, limb) in limbs.iter().enumerate() {
        let repr = limb.to_repr();
        let bytes = repr.as_ref();
        if bytes[LIMB_BYTES..].iter().any(|b| *b != 0) {
            return None;
        }
        le[j * LIMB_BYTES..(j + 1) * LIMB_BYTES].copy_from_slice(&bytes[..LIMB_BYTES]);
    }
    if le[32..].iter().any(|b| *b != 0) {
        return None;
    }
    let mut repr = [0u8; 32];
    repr.copy_from_slice(&le[..32]);
    Option::from(Fq::from_repr(repr))
}

/// The accumulator's two points from its twelve limbs (each below `2^88`, coordinates
/// canonical, points on the curve and not the identity).
pub fn accumulator_points(limbs: &[Fr; 4 * ACC_LIMBS]) -> Option<(G1Affine, G1Affine)> {
    let c: Vec<Fq> = limbs.chunks(ACC_LIMBS).map(coordinate).collect::<Option<_>>()?;
    let point = |x: Fq, y: Fq| -> Option<G1Affine> {
        let p: Option<G1Affine> = G1Affine::from_xy(x, y).into();
        p.filter(|p| !bool::from(p.is_identity()))
    };
    Some((point(c[0], c[1])?, point(c[2], c[3])?))
}

/// The final pairing check of an accumulator given as twelve limbs:
/// `e(lhs, [1]₂) · e(rhs, −[τ]₂) = 1`.
pub fn check_accumulator(limbs: &[Fr; 4 * ACC_LIMBS], srs: &VerifierSrs) -> Result<()> {
    let (lhs, rhs) =
        accumulator_points(limbs).ok_or_else(|| rejected("the accumulator is not two curve points"))?;
    let minus_s_g2: G2Affine = -srs.s_g2;
    let terms = [(&lhs, &G2Prepared::from(srs.g2)), (&rhs, &G2Prepared::from(minus_s_g2))];
    let gt: Gt = Bn256::multi_miller_loop(&terms).final_exponentiation();
    if bool::from(gt.is_identity()) {
        Ok(())
    } else {
        Err(rejected("the accumulator fails the final pairing check"))
    }
}

/// Verifies an aggregated proof against a key set and its aggregation key.
///
/// Checks, in order: the setup is trusted; the aggregated proof names the keys' model, SRS,
/// aggregation key and chunk count; its public instances have the layout of the model's plan,
/// with the model id's halves where they belong; the aggregation proof verifies under the
/// aggregation key; and the accumulator passes the final pairing check
/// `e(lhs, [1]₂) = e(rhs, [τ]₂)`, which stands for every chunk proof's KZG opening.
pub fn verify_aggregated(
    agg: &AggregatedProof,
    keys: &KeySet,
    key: &AggregationKey,
    opts: &VerifyOptions,
) -> Result<VerifiedAggregate> {
    let srs = keys.srs_trust(opts)?;
    if let Some(want) = &opts.expected_model_id {
        if want != keys.model_id() {
            return Err(VerifyError::ModelMismatch {
                bundle: want.to_string(),
                keys: keys.model_id().to_string(),
            });
        }
    }
    if &agg.model_id != keys.model_id() {
        return Err(mismatch("model id", keys.model_id(), agg.model_id));
    }
    if agg.srs_digest != keys.srs.digest() {
        return Err(mismatch("SRS digest", keys.srs.digest(), agg.srs_digest));
    }
    if agg.vk_digest != key.record.vk_digest {
        return Err(mismatch("aggregation verifying key", key.record.vk_digest, agg.vk_digest));
    }
    let n = keys.vks.len();
    if agg.num_chunks != n {
        return Err(mismatch("chunk count", n, agg.num_chunks));
    }
    let plan = &keys.manifest.plan;
    let num_in = if plan.input_public { plan.num_inputs } else { 0 };
    let num_out = if plan.output_public { plan.num_outputs } else { 0 };
    let column = agg.instance_column()?;
    if column.len() != key.record.num_instances {
        return Err(mismatch("instance count", key.record.num_instances, column.len()));
    }
    let decoded = AggregatedInstances::from_column(&column, num_in, num_out)?;
    if decoded.model_id != model_id_halves(keys.model_id()) {
        return Err(mismatch(
            "model id instance",
            keys.model_id(),
            format!("{:?}", decoded.model_id.map(|f| Bytes32::from_fr(&f))),
        ));
    }

    let params = keys.srs.params(key.record.shape.k)?;
    let mut transcript = EvmTranscript::new(agg.proof.as_slice());
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, ChallengeEvm, _, _>(
        &params,
        &key.vk,
        SingleStrategy::new(&params),
        &[&[&column]],
        &mut transcript,
    )
    .map_err(|e| rejected(format!("the aggregation proof does not verify: {e:?}")))?;
    let rest = transcript.into_inner();
    if !rest.is_empty() {
        return Err(rejected(format!("{} trailing bytes after the aggregation proof", rest.len())));
    }

    check_accumulator(&decoded.accumulator, &keys.srs)?;
    Ok(VerifiedAggregate {
        model_id: agg.model_id,
        root: Bytes32::from_fr(&decoded.root),
        num_chunks: n,
        inputs: decoded.inputs,
        outputs: decoded.outputs,
        srs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_axiom::halo2curves::group::Curve;

    fn limbs(c: Fq) -> [Fr; ACC_LIMBS] {
        let repr = c.to_repr();
        let mut le = [0u8; 33];
        le[..32].copy_from_slice(repr.as_ref());
        std::array::from_fn(|j| {
            let mut b = [0u8; 32];
            b[..11].copy_from_slice(&le[j * 11..j * 11 + 11]);
            Fr::from_repr(b).unwrap()
        })
    }

    fn encode(p: G1Affine, q: G1Affine) -> [Fr; 4 * ACC_LIMBS] {
        let c = [p.x, p.y, q.x, q.y].map(limbs);
        let mut out = [Fr::from(0u64); 4 * ACC_LIMBS];
        for (j, l) in c.iter().flatten().enumerate() {
            out[j] = *l;
        }
        out
    }

    #[test]
    fn accumulator_limbs_decode_to_the_points() {
        let g = G1Affine::generator();
        let p = (g * Fr::from(5)).to_affine();
        let q = (g * Fr::from(-7i64 as u64)).to_affine();
        assert_eq!(accumulator_points(&encode(p, q)), Some((p, q)));
    }

    #[test]
    fn out_of_range_limbs_and_off_curve_points_are_refused() {
        let g = G1Affine::generator();
        let p = (g * Fr::from(5)).to_affine();
        let mut l = encode(p, g);
        // a limb of 2^88 with the next limb one less: same integer, not a proper limb
        let mut wide = encode(p, g);
        wide[0] += Fr::from_u128(1u128 << 88);
        assert_eq!(accumulator_points(&wide), None);
        // off the curve
        l[3] += Fr::from(1u64);
        assert_eq!(accumulator_points(&l), None);
        // the identity (0, 0) is refused
        let zero = [Fr::from(0u64); 4 * ACC_LIMBS];
        assert_eq!(accumulator_points(&zero), None);
    }
}
