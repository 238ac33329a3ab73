//! Accuracy and the proper scoring rules: negative log-likelihood and the Brier score.

use super::check_probs;
use crate::error::Result;

/// Probabilities are floored at this value before the logarithm of the NLL, so a confident
/// mistake costs at most `-ln(1e-12) ≈ 27.6` nats instead of infinity.
pub const NLL_PROB_FLOOR: f64 = 1e-12;

/// Fraction of rows whose arg-max class (the first on ties) equals the label.
pub fn accuracy(probs: &[f64], labels: &[usize], classes: usize) -> Result<f64> {
    let (_, correct) = confidence_and_correct(probs, labels, classes)?;
    Ok(mean(correct.iter().map(|&c| c as u8 as f64)))
}

/// Negative log-likelihood `−(1/N) Σᵢ ln max(pᵢ,yᵢ, 1e-12)` in nats (torchmetrics and
/// scikit-learn's `log_loss` clip similarly).
pub fn nll(probs: &[f64], labels: &[usize], classes: usize) -> Result<f64> {
    check_probs(probs, labels, classes)?;
    Ok(mean(labels.iter().enumerate().map(|(i, &y)| {
        -probs[i * classes + y].max(NLL_PROB_FLOOR).ln()
    })))
}

/// Brier score summed over classes and averaged over rows:
/// `(1/N) Σᵢ Σ_c (pᵢ,c − 1[yᵢ = c])²`, in `[0, 2]` (Brier 1950's original multi-class form;
/// scikit-learn's binary `brier_score_loss` is half of it for two classes).
pub fn brier(probs: &[f64], labels: &[usize], classes: usize) -> Result<f64> {
    check_probs(probs, labels, classes)?;
    Ok(mean(labels.iter().enumerate().map(|(i, &y)| {
        probs[i * classes..(i + 1) * classes]
            .iter()
            .enumerate()
            .map(|(c, &p)| {
                let t = if c == y { 1.0 } else { 0.0 };
                (p - t) * (p - t)
            })
            .sum::<f64>()
    })))
}

/// Top-label confidence (the largest probability) and whether the arg-max class (the first on
/// ties) is the label, per row.
pub fn confidence_and_correct(
    probs: &[f64],
    labels: &[usize],
    classes: usize,
) -> Result<(Vec<f64>, Vec<bool>)> {
    check_probs(probs, labels, classes)?;
    let mut conf = Vec::with_capacity(labels.len());
    let mut correct = Vec::with_capacity(labels.len());
    for (i, &y) in labels.iter().enumerate() {
        let row = &probs[i * classes..(i + 1) * classes];
        let mut best = 0;
        for c in 1..classes {
            if row[c] > row[best] {
                best = c;
            }
        }
        conf.push(row[best]);
        correct.push(best == y);
    }
    Ok((conf, correct))
}

/// Mean of an iterator (0 when empty).
pub(crate) fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for v in values {
        s += v;
        n += 1;
    }
    if n == 0 { 0.0 } else { s / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two rows, three classes, computed by hand:
    // row 0 p = (0.7, 0.2, 0.1), y = 0: ln term −ln 0.7 = 0.356675; Brier 0.09+0.04+0.01 = 0.14
    // row 1 p = (0.5, 0.3, 0.2), y = 2: −ln 0.2 = 1.609438; Brier 0.25+0.09+0.64 = 0.98
    const P: [f64; 6] = [0.7, 0.2, 0.1, 0.5, 0.3, 0.2];
    const Y: [usize; 2] = [0, 2];

    #[test]
    fn nll_brier_and_accuracy_match_hand_computation() {
        assert!((nll(&P, &Y, 3).unwrap() - (0.356675 + 1.609438) / 2.0).abs() < 1e-6);
        assert!((brier(&P, &Y, 3).unwrap() - (0.14 + 0.98) / 2.0).abs() < 1e-12);
        assert_eq!(accuracy(&P, &Y, 3).unwrap(), 0.5);
        let (conf, ok) = confidence_and_correct(&P, &Y, 3).unwrap();
        assert_eq!(conf, vec![0.7, 0.5]);
        assert_eq!(ok, vec![true, false]);
    }

    #[test]
    fn zero_probability_is_floored_and_shapes_are_checked() {
        let v = nll(&[1.0, 0.0], &[1], 2).unwrap();
        assert!((v - 27.631021).abs() < 1e-5, "{v}");
        assert!(nll(&P, &[0], 3).is_err());
        assert!(
            brier(&P, &[0, 3], 3)
                .unwrap_err()
                .to_string()
                .contains("label 3")
        );
    }
}
