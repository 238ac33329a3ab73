//! Saliency maps (Simonyan, Vedaldi & Zisserman 2014, "Deep Inside Convolutional Networks"):
//! the absolute gradient of the target logit with respect to the input, as Captum's `Saliency`
//! with `abs=True`.

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;

use crate::attribution::{
    Attribution, Attributions, check_batch, check_positive, target_gradient_batched,
};
use crate::error::Result;

/// Saliency hyper-parameters.
#[derive(Config, Debug)]
pub struct SaliencyConfig {
    /// Return `|∇|` (true, the usual saliency map) or the signed gradient.
    #[config(default = true)]
    pub abs: bool,
    /// Rows per forward/backward pass.
    #[config(default = 256)]
    pub batch_size: usize,
}

/// `|∂ logit_t / ∂x|`, shape `[N, F]`.
#[derive(Debug, Clone)]
pub struct Saliency {
    config: SaliencyConfig,
}

impl Saliency {
    /// Validates the configuration.
    pub fn new(config: SaliencyConfig) -> Result<Self> {
        check_positive("batch_size", config.batch_size)?;
        Ok(Self { config })
    }
}

impl Attribution for Saliency {
    fn name(&self) -> String {
        "saliency".into()
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
        let (mut g, _) =
            target_gradient_batched(&model, x, targets, self.config.batch_size, device);
        if self.config.abs {
            g.iter_mut().for_each(|v| *v = v.abs());
        }
        Ok(Attributions::new(g, n, f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::tests::linear_model;
    use crate::attribution::{ModelOutput, target_outputs};

    #[test]
    fn saliency_of_a_linear_model_is_the_absolute_weight() {
        let dev = Device::flex();
        let m = linear_model(4, 3, 2);
        let x = [0.1, 0.2, 0.3, 0.4, -1.0, 2.0, 0.0, 1.0];
        let a = Saliency::new(SaliencyConfig::new())
            .unwrap()
            .attribute(&m, &x, &[2, 2], &dev)
            .unwrap();
        let f0 = target_outputs(&m, &[0.0; 4], &[2], ModelOutput::Logit, 4, &dev)[0];
        for j in 0..4 {
            let mut e = [0.0; 4];
            e[j] = 1.0;
            let w = target_outputs(&m, &e, &[2], ModelOutput::Logit, 4, &dev)[0] - f0;
            assert!((a.values[j] - w.abs()).abs() < 1e-5);
            assert!((a.values[4 + j] - w.abs()).abs() < 1e-5);
        }
        assert!(Saliency::new(SaliencyConfig::new().with_batch_size(0)).is_err());
    }
}
