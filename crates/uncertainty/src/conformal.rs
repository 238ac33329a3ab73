//! Split conformal prediction sets for classification (Vovk et al. 2005; Angelopoulos &
//! Bates 2021) with three non-conformity scores:
//! - **LAC** (Sadinle, Lei & Wasserman 2019): `s(x, y) = 1 − p_y`.
//! - **APS** (Romano, Sesia & Candès 2020): the probability mass of the classes ranked at or
//!   above `y` (sorted by probability, ties by class index); randomised:
//!   `s = mass above y + u·p_y` with `u ~ U(0, 1)`, else `mass above y + p_y`.
//! - **RAPS** (Angelopoulos, Bates, Malik & Jordan 2021): APS plus `λ·max(0, rank(y) − k_reg)`
//!   with `rank` 1-based.
//!
//! Calibration: with `n` calibration scores, `q̂` is the `k`-th smallest for
//! `k = ⌈(n + 1)(1 − α)⌉`; when `k > n`, `q̂ = +∞` (every class). The prediction set is
//! `{y : s(x, y) ≤ q̂}` (for randomised scores with one `u` per test input). Under
//! exchangeability, `P(y ∈ set) ≥ 1 − α` (and `≤ 1 − α + 1/(n + 1)` without ties).

use burn::config::Config;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Result, UncertaintyError};
use crate::estimator::gather_rows;
use crate::metrics::accuracy;

/// The non-conformity score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ConformalScore {
    /// `1 − p_y` (smallest sets on average; may return empty sets).
    Lac,
    /// Adaptive prediction sets.
    Aps,
    /// Regularised adaptive prediction sets.
    Raps,
}

/// Settings of split conformal prediction.
#[derive(Config, Debug)]
pub struct ConformalConfig {
    /// Miscoverage level `α` in (0, 1): sets cover the label with probability ≥ 1 − α.
    #[config(default = 0.1)]
    pub alpha: f64,
    /// The score.
    #[config(default = "ConformalScore::Lac")]
    pub score: ConformalScore,
    /// APS/RAPS: randomise the score of the label's own class (`u·p_y`); exact coverage in
    /// expectation, smaller sets.
    #[config(default = true)]
    pub randomized: bool,
    /// RAPS penalty `λ`.
    #[config(default = 0.01)]
    pub raps_lambda: f64,
    /// RAPS: ranks up to `k_reg` are not penalised.
    #[config(default = 2)]
    pub raps_k_reg: usize,
    /// Seed of the randomisation `u`.
    #[config(default = 0)]
    pub seed: u64,
}

impl ConformalConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(UncertaintyError::invalid(
                "alpha",
                format!("{} must be in (0, 1)", self.alpha),
            ));
        }
        if !(self.raps_lambda.is_finite() && self.raps_lambda >= 0.0) {
            return Err(UncertaintyError::invalid(
                "raps_lambda",
                "must be finite and ≥ 0",
            ));
        }
        Ok(())
    }
}

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

/// The score of class `y` for one row of probabilities, with randomisation `u ∈ [0, 1)`.
pub fn score(config: &ConformalConfig, row: &[f64], y: usize, u: f64) -> f64 {
    match config.score {
        ConformalScore::Lac => 1.0 - row[y],
        ConformalScore::Aps | ConformalScore::Raps => {
            // Classes ranked before y: higher probability, or equal and a lower index.
            let above: Vec<usize> = (0..row.len())
                .filter(|&c| row[c] > row[y] || (row[c] == row[y] && c < y))
                .collect();
            let mass: f64 = above.iter().map(|&c| row[c]).sum();
            let own = if config.randomized {
                u * row[y]
            } else {
                row[y]
            };
            let mut s = mass + own;
            if config.score == ConformalScore::Raps {
                let rank = above.len() + 1;
                s += config.raps_lambda * rank.saturating_sub(config.raps_k_reg) as f64;
            }
            s
        }
    }
}

/// Coverage and set size of one random calibration/test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformalSplit {
    /// Fraction of test rows whose set holds the label.
    pub coverage: f64,
    /// Mean set size on the test rows.
    pub mean_set_size: f64,
    /// Fraction of empty sets.
    pub empty_fraction: f64,
    /// The calibrated threshold.
    pub qhat: f64,
}

/// `conformal.json`: split conformal over `K` random calibration/test splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformalReport {
    /// `α`.
    pub alpha: f64,
    /// The score.
    pub score: ConformalScore,
    /// Target coverage `1 − α`.
    pub target_coverage: f64,
    /// Mean test coverage over the splits.
    pub mean_coverage: f64,
    /// Standard deviation of the test coverage over the splits.
    pub std_coverage: f64,
    /// Mean prediction-set size over the splits.
    pub mean_set_size: f64,
    /// Coverage per class (mean over splits), a check of conditional coverage.
    pub class_coverage: Vec<f64>,
    /// Accuracy of the arg-max prediction on all rows (for reference).
    pub top1_accuracy: f64,
    /// Calibration rows per split.
    pub n_calibration: usize,
    /// Test rows per split.
    pub n_test: usize,
    /// Every split.
    pub splits: Vec<ConformalSplit>,
}

