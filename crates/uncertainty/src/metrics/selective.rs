//! Risk–coverage curve and its area (AURC; Geifman, Uziel & El-Yaniv 2019).
//!
//! Rows are sorted by confidence, highest first; ties are broken by row index so the curve is
//! deterministic. Accepting the top `k` rows gives coverage `k/N` and selective risk
//! `errors among them / k`. AURC is the mean of the selective risk over `k = 1..N` (the area
//! under the curve with the rectangle rule at each coverage step).

use serde::{Deserialize, Serialize};

use crate::error::{Result, UncertaintyError};

/// One point of a risk–coverage curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RiskCoveragePoint {
    /// Fraction of rows accepted.
    pub coverage: f64,
    /// Error rate among the accepted rows.
    pub risk: f64,
    /// The confidence of the last accepted row (the threshold reaching this coverage).
    pub threshold: f64,
}

/// The full risk–coverage curve, one point per accepted-row count `k = 1..N`.
pub fn risk_coverage(confidence: &[f64], correct: &[bool]) -> Result<Vec<RiskCoveragePoint>> {
    if confidence.len() != correct.len() {
        return Err(UncertaintyError::Shape(format!(
            "{} confidences for {} correctness flags",
            confidence.len(),
            correct.len()
        )));
    }
    let mut order: Vec<usize> = (0..confidence.len()).collect();
    order.sort_by(|&a, &b| confidence[b].total_cmp(&confidence[a]).then(a.cmp(&b)));
    let n = order.len() as f64;
    let mut errors = 0usize;
    Ok(order
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            errors += usize::from(!correct[i]);
            RiskCoveragePoint {
                coverage: (k + 1) as f64 / n,
                risk: errors as f64 / (k + 1) as f64,
                threshold: confidence[i],
            }
        })
        .collect())
}

/// Area under the risk–coverage curve (lower is better; 0 for an empty input).
pub fn aurc(confidence: &[f64], correct: &[bool]) -> Result<f64> {
    Ok(aurc_of_curve(&risk_coverage(confidence, correct)?))
}

/// AURC of an already computed [`risk_coverage`] curve (0 for an empty curve).
pub fn aurc_of_curve(curve: &[RiskCoveragePoint]) -> f64 {
    if curve.is_empty() {
        return 0.0;
    }
    curve.iter().map(|p| p.risk).sum::<f64>() / curve.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_and_aurc_match_hand_computation() {
        // Sorted by confidence: .9 (ok), .8 (wrong), .7 (ok), .6 (wrong).
        // Risks at k = 1..4: 0, 1/2, 1/3, 2/4 → AURC = (0 + .5 + .3333 + .5) / 4 = .33333.
        let conf = [0.6, 0.9, 0.7, 0.8];
        let ok = [false, true, true, false];
        let curve = risk_coverage(&conf, &ok).unwrap();
        let risks: Vec<f64> = curve.iter().map(|p| p.risk).collect();
        assert_eq!(risks, vec![0.0, 0.5, 1.0 / 3.0, 0.5]);
        assert_eq!(curve[1].coverage, 0.5);
        assert_eq!(curve[1].threshold, 0.8);
        assert!((aurc(&conf, &ok).unwrap() - (0.5 + 1.0 / 3.0 + 0.5) / 4.0).abs() < 1e-12);
        // A perfect ranking (errors least confident) beats the reverse one.
        let good = aurc(&[0.9, 0.8, 0.1], &[true, true, false]).unwrap();
        let bad = aurc(&[0.1, 0.8, 0.9], &[true, true, false]).unwrap();
        assert!(good < bad);
        assert!(aurc(&[0.5], &[]).is_err());
    }
}
