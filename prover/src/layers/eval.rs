//! What the interpreter's layers share: the values of a layer's inputs, rescaling after a
//! product, the checked maximum and the division by a value of the data.

use std::collections::BTreeMap;

use chunkproof_core::in_value_range;

use super::errors::domain;
use crate::error::Result;
use crate::fixed::{activate, div_round};
use crate::model::graph::{Graph, Layer, TensorId};
use crate::model::kind::Activation;

/// Values of every activation tensor computed so far.
pub type Values = BTreeMap<TensorId, Vec<i64>>;

/// Values of an input tensor of a layer: from the trace or the constants.
pub fn operand<'a>(graph: &'a Graph, values: &'a Values, id: TensorId) -> &'a [i64] {
    match graph.constants.get(&id) {
        Some(t) => &t.data,
        None => &values[&id],
    }
}

/// `act(rhu(acc / sf))` for every product accumulator.
pub(crate) fn rescale(accs: Vec<i128>, act: Activation, sf: u64) -> Vec<i128> {
    accs.into_iter().map(|a| activate(div_round(a, sf).0, act, sf)).collect()
}

/// The largest of `values`, refusing pairwise differences outside the proven range (the max
/// gadget proves the sign of each difference).
pub fn max_checked(layer: &Layer, index: usize, values: impl IntoIterator<Item = i128>) -> Result<i128> {
    let mut it = values.into_iter();
    let mut m = it.next().expect("non-empty window");
    for v in it {
        if !in_value_range(v - m) {
            return Err(domain(
                layer,
                index,
                v - m,
                "a difference of two compared values must be in [-2^31, 2^31)",
            ));
        }
        m = m.max(v);
    }
    Ok(m)
}

/// `rhu(a / b)` for a divisor `b ∈ [1, 2^31)` taken from the data.
pub fn div_var(layer: &Layer, index: usize, a: i128, b: i128) -> Result<i128> {
    if !(1..1 << 31).contains(&b) {
        return Err(domain(layer, index, b, "a divisor must be in [1, 2^31)"));
    }
    Ok(div_round(a, b as u64).0)
}
