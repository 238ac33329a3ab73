//! The bound certified training minimises: the worst-case logits of a batch over its L∞ box,
//! differentiable in the model's parameters. IBP (Gowal et al. 2018, "On the Effectiveness of
//! Interval Bound Propagation for Training Verifiably Robust Models") and CROWN-IBP (Zhang et
//! al. 2020, "Towards Stable and Efficient Training of Verifiably Robust Neural Networks":
//! CROWN's backward pass on IBP's intermediate boxes, mixed with IBP as
//! `β·CROWN-IBP + (1 − β)·IBP`), as auto_LiRPA's training examples compute them.
//!
//! For a row with label `y` and margin lower bounds `m_j ≤ z_y − z_j` over the box (`m_y = 0`),
//! the worst-case logits are `−m`: the cross-entropy of `−m` at `y` bounds the cross-entropy of
//! every point of the box from above.

use aegis_model::burn::tensor::{Device, Tensor};
use aegis_model::{Classifier, Model};

use super::layers::Network;
use super::{IntermediateBounds, Radius, crown_margins, ibp_margins, input_box, not_walkable};
use crate::error::Result;

/// A batch's box and how to bound it.
pub struct TrainingBox<'a> {
    /// The rows, flat `[B·F]` raw inputs, inside the domain.
    pub x: &'a [f32],
    /// Their labels.
    pub labels: &'a [usize],
    /// The domain's lower ends (1 or `F` values).
    pub lo: &'a [f32],
    /// The domain's upper ends (1 or `F` values).
    pub hi: &'a [f32],
    /// Per-feature scale of ε (empty: 1).
    pub scale: &'a [f32],
    /// The radius.
    pub eps: f64,
    /// The weight `β` of CROWN-IBP's bound (0: IBP alone).
    pub crown_weight: f64,
}

/// Whether certified training with these bounds can train `model`: `Err` names what it cannot
/// (an imported graph, batch norm, a layer the bounds refuse), before any batch is trained.
pub fn check_certified_training(model: &Model, crown_ibp: bool, device: &Device) -> Result<()> {
    training_network(model, crown_ibp, device).map(|_| ())
}

/// `model` as bound-propagation operations on its own parameters, refused as
/// [`check_certified_training`] says.
fn training_network(model: &Model, crown_ibp: bool, device: &Device) -> Result<Network> {
    let net = Network::for_training(model, device).ok_or_else(not_walkable)??;
    if crown_ibp && let Some(name) = net.first_mixing_non_dense() {
        return Err(crate::error::AdversarialError::invalid(
            "method",
            format!(
                "CROWN-IBP training runs on dense networks (its backward pass through {name} \
                 would not keep the gradients); train convolutional ones with --method ibp"
            ),
        ));
    }
    net.check(if crown_ibp {
        super::BoundMethod::Crown
    } else {
        super::BoundMethod::Ibp
    })?;
    Ok(net)
}

/// The worst-case logits `[B, C]` of `model` (its parameters as they are; on an autodiff
/// `device` the result has their gradients) over `b`'s box. Errors on an imported graph, a
/// model with batch norm or a layer the bounds refuse (named).
pub fn worst_case_logits(model: &Model, b: &TrainingBox, device: &Device) -> Result<Tensor<2>> {
    let net = training_network(model, b.crown_weight > 0.0, device)?;
    let (f, classes) = (model.input_dim(), model.num_classes());
    let radius = Radius {
        eps: b.eps as f32,
        scale: b.scale,
    };
    let input = input_box(b.x, f, b.lo, b.hi, radius, 0, device)?;
    let ibp = ibp_margins(&net, input.clone(), b.labels, classes)?;
    let margins = if b.crown_weight > 0.0 {
        let crown = crown_margins(&net, input, b.labels, classes, IntermediateBounds::Ibp)?;
        crown * b.crown_weight + ibp * (1.0 - b.crown_weight)
    } else {
        ibp
    };
    Ok(-margins)
}
