//! `transformer_v1`: a GPT-2-style decoder written the way zkml's converter writes a TFLite
//! GPT-2: 2 blocks over 16 tokens of width 32 (2 heads of 16, MLP width 64), then a final
//! LayerNorm and a 16-way output head.
//!
//! - LayerNorm as TFLite lowers it: `Mean` over the last axis, `SquaredDifference`, `Mean`,
//!   `Add ε`, `Rsqrt`, `Sub`, and broadcast `Mul`s (`[1, T, D] × [1, T, 1]`, then `× [D]`).
//! - Attention: one `FullyConnected` on the 3-D input for Q, K and V (declared `[T, 3D]`), a
//!   `Split`, per head a `Slice` of each, `FullyConnected(Q_h, K_h)` (= `Q_h·K_hᵀ`, an activation
//!   as weights), a scaling `Mul`, the causal mask (`MaskNegInf`, as the converter writes an `Add`
//!   of −∞), `Softmax` with the same mask, `FullyConnected(P_h, V_hᵀ)` after a `Transpose`, a
//!   `Concatenation` of the heads, the output projection and a residual `Add` (`[1, T, D] + [T, D]`).
//! - MLP: `FullyConnected`, GELU in its tanh form (`Pow` 3, `Mul`, `Add`, `Mul`, `Tanh`, `Add` 1,
//!   `Mul`, `Mul` ½), `FullyConnected`, residual `Add`.
//! - The last `Reshape` takes its shape from run-time shape plumbing (`SHAPE` and
//!   `STRIDED_SLICE`, both `Noop` in zkml's converter, and a `Pack` of scalars), as CLIP's graph does.

use super::Builder;

const T: usize = 16;
const D: usize = 32;
const HEADS: usize = 2;
const HD: usize = D / HEADS;
const F: usize = 64;
const BLOCKS: usize = 2;
const VOCAB: usize = 16;

/// LayerNorm over the last axis of `x` (`[1, T, D]`) with learned scale and shift.
fn layer_norm(b: &mut Builder, x: i64) -> i64 {
    let axes = b.constant(&[1], vec![2]);
    let wide = vec![1, T, D];
    let narrow = vec![1, T, 1];
    let mean = b.layer("Mean", vec![2], vec![x, axes], narrow.clone());
    let sq = b.layer("SquaredDifference", vec![], vec![x, mean], wide.clone());
    let var = b.layer("Mean", vec![2], vec![sq, axes], narrow.clone());
    let eps = b.constant(&[1], vec![1]);
    let var = b.layer("Add", vec![0], vec![var, eps], narrow.clone());
    let inv = b.layer("Rsqrt", vec![], vec![var], narrow);
    let centered = b.layer("Sub", vec![], vec![x, mean], wide.clone());
    let normed = b.layer("Mul", vec![], vec![centered, inv], wide.clone());
    let sf = b.sf as f64;
    let gamma: Vec<i64> =
        (0..D).map(|i| ((1.0 + 0.05 * ((i % 5) as f64 - 2.0)) * sf).round() as i64).collect();
    let beta: Vec<i64> = (0..D).map(|i| ((0.02 * ((i % 3) as f64 - 1.0)) * sf).round() as i64).collect();
    let gamma = b.constant(&[D], gamma);
    let beta = b.constant(&[D], beta);
    let scaled = b.layer("Mul", vec![], vec![normed, gamma], wide.clone());
    b.layer("Add", vec![0], vec![scaled, beta], wide)
}

/// The causal mask of a `[T, T]` score matrix as zkml's params write it: `[2, T, T, *mask]`,
/// 1 where a token would see a later one.
fn causal_mask() -> Vec<i64> {
    let mut p = vec![2, T as i64, T as i64];
    p.extend((0..T).flat_map(|i| (0..T).map(move |j| i64::from(j > i))));
    p
}

