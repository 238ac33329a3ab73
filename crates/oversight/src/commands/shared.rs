//! What several commands share: the default output directory, the model's identity
//! ([`model_hash`]), the seeded calibration/deployment split ([`split_rows`], and how many rows
//! hold a given calibration share: [`rows_for_calibration`]) and the κ of both
//! halves of a split ([`confidences`], with the APS conformal predictor of [`conformal_for`]).

use std::path::{Path, PathBuf};

use aegis_model::RunDir;
use aegis_model::data::shuffled_split;
use aegis_uncertainty::{
    ConformalConfig, ConformalScore, PredictiveSamples, SplitConformal, gather_rows,
};

use crate::confidence::{ConfidenceKind, confidence};
use crate::error::Result;

/// SHA-256 (hex) of a run's `model.bpk`: the identity of the model in queues and audit logs.
pub fn model_hash(run: &RunDir) -> Result<String> {
    Ok(run.weights_sha256()?)
}

/// Seeded split of `0..n`: `(calibration, deployment)`, the first `round(n·fraction)` shuffled
/// rows for calibration.
pub fn split_rows(n: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    shuffled_split(n, (n as f64 * fraction).round() as usize, seed)
}

/// The fewest rows `n` whose calibration share `round(n·fraction)` of [`split_rows`] holds
/// `m` rows and leaves at least one deployment row (`fraction` in `(0, 1)`).
pub fn rows_for_calibration(m: usize, fraction: f64) -> usize {
    let share = |n: usize| (n as f64 * fraction).round() as usize;
    // From just below the real-valued answers, `(m − ½) / fraction` for the share and
    // `½ / (1 − fraction)` for a deployment row, up to the first that fits.
    let below = |x: f64| (x.floor().max(0.0) as usize).saturating_sub(2);
    let mut n = below((m as f64 - 0.5) / fraction).max(below(0.5 / (1.0 - fraction)));
    while n < usize::MAX && (share(n) < m || share(n) >= n) {
        n += 1;
    }
    n
}

/// Conformal sets for the queue: APS without randomisation (never empty), α = `alpha`.
pub(super) fn conformal_for(
    cal: &PredictiveSamples,
    labels: &[usize],
    alpha: f64,
) -> Result<SplitConformal> {
    Ok(SplitConformal::calibrate(
        ConformalConfig::new()
            .with_alpha(alpha)
            .with_score(ConformalScore::Aps)
            .with_randomized(false),
        &cal.mean_probs(),
        labels,
        cal.classes,
    )?)
}

/// κ of the calibration and deployment rows (the conformal predictor of `set-size` is
/// calibrated on the calibration rows).
pub(super) fn confidences(
    kind: ConfidenceKind,
    all: &PredictiveSamples,
    labels: &[usize],
    cal: &[usize],
    deploy: &[usize],
    alpha: f64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (sc, sd) = (all.select_rows(cal), all.select_rows(deploy));
    let cp = if kind == ConfidenceKind::SetSize {
        Some(conformal_for(&sc, &gather_rows(labels, 1, cal), alpha)?)
    } else {
        None
    };
    Ok((
        confidence(kind, &sc, cp.as_ref())?,
        confidence(kind, &sd, cp.as_ref())?,
    ))
}

/// Default output directory: `<run>/oversight/<command>`.
pub fn default_out(run: &Path, command: &str) -> PathBuf {
    run.join("oversight").join(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_for_calibration_is_the_fewest_rows_whose_split_holds_the_share() {
        let fits = |n: usize, m: usize, f: f64| {
            let (cal, deploy) = split_rows(n, f, 3);
            cal.len() >= m && !deploy.is_empty()
        };
        for f in [0.8, 0.5, 0.3, 0.999, 0.01] {
            for m in [1, 2, 7, 451, 1000] {
                let n = rows_for_calibration(m, f);
                assert!(
                    fits(n, m, f) && !fits(n - 1, m, f),
                    "m {m}, fraction {f}: {n}"
                );
            }
        }
        assert_eq!(rows_for_calibration(451, 0.8), 564);
    }
}
