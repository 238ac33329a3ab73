//! Interval bound propagation (Gowal et al. 2018, "On the Effectiveness of Interval Bound
//! Propagation for Training Verifiably Robust Models"): boxes `[lo, hi]` pushed forward layer
//! by layer, affine layers in centre/radius form (`c' = W·c + b`, `r' = |W|·r`), monotone
//! layers on both ends; the last affine layer folded into the margin specification (their
//! "elision of the last layer"). Optionally a hook replaces the box at the input of each
//! nonlinear layer (CROWN's intermediate bounds).

use aegis_model::burn::tensor::Tensor;
use aegis_model::models::sequential::layer::{Activation, Leaf};

use super::layers::{Affine, Op, OpKind};
use crate::error::{AdversarialError, Result};

/// A box `[lo, hi]` over a batch, each `[B, D]`.
#[derive(Debug, Clone)]
pub(crate) struct Interval {
    /// Lower ends.
    pub lo: Tensor<2>,
    /// Upper ends.
    pub hi: Tensor<2>,
}

impl Interval {
    /// Centre and radius.
    pub fn centre_radius(&self) -> (Tensor<2>, Tensor<2>) {
        let c = (self.lo.clone() + self.hi.clone()) * 0.5;
        let r = (self.hi.clone() - self.lo.clone()) * 0.5;
        (c, r)
    }
}

/// The input box of every nonlinear operation, by operation id.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pre: Vec<Option<Interval>>,
}

impl Store {
    /// An empty store for `count` operation ids.
    pub fn new(count: usize) -> Self {
        Self {
            pre: vec![None; count],
        }
    }
    /// The input box of operation `id` (recorded by [`propagate`]).
    pub fn get(&self, id: usize) -> &Interval {
        self.pre[id]
            .as_ref()
            .expect("bounds of a layer are recorded before any later layer needs them")
    }
    fn set(&mut self, id: usize, iv: Interval) {
        self.pre[id] = Some(iv);
    }
}

/// `max(x, 0) + slope · min(x, 0)`.
pub(crate) fn leaky(x: Tensor<2>, slope: f64) -> Tensor<2> {
    let neg = x.clone().clamp_max(0.0) * slope;
    x.clamp_min(0.0) + neg
}

/// The forward pass of a leaf on a flat batch of samples of `shape`.
pub(crate) fn leaf_forward(leaf: &Leaf, x: Tensor<2>, shape: &[usize]) -> Tensor<2> {
    let a = match *shape {
        [c, h, w] => {
            let [b, _] = x.dims();
            Activation::Image(x.reshape([b, c, h, w]))
        }
        _ => Activation::Flat(x),
    };
    match leaf.forward(a) {
        Activation::Flat(x) => x,
        Activation::Image(x) => x.flatten(1, 3),
    }
}

/// What to do at the input of a nonlinear operation: given the IBP box, return the box to use
/// (IBP: unchanged; CROWN: its own bounds, computed from the boxes already in the store).
pub(crate) type Refine<'a> = dyn FnMut(&Op, Interval, &Store) -> Result<Interval> + 'a;

/// Pushes `iv` through `ops`, recording each nonlinear operation's input box in `store`.
pub(crate) fn propagate(
    ops: &[Op],
    mut iv: Interval,
    store: &mut Store,
    refine: &mut Refine<'_>,
) -> Result<Interval> {
    for op in ops {
        iv = match &op.kind {
            OpKind::Affine(a) => affine(a, &iv, &op.in_shape),
            OpKind::Relu { slope } => {
                let iv = refine(op, iv, store)?;
                store.set(op.id, iv.clone());
                Interval {
                    lo: leaky(iv.lo, *slope),
                    hi: leaky(iv.hi, *slope),
                }
            }
            OpKind::MaxPool(p) => {
                let iv = refine(op, iv, store)?;
                store.set(op.id, iv.clone());
                let pool = Leaf::MaxPool(p.clone());
                Interval {
                    lo: leaf_forward(&pool, iv.lo, &op.in_shape),
                    hi: leaf_forward(&pool, iv.hi, &op.in_shape),
                }
            }
            OpKind::Monotone(leaf) => Interval {
                lo: leaf_forward(leaf, iv.lo, &op.in_shape),
                hi: leaf_forward(leaf, iv.hi, &op.in_shape),
            },
            OpKind::Residual { body, short } => {
                let b = propagate(body, iv.clone(), store, refine)?;
                let s = propagate(short, iv, store, refine)?;
                Interval {
                    lo: b.lo + s.lo,
                    hi: b.hi + s.hi,
                }
            }
            OpKind::Refused => {
                return Err(AdversarialError::invalid(
                    "method",
                    format!("no method here bounds {}", op.name),
                ));
            }
        };
    }
    Ok(iv)
}

/// An affine layer on a box, in centre/radius form.
pub(crate) fn affine(a: &Affine, iv: &Interval, shape: &[usize]) -> Interval {
    let (c, r) = iv.centre_radius();
    let c = a.apply(c, shape);
    let r = a.apply_abs(r, shape);
    Interval {
        lo: c.clone() - r.clone(),
        hi: c + r,
    }
}

/// The lower bound of `a·x + bias` over a box: `a` `[B·S, D]` (`S` rows per sample), `bias`
/// `[B·S, 1]`, the box `[B, D]`; returns `[B, S]`.
pub(crate) fn concretize(a: Tensor<2>, bias: Tensor<2>, iv: &Interval, s: usize) -> Tensor<2> {
    let [b, d] = iv.lo.dims();
    let (c, r) = iv.centre_radius();
    let a = a.reshape([b, s, d]);
    let centre = (a.clone() * c.unsqueeze_dim::<3>(1)).sum_dim(2);
    let spread = (a.abs() * r.unsqueeze_dim::<3>(1)).sum_dim(2);
    (centre - spread).reshape([b, s]) + bias.reshape([b, s])
}
