//! Expected calibration error (Naeini et al. 2015; Guo et al. 2017) with equal-width or
//! equal-mass bins, in L1, L2 and max (MCE) form, and the reliability-diagram bins.
//!
//! Conventions (stated because libraries disagree):
//! - Top-label calibration: confidence = the largest probability, correct = arg-max equals the
//!   label.
//! - Equal-width bins are `(lo, hi]` with edges `b/B`; a confidence of exactly 0 falls in the
//!   first bin (torchmetrics uses `[lo, hi)` via bucketize, netcal `[lo, hi)`; the two differ
//!   only for confidences on an edge).
//! - Equal-mass (adaptive) bins: rows sorted by confidence (ties by index) and cut into `B`
//!   consecutive groups whose sizes differ by at most one, the first `N mod B` groups one
//!   larger (numpy's `array_split`); tied confidences may fall in two neighbouring bins.
//! - Weights are the fraction of rows per bin; empty bins are skipped.
//! - L1: `Σ_b w_b |acc_b − conf_b|`; L2: `sqrt(Σ_b w_b (acc_b − conf_b)²)` (torchmetrics'
//!   `norm="l2"`); Max: `max_b |acc_b − conf_b|` over non-empty bins (the MCE).

use serde::{Deserialize, Serialize};

use crate::error::{MAX_BINS, Result, UncertaintyError, check_count};

/// How confidences are grouped into bins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BinScheme {
    /// `B` bins of width `1/B`, `(lo, hi]`.
    EqualWidth,
    /// `B` bins holding (nearly) the same number of rows.
    EqualMass,
}

/// Which norm of the per-bin gaps is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CalibrationNorm {
    /// Weighted mean absolute gap (the usual ECE).
    L1,
    /// Square root of the weighted mean squared gap.
    L2,
    /// Largest gap over non-empty bins (MCE).
    Max,
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge (exclusive for equal-width bins; the smallest confidence for equal-mass).
    pub lo: f64,
    /// Upper edge (inclusive).
    pub hi: f64,
    /// Rows in the bin.
    pub count: usize,
    /// Fraction of those rows predicted correctly (0 when empty).
    pub accuracy: f64,
    /// Mean confidence of those rows (0 when empty).
    pub confidence: f64,
}

/// The bins of a reliability diagram: per bin its edges, count, accuracy and mean confidence.
/// `confidences` must lie in `[0, 1]`.
pub fn reliability_bins(
    confidences: &[f64],
    correct: &[bool],
    bins: usize,
    scheme: BinScheme,
) -> Result<Vec<ReliabilityBin>> {
    check_count("bins", bins, 1, MAX_BINS)?;
    if confidences.len() != correct.len() {
        return Err(UncertaintyError::Shape(format!(
            "{} confidences for {} correctness flags",
            confidences.len(),
            correct.len()
        )));
    }
    if let Some(c) = confidences.iter().find(|c| !(0.0..=1.0).contains(*c)) {
        return Err(UncertaintyError::invalid(
            "confidences",
            format!("{c} is not in [0, 1]"),
        ));
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); bins];
    let mut edges: Vec<(f64, f64)> = Vec::with_capacity(bins);
    match scheme {
        BinScheme::EqualWidth => {
            let b_f = bins as f64;
            for (i, &c) in confidences.iter().enumerate() {
                members[equal_width_index(c, bins)].push(i);
            }
            for b in 0..bins {
                edges.push((b as f64 / b_f, (b + 1) as f64 / b_f));
            }
        }
        BinScheme::EqualMass => {
            let mut order: Vec<usize> = (0..confidences.len()).collect();
            order.sort_by(|&a, &b| confidences[a].total_cmp(&confidences[b]).then(a.cmp(&b)));
            let n = order.len();
            let (base, extra) = (n / bins, n % bins);
            let mut start = 0;
            for (b, m) in members.iter_mut().enumerate() {
                let size = base + usize::from(b < extra);
                m.extend_from_slice(&order[start..start + size]);
                start += size;
            }
            for m in &members {
                let lo = m.first().map_or(0.0, |&i| confidences[i]);
                let hi = m.last().map_or(0.0, |&i| confidences[i]);
                edges.push((lo, hi));
            }
        }
    }
    Ok(members
        .iter()
        .zip(edges)
        .map(|(m, (lo, hi))| {
            let count = m.len();
            let (acc, conf) = if count == 0 {
                (0.0, 0.0)
            } else {
                (
                    m.iter().filter(|&&i| correct[i]).count() as f64 / count as f64,
                    m.iter().map(|&i| confidences[i]).sum::<f64>() / count as f64,
                )
            };
            ReliabilityBin {
                lo,
                hi,
                count,
                accuracy: acc,
                confidence: conf,
            }
        })
        .collect())
}

