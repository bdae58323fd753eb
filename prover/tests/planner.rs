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
        let mut carried = p.linkage.witness(0).inputs.len();
        for i in 0..n {
            let c = p.mock_circuit(i).unwrap();
            mock_verify(&c, c.instances.clone()).unwrap_or_else(|e| panic!("{n} chunks, chunk {i}: {e}"));
            assert_eq!(
                p.linkage.witness(i).inputs.len(),
                carried,
                "chunk {i} reads what chunk {} wrote",
                i.max(1) - 1
            );
            carried = c.output_values.len();
        }
        // the last boundary is the two model outputs, in id order: 26 (8 values) then 29 (3)
        assert_eq!(carried, 8 + 3);
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
