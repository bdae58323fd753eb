//! The planner on real graph structure: skip connections, a multi-output layer, several model
//! outputs. Every cut carries exactly the live tensors, and every chunk of every plan proves.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use chunkproof_prover::model::ModelInput;
use chunkproof_prover::plan::boundary_sets;
use chunkproof_prover::testing::{branchy_graph, mock_verify, values, Prepared};

#[test]
fn skip_connections_and_multiple_outputs_chain_across_cuts() {
    let g = branchy_graph();
    let sets = boundary_sets(&g);
    // after the max-pool (layer 2) its output 23 lives until the Concatenation (layer 6), next
    // to the Split's second output 22
    assert_eq!(sets[3], vec![22, 23]);
    assert_eq!(sets[5], vec![23, 25]);
    // after the Add, the model output 26 stays live to the end, with 23 still needed by layer 6
    assert_eq!(sets[6], vec![23, 26]);
    assert_eq!(sets[8], vec![26, 28]);
    assert_eq!(sets[9], vec![26, 29]);
    let input = ModelInput { tensors: [(0, values(32, 9, -120, 120))].into_iter().collect() };
    // one layer per chunk would leave data movement (Split, Concatenation, Reshape) alone
    let e = Prepared::new(g.clone(), &input, 9).err().expect("9 chunks refused");
    assert!(e.to_string().contains("only moves data"), "{e}");
    for n in [1, 3, 6] {
        let p = Prepared::new(g.clone(), &input, n).unwrap();
        for i in 0..n {
            let c = p.mock_circuit(i).unwrap();
            mock_verify(&c, c.instances.clone()).unwrap_or_else(|e| panic!("{n} chunks, chunk {i}: {e}"));
            let read: Vec<i64> = p.plan.reads[i].iter().flat_map(|j| p.linkage.values[*j].clone()).collect();
            assert_eq!(p.linkage.witness(i).inputs, read, "{n} chunks: chunk {i} reads the leaves it names");
            assert_eq!(c.output_values, p.linkage.values[i + 1], "{n} chunks: chunk {i} writes its leaf");
        }
        // the last leaf is the two model outputs, in id order: 26 (8 values) then 29 (3)
        assert_eq!(p.linkage.values[n].len(), 8 + 3);
    }
}

/// The size and memory estimates follow the width: about `0.8·W` columns' worth of rows per
/// `2^k`, and a wide circuit's memory by the rows it fills, never above the narrow estimate.
#[test]
fn estimates_follow_the_width() {
    use chunkproof_prover::run::driver::{estimated_k, memory_estimate};
    assert_eq!(estimated_k(100_000, 0, 1), 17);
    assert_eq!(estimated_k(100_000, 0, 4), 15);
    assert_eq!(estimated_k(100_000, 16, 4), 16);
    assert_eq!(estimated_k(10, 0, 16), 8);
    let g = branchy_graph();
    let input = ModelInput { tensors: [(0, values(32, 9, -120, 120))].into_iter().collect() };
    let p = Prepared::new(g, &input, 3).unwrap();
    for i in 0..3 {
        let (narrow, wide) = (memory_estimate(&p.plan, i, 0, 1), memory_estimate(&p.plan, i, 0, 8));
        assert!(wide <= narrow, "chunk {i}: {wide} > {narrow}");
    }
}

