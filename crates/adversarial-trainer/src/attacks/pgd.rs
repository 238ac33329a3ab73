//! PGD: projected gradient descent in L∞ and L2 (Madry et al. 2018, "Towards Deep Learning
//! Models Resistant to Adversarial Attacks"), with random start and restarts.

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::base::{
    Attack, Goal, check_eps, check_goal, check_row_keys, check_step_size, goal_tensor,
    objective_gradient, predictions, project_l2, project_linf, random_rows, row_l2,
};
use super::bounds::Bounds;
use crate::error::{MAX_RESTARTS, MAX_STEPS, Result, check_count};

/// The threat model's norm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// ‖δ‖∞ ≤ ε; steps along `sign(∇)`.
    Linf,
    /// ‖δ‖₂ ≤ ε per row; steps along `∇ / ‖∇‖₂`.
    L2,
}

/// PGD hyper-parameters. Defaults: 40 steps of 0.01 with a random start, one restart, L∞,
/// bounds `[0, 1]` (the MNIST recipe of the issues).
#[derive(Config, Debug)]
pub struct PgdConfig {
    /// Radius ε of the threat model.
    pub eps: f64,
    /// Number of gradient steps.
    #[config(default = 40)]
    pub steps: usize,
    /// Step size α.
    #[config(default = 0.01)]
    pub step_size: f64,
    /// Norm of the threat model.
    #[config(default = "Norm::Linf")]
    pub norm: Norm,
    /// Start from a random point of the ε-ball (uniform for L∞; for L2 a Gaussian direction
    /// scaled to a uniform radius, as torchattacks).
    #[config(default = true)]
    pub random_start: bool,
    /// Independent runs; per row, the first run that achieves the goal is kept, else the last.
    #[config(default = 1)]
    pub restarts: usize,
    /// Seed of the random starts.
    #[config(default = 0)]
    pub seed: u64,
    /// Lower input bound.
    #[config(default = 0.0)]
    pub lower: f64,
    /// Upper input bound.
    #[config(default = 1.0)]
    pub upper: f64,
}

/// Projected gradient ascent on the attacker's objective. Each iteration: step
/// (`α·sign(∇)` or `α·∇/‖∇‖₂`), project onto the ε-ball around the clean input, clip to the
/// bounds — in that order.
#[derive(Debug, Clone)]
pub struct Pgd {
    config: PgdConfig,
    bounds: Bounds,
    row_keys: Option<Vec<u64>>,
}

impl Pgd {
    /// Validates the configuration.
    pub fn new(config: PgdConfig) -> Result<Self> {
        check_eps(config.eps)?;
        check_count("steps", config.steps, 0, MAX_STEPS)?;
        check_count("restarts", config.restarts, 1, MAX_RESTARTS)?;
        check_step_size("step_size", config.step_size)?;
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

    /// The configuration.
    pub fn config(&self) -> &PgdConfig {
        &self.config
    }

    fn project(&self, x_adv: Tensor<2>, x: &Tensor<2>) -> Tensor<2> {
        let eps = self.config.eps as f32;
        match self.config.norm {
            Norm::Linf => project_linf(x_adv, x, eps, &self.bounds),
            Norm::L2 => project_l2(x_adv, x, eps, &self.bounds),
        }
    }

    fn run_once<M: Classifier>(
        &self,
        model: &M,
        x: &Tensor<2>,
        goal: &Goal,
        seed: u64,
    ) -> Tensor<2> {
        let labels = goal_tensor(goal, &x.device());
        self.run(model, x, &labels, goal.is_targeted(), seed)
    }

    /// One PGD run from the random start drawn with `seed`, on a model already in inference
    /// mode, against label tensor `labels` (true labels, or targets when `targeted`). The
    /// building block of [`Attack::perturb`] and of PGD adversarial training.
    pub fn run<M: Classifier>(
        &self,
        model: &M,
        x: &Tensor<2>,
        labels: &Tensor<1, Int>,
        targeted: bool,
        seed: u64,
    ) -> Tensor<2> {
        let [n, f] = x.dims();
        let device = x.device();
        let eps = self.config.eps as f32;
        let alpha = self.config.step_size as f32;
        let keys = self.row_keys.as_deref().filter(|k| k.len() == n);
        let mut x_adv = if self.config.random_start && eps > 0.0 {
            let start = match self.config.norm {
                Norm::Linf => random_rows(keys, n, f, eps, false, seed, &device),
                Norm::L2 => {
                    let dir = random_rows(keys, n, f, 0.0, true, seed, &device);
                    let radius =
                        random_rows(keys, n, 1, 0.5, false, seed ^ 0x9e37_79b9, &device) + 0.5;
                    dir.clone() / row_l2(dir) * radius * eps
                }
            };
            self.project(x.clone() + start, x)
        } else {
            x.clone()
        };
        for _ in 0..self.config.steps {
            let g = objective_gradient(model, &x_adv, labels, targeted);
            let step = match self.config.norm {
                Norm::Linf => g.sign() * alpha,
                Norm::L2 => g.clone() / row_l2(g) * alpha,
            };
            x_adv = self.project(x_adv + step, x);
        }
        x_adv
    }
}

impl Attack for Pgd {
    fn with_row_keys(mut self, keys: Vec<u64>) -> Self {
        self.row_keys = Some(keys);
        self
    }

    fn with_bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    fn name(&self) -> String {
        match self.config.norm {
            Norm::Linf => "pgd".into(),
            Norm::L2 => "pgd-l2".into(),
        }
    }

    fn l2_threat(&self) -> bool {
        self.config.norm == Norm::L2
    }

    fn perturb<M: Classifier + Module>(
        &self,
        model: &M,
        x: Tensor<2>,
        goal: &Goal,
    ) -> Result<Tensor<2>> {
        check_goal(model, &x, goal)?;
        check_row_keys(self.row_keys.as_deref(), x.dims()[0])?;
        if self.config.eps == 0.0 {
            return Ok(self.bounds.clip(x)); // nothing to search
        }
        let model = model.valid();
        let mut best = self.run_once(&model, &x, goal, self.config.seed);
        if self.config.restarts == 1 {
            return Ok(best);
        }
        let [n, f] = x.dims();
        let mut done: Vec<bool> = predictions(&model, best.clone())
            .iter()
            .enumerate()
            .map(|(i, &p)| goal.achieved(i, p))
            .collect();
        for r in 1..self.config.restarts {
            if done.iter().all(|&d| d) {
                break;
            }
            let candidate =
                self.run_once(&model, &x, goal, self.config.seed.wrapping_add(r as u64));
            let pred = predictions(&model, candidate.clone());
            let mut b = best.into_data().try_to_vec::<f32>().expect("f32 tensor");
            let c = candidate
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 tensor");
            for i in 0..n {
                if !done[i] {
                    b[i * f..(i + 1) * f].copy_from_slice(&c[i * f..(i + 1) * f]);
                    done[i] = goal.achieved(i, pred[i]);
                }
            }
            best = Tensor::from_data(TensorData::new(b, [n, f]), &x.device());
        }
        Ok(best)
    }
}