/// Runs split conformal `splits` times: each split shuffles the rows with seed
/// `config.seed + k`, calibrates on the first `calibration_fraction` of them and measures
/// coverage and set size on the rest.
pub fn evaluate_conformal(
    config: &ConformalConfig,
    probs: &[f64],
    labels: &[usize],
    classes: usize,
    splits: usize,
    calibration_fraction: f64,
) -> Result<ConformalReport> {
    config.validate()?;
    let n = crate::metrics::check_probs(probs, labels, classes)?;
    if splits == 0 {
        return Err(UncertaintyError::invalid("splits", "must be at least 1"));
    }
    let n_cal = (n as f64 * calibration_fraction).round() as usize;
    if !(calibration_fraction > 0.0 && calibration_fraction < 1.0) || n_cal == 0 || n_cal >= n {
        return Err(UncertaintyError::invalid(
            "calibration_fraction",
            format!("{calibration_fraction} of {n} rows leaves no calibration or no test rows"),
        ));
    }
    let gather = |idx: &[usize]| -> (Vec<f64>, Vec<usize>) {
        (
            gather_rows(probs, classes, idx),
            gather_rows(labels, 1, idx),
        )
    };
    let mut out = Vec::with_capacity(splits);
    let mut class_hits = vec![0.0; classes];
    let mut class_counts = vec![0.0; classes];
    for k in 0..splits {
        let seed = config.seed.wrapping_add(k as u64);
        let (cal, test) = aegis_model::data::shuffled_split(n, n_cal, seed);
        let (cal_p, cal_y) = gather(&cal);
        let (test_p, test_y) = gather(&test);
        let cp =
            SplitConformal::calibrate(config.clone().with_seed(seed), &cal_p, &cal_y, classes)?;
        let sets = cp.predict_sets(&test_p, classes, seed ^ 0x5eed);
        let mut hits = 0usize;
        for (set, &y) in sets.iter().zip(&test_y) {
            let hit = set.contains(&y);
            hits += usize::from(hit);
            class_hits[y] += f64::from(u8::from(hit));
            class_counts[y] += 1.0;
        }
        let m = test_y.len() as f64;
        out.push(ConformalSplit {
            coverage: hits as f64 / m,
            mean_set_size: sets.iter().map(Vec::len).sum::<usize>() as f64 / m,
            empty_fraction: sets.iter().filter(|s| s.is_empty()).count() as f64 / m,
            qhat: cp.qhat,
        });
    }
    let mean = |f: &dyn Fn(&ConformalSplit) -> f64| out.iter().map(f).sum::<f64>() / splits as f64;
    let mean_coverage = mean(&|s| s.coverage);
    let var = out
        .iter()
        .map(|s| (s.coverage - mean_coverage).powi(2))
        .sum::<f64>()
        / (splits.max(2) - 1) as f64;
    Ok(ConformalReport {
        alpha: config.alpha,
        score: config.score,
        target_coverage: 1.0 - config.alpha,
        mean_coverage,
        std_coverage: var.sqrt(),
        mean_set_size: mean(&|s| s.mean_set_size),
        class_coverage: class_hits
            .iter()
            .zip(&class_counts)
            .map(|(h, c)| if *c > 0.0 { h / c } else { 0.0 })
            .collect(),
        top1_accuracy: accuracy(probs, labels, classes)?,
        n_calibration: n_cal,
        n_test: n - n_cal,
        splits: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(score: ConformalScore) -> ConformalConfig {
        ConformalConfig::new()
            .with_score(score)
            .with_randomized(false)
    }

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

    #[test]
    fn scores_match_hand_computation() {
        // p = (.5, .3, .2). LAC for y = 1: .7. APS (not randomised) for y = 1: .5 + .3 = .8;
        // for y = 2: 1.0. RAPS λ = .1, k_reg = 1, y = 2: rank 3 → 1.0 + .1·2 = 1.2.
        let p = [0.5, 0.3, 0.2];
        assert!((score(&cfg(ConformalScore::Lac), &p, 1, 0.0) - 0.7).abs() < 1e-12);
        assert!((score(&cfg(ConformalScore::Aps), &p, 1, 0.0) - 0.8).abs() < 1e-12);
        let raps = cfg(ConformalScore::Raps)
            .with_raps_lambda(0.1)
            .with_raps_k_reg(1);
        assert!((score(&raps, &p, 2, 0.0) - 1.2).abs() < 1e-12);
        // Randomised APS with u = .5 for y = 1: .5 + .5·.3 = .65.
        let rand = ConformalConfig::new().with_score(ConformalScore::Aps);
        assert!((score(&rand, &p, 1, 0.5) - 0.65).abs() < 1e-12);
    }

    #[test]
    fn coverage_is_near_the_target_for_a_calibrated_model() {
        // A perfectly calibrated synthetic classifier: p drawn at random, labels drawn from p.
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (c, n) = (5, 4000);
        let (mut probs, mut labels) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let z: Vec<f64> = (0..c).map(|_| rng.random_range(-3.0..3.0)).collect();
            let p = crate::estimator::softmax(&z);
            let mut u: f64 = rng.random();
            let mut y = c - 1;
            for (k, pk) in p.iter().enumerate() {
                if u < *pk {
                    y = k;
                    break;
                }
                u -= pk;
            }
            probs.extend(p);
            labels.push(y);
        }
        for score in [
            ConformalScore::Lac,
            ConformalScore::Aps,
            ConformalScore::Raps,
        ] {
            let cfg = ConformalConfig::new().with_score(score).with_alpha(0.1);
            let r = evaluate_conformal(&cfg, &probs, &labels, c, 10, 0.5).unwrap();
            assert!((0.88..=0.93).contains(&r.mean_coverage), "{score:?}: {r:?}");
            assert!(r.mean_set_size > 1.0 && r.mean_set_size < c as f64);
        }
        let bad = ConformalConfig::new().with_alpha(1.5);
        assert!(evaluate_conformal(&bad, &probs, &labels, c, 3, 0.5).is_err());
        assert!(evaluate_conformal(&ConformalConfig::new(), &probs, &labels, c, 3, 1.0).is_err());
    }
}
