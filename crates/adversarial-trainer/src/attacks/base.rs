//! The [`Attack`] trait and the pieces every attack shares: goals, input bounds, the loss
//! gradient with respect to the input, and projections onto ε-balls.
//!
//! Conventions (the same as torchattacks): inputs are flat `[N, F]` in the model's raw input
//! space (pixels in `[0, 1]`); an untargeted attack *increases* the cross-entropy of the true
//! label, a targeted one *decreases* the cross-entropy of the target label. Every iterate is
//! projected onto the ε-ball around the clean input and then clipped to the input bounds.
//! Attacks evaluate the model in inference mode (`Module::valid()`: dropout off) on a copy, so
//! the caller's model and its training mode are untouched.

use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::{Device, Int, Tensor, TensorData};
use aegis_model::{Classifier, label_tensor, to_host};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};

use super::bounds::Bounds;
use crate::error::{AdversarialError, Result};

/// What the attacker wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Goal {
    /// Any wrong class; holds the true label of each row.
    Untargeted(Vec<usize>),
    /// A chosen class per row.
    Targeted(Vec<usize>),
}

impl Goal {
    /// The labels the loss is computed against (true labels or targets).
    pub fn labels(&self) -> &[usize] {
        match self {
            Self::Untargeted(l) | Self::Targeted(l) => l,
        }
    }
    /// True for [`Goal::Targeted`].
    pub fn is_targeted(&self) -> bool {
        matches!(self, Self::Targeted(_))
    }
    /// Rows `[start, end)` of the goal.
    pub fn slice(&self, start: usize, end: usize) -> Goal {
        match self {
            Self::Untargeted(l) => Self::Untargeted(l[start..end].to_vec()),
            Self::Targeted(l) => Self::Targeted(l[start..end].to_vec()),
        }
    }
    /// Whether predicted class `pred` of row `i` achieves the goal.
    pub fn achieved(&self, i: usize, pred: usize) -> bool {
        match self {
            Self::Untargeted(l) => pred != l[i],
            Self::Targeted(l) => pred == l[i],
        }
    }
}

/// An adversarial attack on a batch.
///
/// # Example
///
/// FGSM on a tiny MLP: every adversarial value is within ε of the clean one and inside the
/// input box `[0, 1]`.
///
/// ```
/// use aegis_adversarial_trainer::{Attack, Fgsm, FgsmConfig, Goal};
/// use aegis_model::{Architecture, DeviceSpec, ModelConfig, batch_tensor, to_host};
///
/// let device = DeviceSpec::Flex.open()?;
/// let model = ModelConfig::new(Architecture::Mlp, vec![4], 3)
///     .with_hidden(vec![8])
///     .init(&device, 1)?;
/// let rows: Vec<f32> = (0..20).map(|i| 0.5 + 0.4 * (i as f32 * 0.37).sin()).collect();
/// let labels = Goal::Untargeted(vec![0, 1, 2, 0, 1]);
///
/// let fgsm = Fgsm::new(FgsmConfig::new(0.1))?;
/// let adv = to_host(fgsm.perturb(&model, batch_tensor(rows.clone(), 5, 4, &device), &labels)?);
/// for (a, x) in adv.iter().zip(&rows) {
///     assert!((a - x).abs() <= 0.1 + 1e-6 && (0.0..=1.0).contains(a));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Attack {
    /// Short name for reports, e.g. `pgd-linf`.
    fn name(&self) -> String;

    /// Whether the threat model is an L2 ball (reports then give L2 perturbation norms);
    /// L∞ by default.
    fn l2_threat(&self) -> bool {
        false
    }

    /// The same attack clipping every iterate to `bounds` (raw input units, or the scaled
    /// coordinates of a [`ThreatSpace`](super::ThreatSpace)).
    fn with_bounds(self, bounds: Bounds) -> Self
    where
        Self: Sized;

    /// The same attack drawing row `i`'s randomness (random starts, Square's proposals) from
    /// its own stream keyed by `keys[i]` (e.g. the row's index in the data set), so a row's
    /// result does not depend on which rows share its batch; `perturb` then needs one key
    /// per row. Deterministic attacks ignore it.
    fn with_row_keys(self, keys: Vec<u64>) -> Self
    where
        Self: Sized,
    {
        let _ = keys;
        self
    }

    /// Returns adversarial inputs `[N, F]` for clean inputs `x` `[N, F]` (on a plain device).
    ///
    /// The model is run in inference mode on a copy. The result lies in the attack's threat
    /// model around `x` and inside the input bounds.
    fn perturb<M: Classifier + Module>(
        &self,
        model: &M,
        x: Tensor<2>,
        goal: &Goal,
    ) -> Result<Tensor<2>>;
}

