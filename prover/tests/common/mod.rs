//! The negative-test battery shared by the soundness and layer tests.
#![allow(dead_code)]

use chunkproof_core::shape::{ChunkCircuitParams, Columns};
use chunkproof_prover::circuit::{ChunkCircuit, Fr};
use chunkproof_prover::fault::{self, Site};
use chunkproof_prover::model::{Graph, ModelInput};
use chunkproof_prover::testing::{mock_local_failures, mock_verify, values, Prepared};

pub(crate) const FAST: ChunkCircuitParams = ChunkCircuitParams {
    k: 17,
    lookup_bits: 16,
    tables: 0,
    products: false,
    narrow_limbs: false,
    max_gate: false,
    columns: Columns::NARROW,
};
/// The fixed-point gates with narrow limbs (three 12-bit limbs per 31-bit value).
pub(crate) const NARROW: ChunkCircuitParams = ChunkCircuitParams {
    k: 14,
    lookup_bits: 12,
    tables: 0,
    products: false,
    narrow_limbs: true,
    max_gate: false,
    columns: Columns::NARROW,
};
/// Below the smallest table the fixed-point gates take: halo2-base's generic gadgets.
pub(crate) const GENERIC: ChunkCircuitParams = ChunkCircuitParams {
    k: 14,
    lookup_bits: 9,
    tables: 0,
    products: false,
    narrow_limbs: false,
    max_gate: false,
    columns: Columns::NARROW,
};

/// Whether `params` uses the fixed-point gates (not the generic gadgets).
pub(crate) fn gates(params: ChunkCircuitParams) -> bool {
    params.lookup_bits >= chunkproof_core::shape::MIN_LIMB_BITS
}

pub(crate) fn input(g: &Graph, lo: i64, hi: i64) -> ModelInput {
    ModelInput { tensors: [(0, values(g.numel(0), 3, lo, hi))].into_iter().collect() }
}

pub(crate) fn build(p: &Prepared, params: ChunkCircuitParams) -> ChunkCircuit {
    p.mock_circuit_with(0, params).unwrap()
}

/// Builds with `site` armed at its `nth` visit; the fault must fire and a gate or lookup — not
/// only a copy constraint further on — must reject it.
pub(crate) fn assert_fault_rejected(
    p: &Prepared,
    params: ChunkCircuitParams,
    site: Site,
    nth: usize,
    what: &str,
) {
    // second-phase values are computed when the (mock) prover hands out the challenge; a
    // wrong copy of one is caught by the copy constraint, everything else by its own gate
    if matches!(
        site,
        Site::ProductCopy
            | Site::ProductHorner
            | Site::ProductFold
            | Site::ProductSum
            | Site::ProductChallenge
    ) {
        let c = build(p, params);
        fault::inject(site, nth);
        let rejected = if site == Site::ProductCopy {
            mock_verify(&c, c.instances.clone()).is_err()
        } else {
            !mock_local_failures(&c, c.instances.clone()).is_empty()
        };
        assert!(!fault::armed(), "{what}: fault {site:?}#{nth} never fired");
        fault::clear();
        assert!(
            rejected,
            "{what}: fault {site:?}#{nth} accepted or not caught where it happened ({params:?})"
        );
        return;
    }
    fault::inject(site, nth);
    let c = build(p, params);
    assert!(!fault::armed(), "{what}: fault {site:?}#{nth} never fired");
    fault::clear();
    // halo2-base range checks end in a copy constraint (value = Σ limbs·2^16i), so faults that
    // only a range check catches show up as a permutation failure of that very gadget; the
    // product check's copies of operands and second-phase values, and its final sum's copy of
    // the constant 0, are copy constraints
    // (on the generic path, a remainder's range check spans several table limbs whenever `2d`
    // exceeds the small table, so a wrong quotient shows up there too)
    if matches!(
        site,
        Site::DivVar | Site::Root | Site::RootParity | Site::ProductOperand | Site::ProductOutput
    ) || (!gates(params) && matches!(site, Site::Quotient | Site::DivEquation | Site::DivBound))
    {
        assert!(
            mock_verify(&c, c.instances.clone()).is_err(),
            "{what}: fault {site:?}#{nth} accepted ({params:?})"
        );
        return;
    }
    let local = mock_local_failures(&c, c.instances.clone());
    assert!(!local.is_empty(), "{what}: fault {site:?}#{nth} not caught by a gate or lookup ({params:?})");
}

