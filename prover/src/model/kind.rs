//! What a layer computes. Every variant's exact fixed-point meaning, shapes, cost and circuit live
//! in its family's file under [`crate::layers`]; `docs/layers.md` lists each layer with its
//! rounding and precision.
//!
//! Values are integers at scale `sf`; `rhu(a / d) = ⌊(2a + d) / 2d⌋` (round half up) is the only
//! rounding of the arithmetic layers, as in zkml.

/// Activation applied after a layer's arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// Identity.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)` (6 at scale `sf`).
    Relu6,
}

/// Convolution padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Output size `ceil(in / stride)`, zero padding split as TensorFlow does.
    Same,
    /// No padding.
    Valid,
}

/// A pointwise non-linear function, evaluated through a lookup table (see `docs/layers.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NonLinear {
    /// `1 / (1 + e^−x)`.
    Logistic,
    /// `tanh(x)`.
    Tanh,
    /// `e^x` for `x ≤ 0` (Softmax's numerator).
    Exp,
}

impl NonLinear {
    /// Every function, in tag order.
    pub const ALL: [NonLinear; 3] = [NonLinear::Logistic, NonLinear::Tanh, NonLinear::Exp];

    /// The function's tag in the circuit's table (1 to `chunkproof_core::shape::TABLE_TAGS`).
    pub fn tag(self) -> u64 {
        match self {
            NonLinear::Logistic => 1,
            NonLinear::Tanh => 2,
            NonLinear::Exp => 3,
        }
    }
}

/// What a layer computes (with its parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// 2-D convolution, NHWC input, `[O, kh, kw, I]` weights, `[O]` bias:
    /// `act(rhu((b·sf + Σ x·w) / sf))`.
    Conv2D {
        /// Padding mode.
        padding: Padding,
        /// Activation.
        activation: Activation,
        /// Strides (h, w).
        stride: (usize, usize),
    },
    /// Average pooling over `window` with `stride`, no padding: `rhu(Σ window / (h·w))`.
    AveragePool2D {
        /// Window (h, w).
        window: (usize, usize),
        /// Strides (h, w).
        stride: (usize, usize),
    },
    /// Elementwise product with broadcasting: `rhu(a·b / sf)`.
    Mul,
    /// Elementwise sum with broadcasting, then the activation.
    Add {
        /// Activation.
        activation: Activation,
    },
    /// Dense layer: `[.., K]` input, `[O, K]` weights, `[O]` bias, rounded as Conv2D.
    FullyConnected {
        /// Activation.
        activation: Activation,
    },
    /// Same values, new shape.
    Reshape {
        /// The output shape.
        shape: Vec<usize>,
    },
    /// Depthwise convolution (channel multiplier 1): `[1, kh, kw, C]` weights, `[C]` bias.
    DepthwiseConv2D {
        /// Padding mode.
        padding: Padding,
        /// Activation.
        activation: Activation,
        /// Strides (h, w).
        stride: (usize, usize),
    },
    /// Max pooling over `window` with `stride`, no padding (exact).
    MaxPool2D {
        /// Window (h, w).
        window: (usize, usize),
        /// Strides (h, w).
        stride: (usize, usize),
    },
    /// Elementwise `a − b` with broadcasting (exact).
    Sub,
    /// `rhu(x² / sf)`.
    Square,
    /// `rhu((a − b)² / sf)` with broadcasting.
    SquaredDifference,
    /// `rhu(x / divisor)` by a plain (unscaled) integer (zkml's `Div`).
    Div {
        /// The divisor, `≥ 1`.
        divisor: u64,
    },
    /// `rhu(x·sf / d)` by the single value `d ≥ 1` of a second activation tensor.
    DivVar,
    /// Batched matrix product of two activations, `[B, M, K] · [B, K, N]` (or `[B, N, K]`
    /// transposed when `adj_y`): `rhu(Σ a·b / sf)`.
    BatchMatMul {
        /// The second operand is given transposed.
        adj_y: bool,
    },
    /// Mean over `axes`: `rhu(Σ / count)`.
    Mean {
        /// Reduced axes, sorted.
        axes: Vec<usize>,
        /// Reduced axes stay as size 1.
        keep_dims: bool,
    },
    /// SGD step `⌊(w·sf − dw·eta) / sf⌋` (floor, learning rate `eta / sf`).
    Update {
        /// Scaled learning rate.
        eta: u64,
    },
    /// A pointwise non-linear function through a lookup table.
    Pointwise {
        /// Which function.
        func: NonLinear,
    },
    /// `round(√(x / sf)·sf) = round_half_up(√(x·sf))` for `x ≥ 0` (exact, no table).
    Sqrt {
        /// zkml's per-position override of the input (its `mask`).
        mask: RootMask,
    },
    /// `round(sf / √(x / sf))` for `x ≥ 1` (exact, no table).
    Rsqrt {
        /// zkml's per-position override of the input (its `mask`).
        mask: RootMask,
    },
    /// `rhu(x³ / sf²)` (zkml's Pow, whose exponent is always 3).
    Cube,
    /// Softmax over the last axis; masked positions give 0 and are left out of the sum.
    Softmax {
        /// Positions masked out (broadcast over the input); empty for none.
        mask: Vec<bool>,
        /// Shape of `mask`.
        mask_shape: Vec<usize>,
    },
    /// Input 0 unchanged (zkml's Noop).
    Noop,
    /// Axes permuted: output axis `i` is input axis `perm[i]` (zkml's Transpose and Permute).
    Transpose {
        /// The permutation.
        perm: Vec<usize>,
    },
    /// All inputs joined along `axis`.
    Concatenation {
        /// The axis.
        axis: usize,
    },
    /// All inputs stacked along a new axis at `axis`.
    Pack {
        /// The axis.
        axis: usize,
    },
    /// Input cut into `parts` equal slices along `axis` (one output each).
    Split {
        /// The axis.
        axis: usize,
        /// Number of outputs.
        parts: usize,
    },
    /// The box `begin .. begin + size`.
    Slice {
        /// Start per axis.
        begin: Vec<usize>,
        /// Size per axis.
        size: Vec<usize>,
    },
    /// Zero padding `(before, after)` per axis.
    Pad {
        /// Padding per axis.
        pads: Vec<(usize, usize)>,
    },
    /// Nearest-neighbour resize of an NHWC tensor: source `⌊dst·in / out⌋` per axis.
    ResizeNearestNeighbor {
        /// Output height and width.
        size: (usize, usize),
    },
    /// Size-1 axes repeated up to `shape`.
    Broadcast {
        /// The output shape.
        shape: Vec<usize>,
    },
    /// Axes reversed.
    Rotate {
        /// The reversed axes.
        axes: Vec<usize>,
    },
    /// Masked positions set to [`MASKED`], others unchanged.
    MaskNegInf {
        /// The mask (broadcast over the input).
        mask: Vec<bool>,
        /// Shape of `mask`.
        mask_shape: Vec<usize>,
    },
}

