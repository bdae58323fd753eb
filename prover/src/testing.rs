//! Small models and helpers for tests (feature `test-utils`; not part of the stable API).

use std::collections::BTreeMap;

use halo2_axiom::dev::MockProver;
use halo2_base::gates::circuit::CircuitBuilderStage;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::circuit::{build_chunk, choose_params, ChunkCircuit, Fr};
use crate::error::Result;
use crate::interpret::{run, Trace};
use crate::model::{Activation, Graph, Layer, LayerKind, ModelInput, Padding, Tensor};
use crate::plan::{plan, Plan};
use crate::witness::Linkage;
use crate::witness::{ChunkSpec, ChunkWitness};

fn t(shape: &[usize], data: Vec<i64>) -> Tensor {
    assert_eq!(shape.iter().product::<usize>(), data.len());
    Tensor { shape: shape.to_vec(), data: data.into() }
}

fn pseudo(n: usize, seed: i64, lo: i64, hi: i64) -> Vec<i64> {
    (0..n as i64).map(|i| lo + ((i * 7919 + seed * 104729 + (i * i) % 97) % (hi - lo + 1)).abs()).collect()
}

/// A small model that uses every supported layer kind and variant:
/// conv (SAME, stride 1, ReLU6) → avg-pool → mul → add (ReLU) → conv (VALID, stride 2, none)
/// → reshape → dense (ReLU) → dense (none).
pub fn tiny_graph() -> Graph {
    let sf = 64;
    let mut c = BTreeMap::new();
    c.insert(10, t(&[2, 3, 3, 1], pseudo(18, 1, -70, 70)));
    c.insert(11, t(&[2], vec![5, -3]));
    c.insert(12, t(&[2], vec![80, 50]));
    c.insert(13, t(&[2], vec![-4, 9]));
    c.insert(14, t(&[3, 2, 2, 2], pseudo(24, 2, -60, 60)));
    c.insert(15, t(&[3], vec![1, 0, -2]));
    c.insert(16, t(&[4, 3], pseudo(12, 3, -90, 90)));
    c.insert(17, t(&[4], vec![3, -1, 0, 2]));
    c.insert(18, t(&[2, 4], pseudo(8, 4, -80, 80)));
    let l = |index: usize, kind: LayerKind, inputs: Vec<u32>, out: u32| Layer {
        index,
        kind,
        inputs,
        outputs: vec![out],
    };
    let layers = vec![
        l(
            0,
            LayerKind::Conv2D { padding: Padding::Same, activation: Activation::Relu6, stride: (1, 1) },
            vec![0, 10, 11],
            20,
        ),
        l(1, LayerKind::AveragePool2D { window: (2, 2), stride: (2, 2) }, vec![20], 21),
        l(2, LayerKind::Mul, vec![21, 12], 22),
        l(3, LayerKind::Add { activation: Activation::Relu }, vec![22, 13], 23),
        l(
            4,
            LayerKind::Conv2D { padding: Padding::Valid, activation: Activation::None, stride: (2, 2) },
            vec![23, 14, 15],
            24,
        ),
        l(5, LayerKind::Reshape { shape: vec![1, 3] }, vec![24], 25),
        l(6, LayerKind::FullyConnected { activation: Activation::Relu }, vec![25, 16, 17], 26),
        l(7, LayerKind::FullyConnected { activation: Activation::None }, vec![26, 18], 27),
    ];
    Graph::new(sf, vec![(0, vec![1, 6, 6, 1])], vec![27], c, layers).expect("valid tiny graph")
}

/// A model with branches: a multi-output Split, a skip connection that lives across three
/// layers (max-pool output → Add and Concatenation), a table function, and two model outputs.
///
/// conv → split ⟨a, b⟩; a → max-pool = m; b → tanh → avg-pool = t; m + t = s;
/// concat(s, m) → reshape → dense = y. Outputs: y and s.
pub fn branchy_graph() -> Graph {
    let sf = 64;
    let mut c = BTreeMap::new();
    c.insert(10, t(&[4, 3, 3, 2], pseudo(72, 6, -50, 50)));
    c.insert(11, t(&[4], vec![3, -2, 8, 0]));
    c.insert(12, t(&[3, 16], pseudo(48, 7, -70, 70)));
    let l = |index: usize, kind: LayerKind, inputs: Vec<u32>, outputs: Vec<u32>| Layer {
        index,
        kind,
        inputs,
        outputs,
    };
    let layers = vec![
        l(
            0,
            LayerKind::Conv2D { padding: Padding::Same, activation: Activation::Relu, stride: (1, 1) },
            vec![0, 10, 11],
            vec![20],
        ),
        l(1, LayerKind::Split { axis: 3, parts: 2 }, vec![20], vec![21, 22]),
        l(2, LayerKind::MaxPool2D { window: (2, 2), stride: (2, 2) }, vec![21], vec![23]),
        l(3, LayerKind::Pointwise { func: crate::model::NonLinear::Tanh }, vec![22], vec![24]),
        l(4, LayerKind::AveragePool2D { window: (2, 2), stride: (2, 2) }, vec![24], vec![25]),
        l(5, LayerKind::Add { activation: Activation::None }, vec![23, 25], vec![26]),
        l(6, LayerKind::Concatenation { axis: 3 }, vec![26, 23], vec![27]),
        l(7, LayerKind::Reshape { shape: vec![1, 16] }, vec![27], vec![28]),
        l(8, LayerKind::FullyConnected { activation: Activation::None }, vec![28, 12], vec![29]),
    ];
    Graph::new(sf, vec![(0, vec![1, 4, 4, 2])], vec![29, 26], c, layers).expect("valid branchy graph")
}