/// The bin `b` with `b/B < c ≤ (b+1)/B` (0 for `c = 0`), edges computed as `b as f64 / B` so
/// a confidence equal to an edge lands below it.
fn equal_width_index(c: f64, bins: usize) -> usize {
    let b_f = bins as f64;
    let mut b = ((c * b_f).ceil() as usize).saturating_sub(1).min(bins - 1);
    while b > 0 && c <= b as f64 / b_f {
        b -= 1;
    }
    while b + 1 < bins && c > (b + 1) as f64 / b_f {
        b += 1;
    }
    b
}

/// Calibration error of top-label confidences (see the module doc for the conventions).
/// Returns 0 for an empty input.
pub fn calibration_error(
    confidences: &[f64],
    correct: &[bool],
    bins: usize,
    scheme: BinScheme,
    norm: CalibrationNorm,
) -> Result<f64> {
    let table = reliability_bins(confidences, correct, bins, scheme)?;
    let n = confidences.len().max(1) as f64;
    let gaps = table
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| (b.count as f64 / n, (b.accuracy - b.confidence).abs()));
    Ok(match norm {
        CalibrationNorm::L1 => gaps.map(|(w, g)| w * g).sum(),
        CalibrationNorm::L2 => gaps.map(|(w, g)| w * g * g).sum::<f64>().sqrt(),
        CalibrationNorm::Max => gaps.map(|(_, g)| g).fold(0.0, f64::max),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand-computed case, 5 rows, B = 2 equal-width bins (0, .5] and (.5, 1]:
    // confidences .2 .5 .6 .9 1.0, correct F T T F T.
    // bin 0: {.2, .5} acc .5, conf .35, gap .15, w .4
    // bin 1: {.6, .9, 1} acc 2/3, conf .8333.., gap .1666.., w .6
    // L1 = .4·.15 + .6·.16667 = .16; L2 = sqrt(.4·.0225 + .6·.027778) = sqrt(.025667) = .160208
    // MCE = .16667.
    const C: [f64; 5] = [0.2, 0.5, 0.6, 0.9, 1.0];
    const OK: [bool; 5] = [false, true, true, false, true];

    #[test]
    fn equal_width_ece_l1_l2_max_match_hand_computation() {
        let e = |norm| calibration_error(&C, &OK, 2, BinScheme::EqualWidth, norm).unwrap();
        assert!((e(CalibrationNorm::L1) - 0.16).abs() < 1e-12);
        assert!((e(CalibrationNorm::L2) - 0.025666666666666667f64.sqrt()).abs() < 1e-12);
        assert!((e(CalibrationNorm::Max) - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn bins_are_left_open_right_closed_and_zero_goes_first() {
        // 0.5 sits on the edge between the two bins: it belongs to (0, .5].
        let bins =
            reliability_bins(&[0.0, 0.5, 0.5000001], &[true; 3], 2, BinScheme::EqualWidth).unwrap();
        assert_eq!((bins[0].count, bins[1].count), (2, 1));
        // Edges with awkward floats: 0.3 with 10 bins is in (0.2, 0.3], 0.7 in (0.6, 0.7].
        assert_eq!(equal_width_index(0.3, 10), 2);
        assert_eq!(equal_width_index(0.7, 10), 6);
        assert_eq!(equal_width_index(1.0, 10), 9);
        assert_eq!(equal_width_index(1e-9, 10), 0);
    }

    #[test]
    fn equal_mass_bins_split_sorted_rows_like_array_split() {
        // Sorted confidences .2 .5 .6 | .9 1.0 (5 rows, 2 bins: sizes 3 and 2).
        // bin 0 acc 2/3 conf 1.3/3, gap |.6667 − .4333| = .2333, w .6
        // bin 1 acc 1/2 conf .95, gap .45, w .4 → L1 = .14 + .18 = .32
        let bins = reliability_bins(&C, &OK, 2, BinScheme::EqualMass).unwrap();
        assert_eq!((bins[0].count, bins[1].count), (3, 2));
        assert_eq!((bins[1].lo, bins[1].hi), (0.9, 1.0));
        let e = calibration_error(&C, &OK, 2, BinScheme::EqualMass, CalibrationNorm::L1).unwrap();
        assert!((e - 0.32).abs() < 1e-12, "{e}");
    }

    #[test]
    fn perfectly_calibrated_data_has_zero_error_and_bad_input_is_rejected() {
        // In the bin (.5, 1] conf .75 on average with 3 of 4 correct: calibrated.
        let e = calibration_error(
            &[0.75; 4],
            &[true, true, true, false],
            10,
            BinScheme::EqualWidth,
            CalibrationNorm::L1,
        )
        .unwrap();
        assert!(e.abs() < 1e-12);
        assert!(
            calibration_error(
                &[1.5],
                &[true],
                10,
                BinScheme::EqualWidth,
                CalibrationNorm::L1
            )
            .is_err()
        );
        assert!(
            calibration_error(
                &[0.5],
                &[true],
                0,
                BinScheme::EqualWidth,
                CalibrationNorm::L1
            )
            .is_err()
        );
        assert!(reliability_bins(&[0.5], &[], 3, BinScheme::EqualMass).is_err());
    }
}
