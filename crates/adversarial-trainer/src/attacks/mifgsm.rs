//! MI-FGSM: momentum iterative FGSM (Dong et al. 2018, "Boosting Adversarial Attacks with
//! Momentum").

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Tensor;

use super::base::{
    Attack, Goal, check_eps, check_goal, check_step_size, goal_tensor, objective_gradient,
    project_linf, row_l1,
};
use super::bounds::Bounds;
use crate::error::{MAX_STEPS, Result, check_count};

/// MI-FGSM hyper-parameters. Defaults: torchattacks' recipe (10 steps, μ = 1) with α = 0.03,
/// i.e. ε/10 for MNIST's ε = 0.3.
#[derive(Config, Debug)]
pub struct MiFgsmConfig {
    /// L∞ radius ε.
    pub eps: f64,
    /// Number of steps.
    #[config(default = 10)]
    pub steps: usize,
    /// Step size α.
    #[config(default = 0.03)]
    pub step_size: f64,
    /// Momentum decay μ.
    #[config(default = 1.0)]
    pub decay: f64,
    /// Lower input bound.
    #[config(default = 0.0)]
    pub lower: f64,
    /// Upper input bound.
    #[config(default = 1.0)]
    pub upper: f64,
}

/// `g ← μ·g + ∇/‖∇‖₁` (per row), `x' ← Π_ε(x' + α·sign(g))`, clipped to the bounds. No random
/// start.
#[derive(Debug, Clone)]
pub struct MiFgsm {
    config: MiFgsmConfig,
    bounds: Bounds,
}

impl MiFgsm {
    /// Validates the configuration.
    pub fn new(config: MiFgsmConfig) -> Result<Self> {
        check_eps(config.eps)?;
        check_count("steps", config.steps, 0, MAX_STEPS)?;
        check_step_size("step_size", config.step_size)?;
        let bounds = Bounds::from_config(config.lower, config.upper)?;
        Ok(Self { config, bounds })
    }

    /// The input box it clips to.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }
}

impl Attack for MiFgsm {
    fn with_bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    fn name(&self) -> String {
        "mifgsm".into()
    }

    fn perturb<M: Classifier + Module>(
        &self,
        model: &M,
        x: Tensor<2>,
        goal: &Goal,
    ) -> Result<Tensor<2>> {
        check_goal(model, &x, goal)?;
        let model = model.valid();
        self.bounds.check_width(x.dims()[1])?;
        let labels = goal_tensor(goal, &x.device());
        let mut momentum = x.zeros_like();
        let mut x_adv = x.clone();
        for _ in 0..self.config.steps {
            let g = objective_gradient(&model, &x_adv, &labels, goal.is_targeted());
            momentum = momentum * self.config.decay as f32 + g.clone() / row_l1(g);
            x_adv = project_linf(
                x_adv + momentum.clone().sign() * self.config.step_size as f32,
                &x,
                self.config.eps as f32,
                &self.bounds,
            );
        }
        Ok(x_adv)
    }
}
