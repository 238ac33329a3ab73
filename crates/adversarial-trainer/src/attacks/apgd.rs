//! APGD: auto-PGD with the cross-entropy or the DLR loss (Croce & Hein 2020, "Reliable
//! evaluation of adversarial robustness with an ensemble of diverse parameter-free attacks").
//!
//! L∞ only, following the reference implementation (`fra31/auto-attack`,
//! `autopgd_base.py`) step for step. Random start `x + ε·t/‖t‖∞` (t uniform in [−1, 1]); step
//! size η starts at 2ε; the step `x⁽ᵏ⁺¹⁾ = P(x⁽ᵏ⁾ + α(z − x⁽ᵏ⁾) + (1−α)(x⁽ᵏ⁾ − x⁽ᵏ⁻¹⁾))` with
//! `z = P(x⁽ᵏ⁾ + η·sign ∇)`, α = 1 on the first step and 0.75 after. Checks come after
//! `k = int(0.22 N)` steps, then every `k ← max(k − int(0.03 N), int(0.06 N))` steps: where at
//! most ρ·k of the last k steps increased the loss (`<=`, as the reference), or where η was
//! not reduced at the last check and the best loss has not improved since, η is halved and
//! the iterate (and its gradient) go back to the best point. The reference's first check
//! compares the first loss with an unset (zero) entry, and "reduced at the last check" starts
//! true; both are kept.
//!
//! Returned per row: the last iterate that met the goal (misclassified, or classified as the
//! target), as the reference's `x_best_adv`; where no iterate did, the highest-loss point.
//! DLR needs at least 3 classes (4 for the targeted DLR): fewer is an error, not a panic.

use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::activation::log_softmax;
use aegis_model::burn::tensor::{Device, Int, Tensor, TensorData};
use aegis_model::{Classifier, label_tensor, to_host};
use serde::{Deserialize, Serialize};

use super::base::{
    Attack, Goal, check_eps, check_goal, check_row_keys, predictions, project_linf, random_rows,
};
use super::bounds::Bounds;
use crate::error::{AdversarialError, MAX_STEPS, Result, check_count};

/// APGD's loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApgdLoss {
    /// Cross-entropy (APGD-CE).
    Ce,
    /// Difference of logits ratio (APGD-DLR), invariant to shifts and rescaling of the logits.
    Dlr,
}

/// APGD hyper-parameters (defaults of the reference implementation: 100 iterations, α 0.75,
/// ρ 0.75, one restart).
#[derive(Config, Debug)]
pub struct ApgdConfig {
    /// L∞ radius ε.
    pub eps: f64,
    /// Loss.
    #[config(default = "ApgdLoss::Ce")]
    pub loss: ApgdLoss,
    /// Iterations.
    #[config(default = 100)]
    pub steps: usize,
    /// Momentum weight α.
    #[config(default = 0.75)]
    pub alpha: f64,
    /// Fraction ρ of loss-increasing steps below which η is halved.
    #[config(default = 0.75)]
    pub rho: f64,
    /// Seed of the random start.
    #[config(default = 0)]
    pub seed: u64,
    /// Lower input bound.
    #[config(default = 0.0)]
    pub lower: f64,
    /// Upper input bound.
    #[config(default = 1.0)]
    pub upper: f64,
}

/// Auto-PGD (see the module docs).
#[derive(Debug, Clone)]
pub struct Apgd {
    config: ApgdConfig,
    bounds: Bounds,
    row_keys: Option<Vec<u64>>,
}

/// The iteration counts (1-based) after which APGD checks its step size, for `n` iterations,
/// preceded by 0: the reference's integer schedule (`n_iter_2 = int(.22n)`,
/// `size_decr = int(.03n)`, `n_iter_min = int(.06n)`, each at least 1).
pub fn apgd_checkpoints(n: usize) -> Vec<usize> {
    let first = ((0.22 * n as f64) as usize).max(1);
    let decr = ((0.03 * n as f64) as usize).max(1);
    let min = ((0.06 * n as f64) as usize).max(1);
    let (mut w, mut k, mut at) = (vec![0], first, 0);
    while at + k <= n {
        at += k;
        w.push(at);
        k = k.saturating_sub(decr).max(min);
    }
    w
}

/// The fewest classes APGD's loss needs: DLR reads the 3rd largest logit (the targeted DLR
/// the 4th).
fn min_classes(loss: ApgdLoss, targeted: bool) -> usize {
    match (loss, targeted) {
        (ApgdLoss::Ce, _) => 2,
        (ApgdLoss::Dlr, false) => 3,
        (ApgdLoss::Dlr, true) => 4,
    }
}

