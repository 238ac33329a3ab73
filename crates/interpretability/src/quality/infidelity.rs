//! Infidelity (Yeh, Hsieh, Suggala, Inouye & Ravikumar 2019, "On the (In)fidelity and
//! Sensitivity of Explanations"), as Captum's `infidelity` with `normalize=False`:
//!
//! `INFD(φ, f, x) = E_I [ (Iᵀ φ − (f(x) − f(x − I)))² ]`, `I ~ N(0, σ² I)`,
//!
//! estimated with `samples` seeded Gaussian perturbations per row. `f` is the target **logit**
//! (what the gradient attributions explain). Lower is better. All perturbed copies of a row are
//! evaluated as one batch.

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::attribution::{ModelOutput, check_batch, check_positive, target_outputs};
use crate::error::{InterpretError, Result};

/// Infidelity settings.
#[derive(Config, Debug)]
pub struct InfidelityConfig {
    /// Perturbations per row.
    #[config(default = 50)]
    pub samples: usize,
    /// Standard deviation σ of the Gaussian perturbation.
    #[config(default = 0.1)]
    pub noise_std: f64,
    /// Seed of the perturbations.
    #[config(default = 0)]
    pub seed: u64,
    /// Rows per forward pass.
    #[config(default = 1024)]
    pub batch_size: usize,
}

/// Infidelity per row and its mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Infidelity {
    /// Mean over rows.
    pub mean: f64,
    /// Per row.
    pub rows: Vec<f64>,
}

/// Infidelity of attributions `phi` (`[N, F]`) of the target logits of `x` (`[N, F]`).
pub fn infidelity<M: Classifier + Module>(
    model: &M,
    x: &[f32],
    targets: &[usize],
    phi: &[f32],
    config: &InfidelityConfig,
    device: &Device,
) -> Result<Infidelity> {
    let (n, f) = check_batch(model, x, targets)?;
    check_positive("samples", config.samples)?;
    check_positive("batch_size", config.batch_size)?;
    if !(config.noise_std.is_finite() && config.noise_std > 0.0) {
        return Err(InterpretError::invalid(
            "noise_std",
            format!("{} must be > 0", config.noise_std),
        ));
    }
    if phi.len() != x.len() {
        return Err(InterpretError::Shape(format!(
            "{} attributions for {} input values",
            phi.len(),
            x.len()
        )));
    }
    let model = model.valid();
    let fx = target_outputs(
        &model,
        x,
        targets,
        ModelOutput::Logit,
        config.batch_size,
        device,
    );
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let sigma = config.noise_std as f32;
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let xi = &x[i * f..(i + 1) * f];
        let pi = &phi[i * f..(i + 1) * f];
        let mut batch = Vec::with_capacity(config.samples * f);
        let mut dots = Vec::with_capacity(config.samples);
        for _ in 0..config.samples {
            let mut dot = 0f64;
            for (xv, pv) in xi.iter().zip(pi) {
                let e: f32 = StandardNormal.sample(&mut rng);
                let noise = sigma * e;
                dot += (noise * pv) as f64;
                batch.push(xv - noise);
            }
            dots.push(dot);
        }
        let y = target_outputs(
            &model,
            &batch,
            &[targets[i]],
            ModelOutput::Logit,
            config.batch_size,
            device,
        );
        let v = dots
            .iter()
            .zip(&y)
            .map(|(d, yv)| (d - (fx[i] - yv) as f64).powi(2))
            .sum::<f64>()
            / config.samples as f64;
        rows.push(v);
    }
    Ok(Infidelity {
        mean: rows.iter().sum::<f64>() / n.max(1) as f64,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::Attribution;
    use crate::attribution::tests::linear_model;
    use crate::gradient::{GradientXInput, GradientXInputConfig};

    #[test]
    fn the_gradient_of_a_linear_model_has_zero_infidelity() {
        // f(x) − f(x − I) = Iᵀw exactly for a linear logit, so φ = w gives 0 and φ = 0 gives
        // E[(Iᵀw)²] = σ²‖w‖² > 0.
        let dev = Device::flex();
        let m = linear_model(6, 2, 2);
        let x: Vec<f32> = (0..12).map(|i| i as f32 / 6.0).collect();
        let t = [0, 1];
        let (g, _) = crate::attribution::target_gradient(&m, &x, &t, &dev);
        let cfg = InfidelityConfig::new().with_samples(20);
        let good = infidelity(&m, &x, &t, &g, &cfg, &dev).unwrap();
        assert!(good.mean < 1e-8, "{}", good.mean);
        let zero = infidelity(&m, &x, &t, &[0.0; 12], &cfg, &dev).unwrap();
        assert!(zero.mean > 1e-4);
        let gx = GradientXInput::new(GradientXInputConfig::new())
            .unwrap()
            .attribute(&m, &x, &t, &dev)
            .unwrap();
        assert!(infidelity(&m, &x, &t, &gx.values, &cfg, &dev).unwrap().mean > good.mean);
        assert!(infidelity(&m, &x, &t, &g, &cfg.with_noise_std(0.0), &dev).is_err());
    }
}
