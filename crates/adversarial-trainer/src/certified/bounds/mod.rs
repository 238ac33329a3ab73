//! Bound propagation for L∞ balls clipped to the input domain: for every row, a lower bound
//! of every margin `z_y − z_j` over all inputs of the box, and whether the row is verified
//! (every bound positive), by [`BoundMethod::Ibp`] (Gowal et al. 2018) or
//! [`BoundMethod::Crown`] (Zhang et al. 2018), as auto_LiRPA computes them.
//!
//! - `loss.rs`: the worst-case logits certified training minimises (IBP, CROWN-IBP);
//! - `layers.rs`: the model as bound-propagation operations (any [`aegis_model::Model`],
//!   built-ins through their spec), each layer refused by name when a method cannot bound it;
//! - `ibp.rs`: interval arithmetic; `relax.rs`: the ReLU / leaky-ReLU lines and max-pool's
//!   selection; `crown.rs`: the backward pass of linear specifications.
//!
//! Supported: linear, conv2d (any stride, padding, dilation, groups), batch norm in inference,
//! ReLU, leaky ReLU (slope in `[0, 1]`), flatten, average and adaptive-average pooling,
//! residual blocks (with projection), normalize, dropout (identity in inference), max-pool
//! (auto_LiRPA's relaxation under CROWN); the monotone sigmoid and tanh under IBP only.
//! Everything runs on the model's device with Burn tensors, a batch of rows at a time.

mod crown;
mod ibp;
mod layers;
mod loss;
mod relax;

use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::{Device, Tensor, TensorData};
use aegis_model::{Classifier, Model, argmax, to_host};
use serde::{Deserialize, Serialize};

pub use self::loss::{TrainingBox, check_certified_training, worst_case_logits};

use self::ibp::{Interval, Store, concretize, propagate};
use self::layers::{Network, OpKind};
use crate::error::{AdversarialError, Result, check_count};

/// How the margins are bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BoundMethod {
    /// Interval bound propagation (Gowal et al. 2018), the last affine layer folded into the
    /// margins.
    Ibp,
    /// CROWN (Zhang et al. 2018): backward linear relaxation with the adaptive ReLU slope.
    Crown,
}

impl BoundMethod {
    /// `"IBP"` / `"CROWN"`, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ibp => "IBP",
            Self::Crown => "CROWN",
        }
    }
}

/// How CROWN bounds the inputs of the activations before the last layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum IntermediateBounds {
    /// CROWN on every earlier layer (Zhang et al. 2018; auto_LiRPA's `method="CROWN"`): the
    /// tightest, one backward pass per neuron pair, in chunks.
    Crown,
    /// Interval arithmetic (CROWN-IBP, Zhang et al. 2020): one forward pass, looser; the
    /// cheaper option for wide convolutional networks.
    Ibp,
}

/// Hyper-parameters of [`certify_bounds`].
#[derive(Config, Debug)]
pub struct BoundsConfig {
    /// L∞ radius in raw input units (≥ 0, finite); the ball is clipped to the input domain.
    pub eps: f64,
    /// The bound (default CROWN).
    #[config(default = "BoundMethod::Crown")]
    pub method: BoundMethod,
    /// CROWN's intermediate bounds (default CROWN; ignored by IBP).
    #[config(default = "IntermediateBounds::Crown")]
    pub intermediate: IntermediateBounds,
    /// Rows bounded at once (default 32).
    #[config(default = 32)]
    pub batch_rows: usize,
}

/// One row's certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundRow {
    /// Position of the row in the input.
    pub index: usize,
    /// The true label `y`.
    pub label: usize,
    /// The model's prediction on the clean row.
    pub prediction: usize,
    /// Whether the prediction is `y` and stays `y` on the whole box: every margin bound > 0.
    pub verified: bool,
    /// Lower bound of `z_y − z_j` over the box for each class `j`; `None` at `j = y`.
    pub margin_lower: Vec<Option<f64>>,
}

/// The most rows a batch may hold.
const MAX_BATCH_ROWS: usize = 1 << 20;

/// Bounds every margin of every row of `x` (`[N, F]` flat raw inputs, labels `[N]`) over the
/// L∞ ball of radius `config.eps` clipped to the input domain `[lo, hi]` (length 1 or `F`),
/// on `device`. Errors (one line) on shapes, labels or an `x` outside the domain, and names
/// the first layer the method cannot bound ("CROWN does not bound layer 2 (tanh)").
pub fn certify_bounds(
    model: &Model,
    x: &[f32],
    labels: &[usize],
    lo: &[f32],
    hi: &[f32],
    config: &BoundsConfig,
    device: &Device,
) -> Result<Vec<BoundRow>> {
    certify_bounds_scaled(model, x, labels, lo, hi, &[], config, device)
}

