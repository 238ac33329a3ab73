//! Selection with Guaranteed Risk (Geifman & El-Yaniv 2017, "Selective Classification for
//! Deep Neural Networks", Algorithm 1).
//!
//! Given confidences and correctness on `m` calibration rows, a target risk `r*` and a
//! confidence `δ`, SGR binary-searches the threshold `θ` over the sorted confidences for
//! `k = ⌈log₂ m⌉` steps. At each step it computes the empirical selective risk `r̂` of the rows
//! with confidence `≥ θ` and its one-sided binomial upper bound `B*(r̂, δ/k, m_θ)` (the
//! Clopper–Pearson bound: the `b` with `P(Bin(m_θ, b) ≤ m_θ·r̂) = δ/k`). The δ is split evenly
//! across the `k` tests (union bound), so with probability at least `1 − δ` the selective risk
//! of the returned threshold on new data is at most its bound.
//!
//! Aegis's one change: the search is restricted to thresholds accepting at least `n_min` rows,
//! the smallest count whose zero-error bound is below `r*` (fewer can never qualify), which
//! keeps small calibration sets (hundreds of rows) from searching only hopeless thresholds.
//! The guarantee is unchanged: still `k` bounds at `δ/k` each.
//!
//! Returned: the lowest threshold (largest coverage) visited whose bound is below `r*`; when no
//! visited threshold qualifies, `feasible = false` and the threshold rejects everything
//! (`+∞`, coverage 0) — the honest answer when the calibration set is too small or the model
//! too weak for `(r*, δ)`. How small is too small: [`min_certifiable_rows`], the fewest
//! calibration rows with which SGR certifies `r*` at `δ` at all (every row accepted, none
//! wrong).

use serde::{Deserialize, Serialize};

use crate::error::{OversightError, Result};

/// The result of [`sgr`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgrResult {
    /// Accept rows with confidence `≥ threshold` (`+∞` when infeasible; JSON writes it as
    /// `null`, read back as `+∞`).
    #[serde(deserialize_with = "infinity_if_null")]
    pub threshold: f64,
    /// Empirical coverage of the threshold on the calibration rows.
    pub coverage: f64,
    /// Empirical selective risk on the calibration rows.
    pub empirical_risk: f64,
    /// The upper bound on the selective risk (holds with probability ≥ 1 − δ); 1 when
    /// infeasible.
    pub risk_bound: f64,
    /// Whether a threshold with bound `< r*` was found.
    pub feasible: bool,
    /// Binary-search steps `k` (δ was split into `δ/k` per step).
    pub steps: usize,
}

/// Reads a threshold JSON wrote as `null`: `serde_json` writes `+∞` (SGR's threshold when no
/// threshold certifies the risk) as `null`, so `null` reads back as `+∞`, defer everything.
pub fn infinity_if_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

/// `P(X ≤ e)` for `X ~ Bin(n, b)`, summed in log space (exact for any `n` that fits memory).
pub fn binomial_cdf(e: usize, n: usize, b: f64) -> f64 {
    if e >= n || b <= 0.0 {
        return 1.0;
    }
    if b >= 1.0 {
        return 0.0;
    }
    // ln pmf(j) by the recurrence pmf(j+1) = pmf(j)·(n−j)/(j+1)·b/(1−b).
    let (lb, lq) = (b.ln(), (1.0 - b).ln());
    let mut l = n as f64 * lq;
    let mut terms = Vec::with_capacity(e + 1);
    terms.push(l);
    for j in 0..e {
        l += ((n - j) as f64).ln() - ((j + 1) as f64).ln() + lb - lq;
        terms.push(l);
    }
    let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln())
        .exp()
        .min(1.0)
}

