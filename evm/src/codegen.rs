//! Solidity verifier for one chunk circuit, generated with snark-verifier's EVM loader.

use std::rc::Rc;

use halo2_axiom::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine};
use snark_verifier::{
    loader::evm::EvmLoader,
    pcs::kzg::{Bdfg21, KzgAs, KzgDecidingKey},
    system::halo2::{compile, transcript::evm::EvmTranscript, Config},
    verifier::{plonk::PlonkProtocol, plonk::PlonkVerifier, SnarkVerifier},
};

use chunkproof_verifier::KeySet;

use crate::error::{EvmError, Result};

/// SHPLONK (BDFG21) over KZG: the multi-open scheme the prover uses.
type Verifier = PlonkVerifier<KzgAs<Bn256, Bdfg21>>;

/// The generated verifier of one chunk circuit.
#[derive(Clone, Debug)]
pub struct GeneratedVerifier {
    /// Chunk index.
    pub chunk: usize,
    /// Contract name (`ChunkVerifier_` + the first 10 hex digits of the VK digest).
    pub contract: String,
    /// Solidity source, without the provenance header.
    pub source: String,
    /// Public instances the contract reads before the proof.
    pub num_instances: usize,
    /// Exact length of a proof for this circuit, in bytes.
    pub proof_len: usize,
    /// Byte offset of the first evaluation (scalar) word in a proof.
    pub scalar_offset: usize,
    /// Number of consecutive 32-byte scalar words from there (the verifier reduces each one
    /// modulo r, so a caller must check each is below r).
    pub scalar_count: usize,
}

fn protocol(keys: &KeySet, chunk: usize) -> Result<PlonkProtocol<G1Affine>> {
    let vk =
        keys.vks.get(chunk).ok_or_else(|| EvmError::tooling(format!("no chunk {chunk} in the key set")))?;
    let k = keys.manifest.plan.chunks[chunk].params.k;
    let params = keys.srs.params(k)?;
    let n = keys.manifest.plan.num_instances(chunk);
    std::panic::catch_unwind(|| compile(&params, vk, Config::kzg().with_num_instance(vec![n]))).map_err(
        |_| EvmError::tooling(format!("chunk {chunk}: snark-verifier could not compile the verifying key")),
    )
}

/// Layout of a proof of `protocol`: every commitment (64 bytes: advice, lookup and permutation,
/// quotient chunks), then every evaluation (32 bytes), then the two SHPLONK opening points.
/// Returns `(length, scalar offset, scalar count)`.
pub(crate) fn protocol_layout(p: &PlonkProtocol<G1Affine>) -> (usize, usize, usize) {
    let commitments = p.num_witness.iter().sum::<usize>() + p.quotient.num_chunk();
    let scalars = p.evaluations.len();
    (64 * (commitments + 2) + 32 * scalars, 64 * commitments, scalars)
}

/// The calldata offsets the generated code reduces modulo r (`mod(calldataload(X), f_q)`).
pub(crate) fn reduced_words(code: &str) -> Result<Vec<usize>> {
    let needle = "mod(calldataload(";
    code.match_indices(needle)
        .map(|(at, _)| {
            let rest = &code[at + needle.len()..];
            let end = rest.find(')').unwrap_or(0);
            let hex = rest[..end].trim_start_matches("0x");
            usize::from_str_radix(hex, 16)
                .map_err(|_| EvmError::tooling(format!("unexpected calldata offset {:?}", &rest[..end])))
        })
        .collect()
}

/// Runs snark-verifier's verifier `V` over `protocol` with the EVM loader and returns the Solidity
/// source, its contract renamed to `contract` and without its licence line (our header carries
/// one; solc refuses two), with the proof layout `(length, scalar offset, scalar count)`. The
/// words the generated code reduces modulo r must be exactly the instances and the layout's
/// scalar words: the wrapper contracts check those (and only those) are < r.
pub(crate) fn generate<V>(
    protocol: PlonkProtocol<G1Affine>,
    dk: KzgDecidingKey<Bn256>,
    num_instances: usize,
    contract: &str,
) -> Result<(String, (usize, usize, usize))>
where
    V: SnarkVerifier<
        G1Affine,
        Rc<EvmLoader>,
        VerifyingKey = KzgDecidingKey<Bn256>,
        Protocol = PlonkProtocol<G1Affine, Rc<EvmLoader>>,
    >,
{
    let layout @ (_, scalar_offset, scalar_count) = protocol_layout(&protocol);
    let code = std::panic::catch_unwind(move || {
        let loader = EvmLoader::new::<Fq, Fr>();
        let protocol = protocol.loaded(&loader);
        let mut transcript = EvmTranscript::<_, Rc<EvmLoader>, _, _>::new(&loader);
        let instances = transcript.load_instances(vec![num_instances]);
        let proof = V::read_proof(&dk, &protocol, &instances, &mut transcript).ok()?;
        V::verify(&dk, &protocol, &instances, &proof).ok()?;
        Some(loader.solidity_code())
    })
    .ok()
    .flatten()
    .ok_or_else(|| EvmError::tooling(format!("{contract}: snark-verifier could not generate a verifier")))?;
    let base = 32 * num_instances;
    let want: Vec<usize> = (0..num_instances)
        .map(|j| 32 * j)
        .chain((0..scalar_count).map(|j| base + scalar_offset + 32 * j))
        .collect();
    if reduced_words(&code)? != want {
        return Err(EvmError::tooling(format!(
            "{contract}: the generated verifier reads scalars at other offsets than the proof layout"
        )));
    }
    let marker = "contract Halo2Verifier {";
    if !code.contains(marker) {
        return Err(EvmError::tooling("snark-verifier's output has an unexpected shape (no Halo2Verifier)"));
    }
    let source = code
        .replacen("// SPDX-License-Identifier: MIT\n", "", 1)
        .replacen(marker, &format!("contract {contract} {{"), 1)
        .trim_start()
        .to_string();
    Ok((source, layout))
}

/// Generates the Solidity verifier of chunk `chunk`.
pub fn chunk_verifier(keys: &KeySet, chunk: usize) -> Result<GeneratedVerifier> {
    let protocol = protocol(keys, chunk)?;
    let num_instances = keys.manifest.plan.num_instances(chunk);
    let dk: KzgDecidingKey<Bn256> = (keys.srs.g1, keys.srs.g2, keys.srs.s_g2).into();
    let digest = keys.manifest.chunks[chunk].vk_digest.to_string();
    let contract = format!("ChunkVerifier_{}", &digest[2..12]);
    let (source, (proof_len, scalar_offset, scalar_count)) =
        generate::<Verifier>(protocol, dk, num_instances, &contract)?;
    Ok(GeneratedVerifier { chunk, contract, source, num_instances, proof_len, scalar_offset, scalar_count })
}