impl Apgd {
    /// Validates the configuration.
    pub fn new(config: ApgdConfig) -> Result<Self> {
        check_eps(config.eps)?;
        check_count("steps", config.steps, 0, MAX_STEPS)?;
        let bounds = Bounds::from_config(config.lower, config.upper)?;
        Ok(Self {
            config,
            bounds,
            row_keys: None,
        })
    }

    /// The input box it clips to.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// An error unless the loss works with `classes` classes.
    pub fn check_classes(&self, classes: usize, targeted: bool) -> Result<()> {
        let need = min_classes(self.config.loss, targeted);
        if classes < need {
            return Err(AdversarialError::invalid(
                "attack",
                format!(
                    "{}{} needs at least {need} classes, the model has {classes}",
                    self.name(),
                    if targeted { " (targeted)" } else { "" }
                ),
            ));
        }
        Ok(())
    }

    /// Per-sample loss `[N]` that the attacker maximises; `truth` holds the true labels for
    /// the targeted DLR.
    fn per_sample_loss(
        &self,
        logits: Tensor<2>,
        labels: &Tensor<1, Int>,
        goal: &Goal,
        truth: &Option<Tensor<1, Int>>,
    ) -> Tensor<1> {
        let idx = labels.clone().unsqueeze_dim::<2>(1);
        match (self.config.loss, goal, truth) {
            (ApgdLoss::Ce, _, _) => {
                let ce = -log_softmax(logits, 1).gather(1, idx).squeeze_dim::<1>(1);
                if goal.is_targeted() { -ce } else { ce }
            }
            (ApgdLoss::Dlr, Goal::Targeted(_), Some(truth)) => {
                // −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2), y the true class, t the target.
                let sorted = logits.clone().sort_descending(1);
                let z1 = sorted.clone().narrow(1, 0, 1);
                let z3 = sorted.clone().narrow(1, 2, 1);
                let z4 = sorted.narrow(1, 3, 1);
                let zy = logits
                    .clone()
                    .gather(1, truth.clone().unsqueeze_dim::<2>(1));
                let zt = logits.gather(1, idx);
                (-(zy - zt) / (z1 - (z3 + z4) * 0.5 + 1e-12)).squeeze_dim::<1>(1)
            }
            (ApgdLoss::Dlr, _, _) => {
                // −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3)
                let sorted = logits.clone().sort_descending(1);
                let z1 = sorted.clone().narrow(1, 0, 1);
                let z2 = sorted.clone().narrow(1, 1, 1);
                let z3 = sorted.narrow(1, 2, 1);
                let zy = logits.gather(1, idx);
                let y_on_top = zy.clone().greater_equal(z1.clone()).float();
                let other = z1.clone() * (-y_on_top.clone() + 1.0) + z2 * y_on_top;
                (-(zy - other) / (z1 - z3 + 1e-12)).squeeze_dim::<1>(1)
            }
        }
    }

    /// Runs APGD on `x` (model in inference mode); `truth` holds the true labels for a
    /// targeted DLR goal (default: the model's predictions on `x`).
    ///
    /// The reference's `attack_single_run` as steps: `start` (random start, first loss and
    /// gradient), then per iteration `step` (the momentum step), `evaluate` (loss, gradient,
    /// whether the goal is met; keep the best point and the last successful iterate) and, at
    /// the checks, `check_step_size`; finally `result`.
    pub fn run<M: Classifier>(
        &self,
        model: &M,
        x: &Tensor<2>,
        goal: &Goal,
        truth: Option<&[usize]>,
    ) -> Result<Tensor<2>> {
        self.check_classes(model.num_classes(), goal.is_targeted())?;
        self.bounds.check_width(x.dims()[1])?;
        check_row_keys(self.row_keys.as_deref(), x.dims()[0])?;
        let bounds = self.bounds.clone();
        if self.config.eps == 0.0 || self.config.steps == 0 {
            return Ok(bounds.clip(x.clone())); // nothing to search
        }
        let predicted;
        let truth = match (truth, goal) {
            (Some(t), _) => Some(t),
            (None, Goal::Targeted(_)) if self.config.loss == ApgdLoss::Dlr => {
                predicted = predictions(model, x.clone());
                Some(predicted.as_slice())
            }
            (None, _) => None,
        };
        let search = Search::new(self, model, x, goal, truth, bounds);
        let mut s = search.start();
        let checks = apgd_checkpoints(self.config.steps);
        for i in 0..self.config.steps {
            search.step(&mut s, i);
            search.evaluate(&mut s, i);
            if let Some(j) = checks.iter().position(|&c| c == i + 1).filter(|&j| j > 0) {
                search.check_step_size(&mut s, i, checks[j] - checks[j - 1]);
            }
        }
        Ok(search.result(s))
    }
}

