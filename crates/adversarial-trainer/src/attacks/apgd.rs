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

use super::base::{Attack, Bounds, Goal, check_eps, check_goal, project_linf, random_tensor};
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
    ///
    /// The steps of the paper's Algorithm 1: `start` (random start and a plain projected step
    /// with η = 2ε), then per iteration `track_best` (count loss increases, keep the best
    /// point), at the checkpoints `checkpoint` (halve η and restart from the best point where
    /// progress stalled), and `momentum_step`; finally `best_point`.
    pub fn run<M: Classifier>(
        &self,
        model: &M,
        x: &Tensor<2>,
        goal: &Goal,
        truth: Option<&[usize]>,
    ) -> Tensor<2> {
        let bounds = Bounds {
            lower: self.config.lower as f32,
            upper: self.config.upper as f32,
        };
        if self.config.eps == 0.0 || self.config.steps == 0 {
            return bounds.clip(x.clone()); // nothing to search
        }
        let search = Search::new(self, model, x, goal, truth, bounds);
        let mut state = search.start();
        let checkpoints = apgd_checkpoints(self.config.steps);
        let mut next_cp = 1;
        for k in 1..self.config.steps {
            search.track_best(&mut state);
            if next_cp < checkpoints.len() && k == checkpoints[next_cp] {
                let span = (checkpoints[next_cp] - checkpoints[next_cp - 1]) as f64;
                search.checkpoint(&mut state, span);
                next_cp += 1;
            }
            search.momentum_step(&mut state);
        }
        search.best_point(state)
    }
}

/// One APGD search: what stays fixed while it runs (the attack, the model, the clean batch,
/// the goal as tensors, the radius and the bounds).
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

/// The per-sample state of an APGD search between iterations.
struct SearchState {
    /// The previous iterate x⁽ᵏ⁻¹⁾ (for the momentum term).
    x_prev: Tensor<2>,
    /// The current iterate x⁽ᵏ⁾.
    x_cur: Tensor<2>,
    /// Loss per sample at the last evaluated iterate.
    loss_prev: Vec<f32>,
    /// Gradient at the last evaluated iterate.
    grad: Tensor<2>,
    /// Best point so far, per row.
    best_x: Tensor<2>,
    /// Loss at the best point.
    best_loss: Vec<f32>,
    /// Step size η per sample.
    eta: Vec<f32>,
    /// Loss increases since the last checkpoint.
    increases: Vec<usize>,
    /// Best loss at the last checkpoint.
    best_at_cp: Vec<f32>,
    /// Whether η was halved at the last checkpoint.
    reduced_at_cp: Vec<bool>,
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

    /// A per-sample column `[N, 1]` of `v`.
    fn col(&self, v: &[f32]) -> Tensor<2> {
        Tensor::<2>::from_data(TensorData::new(v.to_vec(), [self.n, 1]), &self.device)
    }

    /// Projection onto the ε-ball around the clean batch and the bounds.
    fn project(&self, t: Tensor<2>) -> Tensor<2> {
        project_linf(t, self.x, self.eps, self.bounds)
    }

    /// Loss per sample and gradient of their sum at `at`.
    fn loss_and_grad(&self, at: &Tensor<2>) -> (Vec<f32>, Tensor<2>) {
        self.apgd
            .loss_and_grad(self.model, at, &self.labels, self.goal, &self.truth)
    }

    /// Initial step: a uniform random start in the ε-ball (the best point so far), η = 2ε,
    /// then a plain projected sign-gradient step.
    fn start(&self) -> SearchState {
        let [n, f] = self.x.dims();
        let x_prev = self.project(
            self.x.clone()
                + random_tensor(n, f, self.eps, false, self.apgd.config.seed, &self.device),
        );
        let (loss_prev, grad) = self.loss_and_grad(&x_prev);
        let best_x = x_prev.clone();
        let best_loss = loss_prev.clone();
        let eta = vec![2.0 * self.eps; n];
        let best_at_cp = best_loss.clone();
        let x_cur = self.project(x_prev.clone() + grad.clone().sign() * self.col(&eta));
        SearchState {
            x_prev,
            x_cur,
            loss_prev,
            grad,
            best_x,
            best_loss,
            eta,
            increases: vec![0usize; n],
            best_at_cp,
            reduced_at_cp: vec![false; n],
        }
    }

    /// Evaluates the current iterate: counts loss increases and keeps the best point.
    fn track_best(&self, s: &mut SearchState) {
        let (loss_cur, g) = self.loss_and_grad(&s.x_cur);
        let mut improve = vec![0f32; self.n];
        for i in 0..self.n {
            if loss_cur[i] > s.loss_prev[i] {
                s.increases[i] += 1;
            }
            if loss_cur[i] > s.best_loss[i] {
                s.best_loss[i] = loss_cur[i];
                improve[i] = 1.0;
            }
        }
        let m = self.col(&improve);
        s.best_x = s.best_x.clone() * (-m.clone() + 1.0) + s.x_cur.clone() * m;
        s.grad = g;
        s.loss_prev = loss_cur;
    }

    /// Checkpoint after `span` iterations: halve η and restart from the best point where
    /// progress stalled (fewer than ρ·span loss increases, or neither η nor the best loss
    /// changed since the last checkpoint).
    fn checkpoint(&self, s: &mut SearchState, span: f64) {
        let mut restart = vec![0f32; self.n];
        for (i, restart_i) in restart.iter_mut().enumerate() {
            let cond1 = (s.increases[i] as f64) < self.apgd.config.rho * span;
            let cond2 = !s.reduced_at_cp[i] && s.best_at_cp[i] == s.best_loss[i];
            let halve = cond1 || cond2;
            s.reduced_at_cp[i] = halve;
            if halve {
                s.eta[i] /= 2.0;
                *restart_i = 1.0;
            }
            s.increases[i] = 0;
            s.best_at_cp[i] = s.best_loss[i];
        }
        let r = self.col(&restart);
        s.x_cur = s.x_cur.clone() * (-r.clone() + 1.0) + s.best_x.clone() * r;
        if restart.iter().any(|&v| v > 0.0) {
            let (l, g) = self.loss_and_grad(&s.x_cur);
            s.loss_prev = l;
            s.grad = g;
        }
    }

    /// The gradient step with momentum:
    /// `x⁽ᵏ⁺¹⁾ = P(x⁽ᵏ⁾ + α(z − x⁽ᵏ⁾) + (1−α)(x⁽ᵏ⁾ − x⁽ᵏ⁻¹⁾))`, `z = P(x⁽ᵏ⁾ + η·sign ∇)`.
    fn momentum_step(&self, s: &mut SearchState) {
        let a = self.apgd.config.alpha as f32;
        let z = self.project(s.x_cur.clone() + s.grad.clone().sign() * self.col(&s.eta));
        let x_next = self.project(
            s.x_cur.clone()
                + (z - s.x_cur.clone()) * a
                + (s.x_cur.clone() - s.x_prev.clone()) * (1.0 - a),
        );
        s.x_prev = std::mem::replace(&mut s.x_cur, x_next);
    }

    /// Keeps the best point, or the last iterate where it beats it.
    fn best_point(&self, s: SearchState) -> Tensor<2> {
        let (last, _) = self.loss_and_grad(&s.x_cur);
        let take: Vec<f32> = (0..self.n)
            .map(|i| if last[i] > s.best_loss[i] { 1.0 } else { 0.0 })
            .collect();
        let m = self.col(&take);
        s.best_x * (-m.clone() + 1.0) + s.x_cur * m
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
