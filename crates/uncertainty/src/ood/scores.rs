//! OOD detection scores from predictive samples. Every score is oriented so that **higher
//! means more in-distribution** (see [`crate::metrics::auroc`]).
//!
//! For `S > 1` passes (MC dropout, ensembles), MSP and entropy use the mean softmax, max logit
//! and energy the mean logits.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::estimators::{PredictiveSamples, logsumexp};
use crate::metrics::{entropy, mutual_information};

/// An OOD score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OodScore {
    /// Maximum softmax probability (Hendrycks & Gimpel 2017).
    Msp,
    /// Maximum logit (Hendrycks et al. 2022).
    MaxLogit,
    /// Negative free energy `T·ln Σ exp(z/T)` with `T = 1` (Liu et al. 2020).
    Energy,
    /// Negative predictive entropy.
    Entropy,
    /// Negative mutual information between the label and the parameters (BALD; needs S > 1).
    MutualInformation,
}

impl OodScore {
    /// All scores; mutual information only when `samples > 1` (it is 0 for one pass).
    pub fn all_for(samples: usize) -> Vec<OodScore> {
        let mut v = vec![Self::Msp, Self::MaxLogit, Self::Energy, Self::Entropy];
        if samples > 1 {
            v.push(Self::MutualInformation);
        }
        v
    }

    /// The kebab-case name used in reports.
    pub fn key(self) -> &'static str {
        match self {
            Self::Msp => "msp",
            Self::MaxLogit => "max-logit",
            Self::Energy => "energy",
            Self::Entropy => "entropy",
            Self::MutualInformation => "mutual-information",
        }
    }

    /// The score of every row (higher = more in-distribution).
    pub fn compute(self, samples: &PredictiveSamples) -> Result<Vec<f64>> {
        let c = samples.classes;
        Ok(match self {
            Self::Msp => samples
                .mean_probs()
                .chunks(c)
                .map(|r| r.iter().cloned().fold(f64::NEG_INFINITY, f64::max))
                .collect(),
            Self::MaxLogit => samples
                .mean_logits()
                .chunks(c)
                .map(|r| r.iter().cloned().fold(f64::NEG_INFINITY, f64::max))
                .collect(),
            Self::Energy => samples.mean_logits().chunks(c).map(logsumexp).collect(),
            Self::Entropy => entropy(&samples.mean_probs(), c)?
                .into_iter()
                .map(|h| -h)
                .collect(),
            Self::MutualInformation => {
                mutual_information(&samples.sample_probs(), samples.samples, c)?
                    .into_iter()
                    .map(|m| -m)
                    .collect()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_higher_for_confident_rows() {
        // Row 0 confident (logits 5, 0), row 1 unsure (0, 0).
        let s = PredictiveSamples::new(vec![5.0, 0.0, 0.0, 0.0], 1, 2, 2).unwrap();
        for score in OodScore::all_for(1) {
            let v = score.compute(&s).unwrap();
            assert!(v[0] > v[1], "{score:?}: {v:?}");
        }
        let e = OodScore::Energy.compute(&s).unwrap();
        assert!((e[1] - 2f64.ln()).abs() < 1e-9);
        assert_eq!(OodScore::all_for(1).len(), 4);
        assert_eq!(OodScore::all_for(5).len(), 5);
    }
}