/// zkml's `mask` of a Sqrt or Rsqrt layer, sorted by position: the flat input position and what
/// the layer reads there instead of its input: `Some(v)` (zkml's `max_val = 2^(k−1) − 10` for a
/// mask value of 1) or `None` (zkml's `min_val` for −1, whose table output is 0). Empty for
/// none.
pub type RootMask = Vec<(usize, Option<i64>)>;

/// The value [`LayerKind::MaskNegInf`] writes: the smallest value in range, `−2^31`.
pub const MASKED: i64 = -(1 << 31);

impl LayerKind {
    /// zkml's name of the layer type.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Conv2D { .. } => "Conv2D",
            Self::AveragePool2D { .. } => "AveragePool2D",
            Self::Mul => "Mul",
            Self::Add { .. } => "Add",
            Self::FullyConnected { .. } => "FullyConnected",
            Self::Reshape { .. } => "Reshape",
            Self::DepthwiseConv2D { .. } => "DepthwiseConv2D",
            Self::MaxPool2D { .. } => "MaxPool2D",
            Self::Sub => "Sub",
            Self::Square => "Square",
            Self::SquaredDifference => "SquaredDifference",
            Self::Div { .. } => "Div",
            Self::DivVar => "DivVar",
            Self::BatchMatMul { .. } => "BatchMatMul",
            Self::Mean { .. } => "Mean",
            Self::Update { .. } => "Update",
            Self::Pointwise { func: NonLinear::Logistic } => "Logistic",
            Self::Pointwise { func: NonLinear::Tanh } => "Tanh",
            Self::Pointwise { func: NonLinear::Exp } => "Exp",
            Self::Sqrt { .. } => "Sqrt",
            Self::Rsqrt { .. } => "Rsqrt",
            Self::Cube => "Pow",
            Self::Softmax { .. } => "Softmax",
            Self::Noop => "Noop",
            Self::Transpose { .. } => "Transpose",
            Self::Concatenation { .. } => "Concatenation",
            Self::Pack { .. } => "Pack",
            Self::Split { .. } => "Split",
            Self::Slice { .. } => "Slice",
            Self::Pad { .. } => "Pad",
            Self::ResizeNearestNeighbor { .. } => "ResizeNearestNeighbor",
            Self::Broadcast { .. } => "Broadcast",
            Self::Rotate { .. } => "Rotate",
            Self::MaskNegInf { .. } => "MaskNegInf",
        }
    }
}
