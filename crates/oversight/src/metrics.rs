//! Human–AI team metrics: coverage, selective risk, system accuracy, override rate, Cohen's κ
//! between model and reviewer, and a simulated expert to compare deferral policies offline.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{OversightError, Result};

/// Selective-prediction metrics at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SelectiveMetrics {
    /// Fraction of rows accepted (κ ≥ θ).
    pub coverage: f64,
    /// Error rate among the accepted rows (0 when none).
    pub selective_risk: f64,
    /// Rows accepted.
    pub accepted: usize,
}

/// Coverage and selective risk of accepting the rows with `confidence ≥ threshold`.
pub fn selective_metrics(
    confidence: &[f64],
    correct: &[bool],
    threshold: f64,
) -> Result<SelectiveMetrics> {
    if confidence.len() != correct.len() {
        return Err(OversightError::Shape(format!(
            "{} confidences for {} correctness flags",
            confidence.len(),
            correct.len()
        )));
    }
    let acc: Vec<bool> = confidence
        .iter()
        .zip(correct)
        .filter(|(c, _)| **c >= threshold)
        .map(|(_, ok)| *ok)
        .collect();
    let errors = acc.iter().filter(|ok| !**ok).count();
    Ok(SelectiveMetrics {
        coverage: acc.len() as f64 / confidence.len().max(1) as f64,
        selective_risk: if acc.is_empty() {
            0.0
        } else {
            errors as f64 / acc.len() as f64
        },
        accepted: acc.len(),
    })
}

/// The threshold accepting (at least) a fraction `coverage` of the rows: the confidence of the
/// `⌈coverage·N⌉`-th most confident row (`+∞` for coverage 0).
pub fn threshold_for_coverage(confidence: &[f64], coverage: f64) -> Result<f64> {
    if !(0.0..=1.0).contains(&coverage) {
        return Err(OversightError::invalid(
            "coverage",
            format!("{coverage:?} is not in [0, 1]"),
        ));
    }
    let k = (coverage * confidence.len() as f64 - 1e-9).ceil() as usize;
    if k == 0 || confidence.is_empty() {
        return Ok(f64::INFINITY);
    }
    let mut sorted = confidence.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    Ok(sorted[k.min(sorted.len()) - 1])
}

/// Cohen's κ (Cohen 1960) between two raters' labels over `classes` classes:
/// `(p_o − p_e) / (1 − p_e)` with `p_e = Σ_c p_a(c)·p_b(c)`. `None` when undefined (no items,
/// or both raters always give the same single class, `p_e = 1`).
pub fn cohens_kappa(a: &[usize], b: &[usize], classes: usize) -> Result<Option<f64>> {
    if a.len() != b.len() {
        return Err(OversightError::Shape(format!(
            "{} labels against {}",
            a.len(),
            b.len()
        )));
    }
    if a.iter().chain(b).any(|&l| l >= classes) {
        return Err(OversightError::Shape(
            "a label is not below the class count".into(),
        ));
    }
    if a.is_empty() {
        return Ok(None);
    }
    let n = a.len() as f64;
    let po = a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / n;
    let (mut ca, mut cb) = (vec![0.0; classes], vec![0.0; classes]);
    for (&x, &y) in a.iter().zip(b) {
        ca[x] += 1.0 / n;
        cb[y] += 1.0 / n;
    }
    let pe: f64 = ca.iter().zip(&cb).map(|(p, q)| p * q).sum();
    Ok(if (1.0 - pe).abs() < 1e-12 {
        None
    } else {
        Some((po - pe) / (1.0 - pe))
    })
}

/// An offline stand-in for the human reviewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SimulatedExpert {
    /// Right with probability `p` on every item; otherwise a uniformly random wrong class.
    Uniform(f64),
    /// Right with probability `p[c]` on items of true class `c`.
    PerClass(Vec<f64>),
}

impl SimulatedExpert {
    /// Probability of a right answer on an item of true class `y`.
    pub fn accuracy_on(&self, y: usize) -> f64 {
        match self {
            Self::Uniform(p) => *p,
            Self::PerClass(p) => p.get(y).copied().unwrap_or(0.0),
        }
    }

    /// Checks probabilities are in `[0, 1]`.
    pub fn validate(&self) -> Result<()> {
        let ok = |p: f64| (0.0..=1.0).contains(&p);
        let valid = match self {
            Self::Uniform(p) => ok(*p),
            Self::PerClass(v) => !v.is_empty() && v.iter().all(|p| ok(*p)),
        };
        if valid {
            Ok(())
        } else {
            Err(OversightError::invalid(
                "expert accuracy",
                "probabilities must lie in [0, 1]",
            ))
        }
    }

