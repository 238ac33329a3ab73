//! Max-sensitivity (Yeh et al. 2019, "On the (In)fidelity and Sensitivity of Explanations"),
//! as Captum's `sensitivity_max` with its default uniform perturbation in the L∞ ball:
//!
//! `SENS_max(φ, x) = max_{‖δ‖∞ ≤ r} ‖φ(x + δ) − φ(x)‖₂ / ‖φ(x)‖₂`,
//!
//! the maximum estimated over `samples` seeded draws `δ ~ U[−r, r]^F`. Lower is better. All
//! perturbed copies of all rows are explained in one call of the attribution method (which
//! batches them).

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::attribution::{Attribution, check_batch, check_positive};
use crate::error::{InterpretError, Result};

/// Max-sensitivity settings.
#[derive(Config, Debug)]
pub struct SensitivityConfig {
    /// L∞ radius `r` (Captum's default 0.02).
    #[config(default = 0.02)]
    pub radius: f64,
    /// Perturbations per row (Captum's default 10).
    #[config(default = 10)]
    pub samples: usize,
    /// Seed of the perturbations.
    #[config(default = 0)]
    pub seed: u64,
}

/// Max-sensitivity per row and its mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sensitivity {
    /// Mean over rows.
    pub mean: f64,
    /// Per row.
    pub rows: Vec<f64>,
}

/// Max-sensitivity of `method` at the rows of `x` (`[N, F]`) for classes `targets`.
pub fn sensitivity_max<M: Classifier + Module, A: Attribution>(
    method: &A,
    model: &M,
    x: &[f32],
    targets: &[usize],
    config: &SensitivityConfig,
    device: &Device,
) -> Result<Sensitivity> {
    let (n, f) = check_batch(model, x, targets)?;
    check_positive("samples", config.samples)?;
    if !(config.radius.is_finite() && config.radius > 0.0) {
        return Err(InterpretError::invalid(
            "radius",
            format!("{} must be > 0", config.radius),
        ));
    }
    let base = method.attribute(model, x, targets, device)?;
    let s = config.samples;
    let r = config.radius as f32;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut perturbed = Vec::with_capacity(n * s * f);
    let mut tgt = Vec::with_capacity(n * s);
    for i in 0..n {
        for _ in 0..s {
            perturbed.extend(
                x[i * f..(i + 1) * f]
                    .iter()
                    .map(|&v| v + rng.random_range(-r..=r)),
            );
            tgt.push(targets[i]);
        }
    }
    let pert = method.attribute(model, &perturbed, &tgt, device)?;
    let rows: Vec<f64> = (0..n)
        .map(|i| {
            let b = base.row(i);
            let norm = b.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
            (0..s)
                .map(|k| {
                    let p = pert.row(i * s + k);
                    let d = p
                        .iter()
                        .zip(b)
                        .map(|(a, b)| ((a - b) as f64).powi(2))
                        .sum::<f64>()
                        .sqrt();
                    if norm > 0.0 { d / norm } else { d }
                })
                .fold(0.0, f64::max)
        })
        .collect();
    Ok(Sensitivity {
        mean: rows.iter().sum::<f64>() / n.max(1) as f64,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::tests::linear_model;
    use crate::gradient::{GradientXInput, GradientXInputConfig};
    use crate::gradient::{Saliency, SaliencyConfig};

    #[test]
    fn constant_gradient_has_zero_sensitivity_and_gradient_x_input_does_not() {
        // A linear logit's gradient never changes; x ⊙ w changes by at most r·|w| per feature.
        let dev = Device::flex();
        let m = linear_model(5, 2, 1);
        let x: Vec<f32> = (0..10).map(|i| 0.2 + i as f32 / 10.0).collect();
        let t = [0, 1];
        let cfg = SensitivityConfig::new().with_samples(5);
        let sal = Saliency::new(SaliencyConfig::new()).unwrap();
        assert!(sensitivity_max(&sal, &m, &x, &t, &cfg, &dev).unwrap().mean < 1e-6);
        let gx = GradientXInput::new(GradientXInputConfig::new()).unwrap();
        let s = sensitivity_max(&gx, &m, &x, &t, &cfg, &dev).unwrap();
        assert!(s.mean > 0.0 && s.mean < 0.2, "{}", s.mean);
        assert_eq!(s, sensitivity_max(&gx, &m, &x, &t, &cfg, &dev).unwrap());
    }
}
