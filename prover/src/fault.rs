//! Fault injection for negative tests: make one gadget compute a wrong but self-consistent
//! witness (later cells use the wrong value), so that only that gadget's own constraints can
//! catch it. Only the `test-utils` feature can arm a fault (thread-local, so parallel tests do
//! not interfere); without it [`Site`]s are inert names and every check compiles to `false`.

/// Where to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// A rounding quotient is off by one (its remainder adjusted to keep `2a + d = 2d·q + r`).
    Quotient,
    /// A sign bit is flipped (its limbs adjusted to keep the decomposition equation).
    Sign,
    /// The ReLU6 upper comparison bit is flipped.
    Clamp,
    /// Rounding: `q + 1` with `r` unchanged (only `2a + d = 2d·q + r` is violated).
    DivEquation,
    /// Rounding: `q − 1`, `r + 2d`, `2d − 1 − r` claimed as 0 (only that last relation is violated).
    DivBound,
    /// Sign gate: `l₀ ± 1` (only the decomposition equation is violated).
    SignLimb,
    /// Sign gate: `2·l₁ ± 2` (only `t = 2·l₁` is violated).
    SignDouble,
    /// Sign gate: `b + 2^-31` with `low − 1`, so the decomposition still holds (only `b` boolean is
    /// violated).
    SignBool,
    /// Sign gate: `pos + 1` (only `pos = b·x` is violated).
    SignRelu,
    /// Clamp gate: `t + 1`, decomposed consistently (only `t = pos − C` is violated).
    ClampDiff,
    /// Clamp gate: the same as [`Site::SignLimb`] for its own decomposition.
    ClampLimb,
    /// Clamp gate: the same as [`Site::SignDouble`] for its own decomposition.
    ClampDouble,
    /// Clamp gate: the same as [`Site::SignBool`] for its own bit.
    ClampBool,
    /// Clamp gate: `out + 1` (only `out = pos − c·t` is violated).
    ClampOut,
    /// Max gate: its bit `s = [a ≥ b]` is flipped (its limbs adjusted to keep the decomposition
    /// equation; only the limbs' lookups can object) and `m` follows the flipped bit.
    Max,
    /// Max gate: the same as [`Site::SignLimb`] for its decomposition of `a − b`.
    MaxLimb,
    /// Max gate: the same as [`Site::SignDouble`] for its decomposition.
    MaxDouble,
    /// Max gate: the same as [`Site::SignBool`] for its bit.
    MaxBool,
    /// Max gate: `m + 1` (only `m = b + s·(a − b)` is violated).
    MaxOut,
    /// On the 16-bit path, a sign gate claims a small non-negative `x` is negative, using an odd
    /// `2·l₁` so that `l₁ = (2·l₁ + p) / 2` wraps: only the lookup on `l₁` itself rejects it.
    SignWrap,
    /// A data-dependent rounding division's quotient is off by one.
    DivVar,
    /// An integer square root is off by one.
    Root,
    /// The halving of a square root (`m + 1 = 2y + e`) claims `y − 1` and `e + 2` (a non-bit).
    RootHalf,
    /// The halving of a square root takes the other bit `1 − e` and `y = (m + 1 − e') / 2`, a
    /// half-integer field element (only a range check on `y` objects).
    RootParity,
    /// A function-table output is off by one.
    Table,
    /// A dot product's result is off by one.
    Dot,
    /// Product check: a claimed product `Y` entry is off by one (and used so downstream).
    ProductOutput,
    /// Product check: the first-phase copy of an operand `X` cell is off by one.
    ProductOperand,
    /// Product check: a second-phase copy of a chain result is off by one.
    ProductCopy,
    /// Product check: a Horner cell (a power, `v_k` or `β`) is off by one, used so after.
    ProductHorner,
    /// Product check: a fold cell (`t_c`, `u_k` or `s`) is off by one, used so after.
    ProductFold,
    /// Product check: a running sum of pairs is off by one, used so after.
    ProductSum,
    /// Product check: every second-phase cell is computed for `ρ + 1` and `σ + 1`.
    ProductChallenge,
    /// A Poseidon round output is off by one in lane 1.
    Permutation,
    /// A Poseidon round output is off by one in lane 0.
    PermutationLane0,
    /// A stored square `w = x²` of a Poseidon round is off by one (used consistently after).
    PermutationSquare,
}

#[cfg(feature = "test-utils")]
thread_local! {
    static ARMED: std::cell::Cell<Option<(Site, usize)>> = const { std::cell::Cell::new(None) };
}

/// Arms a fault at the `nth` (0-based) visit of `site` on this thread.
#[cfg(feature = "test-utils")]
pub fn inject(site: Site, nth: usize) {
    ARMED.with(|a| a.set(Some((site, nth))));
}

/// Disarms.
#[cfg(feature = "test-utils")]
pub fn clear() {
    ARMED.with(|a| a.set(None));
}

/// True if the fault fires at this visit (it then disarms).
#[cfg(feature = "test-utils")]
pub(crate) fn hit(site: Site) -> bool {
    ARMED.with(|a| match a.get() {
        Some((s, 0)) if s == site => {
            a.set(None);
            true
        }
        Some((s, n)) if s == site => {
            a.set(Some((s, n - 1)));
            false
        }
        _ => false,
    })
}

/// Without the `test-utils` feature no fault can be armed: every site is honest, and the
/// compiler removes the fault branches.
#[cfg(not(feature = "test-utils"))]
#[inline(always)]
pub(crate) fn hit(_site: Site) -> bool {
    false
}

/// Visits left before the armed fault fires, if one is armed (arm one at `usize::MAX` and read
/// this after a build to count a site's visits).
#[cfg(feature = "test-utils")]
pub fn visits_left() -> Option<usize> {
    ARMED.with(|a| a.get().map(|(_, n)| n))
}

/// True if a fault is armed (one that never fired means the test hit nothing).
#[cfg(feature = "test-utils")]
pub fn armed() -> bool {
    ARMED.with(|a| a.get().is_some())
}
