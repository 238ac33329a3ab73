//! SmoothGrad (Smilkov et al. 2017, "SmoothGrad: removing noise by adding noise"), SmoothGrad²
//! and VarGrad (Adebayo et al. 2018, "Local Explanation Methods for Deep Neural Networks Lack
//! Sensitivity to Parameter Values"), as Captum's `NoiseTunnel` around the plain input gradient.
//!
//! For `S` noisy copies `x + ε_s`, `ε_s ~ N(0, σ²)` with `σ = noise_level · (max(x) − min(x))`
//! per row (the paper's relative noise level; Captum takes an absolute σ instead), and `g_s` the
//! gradient of the target logit at the copy:
//! SmoothGrad `= mean_s g_s`, SmoothGrad² `= mean_s g_s²`, VarGrad `= mean_s g_s² − (mean_s g_s)²`.
//! Noise is drawn on the host from `ChaCha8Rng(seed)`, so a seed gives the same result on every
//! device; copies are evaluated in chunks of `batch_size` rows.

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::attribution::{
    Attribution, Attributions, MAX_PATH_SAMPLES, check_batch, check_count, check_positive,
    target_gradient,
};
use crate::error::{InterpretError, Result};

/// Which statistic of the noisy gradients is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmoothGradVariant {
    /// Mean gradient.
    SmoothGrad,
    /// Mean squared gradient.
    SmoothGradSq,
    /// Variance of the gradient.
    VarGrad,
}

/// SmoothGrad hyper-parameters.
#[derive(Config, Debug)]
pub struct SmoothGradConfig {
    /// Noisy copies per input `S`.
    #[config(default = 50)]
    pub samples: usize,
    /// Noise σ as a fraction of the row's value range (the paper recommends 0.1–0.2).
    #[config(default = 0.15)]
    pub noise_level: f64,
    /// Statistic of the noisy gradients.
    #[config(default = "SmoothGradVariant::SmoothGrad")]
    pub variant: SmoothGradVariant,
    /// Seed of the noise.
    #[config(default = 0)]
    pub seed: u64,
    /// Noisy copies per forward/backward pass.
    #[config(default = 256)]
    pub batch_size: usize,
}

/// SmoothGrad / SmoothGrad² / VarGrad of the target logit.
#[derive(Debug, Clone)]
pub struct SmoothGrad {
    config: SmoothGradConfig,
}

impl SmoothGrad {
    /// Validates the configuration.
    pub fn new(config: SmoothGradConfig) -> Result<Self> {
        check_count("samples", config.samples, MAX_PATH_SAMPLES)?;
        check_positive("batch_size", config.batch_size)?;
        if !(config.noise_level.is_finite() && config.noise_level >= 0.0) {
            return Err(InterpretError::invalid(
                "noise_level",
                format!("{} must be finite and ≥ 0", config.noise_level),
            ));
        }
        Ok(Self { config })
    }
}

impl Attribution for SmoothGrad {
    fn name(&self) -> String {
        match self.config.variant {
            SmoothGradVariant::SmoothGrad => "smoothgrad",
            SmoothGradVariant::SmoothGradSq => "smoothgrad-sq",
            SmoothGradVariant::VarGrad => "vargrad",
        }
        .into()
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
        let s = self.config.samples;
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        let sigma: Vec<f32> = x
            .chunks(f.max(1))
            .map(|r| {
                let (lo, hi) = r
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                        (l.min(v), h.max(v))
                    });
                (self.config.noise_level as f32) * (hi - lo).max(0.0)
            })
            .collect();
        let mut sum = vec![0f64; n * f];
        let mut sum_sq = vec![0f64; n * f];
        let total = n * s;
        let mut start = 0;
        while start < total {
            let end = (start + self.config.batch_size).min(total);
            let mut batch = Vec::with_capacity((end - start) * f);
            let mut tgt = Vec::with_capacity(end - start);
            for r in start..end {
                let i = r / s;
                batch.extend(x[i * f..(i + 1) * f].iter().map(|&v| {
                    let e: f32 = StandardNormal.sample(&mut rng);
                    v + sigma[i] * e
                }));
                tgt.push(targets[i]);
            }
            let (g, _) = target_gradient(&model, &batch, &tgt, device);
            for (j, r) in (start..end).enumerate() {
                let i = r / s;
                for ((a, b), &gv) in sum[i * f..(i + 1) * f]
                    .iter_mut()
                    .zip(&mut sum_sq[i * f..(i + 1) * f])
                    .zip(&g[j * f..(j + 1) * f])
                {
                    *a += gv as f64;
                    *b += (gv as f64) * (gv as f64);
                }
            }
            start = end;
        }
        let sf = s as f64;
        let values = sum
            .iter()
            .zip(&sum_sq)
            .map(|(&a, &b)| {
                let (m, m2) = (a / sf, b / sf);
                (match self.config.variant {
                    SmoothGradVariant::SmoothGrad => m,
                    SmoothGradVariant::SmoothGradSq => m2,
                    SmoothGradVariant::VarGrad => (m2 - m * m).max(0.0),
                }) as f32
            })
            .collect();
        Ok(Attributions::new(values, n, f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::tests::linear_model;

    #[test]
    fn linear_model_smoothgrad_is_the_gradient_and_vargrad_is_zero() {
        // The gradient of a linear logit is constant, so noise changes nothing.
        let dev = Device::flex();
        let m = linear_model(4, 2, 1);
        let x = [0.0, 1.0, 2.0, 3.0];
        let run = |variant| {
            SmoothGrad::new(
                SmoothGradConfig::new()
                    .with_samples(7)
                    .with_variant(variant)
                    .with_batch_size(3),
            )
            .unwrap()
            .attribute(&m, &x, &[1], &dev)
            .unwrap()
            .values
        };
        let (g, _) = target_gradient(&m.valid(), &x, &[1], &dev);
        let sg = run(SmoothGradVariant::SmoothGrad);
        let sq = run(SmoothGradVariant::SmoothGradSq);
        let vg = run(SmoothGradVariant::VarGrad);
        for j in 0..4 {
            assert!((sg[j] - g[j]).abs() < 1e-5);
            assert!((sq[j] - g[j] * g[j]).abs() < 1e-5);
            assert!(vg[j].abs() < 1e-5);
        }
    }

    #[test]
    fn seeded_noise_reproduces_and_seeds_differ_on_a_nonlinear_model() {
        let dev = Device::flex();
        let m = aegis_model::ModelConfig::new(aegis_model::Architecture::Mlp, vec![6], 3)
            .with_hidden(vec![16])
            .init(&dev, 2)
            .unwrap();
        let x: Vec<f32> = (0..12).map(|i| (i as f32 * 0.37).sin()).collect();
        let run = |seed| {
            SmoothGrad::new(
                SmoothGradConfig::new()
                    .with_samples(10)
                    .with_seed(seed)
                    .with_noise_level(0.5),
            )
            .unwrap()
            .attribute(&m, &x, &[0, 2], &dev)
            .unwrap()
            .values
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
        assert!(SmoothGrad::new(SmoothGradConfig::new().with_noise_level(-1.0)).is_err());
    }
}
