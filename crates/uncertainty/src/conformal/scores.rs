//! Non-conformity scores (LAC, APS, RAPS) and the settings of split conformal prediction.

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::error::{Result, UncertaintyError};

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
                format!("{:?} must be in (0, 1)", self.alpha),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(score: ConformalScore) -> ConformalConfig {
        ConformalConfig::new()
            .with_score(score)
            .with_randomized(false)
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
}
