//! Threshold-free detection metrics for out-of-distribution detection.
//!
//! Convention: a **score is higher for in-distribution** inputs (MSP, max logit, negative
//! energy, negative entropy). In-distribution rows are the positives of AUROC, AUPR-in and
//! FPR@95%TPR; AUPR-out swaps the roles (OOD positive, score negated) — Hendrycks & Gimpel
//! 2017 report both AUPRs.
//! - AUROC: the Mann–Whitney statistic `P(s_in > s_out) + ½ P(s_in = s_out)` (equals
//!   scikit-learn's `roc_auc_score`, ties included).
//! - AUPR: average precision `Σ_k (R_k − R_{k−1}) P_k` over distinct thresholds, highest first,
//!   no interpolation (scikit-learn's `average_precision_score`).
//! - FPR at `TPR ≥ t`: the false-positive rate at the highest threshold whose true-positive rate
//!   reaches `t` (the first point of scikit-learn's `roc_curve` with `tpr ≥ t`).

use serde::{Deserialize, Serialize};

use crate::error::{Result, UncertaintyError};

/// AUROC, both AUPRs and FPR@95%TPR of one score on one OOD set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OodMetrics {
    /// Area under the ROC curve (in-distribution positive).
    pub auroc: f64,
    /// Average precision with in-distribution rows positive.
    pub aupr_in: f64,
    /// Average precision with OOD rows positive.
    pub aupr_out: f64,
    /// False-positive rate (OOD accepted as in-distribution) at 95% true-positive rate.
    pub fpr_at_95_tpr: f64,
}

fn check(id: &[f64], ood: &[f64]) -> Result<()> {
    if id.is_empty() || ood.is_empty() {
        return Err(UncertaintyError::Shape(format!(
            "need scores of both sets ({} in-distribution, {} OOD)",
            id.len(),
            ood.len()
        )));
    }
    if id.iter().chain(ood).any(|s| s.is_nan()) {
        return Err(UncertaintyError::Shape("a score is NaN".into()));
    }
    Ok(())
}

/// `P(s_in > s_out) + ½ P(s_in = s_out)`, in `O((n + m) log(n + m))`.
pub fn auroc(id: &[f64], ood: &[f64]) -> Result<f64> {
    check(id, ood)?;
    // Rank-sum with average ranks for ties.
    let mut all: Vec<(f64, bool)> = id
        .iter()
        .map(|&s| (s, true))
        .chain(ood.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_id = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_id += all[i..=j].iter().filter(|v| v.1).count() as f64 * avg_rank;
        i = j + 1;
    }
    let (n, m) = (id.len() as f64, ood.len() as f64);
    Ok((rank_sum_id - n * (n + 1.0) / 2.0) / (n * m))
}

/// Cumulative `(true positives, false positives)` after each distinct score threshold,
/// highest threshold first (tied scores enter together).
fn threshold_counts(positives: &[f64], negatives: &[f64]) -> Vec<(f64, f64)> {
    let mut all: Vec<(f64, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut out = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            if all[j].1 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            j += 1;
        }
        out.push((tp, fp));
        i = j;
    }
    out
}

/// Average precision of `positives` against `negatives` (higher score = positive).
pub fn aupr(positives: &[f64], negatives: &[f64]) -> Result<f64> {
    check(positives, negatives)?;
    let total_pos = positives.len() as f64;
    let mut prev_recall = 0.0;
    let mut ap = 0.0;
    for (tp, fp) in threshold_counts(positives, negatives) {
        let recall = tp / total_pos;
        ap += (recall - prev_recall) * tp / (tp + fp);
        prev_recall = recall;
    }
    Ok(ap)
}

/// False-positive rate at the highest threshold whose true-positive rate is at least
/// `tpr` (in `(0, 1]`).
pub fn fpr_at_tpr(id: &[f64], ood: &[f64], tpr: f64) -> Result<f64> {
    check(id, ood)?;
    if !(tpr > 0.0 && tpr <= 1.0) {
        return Err(UncertaintyError::invalid(
            "tpr",
            format!("{tpr} is not in (0, 1]"),
        ));
    }
    let (n, m) = (id.len() as f64, ood.len() as f64);
    Ok(threshold_counts(id, ood)
        .into_iter()
        .find(|(tp, _)| tp / n >= tpr - 1e-12)
        .map_or(1.0, |(_, fp)| fp / m))
}

/// All four metrics of one score.
pub fn ood_metrics(id: &[f64], ood: &[f64]) -> Result<OodMetrics> {
    let neg = |v: &[f64]| v.iter().map(|s| -s).collect::<Vec<_>>();
    Ok(OodMetrics {
        auroc: auroc(id, ood)?,
        aupr_in: aupr(id, ood)?,
        aupr_out: aupr(&neg(ood), &neg(id))?,
        fpr_at_95_tpr: fpr_at_tpr(id, ood, 0.95)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_counts_pairs_and_half_ties() {
        // id {3, 2, 1}, ood {2, 0}: pairs (3,2) win, (3,0) win, (2,2) tie, (2,0) win,
        // (1,2) loss, (1,0) win → (4 + 0.5) / 6 = 0.75.
        assert!((auroc(&[3.0, 2.0, 1.0], &[2.0, 0.0]).unwrap() - 0.75).abs() < 1e-12);
        assert_eq!(auroc(&[1.0, 2.0], &[0.0]).unwrap(), 1.0);
        assert_eq!(auroc(&[0.0], &[1.0, 2.0]).unwrap(), 0.0);
        assert_eq!(auroc(&[1.0], &[1.0]).unwrap(), 0.5);
        assert!(auroc(&[], &[1.0]).is_err());
    }

    #[test]
    fn average_precision_matches_sklearn_hand_case() {
        // Scores (label): .9 (+), .8 (−), .7 (+), .6 (−). Thresholds: recall .5 at precision 1,
        // recall 1 at precision 2/3 → AP = .5·1 + .5·2/3 = .83333 (sklearn gives the same).
        let ap = aupr(&[0.9, 0.7], &[0.8, 0.6]).unwrap();
        assert!((ap - (0.5 + 1.0 / 3.0)).abs() < 1e-12, "{ap}");
        // A tie of a positive and a negative at the top is one threshold: precision 1/2.
        assert!((aupr(&[1.0], &[1.0]).unwrap() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn fpr_at_95_tpr_uses_the_highest_threshold_reaching_it() {
        // 20 in-distribution scores 1..=20; OOD 0.5, 1.5, 2.5, 100.
        // TPR ≥ .95 needs 19 ID rows accepted → threshold 2 → OOD ≥ 2: 2.5, 100 → FPR .5.
        let id: Vec<f64> = (1..=20).map(f64::from).collect();
        let f = fpr_at_tpr(&id, &[0.5, 1.5, 2.5, 100.0], 0.95).unwrap();
        assert!((f - 0.5).abs() < 1e-12, "{f}");
        let m = ood_metrics(&id, &[0.5, 1.5, 2.5, 100.0]).unwrap();
        assert!(m.auroc > 0.5 && m.aupr_in > m.aupr_out);
        assert!(fpr_at_tpr(&id, &[0.0], 1.5).is_err());
    }
}
