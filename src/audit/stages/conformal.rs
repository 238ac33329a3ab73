//! Stage `conformal`: the uncertainty crate's `conformal` (split conformal prediction sets of
//! the model's softmax, averaged over random calibration / test splits) at each α of the
//! settings, each written to `alpha-<α>/conformal.json`.

use aegis_uncertainty::{ConformalConfig, ConformalRunConfig, EstimatorConfig, conformal};
use serde::{Deserialize, Serialize};

use super::context::StageContext;
use crate::audit::cache::StageCache;
use crate::error::Result;

/// The numbers at one α.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformalLevel {
    /// Miscoverage α.
    pub alpha: f64,
    /// `1 − α`.
    pub target_coverage: f64,
    /// The most split conformal covers in expectation: `1 − α + 1/(n_calibration + 1)`.
    pub max_expected_coverage: f64,
    /// Test coverage, mean over the splits.
    pub mean_coverage: f64,
    /// Its standard deviation over the splits.
    pub std_coverage: f64,
    /// Mean prediction-set size.
    pub mean_set_size: f64,
    /// Mean fraction of empty sets.
    pub empty_fraction: f64,
    /// Smallest per-class coverage, over the classes with test items.
    pub min_class_coverage: f64,
    /// Calibration rows per split.
    pub n_calibration: usize,
    /// Test rows per split.
    pub n_test: usize,
    /// The mean coverage lies in `[1 − α, 1 − α + 1/(n_calibration + 1)]`, widened by the
    /// tolerance on both sides (the finite-sample range of split conformal).
    pub within_tolerance: bool,
}

/// What the stage measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformalResult {
    /// Non-conformity score.
    pub score: String,
    /// Random splits per level.
    pub splits: usize,
    /// The tolerance of the coverage check.
    pub tolerance: f64,
    /// One entry per α.
    pub levels: Vec<ConformalLevel>,
}

/// Runs `conformal` once per α.
pub fn run(ctx: &StageContext, cache: &StageCache) -> Result<ConformalResult> {
    let s = &ctx.settings.conformal;
    let bar = ctx.bar("conformal", s.alphas.len() as u64, "level");
    let mut levels = Vec::new();
    for &alpha in &s.alphas {
        let cfg = ConformalRunConfig::new(
            ConformalConfig::new()
                .with_alpha(alpha)
                .with_score(s.score)
                .with_seed(s.seed),
            EstimatorConfig::new(),
        )
        .with_splits(s.splits)
        .with_calibration_fraction(s.calibration_fraction);
        let out = cache.dir().join(format!("alpha-{alpha}"));
        let r = conformal(ctx.run, &cfg, &out, false)?;
        let k = r.splits.len().max(1) as f64;
        let upper = r.target_coverage + 1.0 / (r.n_calibration as f64 + 1.0);
        levels.push(ConformalLevel {
            alpha,
            target_coverage: r.target_coverage,
            max_expected_coverage: upper,
            mean_coverage: r.mean_coverage,
            std_coverage: r.std_coverage,
            mean_set_size: r.mean_set_size,
            empty_fraction: r.splits.iter().map(|x| x.empty_fraction).sum::<f64>() / k,
            min_class_coverage: r
                .class_coverage
                .iter()
                .flatten()
                .copied()
                .fold(1.0, f64::min),
            n_calibration: r.n_calibration,
            n_test: r.n_test,
            within_tolerance: r.mean_coverage >= r.target_coverage - s.tolerance
                && r.mean_coverage <= upper + s.tolerance,
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(ConformalResult {
        score: format!("{:?}", s.score).to_lowercase(),
        splits: s.splits,
        tolerance: s.tolerance,
        levels,
    })
}