pub(crate) fn assert_prank_rejected(
    mut c: ChunkCircuit,
    pick: impl Fn(&ChunkCircuit) -> halo2_base::AssignedValue<Fr>,
    what: &str,
) {
    let cell = pick(&c);
    let wrong = *cell.value() + Fr::one();
    if cell.cell.unwrap().type_id == chunkproof_prover::circuit::custom::CUSTOM_TYPE_ID {
        c.custom.prank(&cell, wrong);
    } else {
        cell.debug_prank(c.builder.main(0), wrong);
    }
    assert!(mock_verify(&c, c.instances.clone()).is_err(), "{what}: tampered cell accepted");
}

/// The full battery for a one-chunk model. `sites` are faulted on both paths; in the generic
/// path a bare range check has no sign witness, so `Sign` is faulted there only if
/// `generic_sign` (the layer has a ReLU).
pub(crate) fn battery(g: Graph, inp: ModelInput, sites: &[Site], what: &str) {
    battery_with(g, inp, sites, true, what)
}

/// Single-constraint faults of the 16-bit gates (each breaks exactly one equality of its gate).
pub(crate) const SIGN_GATE: [Site; 4] = [Site::SignLimb, Site::SignDouble, Site::SignBool, Site::SignRelu];
pub(crate) const CLAMP_GATE: [Site; 5] =
    [Site::ClampDiff, Site::ClampLimb, Site::ClampDouble, Site::ClampBool, Site::ClampOut];
pub(crate) const MAX_GATE: [Site; 4] = [Site::MaxLimb, Site::MaxDouble, Site::MaxBool, Site::MaxOut];
pub(crate) const DIV_GATE: [Site; 2] = [Site::DivEquation, Site::DivBound];

pub(crate) fn battery_with(g: Graph, inp: ModelInput, sites: &[Site], generic_sign: bool, what: &str) {
    battery_on(g, inp, sites, generic_sign, &[FAST, NARROW, GENERIC], what)
}

/// [`battery_with`] on the given circuit shapes only (layers with function tables need the
/// 16-bit range table, so they run on [`FAST`] alone).
pub(crate) fn battery_on(
    g: Graph,
    inp: ModelInput,
    sites: &[Site],
    generic_sign: bool,
    shapes: &[ChunkCircuitParams],
    what: &str,
) {
    let p = Prepared::new(g, &inp, 1).unwrap();
    for params in shapes.iter().copied() {
        // the generic path takes maxima without the `max` gate
        let mut sites: Vec<Site> = sites
            .iter()
            .copied()
            .filter(|s| gates(params) || (*s != Site::Max && (generic_sign || *s != Site::Sign)))
            .collect();
        // every chunk range-checks its boundaries with sign gates on the 16-bit path
        if gates(params) {
            sites.extend(SIGN_GATE);
            if sites.contains(&Site::Clamp) {
                sites.extend(CLAMP_GATE);
            }
            if sites.contains(&Site::Max) {
                sites.extend(MAX_GATE);
            }
        }
        if sites.contains(&Site::Quotient) {
            sites.extend(DIV_GATE);
        }
        let sites = &sites;
        let honest = build(&p, params);
        assert_eq!(
            honest.output_values,
            p.trace.outputs(&p.graph),
            "{what}: circuit differs from interpreter"
        );
        mock_verify(&honest, honest.instances.clone())
            .unwrap_or_else(|e| panic!("{what} honest {params:?}: {e}"));
        for site in sites {
            assert_fault_rejected(&p, params, *site, 0, what);
            // the challenge is drawn once per circuit
            if *site != Site::ProductChallenge {
                assert_fault_rejected(&p, params, *site, 3, what);
            }
        }
        assert_prank_rejected(honest.clone(), |c| c.handles.outputs[0], what);
        assert_prank_rejected(honest.clone(), |c| *c.handles.outputs.last().unwrap(), what);
        assert_prank_rejected(honest.clone(), |c| c.handles.salts[0], what);
        assert_prank_rejected(honest.clone(), |c| c.handles.salts[1], what);
        assert_prank_rejected(honest.clone(), |c| c.handles.leaves[1], what);
        let mut inst = honest.instances.clone();
        inst[0] += Fr::one();
        assert!(mock_verify(&honest, inst).is_err(), "{what}: wrong root accepted");
        let mut inst = honest.instances.clone();
        *inst.last_mut().unwrap() += Fr::one();
        assert!(mock_verify(&honest, inst).is_err(), "{what}: wrong public output accepted");
    }
}

/// Faults of the randomized product check (every cell kind it has).
pub(crate) const PRODUCT: [Site; 7] = [
    Site::ProductOutput,
    Site::ProductOperand,
    Site::ProductCopy,
    Site::ProductHorner,
    Site::ProductFold,
    Site::ProductSum,
    Site::ProductChallenge,
];

pub(crate) const LINK: [Site; 2] = [Site::Sign, Site::Permutation];
