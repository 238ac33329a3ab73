//! CW-L2: the Carlini & Wagner L2 attack (Carlini & Wagner 2017, "Towards Evaluating the
//! Robustness of Neural Networks").

use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::{Device, Int, Tensor, TensorData};
use aegis_model::{Classifier, label_tensor, to_host};

use super::base::{Attack, Goal, check_goal, row_l2};
use super::bounds::Bounds;
use crate::error::{AdversarialError, MAX_RESTARTS, MAX_STEPS, Result, check_count};

/// CW-L2 hyper-parameters (torchattacks' defaults plus a binary search over c as in the
/// paper).
#[derive(Config, Debug)]
pub struct CwConfig {
    /// Initial trade-off constant c.
    #[config(default = 1.0)]
    pub c: f64,
    /// Confidence margin κ.
    #[config(default = 0.0)]
    pub kappa: f64,
    /// Adam steps per value of c.
    #[config(default = 100)]
    pub steps: usize,
    /// Adam learning rate on the tanh-space variable.
    #[config(default = 0.01)]
    pub lr: f64,
    /// Values of c tried per row (binary search: ×10 until success, then bisection).
    #[config(default = 5)]
    pub search_steps: usize,
    /// L2 budget: a row whose best adversarial example is farther than this keeps its clean
    /// input (`None`: no budget, minimal-norm attack).
    #[config(default = "None")]
    pub max_l2: Option<f64>,
    /// Lower input bound.
    #[config(default = 0.0)]
    pub lower: f64,
    /// Upper input bound.
    #[config(default = 1.0)]
    pub upper: f64,
}

/// Minimises `‖x' − x‖₂² + c · max(Z_y − max_{i≠y} Z_i, −κ)` (untargeted; targeted:
/// `max_{i≠t} Z_i − Z_t`) over `x' = lo + (hi − lo)(tanh(w) + 1)/2` with Adam, keeping per row
/// the adversarial example of smallest L2 norm. Rows with none keep their clean input.
#[derive(Debug, Clone)]
pub struct CwL2 {
    config: CwConfig,
    bounds: Bounds,
}

impl CwL2 {
    /// Validates the configuration.
    pub fn new(config: CwConfig) -> Result<Self> {
        if !(config.c.is_finite() && config.c > 0.0) {
            return Err(AdversarialError::invalid(
                "c",
                format!("{} must be positive", config.c),
            ));
        }
        check_count("steps", config.steps, 1, MAX_STEPS)?;
        check_count("search_steps", config.search_steps, 1, MAX_RESTARTS)?;
        let bounds = Bounds::from_config(config.lower, config.upper)?;
        Ok(Self { config, bounds })
    }

    /// The input box it clips to.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// `x = lo + (tanh(w) + 1) · (hi − lo) / 2`, with `lo` and `(hi − lo) / 2` as `[N, F]`.
    fn to_input(w: Tensor<2>, lo: &Tensor<2>, half_span: &Tensor<2>) -> Tensor<2> {
        (w.tanh() + 1.0) * half_span.clone() + lo.clone()
    }

    /// The box's lower ends and half widths, `[n, f]` each, on `device`.
    fn box_rows(&self, n: usize, f: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
        let b = &self.bounds;
        let lo: Vec<f32> = (0..f).map(|j| b.lower_of(j)).collect();
        let half: Vec<f32> = (0..f)
            .map(|j| 0.5 * (b.upper_of(j) - b.lower_of(j)))
            .collect();
        let rows = |v: Vec<f32>| {
            Tensor::<2>::from_data(TensorData::new(v, [1, f]), device).repeat_dim(0, n)
        };
        (rows(lo), rows(half))
    }

    /// Per-row margin `[N]` (negative once the goal is reached) from logits.
    fn margin(
        logits: Tensor<2>,
        labels: &Tensor<1, Int>,
        onehot: &Tensor<2>,
        targeted: bool,
    ) -> Tensor<1> {
        let z_l = logits
            .clone()
            .gather(1, labels.clone().unsqueeze_dim::<2>(1))
            .squeeze_dim::<1>(1);
        let others = (logits - onehot.clone() * 1e4)
            .max_dim(1)
            .squeeze_dim::<1>(1);
        if targeted { others - z_l } else { z_l - others }
    }
}

impl Attack for CwL2 {
    fn with_bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    fn name(&self) -> String {
        "cw".into()
    }

    fn l2_threat(&self) -> bool {
        true
    }

