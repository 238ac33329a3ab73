//! Information-theoretic uncertainty of a predictive distribution, in nats
//! (Depeweg et al. 2018; Gal 2016, §3.3): total = aleatoric + epistemic, i.e.
//! `H[p̄] = E_s H[p_s] + I(y; θ)`.
//!
//! `0 · ln 0 = 0`. Inputs are probabilities `[N, C]` (`entropy`) or `[S, N, C]` (samples).

use crate::error::{Result, UncertaintyError};

/// Entropy `−Σ_c p_c ln p_c` of each row of `probs` `[N, C]`.
pub fn entropy(probs: &[f64], classes: usize) -> Result<Vec<f64>> {
    if classes == 0 || !probs.len().is_multiple_of(classes) {
        return Err(UncertaintyError::Shape(format!(
            "{} probabilities are not rows of {classes} classes",
            probs.len()
        )));
    }
    Ok(probs
        .chunks(classes)
        .map(|row| {
            -row.iter()
                .filter(|&&p| p > 0.0)
                .map(|&p| p * p.ln())
                .sum::<f64>()
        })
        .collect())
}

/// Expected entropy `(1/S) Σ_s H[p_s]` per row (the aleatoric part) of samples `[S, N, C]`.
pub fn expected_entropy(samples: &[f64], s: usize, classes: usize) -> Result<Vec<f64>> {
    let n = rows_of(samples, s, classes)?;
    let h = entropy(samples, classes)?;
    Ok((0..n)
        .map(|i| (0..s).map(|k| h[k * n + i]).sum::<f64>() / s as f64)
        .collect())
}

/// Mutual information `H[p̄] − (1/S) Σ_s H[p_s]` per row (the epistemic part, BALD) of samples
/// `[S, N, C]`, where `p̄` is the mean over samples. Clamped at 0 against rounding.
pub fn mutual_information(samples: &[f64], s: usize, classes: usize) -> Result<Vec<f64>> {
    let n = rows_of(samples, s, classes)?;
    let mut mean = vec![0.0; n * classes];
    for k in 0..s {
        for (m, v) in mean
            .iter_mut()
            .zip(&samples[k * n * classes..(k + 1) * n * classes])
        {
            *m += v / s as f64;
        }
    }
    let total = entropy(&mean, classes)?;
    let exp = expected_entropy(samples, s, classes)?;
    Ok(total
        .iter()
        .zip(exp)
        .map(|(t, e)| (t - e).max(0.0))
        .collect())
}

fn rows_of(samples: &[f64], s: usize, classes: usize) -> Result<usize> {
    if s == 0 || classes == 0 || !samples.len().is_multiple_of(s * classes) {
        return Err(UncertaintyError::Shape(format!(
            "{} values are not [S = {s}, N, C = {classes}] samples",
            samples.len()
        )));
    }
    Ok(samples.len() / (s * classes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_uniform_and_one_hot_rows() {
        let h = entropy(&[0.25, 0.25, 0.25, 0.25, 1.0, 0.0, 0.0, 0.0], 4).unwrap();
        assert!((h[0] - 4f64.ln()).abs() < 1e-12);
        assert_eq!(h[1], 0.0);
    }

    #[test]
    fn disagreeing_confident_samples_are_all_epistemic() {
        // Two samples of one row: (1, 0) and (0, 1). Mean (.5, .5): total ln 2, expected 0,
        // so MI = ln 2. Two identical samples (.5, .5): MI = 0, expected = ln 2.
        let mi = mutual_information(&[1.0, 0.0, 0.5, 0.5, 0.0, 1.0, 0.5, 0.5], 2, 2).unwrap();
        assert!((mi[0] - 2f64.ln()).abs() < 1e-12);
        assert!(mi[1].abs() < 1e-12);
        let e = expected_entropy(&[1.0, 0.0, 0.5, 0.5, 0.0, 1.0, 0.5, 0.5], 2, 2).unwrap();
        assert!(e[0].abs() < 1e-12 && (e[1] - 2f64.ln()).abs() < 1e-12);
        assert!(mutual_information(&[0.5; 5], 2, 2).is_err());
    }
}
