//! CROWN (Zhang et al. 2018, "Efficient Neural Network Robustness Certification with General
//! Activation Functions"): the lower bound of a linear specification `A·z` of a layer's output
//! `z`, pushed backward to the input through every layer, affine layers by their
//! vector–Jacobian product (`A ← A·W`, bias `+= A·b`), activations by their linear relaxation
//! (the lower line where `A ≥ 0`, the upper where `A < 0`), residual blocks as the sum of the
//! two branches; then concretised over the input box. Rows are `B·S`: `S` specifications per
//! sample.

use aegis_model::burn::tensor::{Tensor, TensorData};

use super::ibp::{Interval, Store, concretize};
use super::layers::{Op, OpKind};
use super::relax::{leaky_relu, max_pool_backward};
use crate::error::{AdversarialError, Result};

/// The most `rows × width` elements one backward pass holds in a specification matrix
/// (2^25 f32 values, 128 MiB); intermediate bounds are computed in chunks of neurons under it.
const MAX_SPEC_ELEMENTS: usize = 1 << 25;

/// Pushes `(a, bias)` (`a` `[B·S, D_out]` on the output of `ops`, `bias` `[B·S, 1]`) back to
/// the input of `ops`.
pub(crate) fn backward(
    ops: &[Op],
    store: &Store,
    mut a: Tensor<2>,
    mut bias: Tensor<2>,
    b: usize,
) -> Result<(Tensor<2>, Tensor<2>)> {
    for op in ops.iter().rev() {
        match &op.kind {
            OpKind::Affine(f) => {
                let (next, db) = f.vjp(a, &op.in_shape);
                a = next;
                bias = bias + db;
            }
            OpKind::Relu { slope } => {
                let iv = store.get(op.id);
                let lines = leaky_relu(iv.lo.clone(), iv.hi.clone(), *slope);
                let [rows, d] = a.dims();
                let a3 = a.reshape([b, rows / b, d]);
                let pos = a3.clone().clamp_min(0.0);
                let neg = a3.clamp_max(0.0);
                let per = |t: Tensor<2>| t.unsqueeze_dim::<3>(1);
                let shift = (pos.clone() * per(lines.bl) + neg.clone() * per(lines.bu))
                    .sum_dim(2)
                    .reshape([rows, 1]);
                a = (pos * per(lines.al) + neg * per(lines.au)).reshape([rows, d]);
                bias = bias + shift;
            }
            OpKind::Residual { body, short } => {
                let zero = bias.zeros_like();
                let (ab, bb) = backward(body, store, a.clone(), zero.clone(), b)?;
                let (ash, bs) = backward(short, store, a, zero, b)?;
                a = ab + ash;
                bias = bias + bb + bs;
            }
            OpKind::MaxPool(p) => {
                let (next, shift) = max_pool_backward(p, store.get(op.id), a, &op.in_shape);
                a = next;
                bias = bias + shift;
            }
            OpKind::Monotone(_) | OpKind::Refused => {
                return Err(AdversarialError::invalid(
                    "method",
                    format!("CROWN does not bound {}", op.name),
                ));
            }
        }
    }
    Ok((a, bias))
}

/// The slices of operations between the network input and operation `id`, in backward order
/// (inside a residual branch: the branch's earlier operations, then the top level's).
fn path_to(ops: &[Op], id: usize) -> Option<Vec<&[Op]>> {
    for (i, op) in ops.iter().enumerate() {
        if op.id == id {
            return Some(vec![&ops[..i]]);
        }
        if let OpKind::Residual { body, short } = &op.kind {
            for branch in [body, short] {
                if let Some(mut inner) = path_to(branch, id) {
                    inner.push(&ops[..i]);
                    return Some(inner);
                }
            }
        }
    }
    None
}

/// The lower bound of `a·z + bias` for `z` the input of operation `id` (`a` `[B·S, D]`),
/// over the input box `input` `[B, F]`: `[B, S]`.
pub(crate) fn lower_at(
    net: &[Op],
    id: usize,
    store: &Store,
    a: Tensor<2>,
    bias: Tensor<2>,
    input: &Interval,
) -> Result<Tensor<2>> {
    let [b, _] = input.lo.dims();
    let [rows, _] = a.dims();
    let path = path_to(net, id).expect("the operation is in the network");
    let (mut a, mut bias) = (a, bias);
    for ops in path {
        (a, bias) = backward(ops, store, a, bias, b)?;
    }
    Ok(concretize(a, bias, input, rows / b))
}

/// Whether the interval bounds at the input of `id` are already as tight as CROWN's: right
/// after a ReLU (the exact range of the ReLU over its own bounds, which CROWN's lines cannot
/// beat), or when every operation before is affine with at most one mixing coordinates
/// (`|D₂·W·D₁|·r = |D₂|·|W|·|D₁|·r` for diagonal `Dᵢ`).
fn exact_by_intervals(net: &[Op], id: usize) -> bool {
    let path = path_to(net, id).expect("the operation is in the network");
    let after = path.first().and_then(|ops| ops.last());
    if after.is_some_and(|op| matches!(op.kind, OpKind::Relu { .. })) {
        return true;
    }
    let mut mixing = 0;
    for op in path.into_iter().flatten() {
        match &op.kind {
            OpKind::Affine(a) => mixing += usize::from(a.mixes()),
            _ => return false,
        }
    }
    mixing <= 1
}

/// CROWN bounds on the input of operation `op` (each neuron's lower bound, and its upper
/// bound as minus the lower bound of its negation), in chunks of neurons; `ibp` (the interval
/// bounds there) is returned as is where it is exact.
pub(crate) fn node_bounds(
    net: &[Op],
    op: &Op,
    ibp: Interval,
    store: &Store,
    input: &Interval,
    widest: usize,
) -> Result<Interval> {
    if exact_by_intervals(net, op.id) {
        return Ok(ibp);
    }
    let [b, _] = input.lo.dims();
    let d = op.in_dim();
    let device = input.lo.device();
    let chunk = (MAX_SPEC_ELEMENTS / (2 * b * widest.max(1))).clamp(1, d);
    let (mut los, mut his) = (Vec::new(), Vec::new());
    for k0 in (0..d).step_by(chunk) {
        let m = chunk.min(d - k0);
        let mut spec = vec![0f32; 2 * m * d];
        for k in 0..m {
            spec[k * d + k0 + k] = 1.0;
            spec[(m + k) * d + k0 + k] = -1.0;
        }
        let spec = Tensor::<2>::from_data(TensorData::new(spec, [2 * m, d]), &device);
        let a = spec
            .unsqueeze_dim::<3>(0)
            .expand([b, 2 * m, d])
            .reshape([b * 2 * m, d]);
        let bias = Tensor::zeros([b * 2 * m, 1], &device);
        let low = lower_at(net, op.id, store, a, bias, input)?;
        los.push(low.clone().slice([0..b, 0..m]));
        his.push(low.slice([0..b, m..2 * m]).neg());
    }
    Ok(Interval {
        lo: Tensor::cat(los, 1),
        hi: Tensor::cat(his, 1),
    })
}
