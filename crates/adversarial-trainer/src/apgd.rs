//! APGD: auto-PGD with the cross-entropy or the DLR loss (Croce & Hein 2020, "Reliable
//! evaluation of adversarial robustness with an ensemble of diverse parameter-free attacks").
//!
//! L∞ only. Per sample: step size η starts at 2ε; momentum step
//! `x⁽ᵏ⁺¹⁾ = P(x⁽ᵏ⁾ + α(z − x⁽ᵏ⁾) + (1−α)(x⁽ᵏ⁾ − x⁽ᵏ⁻¹⁾))` with `z = P(x⁽ᵏ⁾ + η·sign ∇)` and
//! α = 0.75; at the checkpoints `w_j = ⌈p_j N⌉` (p₀ = 0, p₁ = 0.22,
//! p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)) η is halved and the iterate restarts from
//! the best point when fewer than ρ = 0.75 of the steps since the last checkpoint increased the
//! loss, or when neither η nor the best loss changed since the last checkpoint. The best point
//! by loss is returned.

use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::activation::log_softmax;
use aegis_model::burn::tensor::{Device, Int, Tensor, TensorData};
use aegis_model::{Classifier, label_tensor, to_host};
use serde::{Deserialize, Serialize};

use crate::attack::{Attack, Bounds, Goal, check_eps, check_goal, project_linf, random_tensor};
use crate::error::Result;

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
}

/// The checkpoint iterations `w_j` for `n` iterations.
pub fn apgd_checkpoints(n: usize) -> Vec<usize> {
    let mut p = vec![0.0f64, 0.22];
    while *p.last().unwrap() < 1.0 {
        let k = p.len();
        let next = p[k - 1] + (p[k - 1] - p[k - 2] - 0.03).max(0.06);
        p.push(next);
    }
    let mut w: Vec<usize> = p
        .iter()
        .filter(|&&v| v <= 1.0)
        .map(|v| (v * n as f64 - 1e-9).ceil() as usize)
        .collect();
    w.dedup();
    w
}

impl Apgd {
    /// Validates the configuration.
    pub fn new(config: ApgdConfig) -> Result<Self> {
        check_eps(config.eps)?;
        Ok(Self { config })
    }

    /// Per-sample loss `[N]` that the attacker maximises.
    fn per_sample_loss(
        &self,
        logits: Tensor<2>,
        labels: &Tensor<1, Int>,
        goal: &Goal,
        targets_true: &Option<Tensor<1, Int>>,
    ) -> Tensor<1> {
        let idx = labels.clone().unsqueeze_dim::<2>(1);
        match self.config.loss {
            ApgdLoss::Ce => {
                let ce = -log_softmax(logits, 1).gather(1, idx).squeeze_dim::<1>(1);
                if goal.is_targeted() { -ce } else { ce }
            }
            ApgdLoss::Dlr => {
                let sorted = logits.clone().sort_descending(1);
                let z1 = sorted.clone().narrow(1, 0, 1);
                let z2 = sorted.clone().narrow(1, 1, 1);
                let z3 = sorted.clone().narrow(1, 2, 1);
                match (goal, targets_true) {
                    (Goal::Targeted(_), Some(truth)) => {
                        // −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2), y the true class, t the target.
                        let zy = logits
                            .clone()
                            .gather(1, truth.clone().unsqueeze_dim::<2>(1));
                        let zt = logits.gather(1, idx);
                        let z4 = sorted.narrow(1, 3, 1);
                        (-(zy - zt) / (z1 - (z3 + z4) * 0.5 + 1e-12)).squeeze_dim::<1>(1)
                    }
                    _ => {
                        // −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3)
                        let zy = logits.gather(1, idx);
                        let y_on_top = zy.clone().greater_equal(z1.clone()).float();
                        let other = z1.clone() * (-y_on_top.clone() + 1.0) + z2 * y_on_top;
                        (-(zy - other) / (z1 - z3 + 1e-12)).squeeze_dim::<1>(1)
                    }
                }
            }
        }
    }

    /// Loss per sample and the gradient of their sum, at `x`.
    fn loss_and_grad<M: Classifier>(
        &self,
        model: &M,
        x: &Tensor<2>,
        labels: &Tensor<1, Int>,
        goal: &Goal,
        truth: &Option<Tensor<1, Int>>,
    ) -> (Vec<f32>, Tensor<2>) {
        let xa = x.clone().autodiff().require_grad();
        let l = self.per_sample_loss(
            model.logits(xa.clone()),
            &labels.clone().autodiff(),
            goal,
            &truth.clone().map(|t| t.autodiff()),
        );
        let values = to_host(l.clone().inner());
        let g = xa
            .grad(&l.sum().backward())
            .expect("input takes part in the loss");
        (values, g)
    }