/// Whether `method` can bound every layer of `model`: `Err` names the first layer it refuses
/// (or says the model is an imported ONNX graph), before any row is bounded.
pub fn check_bounded(model: &Model, method: BoundMethod, device: &Device) -> Result<()> {
    Network::from_model(model, device)
        .ok_or_else(not_walkable)?
        .check(method)
}

/// How many activation inputs CROWN's intermediate bounds cover in `model` (the inputs of every
/// ReLU, leaky ReLU and max-pool, residual branches included): with
/// [`IntermediateBounds::Crown`] each is one row of a backward pass, so the cost of full CROWN
/// grows with this count (192 for an MLP 784-128-64-10, 29,504 for SmallCnn).
/// `None` for a model the bounds cannot walk (an imported ONNX graph).
pub fn relaxed_neurons(model: &Model, device: &Device) -> Option<usize> {
    Network::from_model(model, device).map(|net| net.relaxed_neurons())
}

fn not_walkable() -> AdversarialError {
    AdversarialError::invalid(
        "model",
        "bound propagation walks sequential and built-in models; an imported ONNX graph is \
         not supported yet",
    )
}

/// [`certify_bounds`] with a radius per feature: feature `j`'s interval is
/// `x_j ± config.eps · scale[j]` (clipped to the domain), the box of an ε measured in feature
/// scales (training standard deviations for tables, as the attacks' threat space measures
/// it). An empty `scale` is 1 for every feature; otherwise it holds `F` finite values > 0.
#[allow(clippy::too_many_arguments)]
pub fn certify_bounds_scaled(
    model: &Model,
    x: &[f32],
    labels: &[usize],
    lo: &[f32],
    hi: &[f32],
    scale: &[f32],
    config: &BoundsConfig,
    device: &Device,
) -> Result<Vec<BoundRow>> {
    check_count("batch_rows", config.batch_rows, 1, MAX_BATCH_ROWS)?;
    if !(config.eps >= 0.0 && config.eps.is_finite()) {
        return Err(AdversarialError::invalid(
            "eps",
            format!("{} is not a finite number ≥ 0", config.eps),
        ));
    }
    let (f, classes) = (model.input_dim(), model.num_classes());
    check_shapes(x, labels, lo, hi, f, classes)?;
    if !scale.is_empty() && (scale.len() != f || scale.iter().any(|v| !(*v > 0.0 && v.is_finite())))
    {
        return Err(AdversarialError::invalid(
            "scale",
            format!(
                "{} feature scales for {f} features (each finite and > 0)",
                scale.len()
            ),
        ));
    }
    let net = Network::from_model(model, device).ok_or_else(not_walkable)?;
    net.check(config.method)?;
    let eval = model.valid().to_device(device);
    let mut rows = Vec::with_capacity(labels.len());
    for start in (0..labels.len()).step_by(config.batch_rows) {
        let end = (start + config.batch_rows).min(labels.len());
        let (xs, ys) = (&x[start * f..end * f], &labels[start..end]);
        let radius = Radius {
            eps: config.eps as f32,
            scale,
        };
        let input = input_box(xs, f, lo, hi, radius, start, device)?;
        let margins = match config.method {
            BoundMethod::Ibp => ibp_margins(&net, input, ys, classes)?,
            BoundMethod::Crown => crown_margins(&net, input, ys, classes, config.intermediate)?,
        };
        let logits = eval.logits(tensor(xs.to_vec(), end - start, f, device));
        let logits = to_host(logits);
        let margins = to_host(margins);
        for (i, &y) in ys.iter().enumerate() {
            let prediction = argmax(&logits[i * classes..(i + 1) * classes]);
            let margin_lower: Vec<Option<f64>> = (0..classes)
                .map(|j| (j != y).then(|| margins[i * classes + j] as f64))
                .collect();
            let proven = margin_lower.iter().flatten().all(|&m| m > 0.0);
            rows.push(BoundRow {
                index: start + i,
                label: y,
                prediction,
                verified: proven && prediction == y,
                margin_lower,
            });
        }
    }
    Ok(rows)
}

fn check_shapes(
    x: &[f32],
    labels: &[usize],
    lo: &[f32],
    hi: &[f32],
    f: usize,
    classes: usize,
) -> Result<()> {
    if x.len() != labels.len() * f {
        return Err(AdversarialError::Goal(format!(
            "{} input values for {} rows of {f} features",
            x.len(),
            labels.len()
        )));
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= classes) {
        return Err(AdversarialError::Goal(format!(
            "class {bad} out of range (the model has {classes})"
        )));
    }
    let ok = |v: &[f32]| v.len() == 1 || v.len() == f;
    if !ok(lo) || !ok(hi) || lo.len() != hi.len() {
        return Err(AdversarialError::invalid(
            "domain",
            format!(
                "{} lower and {} upper ends (need 1 or {f} each, the same number)",
                lo.len(),
                hi.len()
            ),
        ));
    }
    if let Some(j) = (0..lo.len()).find(|&j| lo[j].is_nan() || hi[j].is_nan() || lo[j] > hi[j]) {
        return Err(AdversarialError::invalid(
            "domain",
            format!("feature {j}: lower end {} above upper end {}", lo[j], hi[j]),
        ));
    }
    Ok(())
}

