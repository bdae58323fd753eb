//! A loaded, checked key set: the manifest of one model in a key directory, every verifying key
//! it names read and its digest recomputed, the model id recomputed, and the SRS judged.

use std::path::{Path, PathBuf};

use chunkproof_core::keyset::{
    list_models, manifest_path, model_id, read_vk, vk_digest, KeySetManifest, KEYSET_VERSION,
    MAX_MANIFEST_BYTES, MAX_VK_BYTES,
};
use chunkproof_core::srs::{ceremony_of, SrsOrigin, VerifierSrs};
use chunkproof_core::{read_capped, Bytes32, FormatError};
use halo2_axiom::halo2curves::bn256::G1Affine;
use halo2_axiom::plonk::VerifyingKey;

use crate::error::{Result, VerifyError};
use crate::trust::SrsTrust;

/// A loaded, checked key set.
#[derive(Debug)]
pub struct KeySet {
    /// The key directory.
    pub dir: PathBuf,
    /// The manifest as read.
    pub manifest: KeySetManifest,
    /// The verifier SRS.
    pub srs: VerifierSrs,
    /// Chunk verifying keys, in chunk order.
    pub vks: Vec<VerifyingKey<G1Affine>>,
}

impl KeySet {
    /// Loads the key set of `model_id` from `dir`; with `None`, the only model in `dir`.
    pub fn load(dir: &Path, model_id: Option<&Bytes32>) -> Result<Self> {
        let err = |detail: String| VerifyError::KeySet { path: dir.to_path_buf(), detail };
        let path = match model_id {
            Some(id) => manifest_path(dir, id),
            None => {
                let models = list_models(dir);
                match models.as_slice() {
                    [one] => manifest_path(dir, one),
                    [] => return Err(err("no key set found (no models/*.json)".into())),
                    many => {
                        return Err(err(format!(
                            "holds {} models; name the one to check (--model-id): {}",
                            many.len(),
                            many.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", ")
                        )))
                    }
                }
            }
        };
        if !path.exists() {
            let have = list_models(dir).iter().map(|m| m.to_string()).collect::<Vec<_>>();
            return Err(err(format!(
                "no keys for model {} (models here: {})",
                model_id.map(|m| m.to_string()).unwrap_or_default(),
                if have.is_empty() { "none".into() } else { have.join(", ") }
            )));
        }
        let bytes = read_capped(&path, MAX_MANIFEST_BYTES, "key set manifest")?;
        let manifest: KeySetManifest =
            serde_json::from_slice(&bytes).map_err(|e| FormatError::Malformed {
                what: format!("key set manifest {}", path.display()),
                detail: e.to_string(),
            })?;
        Self::from_manifest(dir, manifest)
    }

    /// Checks a manifest against the key files it names.
    pub fn from_manifest(dir: &Path, manifest: KeySetManifest) -> Result<Self> {
        let err = |detail: String| VerifyError::KeySet { path: dir.to_path_buf(), detail };
        if manifest.format != "chunkproof-keyset" {
            return Err(err(format!("not a key set manifest (format {:?})", manifest.format)));
        }
        if manifest.version != KEYSET_VERSION {
            return Err(FormatError::UnsupportedVersion {
                what: "key set".into(),
                found: manifest.version,
                supported: KEYSET_VERSION,
            }
            .into());
        }
        manifest.plan.validate().map_err(|e| err(format!("plan: {e}")))?;
        if manifest.chunks.len() != manifest.plan.num_chunks() {
            return Err(err(format!(
                "{} key records for a plan of {} chunks",
                manifest.chunks.len(),
                manifest.plan.num_chunks()
            )));
        }
        let srs = manifest.srs.points().map_err(|e| err(format!("srs: {e}")))?;
        let mut vks = Vec::with_capacity(manifest.chunks.len());
        let mut digests = Vec::with_capacity(manifest.chunks.len());
        for (i, rec) in manifest.chunks.iter().enumerate() {
            if rec.index != i {
                return Err(err(format!("key record {i} has index {}", rec.index)));
            }
            if rec.vk_file.contains("..") || Path::new(&rec.vk_file).is_absolute() {
                return Err(err(format!("chunk {i}: vk file {:?} escapes the directory", rec.vk_file)));
            }
            let params = manifest.plan.chunks[i].params;
            let bytes = read_capped(&dir.join(&rec.vk_file), MAX_VK_BYTES, "verifying key")?;
            let digest = vk_digest(&params, &bytes);
            if digest != rec.vk_digest {
                return Err(err(format!(
                    "chunk {i}: {} has digest {digest}, the manifest says {}",
                    rec.vk_file, rec.vk_digest
                )));
            }
            vks.push(read_vk(&bytes, params, i)?);
            digests.push(digest);
        }
        let id = model_id(&manifest.plan, &srs.digest(), &digests);
        if id != manifest.model_id {
            return Err(err(format!("manifest names model {}, its contents give {id}", manifest.model_id)));
        }
        Ok(Self { dir: dir.to_path_buf(), manifest, srs, vks })
    }

    /// The model id (checked on load).
    pub fn model_id(&self) -> &Bytes32 {
        &self.manifest.model_id
    }

    /// True if the keys rest on the public development setup.
    pub fn is_dev_setup(&self) -> bool {
        self.srs.is_dev() || self.manifest.srs.origin == SrsOrigin::DevInsecure
    }

    /// How this key set's SRS is trusted under `opts`, or why it is not: keys on the development
    /// setup need `allow_dev_setup`; keys on any SRS that is not a known ceremony
    /// ([`CEREMONIES`](crate::core::srs::CEREMONIES)) need its digest in `trusted_srs`.
    pub fn srs_trust(&self, opts: &crate::VerifyOptions) -> Result<SrsTrust> {
        if self.is_dev_setup() {
            return if opts.allow_dev_setup {
                Ok(SrsTrust::DevInsecure)
            } else {
                Err(VerifyError::InsecureSetupRefused { path: self.dir.clone() })
            };
        }
        let digest = self.srs.digest();
        if let Some(c) = ceremony_of(&digest) {
            return Ok(SrsTrust::Ceremony { name: c.name });
        }
        if opts.trusted_srs.contains(&digest) {
            return Ok(SrsTrust::Pinned { digest });
        }
        Err(VerifyError::UntrustedSrs { path: self.dir.clone(), digest: digest.to_string() })
    }
}