    /// Runs APGD; `truth` holds the true labels for targeted DLR.
    pub fn run<M: Classifier>(
        &self,
        model: &M,
        x: &Tensor<2>,
        goal: &Goal,
        truth: Option<&[usize]>,
    ) -> Tensor<2> {
        let [n, f] = x.dims();
        let device: Device = x.device();
        let bounds = Bounds {
            lower: self.config.lower as f32,
            upper: self.config.upper as f32,
        };
        if self.config.eps == 0.0 || self.config.steps == 0 {
            return bounds.clip(x.clone()); // nothing to search
        }
        let eps = self.config.eps as f32;
        let labels = label_tensor(goal.labels(), &device);
        let truth = truth.map(|t| label_tensor(t, &device));
        let col = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [n, 1]), &device);
        let project = |t: Tensor<2>| project_linf(t, x, eps, bounds);

        let mut x_prev =
            project(x.clone() + random_tensor(n, f, eps, false, self.config.seed, &device));
        let (mut loss_prev, mut grad) = self.loss_and_grad(model, &x_prev, &labels, goal, &truth);
        let mut best_x = x_prev.clone();
        let mut best_loss = loss_prev.clone();
        let mut eta = vec![2.0 * eps; n];
        let checkpoints = apgd_checkpoints(self.config.steps);
        let mut next_cp = 1;
        let mut increases = vec![0usize; n];
        let mut eta_at_cp = eta.clone();
        let mut best_at_cp = best_loss.clone();
        let mut reduced_at_cp = vec![false; n];
        let a = self.config.alpha as f32;

        // First step: plain projected step.
        let mut x_cur = project(x_prev.clone() + grad.clone().sign() * col(&eta));
        for k in 1..self.config.steps {
            let (loss_cur, g) = self.loss_and_grad(model, &x_cur, &labels, goal, &truth);
            // Track the best point and count increases.
            let mut improve = vec![0f32; n];
            for i in 0..n {
                if loss_cur[i] > loss_prev[i] {
                    increases[i] += 1;
                }
                if loss_cur[i] > best_loss[i] {
                    best_loss[i] = loss_cur[i];
                    improve[i] = 1.0;
                }
            }
            let m = col(&improve);
            best_x = best_x * (-m.clone() + 1.0) + x_cur.clone() * m;
            grad = g;
            loss_prev = loss_cur;
            // Checkpoint: halve η and restart from the best point where progress stalled.
            if next_cp < checkpoints.len() && k == checkpoints[next_cp] {
                let span = (checkpoints[next_cp] - checkpoints[next_cp - 1]) as f64;
                let mut restart = vec![0f32; n];
                for i in 0..n {
                    let cond1 = (increases[i] as f64) < self.config.rho * span;
                    let cond2 = !reduced_at_cp[i] && best_at_cp[i] == best_loss[i];
                    let halve = cond1 || cond2;
                    reduced_at_cp[i] = halve;
                    if halve {
                        eta[i] /= 2.0;
                        restart[i] = 1.0;
                    }
                    increases[i] = 0;
                    eta_at_cp[i] = eta[i];
                    best_at_cp[i] = best_loss[i];
                }
                let r = col(&restart);
                x_cur = x_cur * (-r.clone() + 1.0) + best_x.clone() * r;
                if restart.iter().any(|&v| v > 0.0) {
                    let (l, g) = self.loss_and_grad(model, &x_cur, &labels, goal, &truth);
                    loss_prev = l;
                    grad = g;
                }
                next_cp += 1;
            }
            let z = project(x_cur.clone() + grad.clone().sign() * col(&eta));
            let x_next = project(
                x_cur.clone() + (z - x_cur.clone()) * a + (x_cur.clone() - x_prev) * (1.0 - a),
            );
            x_prev = x_cur;
            x_cur = x_next;
        }
        let (last, _) = self.loss_and_grad(model, &x_cur, &labels, goal, &truth);
        let take: Vec<f32> = (0..n)
            .map(|i| if last[i] > best_loss[i] { 1.0 } else { 0.0 })
            .collect();
        let m = col(&take);
        best_x * (-m.clone() + 1.0) + x_cur * m
    }
}

impl Attack for Apgd {
    fn name(&self) -> String {
        match self.config.loss {
            ApgdLoss::Ce => "apgd-ce".into(),
            ApgdLoss::Dlr => "apgd-dlr".into(),
        }
    }

    /// For a targeted DLR goal the true labels are unknown here, so the untargeted-style
    /// denominator is used; [`Apgd::run`] with `truth` gives the exact targeted DLR.
    fn perturb<M: Classifier + Module>(
        &self,
        model: &M,
        x: Tensor<2>,
        goal: &Goal,
    ) -> Result<Tensor<2>> {
        check_goal(model, &x, goal)?;
        Ok(self.run(&model.valid(), &x, goal, None))
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
