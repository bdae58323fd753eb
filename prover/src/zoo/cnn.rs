//! The image models: `cnn_large_v1` (its monolithic circuit needs `k = 22`; cut into 5 chunks,
//! each fits `k = 20`), `tiny_table_v1` and `tiny_dense_v1`.

use super::Builder;

/// `(model.msgpack, input.msgpack)` bytes of `cnn_large_v1`.
pub fn cnn_large_v1() -> (Vec<u8>, Vec<u8>) {
    let sf = 256;
    let mut b = Builder::new(sf, 0x5eed_0001);
    let x = b.id(vec![1, 32, 32, 3]);
    let c0 = b.conv(x, 3, 16, true); // 32×32×16
    let p0 = b.max_pool(c0); // 16×16×16
    let c1 = b.conv(p0, 3, 16, true);
    let r = b.layer("Add", vec![1], vec![p0, c1], vec![1, 16, 16, 16]); // residual, ReLU
    let dw_w = b.weights(&[1, 3, 3, 16], 9, 0.7);
    let dw_b = b.bias(16);
    let d = b.layer("Conv2D", vec![1, 0, 3, 1, 1], vec![r, dw_w, dw_b], vec![1, 16, 16, 16]); // depthwise, ReLU6
    let e = b.conv(d, 1, 32, true); // 1×1 expansion
    let cat = b.layer("Concatenation", vec![3], vec![r, e], vec![1, 16, 16, 48]); // skip over two layers
    let p1 = b.max_pool(cat); // 8×8×48
    let padded = b.layer("Pad", vec![0, 0, 1, 1, 1, 1, 0, 0], vec![p1], vec![1, 10, 10, 48]);
    let c2 = b.conv(padded, 3, 24, false); // VALID on the padded map: 8×8×24
    let flat = b.layer("Reshape", vec![], vec![c2], vec![1, 1536]);
    let w1 = b.weights(&[320, 1536], 1536, 0.7);
    let b1 = b.bias(320);
    let f1 = b.layer("FullyConnected", vec![1], vec![flat, w1, b1], vec![1, 320]);
    let w2 = b.weights(&[10, 320], 320, 0.5);
    let b2 = b.bias(10);
    let f2 = b.layer("FullyConnected", vec![0], vec![f1, w2, b2], vec![1, 10]);
    let out = b.layer("Softmax", vec![], vec![f2], vec![1, 10]);
    b.finish(x, out)
}

/// `(model.msgpack, input.msgpack)` bytes of `tiny_table_v1`: a small model whose chunks use the
/// function tables (conv → tanh → max-pool → dense → softmax), for end-to-end tests of table
/// circuits with real keys, proofs and the Solidity verifiers.
pub fn tiny_table_v1() -> (Vec<u8>, Vec<u8>) {
    let mut b = Builder::new(256, 0x5eed_0002);
    let x = b.id(vec![1, 6, 6, 2]);
    let c = b.conv(x, 3, 4, true);
    let t = b.layer("Tanh", vec![], vec![c], vec![1, 6, 6, 4]);
    let p = b.max_pool(t); // 3×3×4
    let flat = b.layer("Reshape", vec![], vec![p], vec![1, 36]);
    let w = b.weights(&[5, 36], 36, 0.7);
    let bias = b.bias(5);
    let f = b.layer("FullyConnected", vec![0], vec![flat, w, bias], vec![1, 5]);
    let out = b.layer("Softmax", vec![], vec![f], vec![1, 5]);
    b.finish(x, out)
}

/// `(model.msgpack, input.msgpack)` bytes of `tiny_dense_v1`: dense 8 → 6 (ReLU) → 3, the
/// smallest model worth proving; its chunks fit `2^12` rows, so tests can prove it on a small
/// freshly made powers-of-tau SRS.
pub fn tiny_dense_v1() -> (Vec<u8>, Vec<u8>) {
    let mut b = Builder::new(256, 0x5eed_0003);
    let x = b.id(vec![1, 8]);
    let w1 = b.weights(&[6, 8], 8, 0.7);
    let b1 = b.bias(6);
    let h = b.layer("FullyConnected", vec![1], vec![x, w1, b1], vec![1, 6]);
    let w2 = b.weights(&[3, 6], 6, 0.7);
    let b2 = b.bias(3);
    let out = b.layer("FullyConnected", vec![0], vec![h, w2, b2], vec![1, 3]);
    b.finish(x, out)
}

/// `(model.msgpack, input.msgpack)` bytes of `conv1x1_v1`: the shape of MobileNet-v2's last
/// block — a 1×1 convolution from 320 to 1280 channels at 7×7 (20,070,400 multiply-accumulates,
/// ReLU6), a 7×7 average pooling and a 1280 → 10 dense head — one layer too large for any chunk
/// of `k ≤ 20` until it is cut into parts.
pub fn conv1x1_v1() -> (Vec<u8>, Vec<u8>) {
    let mut b = Builder::new(256, 0x5eed_0006);
    let x = b.id(vec![1, 7, 7, 320]);
    let w = b.weights(&[1280, 1, 1, 320], 320, 0.7);
    let bias = b.bias(1280);
    let c = b.layer("Conv2D", vec![0, 0, 3, 1, 1], vec![x, w, bias], vec![1, 7, 7, 1280]);
    let p = b.layer("AveragePool2D", vec![7, 7, 7, 7], vec![c], vec![1, 1, 1, 1280]);
    let flat = b.layer("Reshape", vec![], vec![p], vec![1, 1280]);
    let w2 = b.weights(&[10, 1280], 1280, 0.5);
    let b2 = b.bias(10);
    let out = b.layer("FullyConnected", vec![0], vec![flat, w2, b2], vec![1, 10]);
    b.finish(x, out)
}