/// A model of one layer of `kind` on input tensor 0 of `shape` (plus constants `consts`).
pub fn one_layer(
    sf: u64,
    shape: &[usize],
    kind: LayerKind,
    extra_inputs: Vec<u32>,
    consts: Vec<(u32, Tensor)>,
) -> Graph {
    let mut inputs = vec![0];
    inputs.extend(extra_inputs);
    let layers = vec![Layer { index: 0, kind, inputs, outputs: vec![100] }];
    Graph::new(sf, vec![(0, shape.to_vec())], vec![100], consts.into_iter().collect(), layers)
        .expect("valid one-layer graph")
}

/// Values for an input of `n` elements in `[lo, hi]`.
pub fn values(n: usize, seed: i64, lo: i64, hi: i64) -> Vec<i64> {
    pseudo(n, seed, lo, hi)
}

/// A constant tensor.
pub fn tensor(shape: &[usize], data: Vec<i64>) -> Tensor {
    t(shape, data)
}

/// An input for [`tiny_graph`].
pub fn tiny_input() -> ModelInput {
    ModelInput { tensors: [(0, pseudo(36, 5, -100, 200))].into_iter().collect() }
}

/// Everything needed to build the chunks of a model in tests.
pub struct Prepared {
    /// The model.
    pub graph: Graph,
    /// The interpreter's values.
    pub trace: Trace,
    /// The plan.
    pub plan: Plan,
    /// Salts, leaves and tree.
    pub linkage: Linkage,
}

impl Prepared {
    /// Plans `n` chunks with deterministic salts (private input, public output).
    pub fn new(graph: Graph, input: &ModelInput, n: usize) -> Result<Self> {
        Self::with_visibility(graph, input, n, false, true)
    }

    /// Plans `n` chunks with deterministic salts and the given visibility.
    pub fn with_visibility(
        graph: Graph,
        input: &ModelInput,
        n: usize,
        input_public: bool,
        output_public: bool,
    ) -> Result<Self> {
        let trace = run(&graph, input)?;
        let plan = plan(&graph, n, 1, input_public, output_public)?;
        let linkage = Linkage::new(&plan, &trace, &mut ChaCha20Rng::seed_from_u64(7))?;
        Ok(Self { graph, trace, plan, linkage })
    }

    /// The chunks with layer boundaries `cuts`, with deterministic salts (private input,
    /// public output).
    pub fn with_cuts(graph: Graph, input: &ModelInput, cuts: Vec<usize>) -> Result<Self> {
        let trace = run(&graph, input)?;
        let plan = crate::plan::plan_cuts(&graph, cuts, 1, false, true);
        let linkage = Linkage::new(&plan, &trace, &mut ChaCha20Rng::seed_from_u64(7))?;
        Ok(Self { graph, trace, plan, linkage })
    }

    /// Spec and witness of chunk `i`.
    pub fn chunk(&self, i: usize) -> (ChunkSpec, ChunkWitness) {
        (ChunkSpec::of(&self.plan, i), self.linkage.witness(i))
    }

    /// The mock-prover circuit of chunk `i` with an explicit shape.
    pub fn mock_circuit_with(
        &self,
        i: usize,
        params: chunkproof_core::shape::ChunkCircuitParams,
    ) -> Result<ChunkCircuit> {
        let (spec, w) = self.chunk(i);
        build_chunk(&self.graph, &spec, &w, params, CircuitBuilderStage::Mock, None)
    }

    /// The mock-prover circuit of chunk `i`, sized automatically.
    pub fn mock_circuit(&self, i: usize) -> Result<ChunkCircuit> {
        self.mock_circuit_wide(i, 0, 1)
    }