/// Checks that a goal has one label per row, each a valid class.
pub fn check_goal<M: Classifier>(model: &M, x: &Tensor<2>, goal: &Goal) -> Result<()> {
    let [n, f] = x.dims();
    if f != model.input_dim() {
        return Err(AdversarialError::Goal(format!(
            "inputs have {f} features, the model takes {}",
            model.input_dim()
        )));
    }
    if goal.labels().len() != n {
        return Err(AdversarialError::Goal(format!(
            "{} labels for {n} rows",
            goal.labels().len()
        )));
    }
    if let Some(&bad) = goal.labels().iter().find(|&&l| l >= model.num_classes()) {
        return Err(AdversarialError::Goal(format!(
            "class {bad} out of range (the model has {})",
            model.num_classes()
        )));
    }
    Ok(())
}

/// Gradient of the attacker's objective with respect to the input, `[N, F]`, on `x`'s device:
/// `∇ₓ Σᵢ CE(f(xᵢ), yᵢ)` for an untargeted goal, its negative for a targeted one, so that the
/// attacker always ascends. Summed (not averaged) so a row's gradient does not depend on the
/// batch size. `model` must already be in inference mode.
pub fn objective_gradient<M: Classifier>(
    model: &M,
    x: &Tensor<2>,
    labels: &Tensor<1, Int>,
    targeted: bool,
) -> Tensor<2> {
    let [n, _] = x.dims();
    let xa = x.clone().autodiff().require_grad();
    let logits = model.logits(xa.clone());
    let loss = aegis_model::train::cross_entropy(logits, labels.clone().autodiff()) * (n as f32);
    let grads = loss.backward();
    let g = xa.grad(&grads).expect("the input takes part in the loss");
    if targeted { -g } else { g }
}

/// Labels of a goal as a tensor on `device`.
pub fn goal_tensor(goal: &Goal, device: &Device) -> Tensor<1, Int> {
    label_tensor(goal.labels(), device)
}

/// Per-row L2 norms `[N, 1]`, floored at `1e-12` so dividing by them is safe.
pub fn row_l2(x: Tensor<2>) -> Tensor<2> {
    x.powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12)
}

/// Per-row L1 norms `[N, 1]`, floored at `1e-12`.
pub fn row_l1(x: Tensor<2>) -> Tensor<2> {
    x.abs().sum_dim(1).clamp_min(1e-12)
}

/// Projects `x_adv` onto the L∞ ball of radius `eps` around `x`, then clips to the bounds.
pub fn project_linf(x_adv: Tensor<2>, x: &Tensor<2>, eps: f32, bounds: &Bounds) -> Tensor<2> {
    let lo = x.clone() - eps;
    let hi = x.clone() + eps;
    bounds.clip(x_adv.max_pair(lo).min_pair(hi))
}

/// Projects `x_adv` onto the L2 ball of radius `eps` around `x` (per row), then clips to the
/// bounds.
pub fn project_l2(x_adv: Tensor<2>, x: &Tensor<2>, eps: f32, bounds: &Bounds) -> Tensor<2> {
    let delta = x_adv - x.clone();
    let factor = (row_l2(delta.clone()).recip() * eps).clamp_max(1.0);
    bounds.clip(x.clone() + delta * factor)
}

/// A seeded host-side random tensor `[n, f]`, uploaded to `device`: uniform in `[-a, a]`
/// (`gaussian = false`) or standard normal. Host generation keeps attacks reproducible and
/// identical on every device.
pub fn random_tensor(
    n: usize,
    f: usize,
    a: f32,
    gaussian: bool,
    seed: u64,
    device: &Device,
) -> Tensor<2> {
    let mut v = Vec::with_capacity(n * f);
    draw(
        &mut ChaCha8Rng::seed_from_u64(seed),
        n * f,
        a,
        gaussian,
        &mut v,
    );
    Tensor::from_data(TensorData::new(v, [n, f]), device)
}