/// Bounds from the model alone hold for every input: random inputs over a wide range stay
/// within every tensor's bound, and the boundaries packed in 16 bits accept their values.
#[test]
fn value_bounds_hold_for_any_input() {
    use chunkproof_prover::interpret::run;
    use chunkproof_prover::layers::bounds::tensor_bounds;
    use chunkproof_prover::testing::tiny_graph;
    for g in [tiny_graph(), branchy_graph()] {
        let bounds = tensor_bounds(&g);
        assert!(bounds.keys().any(|id| !g.constants.contains_key(id)), "some activation is bounded");
        let (id, shape) = (g.inputs[0], g.shape(g.inputs[0]).to_vec());
        let n: usize = shape.iter().product();
        let mut evaluated = 0;
        for (seed, span) in [(1, 10), (2, 1000), (3, 1 << 20), (4, (1 << 31) - 1)] {
            let input = ModelInput { tensors: [(id, values(n, seed, -span, span))].into_iter().collect() };
            // large spans may leave the fixed-point range inside the model (a typed error)
            let Ok(trace) = run(&g, &input) else { continue };
            evaluated += 1;
            for (t, b) in &bounds {
                if g.constants.contains_key(t) {
                    continue;
                }
                for v in trace.get(*t) {
                    assert!(
                        (b.lo..=b.hi).contains(&(*v as i128)),
                        "tensor {t}: {v} outside {b:?} (span {span})"
                    );
                }
            }
            for chunks in 2..=4 {
                // leaves are computed here: a value outside its boundary's packing is an error
                let p =
                    Prepared::new(g.clone(), &input, chunks).unwrap_or_else(|e| panic!("span {span}: {e}"));
                assert_eq!(p.plan.packings.len(), chunks + 1);
            }
        }
        assert!(evaluated >= 2, "the interpreter ran on {evaluated} of the inputs");
    }
}

/// Leaves per producing chunk: a value is in the leaf of the chunk that computes it, a chunk
/// reads every leaf it needs (not only its predecessor's), whole, and what it reads without
/// using counts as passed through. Every chunk passes the MockProver.
#[test]
fn chunks_read_the_leaves_of_the_chunks_that_computed_their_inputs() {
    use chunkproof_prover::plan::passed_through;
    let g = branchy_graph();
    let input = ModelInput { tensors: [(0, values(32, 9, -120, 120))].into_iter().collect() };
    // chunk 0 computes 22 (the Split's second half, 32 values) and 23 (the max-pool, 8 values);
    // chunk 1 is the Tanh on 22 alone; chunk 2 reads 23 and 24 (and so leaf 1 and leaf 2)
    let p = Prepared::with_cuts(g.clone(), &input, vec![0, 3, 4, 9]).unwrap();
    assert_eq!(p.plan.leaves, vec![vec![0], vec![22, 23], vec![24], vec![26, 29]]);
    assert_eq!(p.plan.reads, vec![vec![0], vec![1], vec![1, 2]]);
    let through: Vec<usize> = (0..3).map(|c| passed_through(&p.graph, &p.plan, c)).collect();
    assert_eq!(through, vec![0, 8, 32], "chunk 1 reads 23 unused, chunk 2 reads 22 unused");
    for i in 0..3 {
        let c = p.mock_circuit(i).unwrap();
        mock_verify(&c, c.instances.clone()).unwrap_or_else(|e| panic!("chunk {i}: {e}"));
        assert_eq!(c.output_values, p.linkage.values[i + 1], "chunk {i} writes its leaf");
        assert_eq!(c.handles.leaves.len(), p.plan.reads[i].len() + 1, "chunk {i} opens each leaf it reads");
    }
    // the leaves chunk 2 reads, each tampered with: a value of leaf 1 (written two chunks
    // before) or of leaf 2, or the salt or a path sibling of either; all refused
    let (spec, honest) = p.chunk(2);
    let build = |w: &chunkproof_prover::circuit::ChunkWitness| {
        let c = chunkproof_prover::circuit::build_chunk(
            &p.graph,
            &spec,
            w,
            p.mock_circuit(2).unwrap().params,
            halo2_base::gates::circuit::CircuitBuilderStage::Mock,
            None,
        )
        .unwrap();
        mock_verify(&c, c.instances.clone())
    };
    assert!(build(&honest).is_ok());
    let leaf1 = 32 + 8;
    for at in [0, leaf1 - 1, leaf1, honest.inputs.len() - 1] {
        let mut w = honest.clone();
        w.inputs[at] += 1;
        assert!(build(&w).is_err(), "input value {at} changed and accepted");
    }
    for leaf in 0..2 {
        let mut w = honest.clone();
        w.salts_in[leaf] += chunkproof_core::Fr::one();
        assert!(build(&w).is_err(), "salt of read {leaf} changed and accepted");
        let mut w = honest.clone();
        w.paths_in[leaf][0] += chunkproof_core::Fr::one();
        assert!(build(&w).is_err(), "path of read {leaf} changed and accepted");
    }
}