/// One APGD search: what stays fixed while it runs.
struct Search<'a, M> {
    apgd: &'a Apgd,
    model: &'a M,
    x: &'a Tensor<2>,
    goal: &'a Goal,
    labels: Tensor<1, Int>,
    truth: Option<Tensor<1, Int>>,
    n: usize,
    eps: f32,
    bounds: Bounds,
    device: Device,
}

/// The per-sample state of an APGD search (the reference's variables).
struct SearchState {
    x_adv: Tensor<2>,
    x_old: Tensor<2>,
    grad: Tensor<2>,
    x_best: Tensor<2>,
    grad_best: Tensor<2>,
    loss_best: Vec<f32>,
    x_best_adv: Tensor<2>,
    /// Whether some iterate met the goal.
    success: Vec<bool>,
    step: Vec<f32>,
    /// Loss of every iteration, `[steps][n]` (unset rows are 0, as the reference's zeros).
    loss_steps: Vec<Vec<f32>>,
    loss_best_last_check: Vec<f32>,
    reduced_last_check: Vec<bool>,
}

/// Blends per row: `mask[i]` picks `b`'s row, else `a`'s.
fn select(a: Tensor<2>, b: Tensor<2>, mask: &[bool], device: &Device) -> Tensor<2> {
    if !mask.iter().any(|&m| m) {
        return a;
    }
    let m: Vec<f32> = mask.iter().map(|&m| if m { 1.0 } else { 0.0 }).collect();
    let m = Tensor::<2>::from_data(TensorData::new(m, [mask.len(), 1]), device);
    a * (-m.clone() + 1.0) + b * m
}

impl<'a, M: Classifier> Search<'a, M> {
    fn new(
        apgd: &'a Apgd,
        model: &'a M,
        x: &'a Tensor<2>,
        goal: &'a Goal,
        truth: Option<&[usize]>,
        bounds: Bounds,
    ) -> Self {
        let [n, _] = x.dims();
        let device: Device = x.device();
        Self {
            apgd,
            model,
            x,
            goal,
            labels: label_tensor(goal.labels(), &device),
            truth: truth.map(|t| label_tensor(t, &device)),
            n,
            eps: apgd.config.eps as f32,
            bounds,
            device,
        }
    }

    /// Loss, gradient of their sum, and whether the goal is met, per row, at `at`.
    fn loss_grad_success(&self, at: &Tensor<2>) -> (Vec<f32>, Tensor<2>, Vec<bool>) {
        let xa = at.clone().autodiff().require_grad();
        let logits = self.model.logits(xa.clone());
        let pred = to_host(logits.clone().inner().argmax(1).float());
        let l = self.apgd.per_sample_loss(
            logits,
            &self.labels.clone().autodiff(),
            self.goal,
            &self.truth.clone().map(|t| t.autodiff()),
        );
        let values = to_host(l.clone().inner());
        let g = xa
            .grad(&l.sum().backward())
            .expect("input takes part in the loss");
        let met = pred
            .iter()
            .zip(self.goal.labels())
            .map(|(&p, &y)| match self.goal {
                Goal::Untargeted(_) => p as usize != y,
                Goal::Targeted(_) => p as usize == y,
            })
            .collect();
        (values, g, met)
    }

    /// Random start `x + ε·t/‖t‖∞`, clipped to the bounds; its loss and gradient.
    fn start(&self) -> SearchState {
        let [n, f] = self.x.dims();
        let keys = self.apgd.row_keys.as_deref();
        let t = random_rows(keys, n, f, 1.0, false, self.apgd.config.seed, &self.device);
        let scale = t.clone().abs().max_dim(1) + 1e-12;
        let x_adv = self.bounds.clip(self.x.clone() + t / scale * self.eps);
        let (loss, grad, success) = self.loss_grad_success(&x_adv);
        SearchState {
            x_old: x_adv.clone(),
            x_best: x_adv.clone(),
            x_best_adv: x_adv.clone(),
            grad_best: grad.clone(),
            loss_best_last_check: loss.clone(),
            loss_best: loss,
            x_adv,
            grad,
            success,
            step: vec![2.0 * self.eps; n],
            loss_steps: vec![vec![0.0; n]; self.apgd.config.steps],
            reduced_last_check: vec![true; n],
        }
    }