/// Appends `count` draws from `rng`: standard normal, or uniform in `[-a, a]`. A radius whose
/// width `2a` is not a finite f32 (ε times a feature scale near 1e38) draws from the widest
/// finite range instead of panicking; the attack's projection clips the start to its box.
fn draw(rng: &mut ChaCha8Rng, count: usize, a: f32, gaussian: bool, out: &mut Vec<f32>) {
    if gaussian {
        out.extend((0..count).map(|_| -> f32 { StandardNormal.sample(rng) }));
    } else {
        let a = if a.is_finite() {
            a.abs().min(f32::MAX / 4.0)
        } else {
            f32::MAX / 4.0
        };
        let u = Uniform::new_inclusive(-a, a).expect("a finite range of finite width");
        out.extend((0..count).map(|_| u.sample(rng)));
    }
}

/// The random stream of the row keyed `key` under `seed` (see [`Attack::with_row_keys`]).
pub fn row_rng(seed: u64, key: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ key.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// [`random_tensor`] with one stream per row: row `i` is drawn from `row_rng(seed, keys[i])`,
/// or, without keys, the whole batch from one stream seeded `seed`.
pub fn random_rows(
    keys: Option<&[u64]>,
    n: usize,
    f: usize,
    a: f32,
    gaussian: bool,
    seed: u64,
    device: &Device,
) -> Tensor<2> {
    let Some(keys) = keys else {
        return random_tensor(n, f, a, gaussian, seed, device);
    };
    let mut v = Vec::with_capacity(n * f);
    for &key in keys.iter().take(n) {
        draw(&mut row_rng(seed, key), f, a, gaussian, &mut v);
    }
    Tensor::from_data(TensorData::new(v, [keys.len().min(n), f]), device)
}

/// Checks that row keys, when given, number one per row.
pub fn check_row_keys(keys: Option<&[u64]>, n: usize) -> Result<()> {
    match keys {
        Some(k) if k.len() != n => Err(AdversarialError::invalid(
            "row keys",
            format!("{} keys for {n} rows", k.len()),
        )),
        _ => Ok(()),
    }
}

/// The largest radius [`check_eps`] accepts, in any unit: far beyond any input box (a radius
/// past the box is the whole box), and small enough that `±ε` and `2ε` stay finite in `f32`,
/// where random starts and projections compute (ε = 1e308 is infinite there).
pub const MAX_EPS: f64 = 1e6;

/// Checks a step size: `0 ≤ step ≤ MAX_EPS` (so finite; a larger step is a jump across any
/// box, and infinite in `f32`, where `0 · ∞` would turn a flat gradient into NaN).
pub fn check_step_size(name: &str, step: f64) -> Result<()> {
    if !(step.is_finite() && (0.0..=MAX_EPS).contains(&step)) {
        return Err(AdversarialError::invalid(
            name,
            format!("{step:?} is not in [0, {MAX_EPS}]"),
        ));
    }
    Ok(())
}

/// Checks `0 ≤ eps ≤ MAX_EPS` (so finite).
pub fn check_eps(eps: f64) -> Result<()> {
    if !(eps.is_finite() && (0.0..=MAX_EPS).contains(&eps)) {
        return Err(AdversarialError::invalid(
            "eps",
            format!("{eps:?} is not in [0, {MAX_EPS}]"),
        ));
    }
    Ok(())
}

/// AutoAttack's schedule for its targeted attacks (APGD-T, FAB-T): for the 2nd, 3rd, … most
/// likely class on the clean batch `x` `[n, f]` (up to `targets` of them), `attack(x_rows,
/// rows, targets)` runs on the rows still classified correctly and returns, per row, the
/// adversarial row where it broke it; a broken row is not attacked again. Returns the batch
/// with every broken row replaced (model in inference mode).
pub fn over_target_ranks<M: Classifier>(
    model: &M,
    x: &Tensor<2>,
    labels: &[usize],
    targets: usize,
    mut attack: impl FnMut(Tensor<2>, &[usize], &[usize]) -> Result<Vec<Option<Vec<f32>>>>,
) -> Result<Tensor<2>> {
    let [n, f] = x.dims();
    let device = x.device();
    let logits = to_host(model.logits(x.clone()));
    let classes = logits.len() / n.max(1);
    let ranked: Vec<Vec<usize>> = logits
        .chunks(classes.max(1))
        .map(|z| {
            let mut idx: Vec<usize> = (0..z.len()).collect();
            idx.sort_by(|&a, &b| z[b].total_cmp(&z[a]));
            idx
        })
        .collect();
    let clean = to_host(x.clone());
    let mut out = clean.clone();
    let mut robust: Vec<bool> = ranked.iter().zip(labels).map(|(r, y)| r[0] == *y).collect();
    for rank in 1..classes.min(targets + 1) {
        let rows: Vec<usize> = (0..n).filter(|&i| robust[i]).collect();
        if rows.is_empty() {
            break;
        }
        let xs: Vec<f32> = rows
            .iter()
            .flat_map(|&i| clean[i * f..(i + 1) * f].to_vec())
            .collect();
        let xs = Tensor::<2>::from_data(TensorData::new(xs, [rows.len(), f]), &device);
        let wanted: Vec<usize> = rows.iter().map(|&i| ranked[i][rank]).collect();
        for (&i, found) in rows.iter().zip(attack(xs, &rows, &wanted)?) {
            if let Some(row) = found {
                robust[i] = false;
                out[i * f..(i + 1) * f].copy_from_slice(&row);
            }
        }
    }
    Ok(Tensor::from_data(TensorData::new(out, [n, f]), &device))
}

/// Predicted classes of `x` (model in inference mode).
pub fn predictions<M: Classifier>(model: &M, x: Tensor<2>) -> Vec<usize> {
    let idx = model.logits(x).argmax(1);
    idx.into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap_or_default()
        .into_iter()
        .map(|v| v as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: Vec<f32>, n: usize) -> Tensor<2> {
        let f = v.len() / n;
        Tensor::from_data(TensorData::new(v, [n, f]), &Device::flex())
    }
    fn v(x: Tensor<2>) -> Vec<f32> {
        x.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn linf_projection_clips_to_ball_then_bounds() {
        let x = t(vec![0.5, 0.95, 0.05], 1);
        let adv = t(vec![0.9, 1.2, -0.5], 1);
        assert_eq!(
            v(project_linf(adv, &x, 0.1, &Bounds::default())),
            vec![0.6, 1.0, 0.0]
        );
    }

    #[test]
    fn l2_projection_scales_rows_outside_the_ball_only() {
        let x = t(vec![0.5, 0.5, 0.5, 0.5], 2);
        let adv = t(vec![0.8, 0.9, 0.55, 0.5], 2); // row 0: δ = (0.3, 0.4), ‖δ‖ = 0.5; row 1 inside
        let p = v(project_l2(adv, &x, 0.25, &Bounds::default()));
        assert!(
            (p[0] - 0.65).abs() < 1e-6 && (p[1] - 0.7).abs() < 1e-6,
            "{p:?}"
        );
        assert!(
            (p[2] - 0.55).abs() < 1e-6 && (p[3] - 0.5).abs() < 1e-6,
            "{p:?}"
        );
    }

    #[test]
    fn row_norms_have_a_floor() {
        assert_eq!(v(row_l2(t(vec![3.0, 4.0, 0.0, 0.0], 2))), vec![5.0, 1e-12]);
        assert_eq!(v(row_l1(t(vec![-3.0, 4.0], 1))), vec![7.0]);
    }

    #[test]
    fn random_tensor_is_seeded_and_bounded() {
        let d = Device::flex();
        let a = v(random_tensor(3, 4, 0.3, false, 5, &d));
        assert_eq!(a, v(random_tensor(3, 4, 0.3, false, 5, &d)));
        assert!(a.iter().all(|x| x.abs() <= 0.3));
        assert_ne!(a, v(random_tensor(3, 4, 0.3, false, 6, &d)));
        // An overflowing radius (ε times a scale near f32::MAX) draws, it does not panic.
        for huge in [f32::MAX, f32::INFINITY] {
            assert!(
                v(random_tensor(2, 2, huge, false, 5, &d))
                    .iter()
                    .all(|x| x.is_finite())
            );
        }
    }
}