    fn perturb<M: Classifier + Module>(
        &self,
        model: &M,
        x: Tensor<2>,
        goal: &Goal,
    ) -> Result<Tensor<2>> {
        check_goal(model, &x, goal)?;
        let [n, f] = x.dims();
        self.bounds.check_width(f)?;
        if !self.bounds.is_finite() {
            return Err(AdversarialError::invalid(
                "bounds",
                "cw maps the input box through tanh, so it must be finite",
            ));
        }
        let model = model.valid();
        let device = x.device();
        let c_classes = model.num_classes();
        let labels = label_tensor(goal.labels(), &device);
        let mut oh = vec![0f32; n * c_classes];
        for (i, &l) in goal.labels().iter().enumerate() {
            oh[i * c_classes + l] = 1.0;
        }
        let onehot = Tensor::<2>::from_data(TensorData::new(oh, [n, c_classes]), &device);
        let (lo, half_span) = self.box_rows(n, f, &device);
        let (lo_a, half_a) = (lo.clone().autodiff(), half_span.clone().autodiff());
        // w = atanh((x − lo)/((hi − lo)/2) − 1), clamped away from ±1; a zero-width feature
        // (hi = lo) stays at lo.
        let unit =
            ((x.clone() - lo) / half_span.clamp_min(1e-12) - 1.0).clamp(-0.999_999, 0.999_999);
        let w0 = ((unit.clone() + 1.0) / (-unit + 1.0)).log() * 0.5;
        let col = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [n, 1]), &device);
        let mut best = x.clone();
        let mut best_l2 = vec![f32::INFINITY; n];
        let mut c = vec![self.config.c as f32; n];
        let (mut c_lo, mut c_hi) = (vec![0f32; n], vec![f32::INFINITY; n]);
        for _ in 0..self.config.search_steps {
            let mut w = w0.clone();
            let (mut m, mut v) = (x.zeros_like(), x.zeros_like());
            let c_t = col(&c);
            let mut found = vec![false; n];
            let (b1, b2, lr) = (0.9f32, 0.999f32, self.config.lr as f32);
            for t in 1..=self.config.steps {
                let wa = w.clone().autodiff().require_grad();
                let xa = Self::to_input(wa.clone(), &lo_a, &half_a);
                let logits = model.logits(xa.clone());
                let margin = Self::margin(
                    logits,
                    &labels.clone().autodiff(),
                    &onehot.clone().autodiff(),
                    goal.is_targeted(),
                );
                let l2sq = (xa.clone() - x.clone().autodiff())
                    .powi_scalar(2)
                    .sum_dim(1);
                let loss = l2sq.sum()
                    + (margin
                        .clone()
                        .clamp_min(-self.config.kappa as f32)
                        .unsqueeze_dim::<2>(1)
                        * c_t.clone().autodiff())
                    .sum();
                let g = wa.grad(&loss.backward()).expect("w takes part in the loss");
                // Record successes of the current iterate before stepping.
                let cur = xa.inner();
                let margins = to_host(margin.inner());
                let dist = to_host(row_l2(cur.clone() - x.clone()));
                let mut take = vec![0f32; n];
                for i in 0..n {
                    if margins[i] < 0.0 {
                        found[i] = true;
                        if dist[i] < best_l2[i] {
                            best_l2[i] = dist[i];
                            take[i] = 1.0;
                        }
                    }
                }
                if take.iter().any(|&v| v > 0.0) {
                    let mk = col(&take);
                    best = best * (-mk.clone() + 1.0) + cur * mk;
                }
                m = m * b1 + g.clone() * (1.0 - b1);
                v = v * b2 + g.powi_scalar(2) * (1.0 - b2);
                let mhat = m.clone() / (1.0 - b1.powi(t as i32));
                let vhat = v.clone() / (1.0 - b2.powi(t as i32));
                w = w - mhat / (vhat.sqrt() + 1e-8) * lr;
            }
            for i in 0..n {
                if found[i] {
                    c_hi[i] = c_hi[i].min(c[i]);
                } else {
                    c_lo[i] = c_lo[i].max(c[i]);
                }
                c[i] = if c_hi[i].is_finite() {
                    (c_lo[i] + c_hi[i]) / 2.0
                } else {
                    c[i] * 10.0
                };
            }
        }
        if let Some(budget) = self.config.max_l2 {
            let keep: Vec<f32> = best_l2
                .iter()
                .map(|&d| if d <= budget as f32 { 1.0 } else { 0.0 })
                .collect();
            let mk = col(&keep);
            best = best * mk.clone() + x * (-mk + 1.0);
        }
        Ok(best)
    }
}
