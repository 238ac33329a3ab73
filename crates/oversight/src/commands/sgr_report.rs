//! `sgr.json`, the contract between the commands: [`SgrReport`] is what `calibrate-threshold`
//! writes and what `queue --sgr` reads (its [`Deployment`]: the threshold and the rows).

use serde::{Deserialize, Serialize};

use crate::confidence::ConfidenceKind;
use crate::sgr::SgrResult;

/// One split of the SGR experiment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgrSplit {
    /// SGR's output on the calibration rows.
    pub sgr: SgrResult,
    /// Coverage on the held-out rows.
    pub test_coverage: f64,
    /// Selective risk on the held-out rows.
    pub test_risk: f64,
    /// `test_risk > r*`.
    pub violated: bool,
}

/// `sgr.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SgrReport {
    /// `r*`.
    pub target_risk: f64,
    /// `δ`.
    pub delta: f64,
    /// Confidence function.
    pub confidence: ConfidenceKind,
    /// Estimator name.
    pub estimator: String,
    /// Fraction of splits whose held-out selective risk exceeded `r*`.
    pub violation_rate: f64,
    /// Mean held-out coverage.
    pub mean_coverage: f64,
    /// Mean held-out selective risk.
    pub mean_test_risk: f64,
    /// Fraction of splits where SGR found a threshold.
    pub feasible_rate: f64,
    /// Calibration / held-out rows per split.
    pub n_calibration: usize,
    /// Held-out rows per split.
    pub n_test: usize,
    /// The fewest calibration rows with which SGR can certify `r*` at `δ` at all, all
    /// accepted and none wrong ([`min_certifiable_rows`](crate::sgr::min_certifiable_rows));
    /// fewer and every input is deferred, however good the model. 0 in files written before
    /// it existed.
    #[serde(default)]
    pub min_calibration_rows: usize,
    /// The fewest test rows whose calibration share (`round(n · calibration_fraction)`) holds
    /// `min_calibration_rows` (0 in older files).
    #[serde(default)]
    pub min_rows: usize,
    /// Every split.
    pub splits: Vec<SgrSplit>,
    /// Split 0, what `queue --sgr` deploys: its threshold and its held-out rows.
    pub deployment: Deployment,
}

/// The threshold to deploy and the rows it is deployed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// The threshold (κ ≥ threshold is automatic); `+∞` (`null` in JSON) when SGR certified
    /// none, so every row is queued for review.
    #[serde(deserialize_with = "crate::sgr::infinity_if_null")]
    pub threshold: f64,
    /// Its calibrated risk bound.
    pub risk_bound: f64,
    /// Calibration rows (indices into the run's test split).
    pub calibration_rows: Vec<usize>,
    /// Deployment rows.
    pub rows: Vec<usize>,
    /// Seed of the split.
    pub seed: u64,
}