/// The one-sided `1 − δ` upper confidence bound on an error rate with `e` errors in `n` trials:
/// the `b` solving `binomial_cdf(e, n, b) = δ` (bisection to 1e-12). 1 when `n = 0`.
pub fn binomial_upper_bound(e: usize, n: usize, delta: f64) -> f64 {
    if n == 0 || e >= n {
        return 1.0;
    }
    let (mut lo, mut hi) = (e as f64 / n as f64, 1.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if binomial_cdf(e, n, mid) > delta {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    hi
}

/// SGR's binary-search steps `k = ⌈log₂ m⌉` (at least 1) on `m` calibration rows.
fn steps(m: usize) -> usize {
    (m as f64).log2().ceil().max(1.0) as usize
}

/// The fewest accepted rows whose zero-error bound `1 − (δ/k)^{1/n}` (the closed form of
/// [`binomial_upper_bound`] at `e = 0`) is at most `r*`, for `per_step = δ/k`:
/// `n = ⌈ln(δ/k) / ln(1 − r*)⌉` (`ln_1p`, so that a tiny `r*` gives a huge `n`, saturating at
/// `usize::MAX`, rather than `ln(1) = 0`).
fn min_accepted(per_step: f64, target_risk: f64) -> usize {
    ((per_step.ln() / (-target_risk).ln_1p()).ceil() as usize).max(1)
}

/// The fewest calibration rows `m` with which [`sgr`] can certify `target_risk` at `delta`:
/// the smallest `m` whose `m` rows, all accepted and none wrong, have a bound
/// `B*(0, δ/⌈log₂ m⌉, m) ≤ r*` — with fewer rows no threshold qualifies, however good the
/// model. (`r* = 2%`, `δ = 0.001`: 451.) Scans `k = ⌈log₂ m⌉` rather than `m`, so any
/// `(r*, δ)` costs at most 64 steps; `usize::MAX` when even `2⁶³` rows would not do.
pub fn min_certifiable_rows(target_risk: f64, delta: f64) -> Result<usize> {
    check_risk_and_delta(target_risk, delta)?;
    for k in 1..64u32 {
        // The m with ⌈log₂ m⌉ = k (k = 1 also holds m = 1).
        let (lo, hi) = if k == 1 {
            (1usize, 2usize)
        } else {
            ((1usize << (k - 1)) + 1, 1usize << k)
        };
        let m = min_accepted(delta / k as f64, target_risk).max(lo);
        if m <= hi && steps(m) == k as usize {
            return Ok(m);
        }
    }
    Ok(usize::MAX)
}

/// `r*` and `δ` both in `(0, 1)`.
fn check_risk_and_delta(target_risk: f64, delta: f64) -> Result<()> {
    if !(target_risk > 0.0 && target_risk < 1.0) {
        return Err(OversightError::invalid(
            "target_risk",
            format!("{target_risk:?} must be in (0, 1)"),
        ));
    }
    if !(delta > 0.0 && delta < 1.0) {
        return Err(OversightError::invalid(
            "delta",
            format!("{delta:?} must be in (0, 1)"),
        ));
    }
    Ok(())
}

/// Runs SGR on calibration confidences (higher = more confident) and correctness.
pub fn sgr(
    confidence: &[f64],
    correct: &[bool],
    target_risk: f64,
    delta: f64,
) -> Result<SgrResult> {
    if confidence.len() != correct.len() || confidence.is_empty() {
        return Err(OversightError::Shape(format!(
            "{} confidences for {} correctness flags (need at least one row)",
            confidence.len(),
            correct.len()
        )));
    }
    check_risk_and_delta(target_risk, delta)?;
    if confidence.iter().any(|c| c.is_nan()) {
        return Err(OversightError::invalid("confidence", "a confidence is NaN"));
    }
    let m = confidence.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| confidence[a].total_cmp(&confidence[b]));
    let sorted: Vec<f64> = order.iter().map(|&i| confidence[i]).collect();
    // errors_from[z] = errors among sorted rows z..m (suffix sums).
    let mut errors_from = vec![0usize; m + 1];
    for z in (0..m).rev() {
        errors_from[z] = errors_from[z + 1] + usize::from(!correct[order[z]]);
    }
    let steps = steps(m);
    let per_step = delta / steps as f64;
    // Evaluate a threshold θ = sorted[z]: accepted are all rows with confidence ≥ θ, i.e.
    // from the first index holding θ (ties are accepted together).
    let evaluate = |z: usize| -> (f64, usize, usize, f64) {
        let theta = sorted[z];
        let first = sorted.partition_point(|&c| c < theta);
        let accepted = m - first;
        let errors = errors_from[first];
        (
            theta,
            accepted,
            errors,
            binomial_upper_bound(errors, accepted, per_step),
        )
    };
    // Thresholds accepting fewer than `n_min` rows can never meet r*: even with no error their
    // bound `1 − (δ/k)^{1/n}` is at least r*. The search runs over the others (sorted index
    // `z ≤ m − n_min`), so that a small calibration set is not sent towards ever smaller
    // accepted sets, where the bound only grows (the paper's search assumes a bound
    // monotone in θ, true when m is large).
    let n_min = min_accepted(per_step, target_risk);
    if n_min > m {
        return Ok(infeasible(steps));
    }
    let (mut zmin, mut zmax) = (0usize, m - n_min);
    let mut best: Option<SgrResult> = None;
    for _ in 0..steps {
        let z = (zmin + zmax).div_ceil(2);
        let (theta, accepted, errors, bound) = evaluate(z);
        if bound < target_risk {
            let cand = SgrResult {
                threshold: theta,
                coverage: accepted as f64 / m as f64,
                empirical_risk: errors as f64 / accepted.max(1) as f64,
                risk_bound: bound,
                feasible: true,
                steps,
            };
            if best.is_none_or(|b| cand.coverage > b.coverage) {
                best = Some(cand);
            }
            zmax = z;
        } else {
            zmin = z;
        }
    }
    Ok(best.unwrap_or(infeasible(steps)))
}

fn infeasible(steps: usize) -> SgrResult {
    SgrResult {
        threshold: f64::INFINITY,
        coverage: 0.0,
        empirical_risk: 0.0,
        risk_bound: 1.0,
        feasible: false,
        steps,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_infeasible_threshold_survives_json() {
        let r = super::SgrResult {
            threshold: f64::INFINITY,
            coverage: 0.0,
            empirical_risk: 0.0,
            risk_bound: 1.0,
            feasible: false,
            steps: 3,
        };
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"threshold\":null"), "{text}");
        let back: super::SgrResult = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }

    use super::*;

    #[test]
    fn binomial_cdf_matches_hand_values() {
        // Bin(3, .5): P(X ≤ 1) = (1 + 3)/8 = .5; Bin(10, .1): P(X ≤ 0) = .9^10 = .3486784401.
        assert!((binomial_cdf(1, 3, 0.5) - 0.5).abs() < 1e-12);
        assert!((binomial_cdf(0, 10, 0.1) - 0.348_678_440_1).abs() < 1e-10);
        assert_eq!(binomial_cdf(3, 3, 0.7), 1.0);
    }

    #[test]
    fn upper_bound_matches_closed_form_for_zero_errors() {
        // e = 0: (1 − b)^n = δ → b = 1 − δ^{1/n}. n = 100, δ = .05: 0.029513.
        let b = binomial_upper_bound(0, 100, 0.05);
        assert!((b - (1.0 - 0.05f64.powf(0.01))).abs() < 1e-9, "{b}");
        // Clopper–Pearson one-sided 95% upper bound for 5 errors in 100 trials: 0.1023
        // (scipy.stats.beta.ppf(0.95, 6, 95) = 0.10225).
        let b = binomial_upper_bound(5, 100, 0.05);
        assert!((b - 0.10225).abs() < 2e-4, "{b}");
        assert_eq!(binomial_upper_bound(0, 0, 0.05), 1.0);
    }

    #[test]
    fn sgr_finds_a_safe_threshold_and_its_bound_holds() {
        // 2,000 rows: confidence i/2000; rows below 0.3 are wrong half the time, the rest right.
        let m = 2000;
        let conf: Vec<f64> = (0..m).map(|i| i as f64 / m as f64).collect();
        let ok: Vec<bool> = (0..m).map(|i| i >= 600 || i % 2 == 0).collect();
        let r = sgr(&conf, &ok, 0.02, 0.001).unwrap();
        assert!(r.feasible, "{r:?}");
        assert!(r.risk_bound < 0.02 && r.empirical_risk <= r.risk_bound);
        // All 1,400 error-free rows are accepted at least, plus a few noisy ones.
        assert!(r.coverage >= 0.7 && r.coverage < 0.8, "{r:?}");
        assert_eq!(r.steps, 11);
    }

    #[test]
    fn too_few_rows_are_infeasible_and_bad_input_is_rejected() {
        let r = sgr(&[0.9, 0.8, 0.7], &[true, true, true], 0.02, 0.001).unwrap();
        assert!(!r.feasible && r.coverage == 0.0 && r.threshold.is_infinite());
        assert!(sgr(&[0.5], &[true], 0.0, 0.1).is_err());
        assert!(sgr(&[0.5], &[true], 0.1, 1.0).is_err());
        assert!(sgr(&[0.5], &[], 0.1, 0.1).is_err());
    }

    #[test]
    fn min_certifiable_rows_is_where_the_zero_error_bound_first_meets_the_risk() {
        for (r, delta) in [
            (0.02, 0.001),
            (0.05, 0.05),
            (0.1, 0.01),
            (0.01, 1e-6),
            (0.3, 0.2),
        ] {
            let n = min_certifiable_rows(r, delta).unwrap();
            let bound = |m: usize| binomial_upper_bound(0, m, delta / steps(m) as f64);
            assert!(
                bound(n) <= r + 1e-12,
                "r* {r}, δ {delta}: n {n}, bound {}",
                bound(n)
            );
            assert!(
                n == 1 || bound(n - 1) > r,
                "r* {r}, δ {delta}: n − 1 = {} qualifies",
                n - 1
            );
            // And SGR itself: n error-free rows certify r*, n − 1 cannot.
            let ok = |m: usize| {
                let conf: Vec<f64> = (0..m).map(|i| i as f64 / m as f64).collect();
                sgr(&conf, &vec![true; m], r, delta).unwrap().feasible
            };
            assert!(ok(n) && (n == 1 || !ok(n - 1)), "r* {r}, δ {delta}: n {n}");
        }
        assert_eq!(min_certifiable_rows(0.02, 0.001).unwrap(), 451);
        // A subnormal risk can never be certified: no row count is enough.
        assert_eq!(min_certifiable_rows(5e-324, 0.1).unwrap(), usize::MAX);
        assert!(min_certifiable_rows(0.0, 0.1).is_err());
        assert!(min_certifiable_rows(0.1, 1.0).is_err());
    }
}
