//! Gradient × input (Shrikumar et al. 2016, "Not Just a Black Box"): `x ⊙ ∂ logit_t / ∂x`, as
//! Captum's `InputXGradient`. For a linear logit it is the exact contribution `w_j·x_j`.

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;

use crate::attribution::{
    Attribution, Attributions, check_batch, check_positive, target_gradient_batched,
};
use crate::error::Result;

/// Gradient × input hyper-parameters.
#[derive(Config, Debug)]
pub struct GradientXInputConfig {
    /// Rows per forward/backward pass.
    #[config(default = 256)]
    pub batch_size: usize,
}

/// `x ⊙ ∇ₓ logit_t(x)`, shape `[N, F]`.
#[derive(Debug, Clone)]
pub struct GradientXInput {
    config: GradientXInputConfig,
}

impl GradientXInput {
    /// Validates the configuration.
    pub fn new(config: GradientXInputConfig) -> Result<Self> {
        check_positive("batch_size", config.batch_size)?;
        Ok(Self { config })
    }
}

impl Attribution for GradientXInput {
    fn name(&self) -> String {
        "gradient-x-input".into()
    }

    fn attribute<M: Classifier + Module>(
        &self,
        model: &M,
        x: &[f32],
        targets: &[usize],
        device: &Device,
    ) -> Result<Attributions> {
        let (n, f) = check_batch(model, x, targets)?;
        let model = model.valid();
        let (g, _) = target_gradient_batched(&model, x, targets, self.config.batch_size, device);
        let values = g.iter().zip(x).map(|(g, x)| g * x).collect();
        Ok(Attributions::new(values, n, f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::tests::linear_model;
    use crate::attribution::{ModelOutput, target_outputs};

    #[test]
    fn linear_model_gives_weight_times_input() {
        let dev = Device::flex();
        let m = linear_model(3, 2, 5);
        let x = [0.5, -2.0, 3.0];
        let a = GradientXInput::new(GradientXInputConfig::new())
            .unwrap()
            .attribute(&m, &x, &[0], &dev)
            .unwrap();
        let f0 = target_outputs(&m, &[0.0; 3], &[0], ModelOutput::Logit, 4, &dev)[0];
        let fx = target_outputs(&m, &x, &[0], ModelOutput::Logit, 4, &dev)[0];
        // Σ w_j x_j = f(x) − f(0) for a linear logit.
        let sum: f32 = a.values.iter().sum();
        assert!((sum - (fx - f0)).abs() < 1e-4, "{sum} vs {}", fx - f0);
    }
}
