//! Metrics as pure functions on host arrays, each convention stated and tested on
//! hand-computed cases.
//!
//! Arrays of probabilities are row-major `[N, C]` `f64` slices with the class count passed
//! alongside; labels are class indices. Logarithms are natural (nats).

mod calibration;
mod information;
mod ood;
mod scoring;
mod selective;

pub use calibration::{
    BinScheme, CalibrationNorm, ReliabilityBin, calibration_error, reliability_bins,
};
pub use information::{entropy, expected_entropy, mutual_information};
pub use ood::{OodMetrics, aupr, auroc, fpr_at_tpr, ood_metrics};
pub use scoring::{NLL_PROB_FLOOR, accuracy, brier, confidence_and_correct, nll};
pub use selective::{RiskCoveragePoint, aurc, aurc_of_curve, risk_coverage};

use crate::error::{Result, UncertaintyError};

/// Checks that `probs` is `[N, C]` with `N = labels.len()` and every label `< C`.
pub(crate) fn check_probs(probs: &[f64], labels: &[usize], classes: usize) -> Result<usize> {
    if classes == 0 || probs.len() != labels.len() * classes {
        return Err(UncertaintyError::Shape(format!(
            "{} probabilities for {} labels and {classes} classes",
            probs.len(),
            labels.len()
        )));
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= classes) {
        return Err(UncertaintyError::Shape(format!(
            "label {bad} is not below the class count {classes}"
        )));
    }
    Ok(labels.len())
}
