//! Confidence functions κ(x) for selective prediction: higher means more confident, so a
//! selective classifier accepts a row when `κ(x) ≥ θ`.

use aegis_uncertainty::metrics::entropy;
use aegis_uncertainty::{PredictiveSamples, SplitConformal};
use serde::{Deserialize, Serialize};

use crate::error::{OversightError, Result};

/// A confidence function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ConfidenceKind {
    /// Maximum softmax probability of the predictive distribution (Geifman & El-Yaniv 2017's
    /// softmax response).
    Msp,
    /// Difference between the two largest probabilities.
    Margin,
    /// Negative predictive entropy.
    Entropy,
    /// Negative variance, over the passes of an MC-dropout or ensemble estimator, of the
    /// probability of the predicted class (needs S > 1).
    Variance,
    /// Negative size of the conformal prediction set (needs a calibrated conformal predictor);
    /// ties are broken by the MSP (adds `MSP / 2`, which is < 1).
    SetSize,
}

impl ConfidenceKind {
    /// Every kind, for policy comparisons.
    pub const ALL: [ConfidenceKind; 5] = [
        Self::Msp,
        Self::Margin,
        Self::Entropy,
        Self::Variance,
        Self::SetSize,
    ];

    /// The kebab-case name.
    pub fn key(self) -> &'static str {
        match self {
            Self::Msp => "msp",
            Self::Margin => "margin",
            Self::Entropy => "entropy",
            Self::Variance => "variance",
            Self::SetSize => "set-size",
        }
    }
}

/// κ for every row of `samples`. `conformal` is required for [`ConfidenceKind::SetSize`].
pub fn confidence(
    kind: ConfidenceKind,
    samples: &PredictiveSamples,
    conformal: Option<&SplitConformal>,
) -> Result<Vec<f64>> {
    let c = samples.classes;
    let mean = samples.mean_probs();
    let msp: Vec<f64> = mean
        .chunks(c)
        .map(|r| r.iter().cloned().fold(0.0, f64::max))
        .collect();
    Ok(match kind {
        ConfidenceKind::Msp => msp,
        ConfidenceKind::Margin => mean
            .chunks(c)
            .map(|r| {
                let mut v = r.to_vec();
                v.sort_by(|a, b| b.total_cmp(a));
                v[0] - v.get(1).copied().unwrap_or(0.0)
            })
            .collect(),
        ConfidenceKind::Entropy => entropy(&mean, c)?.into_iter().map(|h| -h).collect(),
        ConfidenceKind::Variance => {
            if samples.samples < 2 {
                return Err(OversightError::invalid(
                    "confidence",
                    "variance needs an MC-dropout or ensemble estimator (more than one pass)",
                ));
            }
            let probs = samples.sample_probs();
            let (s, n) = (samples.samples, samples.rows);
            (0..n)
                .map(|i| {
                    let row = &mean[i * c..(i + 1) * c];
                    let pred =
                        aegis_model::argmax(&row.iter().map(|&v| v as f32).collect::<Vec<_>>());
                    let vals: Vec<f64> = (0..s).map(|k| probs[(k * n + i) * c + pred]).collect();
                    let mu = vals.iter().sum::<f64>() / s as f64;
                    -vals.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / s as f64
                })
                .collect()
        }
        ConfidenceKind::SetSize => {
            let cp = conformal.ok_or_else(|| {
                OversightError::invalid(
                    "confidence",
                    "set-size needs a calibrated conformal predictor",
                )
            })?;
            cp.predict_sets(&mean, c, 0)
                .iter()
                .zip(&msp)
                .map(|(set, m)| -(set.len() as f64) + m / 2.0)
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidences_rank_a_sure_row_above_an_unsure_one() {
        // Row 0: logits (4, 0, 0) in both passes; row 1: (0, 0, 0) then (2, 0, 0).
        let s = PredictiveSamples::new(
            vec![4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 2.0, 0.0, 0.0],
            2,
            2,
            3,
        )
        .unwrap();
        for kind in [
            ConfidenceKind::Msp,
            ConfidenceKind::Margin,
            ConfidenceKind::Entropy,
            ConfidenceKind::Variance,
        ] {
            let k = confidence(kind, &s, None).unwrap();
            assert!(k[0] > k[1], "{kind:?}: {k:?}");
        }
        // Row 0 has zero variance across passes.
        assert_eq!(
            confidence(ConfidenceKind::Variance, &s, None).unwrap()[0],
            0.0
        );
        // Margin of row 0: softmax(4,0,0) = (.9647, .0177, .0177) → .9470.
        let m = confidence(ConfidenceKind::Margin, &s, None).unwrap()[0];
        assert!((m - 0.94700).abs() < 1e-4, "{m}");
        let single = PredictiveSamples::new(vec![1.0, 0.0, 0.0], 1, 1, 3).unwrap();
        assert!(confidence(ConfidenceKind::Variance, &single, None).is_err());
        assert!(confidence(ConfidenceKind::SetSize, &single, None).is_err());
    }
}
