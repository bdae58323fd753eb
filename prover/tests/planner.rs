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
