//! Split conformal evaluated over `K` random calibration/test splits: coverage, set size and
//! per-class coverage (`conformal.json`).

use serde::{Deserialize, Serialize};

use super::scores::{ConformalConfig, ConformalScore};
use super::split::SplitConformal;
use crate::error::{MAX_SPLITS, Result, UncertaintyError, check_count};
use crate::estimators::gather_rows;
use crate::metrics::accuracy;

/// Coverage and set size of one random calibration/test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformalSplit {
    /// Fraction of test rows whose set holds the label.
    pub coverage: f64,
    /// Mean set size on the test rows.
    pub mean_set_size: f64,
    /// Fraction of empty sets.
    pub empty_fraction: f64,
    /// The calibrated threshold.
    pub qhat: f64,
}

/// `conformal.json`: split conformal over `K` random calibration/test splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformalReport {
    /// `α`.
    pub alpha: f64,
    /// The score.
    pub score: ConformalScore,
    /// Target coverage `1 − α`.
    pub target_coverage: f64,
    /// Mean test coverage over the splits.
    pub mean_coverage: f64,
    /// Standard deviation of the test coverage over the splits.
    pub std_coverage: f64,
    /// Mean prediction-set size over the splits.
    pub mean_set_size: f64,
    /// Coverage per class of the model (over the test rows of every split), a check of
    /// conditional coverage; `None` for a class without test rows (absent from the data).
    pub class_coverage: Vec<Option<f64>>,
    /// Accuracy of the arg-max prediction on all rows (for reference).
    pub top1_accuracy: f64,
    /// Calibration rows per split.
    pub n_calibration: usize,
    /// Test rows per split.
    pub n_test: usize,
    /// Every split.
    pub splits: Vec<ConformalSplit>,
}

/// Runs split conformal `splits` times: each split shuffles the rows with seed
/// `config.seed + k`, calibrates on the first `calibration_fraction` of them and measures
/// coverage and set size on the rest.
pub fn evaluate_conformal(
    config: &ConformalConfig,
    probs: &[f64],
    labels: &[usize],
    classes: usize,
    splits: usize,
    calibration_fraction: f64,
) -> Result<ConformalReport> {
    config.validate()?;
    let n = crate::metrics::check_probs(probs, labels, classes)?;
    check_count("splits", splits, 1, MAX_SPLITS)?;
    if !(calibration_fraction > 0.0 && calibration_fraction < 1.0) {
        return Err(UncertaintyError::invalid(
            "calibration_fraction",
            format!("{calibration_fraction:?} is not in (0, 1)"),
        ));
    }
    let n_cal = (n as f64 * calibration_fraction).round() as usize;
    if n_cal == 0 || n_cal >= n {
        return Err(UncertaintyError::invalid(
            "calibration_fraction",
            format!("{calibration_fraction:?} of {n} rows leaves no calibration or no test rows"),
        ));
    }
    let gather = |idx: &[usize]| -> (Vec<f64>, Vec<usize>) {
        (
            gather_rows(probs, classes, idx),
            gather_rows(labels, 1, idx),
        )
    };
    let mut out = Vec::with_capacity(splits);
    let mut class_hits = vec![0.0; classes];
    let mut class_counts = vec![0.0; classes];
    for k in 0..splits {
        let seed = config.seed.wrapping_add(k as u64);
        let (cal, test) = aegis_model::data::shuffled_split(n, n_cal, seed);
        let (cal_p, cal_y) = gather(&cal);
        let (test_p, test_y) = gather(&test);
        let cp =
            SplitConformal::calibrate(config.clone().with_seed(seed), &cal_p, &cal_y, classes)?;
        let sets = cp.predict_sets(&test_p, classes, seed ^ 0x5eed);
        let mut hits = 0usize;
        for (set, &y) in sets.iter().zip(&test_y) {
            let hit = set.contains(&y);
            hits += usize::from(hit);
            class_hits[y] += f64::from(u8::from(hit));
            class_counts[y] += 1.0;
        }
        let m = test_y.len() as f64;
        out.push(ConformalSplit {
            coverage: hits as f64 / m,
            mean_set_size: sets.iter().map(Vec::len).sum::<usize>() as f64 / m,
            empty_fraction: sets.iter().filter(|s| s.is_empty()).count() as f64 / m,
            qhat: cp.qhat,
        });
    }
    let mean = |f: &dyn Fn(&ConformalSplit) -> f64| out.iter().map(f).sum::<f64>() / splits as f64;
    let mean_coverage = mean(&|s| s.coverage);
    let var = out
        .iter()
        .map(|s| (s.coverage - mean_coverage).powi(2))
        .sum::<f64>()
        / (splits.max(2) - 1) as f64;
    Ok(ConformalReport {
        alpha: config.alpha,
        score: config.score,
        target_coverage: 1.0 - config.alpha,
        mean_coverage,
        std_coverage: var.sqrt(),
        mean_set_size: mean(&|s| s.mean_set_size),
        class_coverage: class_hits
            .iter()
            .zip(&class_counts)
            .map(|(h, c)| (*c > 0.0).then(|| h / c))
            .collect(),
        top1_accuracy: accuracy(probs, labels, classes)?,
        n_calibration: n_cal,
        n_test: n - n_cal,
        splits: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn coverage_is_near_the_target_for_a_calibrated_model() {
        // A perfectly calibrated synthetic classifier: p drawn at random, labels drawn from p.
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (c, n) = (5, 4000);
        let (mut probs, mut labels) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let z: Vec<f64> = (0..c).map(|_| rng.random_range(-3.0..3.0)).collect();
            let p = crate::estimators::softmax(&z);
            let mut u: f64 = rng.random();
            let mut y = c - 1;
            for (k, pk) in p.iter().enumerate() {
                if u < *pk {
                    y = k;
                    break;
                }
                u -= pk;
            }
            probs.extend(p);
            labels.push(y);
        }
        for score in [
            ConformalScore::Lac,
            ConformalScore::Aps,
            ConformalScore::Raps,
        ] {
            let cfg = ConformalConfig::new().with_score(score).with_alpha(0.1);
            let r = evaluate_conformal(&cfg, &probs, &labels, c, 10, 0.5).unwrap();
            assert!((0.88..=0.93).contains(&r.mean_coverage), "{score:?}: {r:?}");
            assert!(r.mean_set_size > 1.0 && r.mean_set_size < c as f64);
        }
        let bad = ConformalConfig::new().with_alpha(1.5);
        assert!(evaluate_conformal(&bad, &probs, &labels, c, 3, 0.5).is_err());
        assert!(evaluate_conformal(&ConformalConfig::new(), &probs, &labels, c, 3, 1.0).is_err());
    }
}
