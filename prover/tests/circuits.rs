//! Honest chunk circuits pass the mock prover and reproduce the interpreter.
#![allow(unused_crate_dependencies)] // a test target sees every dev-dependency of its package

use chunkproof_prover::testing::{mock_verify, tiny_graph, tiny_input, Prepared};

#[test]
fn tiny_model_as_one_chunk() {
    let p = Prepared::new(tiny_graph(), &tiny_input(), 1).unwrap();
    let c = p.mock_circuit(0).unwrap();
    eprintln!("params {:?} stats {:?}", c.params, c.stats);
    assert_eq!(c.output_values, p.trace.outputs(&p.graph));
    mock_verify(&c, c.instances.clone()).unwrap();
}

#[test]
fn tiny_model_as_three_chunks() {
    let p = Prepared::new(tiny_graph(), &tiny_input(), 3).unwrap();
    eprintln!("cuts {:?} sets {:?}", p.plan.cuts, p.plan.leaves);
    for i in 0..3 {
        let c = p.mock_circuit(i).unwrap();
        assert_eq!(c.output_values, p.linkage.values[i + 1], "chunk {i}");
        mock_verify(&c, c.instances.clone()).unwrap();
    }
}

#[test]
fn tampering_is_rejected_quick_check() {
    use chunkproof_prover::circuit::Fr;
    let p = Prepared::new(tiny_graph(), &tiny_input(), 1).unwrap();
    let base = p.mock_circuit(0).unwrap();
    // one output cell
    let mut c = base.clone();
    let cell = c.handles.outputs[0];
    cell.debug_prank(c.builder.main(0), *cell.value() + Fr::one());
    assert!(mock_verify(&c, c.instances.clone()).is_err(), "output cell");
    // the salt
    let mut c = base.clone();
    let cell = c.handles.salts[1];
    cell.debug_prank(c.builder.main(0), *cell.value() + Fr::one());
    assert!(mock_verify(&c, c.instances.clone()).is_err(), "salt");
    // a public instance
    let mut inst = base.instances.clone();
    inst[0] += Fr::one();
    assert!(mock_verify(&base, inst).is_err(), "root instance");
    let mut inst = base.instances.clone();
    *inst.last_mut().unwrap() += Fr::one();
    assert!(mock_verify(&base, inst).is_err(), "output instance");
}
