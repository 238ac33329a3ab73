//! Linear relaxations of the piecewise-linear activations for CROWN (Zhang et al. 2018,
//! "Efficient Neural Network Robustness Certification with General Activation Functions"):
//! for `x ∈ [l, u]`, lines `al·x + bl ≤ f(x) ≤ au·x + bu`.

use aegis_model::burn::tensor::Tensor;

/// Per-neuron lower and upper lines, each `[B, D]`.
#[derive(Debug, Clone)]
pub(crate) struct Lines {
    /// Lower slope.
    pub al: Tensor<2>,
    /// Lower intercept.
    pub bl: Tensor<2>,
    /// Upper slope.
    pub au: Tensor<2>,
    /// Upper intercept.
    pub bu: Tensor<2>,
}

/// The relaxation of `max(x, 0) + s·min(x, 0)` (`0 ≤ s ≤ 1`; ReLU: `s = 0`) on `[l, u]`.
///
/// Stable neurons are exact (slope 1 when `l ≥ 0`, `s` when `u ≤ 0`). For an unstable neuron
/// (`l < 0 < u`) the upper line is the chord through `(l, s·l)` and `(u, u)` (for ReLU
/// `u(x − l)/(u − l)`), and the lower line has the adaptive slope of CROWN: 1 if `u ≥ −l`,
/// else `s`, through the origin.
pub(crate) fn leaky_relu(l: Tensor<2>, u: Tensor<2>, s: f64) -> Lines {
    let act = l.clone().greater_equal_elem(0.0).float();
    let inactive = (act.clone().neg() + 1.0) * u.clone().lower_equal_elem(0.0).float();
    let unstable = (act.clone() + inactive.clone()).neg() + 1.0;
    let width = (u.clone() - l.clone()).clamp_min(1e-30);
    let chord = (u.clone() - l.clone() * s) / width;
    let pick = (u + l.clone()).greater_equal_elem(0.0).float();
    let fixed = act.clone() + inactive * s;
    let au = fixed.clone() + unstable.clone() * chord.clone();
    let bu = unstable.clone() * (chord.neg() + s) * l;
    let al = fixed + unstable * (pick.clone() + (pick.neg() + 1.0) * s);
    let bl = al.zeros_like();
    Lines { al, bl, au, bu }
}