/// Multi-head causal self-attention of `x` (`[1, T, D]`), with the residual.
fn attention(b: &mut Builder, x: i64) -> i64 {
    let ln = layer_norm(b, x);
    let w = b.weights(&[3 * D, D], D, 0.7);
    let bias = b.bias(3 * D);
    let qkv = b.layer("FullyConnected", vec![0], vec![ln, w, bias], vec![T, 3 * D]);
    let axis = b.constant(&[], vec![1]);
    let parts = b.layer_n("Split", vec![1, 3], vec![axis, qkv], vec![vec![T, D]; 3]);
    let (q, k, v) = (parts[0], parts[1], parts[2]);
    let scale = b.scalar(1.0 / (HD as f64).sqrt());
    let mut heads = vec![];
    for h in 0..HEADS {
        let slice = |b: &mut Builder, t: i64| {
            b.layer("Slice", vec![0, (h * HD) as i64, T as i64, HD as i64], vec![t], vec![T, HD])
        };
        let (qh, kh, vh) = (slice(b, q), slice(b, k), slice(b, v));
        let scores = b.layer("FullyConnected", vec![0], vec![qh, kh], vec![T, T]);
        let scores = b.layer("Mul", vec![], vec![scores, scale], vec![T, T]);
        let masked = b.layer("MaskNegInf", causal_mask(), vec![scores], vec![T, T]);
        let probs = b.layer("Softmax", causal_mask(), vec![masked], vec![T, T]);
        let perm = b.constant(&[2], vec![1, 0]);
        let vt = b.layer("Transpose", vec![T as i64, HD as i64, 1, 0], vec![vh, perm], vec![HD, T]);
        heads.push(b.layer("FullyConnected", vec![0], vec![probs, vt], vec![T, HD]));
    }
    let joined = b.layer("Concatenation", vec![1], heads, vec![T, D]);
    let wo = b.weights(&[D, D], D, 0.7);
    let bo = b.bias(D);
    let proj = b.layer("FullyConnected", vec![0], vec![joined, wo, bo], vec![T, D]);
    b.layer("Add", vec![0], vec![x, proj], vec![1, T, D])
}

/// GELU, tanh form: `½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
fn gelu(b: &mut Builder, x: i64) -> i64 {
    let s = vec![T, F];
    let cube = b.layer("Pow", vec![3], vec![x], s.clone());
    let c = b.scalar(0.044715);
    let t = b.layer("Mul", vec![], vec![cube, c], s.clone());
    let t = b.layer("Add", vec![0], vec![x, t], s.clone());
    let k = b.scalar((2.0 / std::f64::consts::PI).sqrt());
    let t = b.layer("Mul", vec![], vec![t, k], s.clone());
    let t = b.layer("Tanh", vec![], vec![t], s.clone());
    let one = b.scalar(1.0);
    let t = b.layer("Add", vec![0], vec![t, one], s.clone());
    let t = b.layer("Mul", vec![], vec![x, t], s.clone());
    let half = b.scalar(0.5);
    b.layer("Mul", vec![], vec![t, half], s)
}

/// The MLP of a block, with the residual.
fn mlp(b: &mut Builder, x: i64) -> i64 {
    let ln = layer_norm(b, x);
    let w1 = b.weights(&[F, D], D, 0.7);
    let b1 = b.bias(F);
    let h = b.layer("FullyConnected", vec![0], vec![ln, w1, b1], vec![T, F]);
    let g = gelu(b, h);
    let w2 = b.weights(&[D, F], F, 0.7);
    let b2 = b.bias(D);
    let out = b.layer("FullyConnected", vec![0], vec![g, w2, b2], vec![T, D]);
    b.layer("Add", vec![0], vec![x, out], vec![1, T, D])
}

/// `(model.msgpack, input.msgpack)` bytes of `transformer_v1` (input: token embeddings
/// `[1, 16, 32]` in `[−1, 1]`; output: logits `[1, 16, 16]`).
pub fn transformer_v1() -> (Vec<u8>, Vec<u8>) {
    let mut b = Builder::new(256, 0x5eed_0004);
    let x = b.id(vec![1, T, D]);
    let mut h = x;
    for _ in 0..BLOCKS {
        h = attention(&mut b, h);
        h = mlp(&mut b, h);
    }
    let ln = layer_norm(&mut b, h);
    let w = b.weights(&[VOCAB, D], D, 0.7);
    let logits = b.layer("FullyConnected", vec![0], vec![ln, w], vec![T, VOCAB]);
    // [1, T, VOCAB] from a shape computed at run time: SHAPE(h)[1] packed with constants.
    let shape = b.layer("Noop", vec![0], vec![h], vec![3]);
    let begin = b.constant(&[1], vec![1]);
    let tokens = b.layer("Noop", vec![0], vec![shape, begin], vec![]);
    let one = b.constant(&[], vec![1]);
    let vocab = b.constant(&[], vec![VOCAB as i64]);
    let target = b.layer("Pack", vec![0], vec![one, tokens, vocab], vec![3]);
    let out = b.layer("Reshape", vec![], vec![logits, target], vec![1, T, VOCAB]);
    b.finish(x, out)
}
