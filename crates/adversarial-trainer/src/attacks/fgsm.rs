//! FGSM: the fast gradient sign method (Goodfellow, Shlens & Szegedy 2015, "Explaining and
//! Harnessing Adversarial Examples").

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Tensor;

use super::base::{Attack, Goal, check_eps, check_goal, goal_tensor, objective_gradient};
use super::bounds::Bounds;
use crate::error::Result;

/// FGSM hyper-parameters.
#[derive(Config, Debug)]
pub struct FgsmConfig {
    /// L∞ radius ε.
    pub eps: f64,
    /// Lower input bound.
    #[config(default = 0.0)]
    pub lower: f64,
    /// Upper input bound.
    #[config(default = 1.0)]
    pub upper: f64,
}

/// One step of size ε along the sign of the input gradient:
/// `x' = clip(x + ε · sign(∇ₓ CE(f(x), y)))` (untargeted) or `x − ε · sign(∇ₓ CE(f(x), t))`
/// (targeted).
#[derive(Debug, Clone)]
pub struct Fgsm {
    config: FgsmConfig,
    bounds: Bounds,
}

impl Fgsm {
    /// Validates the configuration.
    pub fn new(config: FgsmConfig) -> Result<Self> {
        check_eps(config.eps)?;
        let bounds = Bounds::from_config(config.lower, config.upper)?;
        Ok(Self { config, bounds })
    }
    /// The input box it clips to.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }
}

impl Attack for Fgsm {
    fn with_bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    fn name(&self) -> String {
        "fgsm".into()
    }

    fn perturb<M: Classifier + Module>(
        &self,
        model: &M,
        x: Tensor<2>,
        goal: &Goal,
    ) -> Result<Tensor<2>> {
        check_goal(model, &x, goal)?;
        self.bounds.check_width(x.dims()[1])?;
        let model = model.valid();
        let labels = goal_tensor(goal, &x.device());
        let g = objective_gradient(&model, &x, &labels, goal.is_targeted());
        Ok(self.bounds.clip(x + g.sign() * self.config.eps as f32))
    }
}