fn tensor(v: Vec<f32>, n: usize, f: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v, [n, f]), device)
}

/// The radius of the box: `eps · scale[j]` for feature `j` (`eps` when `scale` is empty).
#[derive(Clone, Copy)]
struct Radius<'a> {
    eps: f32,
    scale: &'a [f32],
}

/// The box `[x − r, x + r]` clipped to the domain, `[B, F]` each; rows start at `first`.
fn input_box(
    xs: &[f32],
    f: usize,
    lo: &[f32],
    hi: &[f32],
    radius: Radius,
    first: usize,
    device: &Device,
) -> Result<Interval> {
    let n = xs.len() / f;
    let (mut l, mut u) = (Vec::with_capacity(xs.len()), Vec::with_capacity(xs.len()));
    for (k, &v) in xs.iter().enumerate() {
        let j = if lo.len() == 1 { 0 } else { k % f };
        if !(lo[j] <= v && v <= hi[j]) {
            return Err(AdversarialError::invalid(
                "inputs",
                format!(
                    "row {} feature {}: {v} lies outside the input domain [{}, {}]",
                    first + k / f,
                    k % f,
                    lo[j],
                    hi[j]
                ),
            ));
        }
        let eps = radius.eps * radius.scale.get(k % f).copied().unwrap_or(1.0);
        l.push((v - eps).max(lo[j]));
        u.push((v + eps).min(hi[j]));
    }
    Ok(Interval {
        lo: tensor(l, n, f, device),
        hi: tensor(u, n, f, device),
    })
}

/// The specifications `e_y − e_j` of each row, `[B·C, C]` (row `j = y` is zero).
fn margin_specs(labels: &[usize], classes: usize, device: &Device) -> Tensor<2> {
    let b = labels.len();
    let mut v = vec![0f32; b * classes * classes];
    for (i, &y) in labels.iter().enumerate() {
        for j in 0..classes {
            let row = (i * classes + j) * classes;
            v[row + y] += 1.0;
            v[row + j] -= 1.0;
        }
    }
    tensor(v, b * classes, classes, device)
}

/// IBP margins `[B, C]`: interval arithmetic up to the last layer, the last affine layer
/// folded into the specification (Gowal et al. 2018, as auto_LiRPA's IBP with a `C`).
fn ibp_margins(net: &Network, input: Interval, ys: &[usize], classes: usize) -> Result<Tensor<2>> {
    let device = input.lo.device();
    let mut store = Store::new(net.count);
    let mut keep = |_: &_, iv: Interval, _: &Store| Ok(iv);
    let (last, head) = net
        .ops
        .split_last()
        .expect("the input normalisation is an op");
    match &last.kind {
        OpKind::Affine(f) => {
            let iv = propagate(head, input, &mut store, &mut keep)?;
            let (a, bias) = f.vjp(margin_specs(ys, classes, &device), &last.in_shape);
            Ok(concretize(a, bias, &iv, classes))
        }
        _ => {
            let iv = propagate(&net.ops, input, &mut store, &mut keep)?;
            let specs = margin_specs(ys, classes, &device);
            let zero = Tensor::zeros([ys.len() * classes, 1], &device);
            Ok(concretize(specs, zero, &iv, classes))
        }
    }
}

/// CROWN margins `[B, C]`: intermediate bounds in forward order (CROWN or IBP), then one
/// backward pass of the margin specifications.
fn crown_margins(
    net: &Network,
    input: Interval,
    ys: &[usize],
    classes: usize,
    intermediate: IntermediateBounds,
) -> Result<Tensor<2>> {
    let device = input.lo.device();
    let mut store = Store::new(net.count);
    let mut refine = |op: &layers::Op, iv: Interval, store: &Store| match intermediate {
        IntermediateBounds::Ibp => Ok(iv),
        IntermediateBounds::Crown => {
            crown::node_bounds(&net.ops, op, iv, store, &input, net.widest)
        }
    };
    propagate(&net.ops, input.clone(), &mut store, &mut refine)?;
    let (a, bias) = crown::backward(
        &net.ops,
        &store,
        margin_specs(ys, classes, &device),
        Tensor::zeros([ys.len() * classes, 1], &device),
        ys.len(),
    )?;
    Ok(concretize(a, bias, &input, classes))
}
