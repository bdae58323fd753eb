//! `ranking_v1`: a ranking model in the style of zkml's Twitter model: 64 dense features
//! normalised by their own statistics (`Mean` over axis 1 of `[1, 64, 1]` declared `[1]`,
//! `SquaredDifference`, `Sqrt`, `DivVar`), two dense towers joined by a `Concatenation`, a dense
//! stack and 4 engagement probabilities (`Logistic`).

use super::Builder;

const FEATURES: usize = 64;
const TOWER: usize = 32;
const HEADS: usize = 4;

/// `(model.msgpack, input.msgpack)` bytes of `ranking_v1` (input: `[1, 64]` features in
/// `[−1, 1]`; output: `[1, 4]` probabilities).
pub fn ranking_v1() -> (Vec<u8>, Vec<u8>) {
    let mut b = Builder::new(256, 0x5eed_0005);
    let x = b.id(vec![1, FEATURES]);
    let col = vec![1, FEATURES, 1];
    let shape = b.constant(&[3], vec![1, FEATURES as i64, 1]);
    let r = b.layer("Reshape", vec![], vec![x, shape], col.clone());
    let axis = b.constant(&[1], vec![1]);
    let mean = b.layer("Mean", vec![1], vec![r, axis], vec![1]);
    let centered = b.layer("Sub", vec![], vec![r, mean], col.clone());
    let sq = b.layer("SquaredDifference", vec![], vec![r, mean], col.clone());
    let var = b.layer("Mean", vec![1], vec![sq, axis], vec![1]);
    let eps = b.constant(&[1], vec![1]);
    let var = b.layer("Add", vec![0], vec![var, eps], vec![1]);
    let std = b.layer("Sqrt", vec![], vec![var], vec![1]);
    let normed = b.layer("DivVar", vec![], vec![centered, std], col);
    let flat_shape = b.constant(&[2], vec![1, FEATURES as i64]);
    let flat = b.layer("Reshape", vec![], vec![normed, flat_shape], vec![1, FEATURES]);
    let mut towers = vec![];
    for _ in 0..2 {
        let w = b.weights(&[TOWER, FEATURES], FEATURES, 0.7);
        let bias = b.bias(TOWER);
        towers.push(b.layer("FullyConnected", vec![1], vec![flat, w, bias], vec![1, TOWER]));
    }
    let joined = b.layer("Concatenation", vec![1], towers, vec![1, 2 * TOWER]);
    let w = b.weights(&[TOWER, 2 * TOWER], 2 * TOWER, 0.7);
    let bias = b.bias(TOWER);
    let h = b.layer("FullyConnected", vec![1], vec![joined, w, bias], vec![1, TOWER]);
    let w = b.weights(&[HEADS, TOWER], TOWER, 0.7);
    let bias = b.bias(HEADS);
    let logits = b.layer("FullyConnected", vec![0], vec![h, w, bias], vec![1, HEADS]);
    let out = b.layer("Logistic", vec![], vec![logits], vec![1, HEADS]);
    b.finish(x, out)
}