    /// Seeded labels for items with true labels `y` (`classes ≥ 2`).
    pub fn label(&self, y: &[usize], classes: usize, seed: u64) -> Vec<usize> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        y.iter()
            .map(|&t| {
                if rng.random::<f64>() < self.accuracy_on(t) || classes < 2 {
                    t
                } else {
                    let k = rng.random_range(0..classes - 1);
                    if k >= t { k + 1 } else { k }
                }
            })
            .collect()
    }
}

/// Expected accuracy of the human–AI team when rows with `confidence ≥ threshold` keep the
/// model's prediction and the rest go to `expert`: `(Σ_accepted 1[correct] + Σ_deferred
/// p_expert(y)) / N`. Exact expectation over the expert's randomness, so policy curves are not
/// noisy.
pub fn expected_system_accuracy(
    confidence: &[f64],
    correct: &[bool],
    labels: &[usize],
    threshold: f64,
    expert: &SimulatedExpert,
) -> f64 {
    let n = confidence.len().max(1) as f64;
    confidence
        .iter()
        .zip(correct)
        .zip(labels)
        .map(|((c, ok), y)| {
            if *c >= threshold {
                f64::from(u8::from(*ok))
            } else {
                expert.accuracy_on(*y)
            }
        })
        .sum::<f64>()
        / n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kappa_matches_a_textbook_example() {
        // Two raters, 50 items, yes/no: both yes 20, a yes b no 5, a no b yes 10, both no 15.
        // p_o = .7, p_a(yes) = .5, p_b(yes) = .6, p_e = .3 + .2 = .5 → κ = .4 (Wikipedia's
        // "Cohen's kappa" worked example).
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (x, y, k) in [(1, 1, 20), (1, 0, 5), (0, 1, 10), (0, 0, 15)] {
            for _ in 0..k {
                a.push(x);
                b.push(y);
            }
        }
        let k = cohens_kappa(&a, &b, 2).unwrap().unwrap();
        assert!((k - 0.4).abs() < 1e-12, "{k}");
        assert_eq!(cohens_kappa(&[1, 1], &[1, 1], 2).unwrap(), None);
        assert_eq!(cohens_kappa(&[0, 1], &[0, 1], 2).unwrap(), Some(1.0));
        assert!(cohens_kappa(&[0], &[2], 2).is_err());
    }

    #[test]
    fn selective_metrics_and_coverage_thresholds() {
        let conf = [0.9, 0.8, 0.7, 0.6];
        let ok = [true, false, true, true];
        let m = selective_metrics(&conf, &ok, 0.75).unwrap();
        assert_eq!((m.coverage, m.selective_risk, m.accepted), (0.5, 0.5, 2));
        assert_eq!(threshold_for_coverage(&conf, 0.5).unwrap(), 0.8);
        assert_eq!(threshold_for_coverage(&conf, 0.6).unwrap(), 0.7);
        assert_eq!(threshold_for_coverage(&conf, 1.0).unwrap(), 0.6);
        assert!(threshold_for_coverage(&conf, 0.0).unwrap().is_infinite());
        assert!(threshold_for_coverage(&conf, 1.5).is_err());
    }

    #[test]
    fn simulated_expert_is_seeded_and_right_at_its_rate() {
        let y: Vec<usize> = (0..20_000).map(|i| i % 4).collect();
        let e = SimulatedExpert::Uniform(0.9);
        let l = e.label(&y, 4, 1);
        let acc = l.iter().zip(&y).filter(|(a, b)| a == b).count() as f64 / y.len() as f64;
        assert!((acc - 0.9).abs() < 0.01, "{acc}");
        assert_eq!(l, e.label(&y, 4, 1));
        assert!(l.iter().all(|&v| v < 4));
        let per = SimulatedExpert::PerClass(vec![1.0, 0.0, 1.0, 1.0]);
        let l = per.label(&y, 4, 2);
        assert!(l.iter().zip(&y).all(|(a, b)| (a == b) == (*b != 1)));
        assert!(SimulatedExpert::Uniform(1.2).validate().is_err());
        // Expected system accuracy: accept rows 0, 1 (one right), defer 2, 3 to a .9 expert.
        let s = expected_system_accuracy(
            &[0.9, 0.8, 0.1, 0.2],
            &[true, false, false, true],
            &[0, 1, 2, 3],
            0.5,
            &e,
        );
        assert!((s - (1.0 + 0.9 + 0.9) / 4.0).abs() < 1e-12);
    }
}