    /// The mock-prover circuit of chunk `i`, sized automatically with `k ≥ min_k` and at most
    /// `width` advice columns of each kind.
    pub fn mock_circuit_wide(&self, i: usize, min_k: u32, width: u32) -> Result<ChunkCircuit> {
        let (spec, w) = self.chunk(i);
        let params = choose_params(i, min_k, width, |p, _| {
            build_chunk(&self.graph, &spec, &w, p, CircuitBuilderStage::Mock, None)
        })?;
        build_chunk(&self.graph, &spec, &w, params, CircuitBuilderStage::Mock, None)
    }
}

/// Runs the mock prover; `Ok` if every constraint holds.
pub fn mock_verify(circuit: &ChunkCircuit, instances: Vec<Fr>) -> std::result::Result<(), String> {
    let prover = MockProver::run(circuit.params.k, circuit, vec![instances]).map_err(|e| format!("{e:?}"))?;
    prover.verify().map_err(|errs| {
        let n = errs.len();
        let first: Vec<String> = errs.iter().take(3).map(|e| format!("{e}")).collect();
        format!("{n} failures, e.g. {}", first.join(" | "))
    })
}

/// Proves chunk `i` of `p` from an arbitrary (possibly dishonest) witness with the keys in
/// `keys_dir` (generating them if needed) — what a malicious prover could do.
pub fn prove_chunk_with(
    p: &Prepared,
    i: usize,
    witness: &ChunkWitness,
    keys_dir: &std::path::Path,
    min_k: u32,
) -> Result<(Vec<u8>, Vec<Fr>)> {
    use crate::keygen::{circuit_digest, load_or_generate};
    use crate::setup::{SetupChoice, Srs};
    let spec = ChunkSpec::of(&p.plan, i);
    let honest = p.linkage.witness(i);
    let params = choose_params(i, min_k, 1, |params, _| {
        build_chunk(&p.graph, &spec, &honest, params, CircuitBuilderStage::Prover, None)
    })?;
    let mut srs = Srs::open(&SetupChoice::Dev, Some(keys_dir))?;
    let digest = circuit_digest(&p.graph, &spec, &params, &srs.verifier().digest());
    let kzg = srs.params(params.k)?.clone();
    let sized = build_chunk(&p.graph, &spec, &honest, params, CircuitBuilderStage::Prover, None)?;
    let keys = load_or_generate(keys_dir, i, &digest, &kzg, (&params, &sized.stats), false, || {
        build_chunk(&p.graph, &spec, &honest, params, CircuitBuilderStage::Keygen, None)
    })?;
    let circuit = build_chunk(
        &p.graph,
        &spec,
        witness,
        params,
        CircuitBuilderStage::Prover,
        Some(keys.vk.meta.break_points.clone()),
    )?;
    let instances = circuit.instances.clone();
    let proof = crate::engine::ProofEngine::prove(
        &crate::engine::CpuEngine,
        &kzg,
        &keys.pk,
        circuit,
        &instances,
        i,
        Default::default(),
    )?;
    Ok((proof, instances))
}

/// Runs the mock prover and returns its failures, keeping only those of gates and lookups: a
/// fault that only a copy constraint notices downstream was not caught where it happened.
pub fn mock_local_failures(circuit: &ChunkCircuit, instances: Vec<Fr>) -> Vec<String> {
    use halo2_axiom::dev::VerifyFailure;
    let prover = match MockProver::run(circuit.params.k, circuit, vec![instances]) {
        Ok(p) => p,
        Err(e) => return vec![format!("synthesis: {e:?}")],
    };
    match prover.verify() {
        Ok(()) => vec![],
        Err(errs) => errs
            .iter()
            .filter(|e| !matches!(e, VerifyFailure::Permutation { .. }))
            .map(|e| format!("{e}"))
            .collect(),
    }
}

/// Whether a test may go on: `true` when its prerequisite is `present`. When it is missing, the
/// test fails, unless the comma-separated `CHUNKPROOF_SKIP` names `prerequisite` (set on purpose
/// by `make test` for what a fresh machine may lack: `shared`, `gpu`, `unshare`); then it says
/// SKIPPED and why, and returns `false`.
pub fn prerequisite(prerequisite: &str, present: bool, why: &str) -> bool {
    if present {
        return true;
    }
    let allowed = std::env::var("CHUNKPROOF_SKIP").unwrap_or_default();
    if allowed.split(',').any(|p| p.trim() == prerequisite) {
        eprintln!("SKIPPED ({prerequisite} missing, allowed by CHUNKPROOF_SKIP): {why}");
        return false;
    }
    panic!(
        "prerequisite {prerequisite:?} is missing: {why}. Provide it, or set CHUNKPROOF_SKIP={prerequisite} \
         to skip this test on purpose"
    );
}
