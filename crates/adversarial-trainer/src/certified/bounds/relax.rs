//! Linear relaxations of the piecewise-linear activations for CROWN (Zhang et al. 2018,
//! "Efficient Neural Network Robustness Certification with General Activation Functions"):
//! for `x ∈ [l, u]`, lines `al·x + bl ≤ f(x) ≤ au·x + bu`; and max-pooling's selection of one
//! input per window.

use aegis_model::burn::nn::pool::MaxPool2d;
use aegis_model::burn::tensor::Tensor;
use aegis_model::models::sequential::layer::Leaf;

use super::ibp::{Interval, leaf_forward};

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

/// The coefficients `a` (`[B·S, D_out]`, `S` rows per sample) of a max-pool's outputs moved
/// to their windows' selected inputs (`[B·S, D_in]`): each window's element with the largest
/// lower bound in `l` (`[B, D_in]`), one per window, ties broken as the pooling kernel breaks
/// them. The vector–Jacobian product of the pool at `l`, by autodiff.
fn select(pool: &Leaf, l: &Tensor<2>, a: Tensor<2>, shape: &[usize]) -> Tensor<2> {
    let ([b, d], [rows, _]) = (l.dims(), a.dims());
    let x = l
        .clone()
        .unsqueeze_dim::<3>(1)
        .expand([b, rows / b, d])
        .reshape([rows, d])
        .autodiff()
        .require_grad();
    let y = leaf_forward(pool, x.clone(), shape);
    let mut grads = (y * a.autodiff()).sum().backward();
    x.grad_remove(&mut grads)
        .unwrap_or_else(|| Tensor::zeros([rows, d], &l.device()))
}

/// Whether no input lies in two windows.
fn disjoint(p: &MaxPool2d) -> bool {
    (0..2).all(|i| p.stride[i] > p.dilation[i] * (p.kernel_size[i] - 1))
}

/// The max-pool relaxation of auto_LiRPA (`BoundMaxPool`, non-optimised): the lower line is
/// the window's input with the largest lower bound `x_{i*}`; the upper line is `x_{i*}` too
/// when it dominates (`l_{i*} ≥ u_j` for every other `j` of a window no input shares), else
/// the constant `max u`. For rows `a` `[B·S, D_out]` over `B` samples returns the rows on the
/// pool's input and the added bias `[B·S, 1]`.
pub(crate) fn max_pool_backward(
    p: &MaxPool2d,
    iv: &Interval,
    a: Tensor<2>,
    shape: &[usize],
) -> (Tensor<2>, Tensor<2>) {
    let pool = Leaf::MaxPool(p.clone());
    let ([b, _], [rows, d_out]) = (iv.lo.dims(), a.dims());
    let u_max = leaf_forward(&pool, iv.hi.clone(), shape);
    let dominant = if disjoint(p) {
        let chosen = select(&pool, &iv.lo, u_max.ones_like(), shape);
        let others = leaf_forward(&pool, iv.hi.clone() - chosen * 1e30, shape);
        let l_max = leaf_forward(&pool, iv.lo.clone(), shape);
        l_max.greater_equal(others).float()
    } else {
        u_max.zeros_like()
    };
    let per = |t: Tensor<2>| t.unsqueeze_dim::<3>(1);
    let a3 = a.reshape([b, rows / b, d_out]);
    let (pos, neg) = (a3.clone().clamp_min(0.0), a3.clamp_max(0.0));
    let constant = (dominant.clone().neg() + 1.0) * u_max;
    let shift = (neg.clone() * per(constant)).sum_dim(2).reshape([rows, 1]);
    let coef = (pos + neg * per(dominant)).reshape([rows, d_out]);
    (select(&pool, &iv.lo, coef, shape), shift)
}