    /// The momentum step (α = 1 on the first iteration).
    fn step(&self, s: &mut SearchState, i: usize) {
        let a = if i > 0 {
            self.apgd.config.alpha as f32
        } else {
            1.0
        };
        let grad2 = s.x_adv.clone() - s.x_old.clone();
        s.x_old = s.x_adv.clone();
        let step =
            Tensor::<2>::from_data(TensorData::new(s.step.clone(), [self.n, 1]), &self.device);
        let z = project_linf(
            s.x_adv.clone() + s.grad.clone().sign() * step,
            self.x,
            self.eps,
            &self.bounds,
        );
        s.x_adv = project_linf(
            s.x_adv.clone() + (z - s.x_adv.clone()) * a + grad2 * (1.0 - a),
            self.x,
            self.eps,
            &self.bounds,
        );
    }

    /// Loss and gradient at the new iterate; the last successful iterate and the best point.
    fn evaluate(&self, s: &mut SearchState, i: usize) {
        let (loss, grad, met) = self.loss_grad_success(&s.x_adv);
        s.x_best_adv = select(s.x_best_adv.clone(), s.x_adv.clone(), &met, &self.device);
        for (ok, m) in s.success.iter_mut().zip(&met) {
            *ok |= m;
        }
        let better: Vec<bool> = loss.iter().zip(&s.loss_best).map(|(l, b)| l > b).collect();
        s.x_best = select(s.x_best.clone(), s.x_adv.clone(), &better, &self.device);
        s.grad_best = select(s.grad_best.clone(), grad.clone(), &better, &self.device);
        for (b, (l, up)) in s.loss_best.iter_mut().zip(loss.iter().zip(&better)) {
            if *up {
                *b = *l;
            }
        }
        s.loss_steps[i] = loss;
        s.grad = grad;
    }

    /// After `k` steps: halve η and go back to the best point (and its gradient) where the
    /// loss oscillated or did not improve since an unreduced check.
    fn check_step_size(&self, s: &mut SearchState, i: usize, k: usize) {
        let steps = s.loss_steps.len() as isize;
        // The reference indexes loss_steps[i − c − 1], which wraps to the end (zeros) at −1.
        let at = |j: isize| &s.loss_steps[j.rem_euclid(steps) as usize];
        let rho = self.apgd.config.rho;
        let mut reduce = vec![false; self.n];
        for (r, red) in reduce.iter_mut().enumerate() {
            let ups = (0..k as isize)
                .filter(|&c| at(i as isize - c)[r] > at(i as isize - c - 1)[r])
                .count();
            let oscillates = ups as f64 <= k as f64 * rho;
            let no_improvement =
                !s.reduced_last_check[r] && s.loss_best_last_check[r] >= s.loss_best[r];
            *red = oscillates || no_improvement;
        }
        for r in 0..self.n {
            if reduce[r] {
                s.step[r] /= 2.0;
            }
        }
        s.reduced_last_check = reduce.clone();
        s.loss_best_last_check = s.loss_best.clone();
        s.x_adv = select(s.x_adv.clone(), s.x_best.clone(), &reduce, &self.device);
        s.grad = select(s.grad.clone(), s.grad_best.clone(), &reduce, &self.device);
    }

    /// The last successful iterate where there is one, else the highest-loss point.
    fn result(&self, s: SearchState) -> Tensor<2> {
        select(s.x_best, s.x_best_adv, &s.success, &self.device)
    }
}

impl Attack for Apgd {
    fn with_row_keys(mut self, keys: Vec<u64>) -> Self {
        self.row_keys = Some(keys);
        self
    }

    fn with_bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    fn name(&self) -> String {
        match self.config.loss {
            ApgdLoss::Ce => "apgd-ce".into(),
            ApgdLoss::Dlr => "apgd-dlr".into(),
        }
    }

    /// For a targeted DLR goal the true classes are taken as the model's predictions on the
    /// clean batch (the reference does the same when it is given no labels).
    fn perturb<M: Classifier + Module>(
        &self,
        model: &M,
        x: Tensor<2>,
        goal: &Goal,
    ) -> Result<Tensor<2>> {
        check_goal(model, &x, goal)?;
        self.run(&model.valid(), &x, goal, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_match_the_reference_schedule() {
        // Reference (auto-attack, n_iter = 100): [0, 22, 41, 57, 70, 80, 87, 93, 99].
        assert_eq!(
            apgd_checkpoints(100),
            vec![0, 22, 41, 57, 70, 80, 87, 93, 99]
        );
    }
}
