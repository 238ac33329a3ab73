//! Square attack, L∞ (Andriushchenko et al. 2020, "Square Attack: a query-efficient black-box
//! adversarial attack via random search"). Uses only the model's outputs, no gradients: a
//! strong check against gradient masking.

use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::{Tensor, TensorData};
use aegis_model::{Classifier, batch_tensor, to_host};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::base::{Attack, Goal, check_eps, check_goal, check_row_keys, row_rng};
use super::bounds::Bounds;
use crate::error::{MAX_STEPS, Result, check_count};

/// Square attack hyper-parameters.
#[derive(Config, Debug)]
pub struct SquareConfig {
    /// L∞ radius ε.
    pub eps: f64,
    /// Query budget per sample (the first query is the stripe initialisation).
    #[config(default = 5000)]
    pub queries: usize,
    /// Initial fraction of pixels changed per square (the paper uses 0.8 for MNIST, 0.05 for
    /// ImageNet).
    #[config(default = 0.8)]
    pub p_init: f64,
    /// Seed of the random search.
    #[config(default = 0)]
    pub seed: u64,
    /// Lower input bound.
    #[config(default = 0.0)]
    pub lower: f64,
    /// Upper input bound.
    #[config(default = 1.0)]
    pub upper: f64,
}

/// Random search over vertical-stripe initialisation and square-shaped ±ε updates, accepting
/// an update when the margin loss decreases. The margin is `z_y − max_{i≠y} z_i` (untargeted)
/// or `max_{i≠t} z_i − z_t` (targeted); a row is done once it is negative. The square's area
/// follows the paper's piecewise schedule `p_init / 2^k` over the query budget.
#[derive(Debug, Clone)]
pub struct Square {
    config: SquareConfig,
    bounds: Bounds,
    row_keys: Option<Vec<u64>>,
}

/// Fraction of pixels per square at iteration `it` of `n` (the reference schedule, rescaled to
/// 10,000 iterations).
pub fn square_fraction(p_init: f64, it: usize, n: usize) -> f64 {
    let i = (it as f64 / n.max(1) as f64 * 10_000.0) as usize;
    let div = match i {
        0..=10 => 1.0,
        11..=50 => 2.0,
        51..=200 => 4.0,
        201..=500 => 8.0,
        501..=1000 => 16.0,
        1001..=2000 => 32.0,
        2001..=4000 => 64.0,
        4001..=6000 => 128.0,
        6001..=8000 => 256.0,
        _ => 512.0,
    };
    p_init / div
}

impl Square {
    /// Validates the configuration.
    pub fn new(config: SquareConfig) -> Result<Self> {
        check_eps(config.eps)?;
        check_count("queries", config.queries, 0, MAX_STEPS)?;
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

    fn margins<M: Classifier>(
        model: &M,
        rows: &[f32],
        n: usize,
        f: usize,
        goal: &Goal,
        idx: &[usize],
        device: &aegis_model::burn::tensor::Device,
    ) -> Vec<f32> {
        let c = model.num_classes();
        let logits = to_host(model.logits(batch_tensor(rows.to_vec(), n, f, device)));
        logits
            .chunks(c)
            .zip(idx)
            .map(|(z, &i)| {
                let l = goal.labels()[i];
                let other = z
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| *k != l)
                    .map(|(_, v)| *v)
                    .fold(f32::NEG_INFINITY, f32::max);
                if goal.is_targeted() {
                    other - z[l]
                } else {
                    z[l] - other
                }
            })
            .collect()
    }
}

impl Attack for Square {
    fn with_row_keys(mut self, keys: Vec<u64>) -> Self {
        self.row_keys = Some(keys);
        self
    }

    fn with_bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    fn name(&self) -> String {
        "square".into()
    }

    fn perturb<M: Classifier + Module>(
        &self,
        model: &M,
        x: Tensor<2>,
        goal: &Goal,
    ) -> Result<Tensor<2>> {
        check_goal(model, &x, goal)?;
        self.bounds.check_width(x.dims()[1])?;
        check_row_keys(self.row_keys.as_deref(), x.dims()[0])?;
        if self.config.eps == 0.0 {
            return Ok(self.bounds.clip(x)); // nothing to search
        }
        let model = model.valid();
        let device = x.device();
        let [n, f] = x.dims();
        let (ch, h, w) = match model.input_shape() {
            [c, h, w] => (*c, *h, *w),
            _ => (1, 1, f),
        };
        let bounds = &self.bounds;
        let eps = self.config.eps as f32;
        let clean = to_host(x);
        // One stream per row (keyed by its row key, else its place in the batch), so a row's
        // proposals do not depend on the other rows of the batch.
        let mut rngs: Vec<ChaCha8Rng> = match &self.row_keys {
            Some(keys) => keys.iter().map(|&k| row_rng(self.config.seed, k)).collect(),
            None => (0..n as u64)
                .map(|k| row_rng(self.config.seed, k))
                .collect(),
        };
        // Vertical stripes: one random sign per (channel, column), over all rows of the image.
        let mut best = clean.clone();
        for (s, rng) in rngs.iter_mut().enumerate() {
            for c in 0..ch {
                for col in 0..w {
                    let sign = if rng.random_bool(0.5) { eps } else { -eps };
                    for row in 0..h {
                        let j = (c * h + row) * w + col;
                        best[s * f + j] = bounds.clip_value(j, clean[s * f + j] + sign);
                    }
                }
            }
        }
        let all: Vec<usize> = (0..n).collect();
        let mut margin = Self::margins(&model, &best, n, f, goal, &all, &device);
        for it in 1..self.config.queries {
            let active: Vec<usize> = (0..n).filter(|&i| margin[i] >= 0.0).collect();
            if active.is_empty() {
                break;
            }
            let p = square_fraction(self.config.p_init, it, self.config.queries);
            let side = ((p * (h * w) as f64).sqrt().round() as usize).clamp(1, h.max(1));
            let side_w = side.min(w);
            let mut cand = Vec::with_capacity(active.len() * f);
            for &s in &active {
                let rng = &mut rngs[s];
                let mut row_vals = best[s * f..(s + 1) * f].to_vec();
                let r0 = rng.random_range(0..=h - side.min(h));
                let c0 = rng.random_range(0..=w - side_w);
                for c in 0..ch {
                    let sign = if rng.random_bool(0.5) { eps } else { -eps };
                    for row in r0..r0 + side.min(h) {
                        for col in c0..c0 + side_w {
                            let k = (c * h + row) * w + col;
                            row_vals[k] = bounds.clip_value(k, clean[s * f + k] + sign);
                        }
                    }
                }
                cand.extend(row_vals);
            }
            let new_margin = Self::margins(&model, &cand, active.len(), f, goal, &active, &device);
            for (j, &s) in active.iter().enumerate() {
                if new_margin[j] < margin[s] {
                    margin[s] = new_margin[j];
                    best[s * f..(s + 1) * f].copy_from_slice(&cand[j * f..(j + 1) * f]);
                }
            }
        }
        Ok(Tensor::from_data(TensorData::new(best, [n, f]), &device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_size_schedule_halves_in_steps() {
        assert_eq!(square_fraction(0.8, 0, 1000), 0.8);
        assert_eq!(square_fraction(0.8, 3, 1000), 0.4); // i = 30
        assert_eq!(square_fraction(0.8, 999, 1000), 0.8 / 512.0);
    }
}
