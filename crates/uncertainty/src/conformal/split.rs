//! The split-conformal predictor: the calibrated threshold `q̂` and the prediction sets
//! `{y : s(x, y) ≤ q̂}`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::scores::{ConformalConfig, score};
use crate::error::Result;

/// A calibrated split-conformal predictor.
#[derive(Debug, Clone)]
pub struct SplitConformal {
    config: ConformalConfig,
    /// The calibrated threshold `q̂` (`+∞` when the calibration set is too small for `α`).
    pub qhat: f64,
    /// Calibration rows used.
    pub n_calibration: usize,
}

impl SplitConformal {
    /// Calibrates on probabilities `[n, C]` with their labels.
    pub fn calibrate(
        config: ConformalConfig,
        probs: &[f64],
        labels: &[usize],
        classes: usize,
    ) -> Result<Self> {
        config.validate()?;
        crate::metrics::check_probs(probs, labels, classes)?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut scores: Vec<f64> = labels
            .iter()
            .enumerate()
            .map(|(i, &y)| {
                let u = rng.random::<f64>();
                score(&config, &probs[i * classes..(i + 1) * classes], y, u)
            })
            .collect();
        let qhat = conformal_quantile(&mut scores, config.alpha);
        Ok(Self {
            config,
            qhat,
            n_calibration: labels.len(),
        })
    }

    /// Prediction sets (class indices, ascending) for probabilities `[m, C]`. `seed` drives the
    /// per-row randomisation of APS/RAPS.
    pub fn predict_sets(&self, probs: &[f64], classes: usize, seed: u64) -> Vec<Vec<usize>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        probs
            .chunks(classes)
            .map(|row| {
                let u = rng.random::<f64>();
                (0..classes)
                    .filter(|&y| score(&self.config, row, y, u) <= self.qhat)
                    .collect()
            })
            .collect()
    }
}

/// The `⌈(n + 1)(1 − α)⌉`-th smallest score (`+∞` when that exceeds `n`). Sorts `scores`.
pub fn conformal_quantile(scores: &mut [f64], alpha: f64) -> f64 {
    let n = scores.len();
    let k = (((n + 1) as f64) * (1.0 - alpha) - 1e-9).ceil() as usize;
    if k == 0 {
        return f64::NEG_INFINITY;
    }
    if k > n {
        return f64::INFINITY;
    }
    scores.sort_by(f64::total_cmp);
    scores[k - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_is_the_ceil_n_plus_one_rank() {
        // n = 9, α = .1: k = ⌈10 · .9⌉ = 9 → the 9th smallest (the largest).
        let mut s: Vec<f64> = (1..=9).map(f64::from).collect();
        assert_eq!(conformal_quantile(&mut s, 0.1), 9.0);
        // n = 8, α = .1: k = ⌈9 · .9⌉ = ⌈8.1⌉ = 9 > 8 → +∞.
        let mut s: Vec<f64> = (1..=8).map(f64::from).collect();
        assert_eq!(conformal_quantile(&mut s, 0.1), f64::INFINITY);
        // n = 19, α = .2: k = ⌈20 · .8⌉ = 16 (exact product, no spurious round-up).
        let mut s: Vec<f64> = (1..=19).map(f64::from).collect();
        assert_eq!(conformal_quantile(&mut s, 0.2), 16.0);
    }
}
