//! The statistics of randomized smoothing (Cohen, Rosenfeld & Kolter 2019), from the
//! maintained `statrs` crate rather than our own: the Clopper–Pearson one-sided lower
//! confidence bound of CERTIFY (`LowerConfBound`, the α quantile of a beta distribution,
//! statrs' AS 64 / AS 109 inverse of the regularized incomplete beta function), the two-sided
//! binomial test of PREDICT (`BinomPValue`), and the standard normal quantile Φ⁻¹ that turns a
//! probability into a radius.

use statrs::distribution::{Beta, Binomial, ContinuousCDF, DiscreteCDF, Normal};

use crate::error::{AdversarialError, Result};

/// The smallest failure probability α accepted: far below any practical level (Cohen et al.
/// use 0.001), and inside the range where statrs' beta quantile converges (it panics on
/// subnormal levels such as 1e-320).
pub const MIN_ALPHA: f64 = 1e-12;

/// Checks `1e-12 ≤ alpha ≤ 0.5` (a lower confidence bound at a level below one half is no
/// bound), naming `alpha` and the range in the error.
pub fn check_alpha(alpha: f64) -> Result<()> {
    if (MIN_ALPHA..=0.5).contains(&alpha) {
        Ok(())
    } else {
        Err(AdversarialError::invalid(
            "alpha",
            format!("{alpha:?} is not in [1e-12, 0.5]"),
        ))
    }
}

/// The one-sided `(1 − alpha)` Clopper–Pearson lower confidence bound on the success
/// probability of a binomial from `k` successes in `n` trials: the `alpha` quantile of
/// `Beta(k, n − k + 1)`, and 0 when `k = 0`.
///
/// This is Cohen et al.'s `LowerConfBound(k, n, 1 − α)`, which their code computes as
/// `statsmodels.stats.proportion.proportion_confint(k, n, alpha=2α, method="beta")[0]`
/// (the lower end of a two-sided `1 − 2α` interval is the one-sided `1 − α` bound). Errors
/// when `k > n`, `n = 0` or `alpha` is outside `[1e-12, 0.5]`.
pub fn lower_confidence_bound(k: u64, n: u64, alpha: f64) -> Result<f64> {
    check_alpha(alpha)?;
    if n == 0 || k > n {
        return Err(AdversarialError::invalid(
            "counts",
            format!("{k} successes of {n} trials is not a binomial count"),
        ));
    }
    if k == 0 {
        return Ok(0.0);
    }
    let beta = Beta::new(k as f64, (n - k + 1) as f64)
        .map_err(|e| AdversarialError::invalid("counts", e.to_string()))?;
    Ok(beta.inverse_cdf(alpha))
}

/// The two-sided p-value of the exact binomial test of `k` successes in `n` trials against
/// `p = 1/2` (Cohen et al.'s `BinomPValue`, `scipy.stats.binomtest(k, n, 0.5).pvalue`): the
/// distribution is symmetric, so it is `min(1, 2·P(X ≤ min(k, n − k)))`. 1 when `n = 0`.
pub fn binomial_test_half(k: u64, n: u64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let tail = k.min(n.saturating_sub(k));
    let binomial = Binomial::new(0.5, n).expect("p = 1/2 is a probability");
    (2.0 * binomial.cdf(tail)).min(1.0)
}

/// Φ⁻¹(p), the standard normal quantile (statrs: `erf_inv`); −∞ at 0 and +∞ at 1.
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Φ(x), the standard normal distribution function.
pub fn normal_cdf(x: f64) -> f64 {
    Normal::standard().cdf(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tests/fixtures/smoothing_scipy.json`: made by `bench/python/smoothing_reference.py`
    /// with SciPy 1.17.1 (`scipy.stats.beta.ppf`, `binomtest`, `norm.ppf`).
    const REFERENCE: &str = include_str!("../../tests/fixtures/smoothing_scipy.json");

    fn reference() -> serde_json::Value {
        serde_json::from_str(REFERENCE).unwrap()
    }

    #[test]
    fn clopper_pearson_matches_scipy_beta_ppf() {
        let r = reference();
        let cases = r["lower_confidence_bound"].as_array().unwrap();
        assert!(cases.len() >= 40, "{} cases", cases.len());
        for c in cases {
            let (k, n, alpha) = (
                c["k"].as_u64().unwrap(),
                c["n"].as_u64().unwrap(),
                c["alpha"].as_f64().unwrap(),
            );
            let want = c["scipy"].as_f64().unwrap();
            let got = lower_confidence_bound(k, n, alpha).unwrap();
            assert!(
                (got - want).abs() <= 1e-9,
                "k={k} n={n} α={alpha}: {got} vs scipy {want}"
            );
        }
    }

    #[test]
    fn binomial_test_and_normal_quantile_match_scipy() {
        let r = reference();
        for c in r["binomial_test_half"].as_array().unwrap() {
            let (k, n) = (c["k"].as_u64().unwrap(), c["n"].as_u64().unwrap());
            let (want, got) = (c["scipy"].as_f64().unwrap(), binomial_test_half(k, n));
            assert!((got - want).abs() <= 1e-9, "k={k} n={n}: {got} vs {want}");
        }
        for c in r["normal_quantile"].as_array().unwrap() {
            let p = c["p"].as_f64().unwrap();
            let (want, got) = (c["scipy"].as_f64().unwrap(), normal_quantile(p));
            assert!((got - want).abs() <= 1e-9, "p={p}: {got} vs {want}");
        }
    }

    #[test]
    fn closed_forms_and_bad_counts() {
        // All n successes: Beta(n, 1) has CDF xⁿ, so the α quantile is α^(1/n).
        for n in [1u64, 10, 1000, 100_000] {
            let got = lower_confidence_bound(n, n, 0.001).unwrap();
            assert!(
                (got - 0.001f64.powf(1.0 / n as f64)).abs() < 1e-12,
                "{n}: {got}"
            );
        }
        assert_eq!(lower_confidence_bound(0, 10, 0.05).unwrap(), 0.0);
        assert!(lower_confidence_bound(11, 10, 0.05).is_err());
        assert!(lower_confidence_bound(0, 0, 0.05).is_err());
        for alpha in [0.0, 1e-13, 0.6, 1.0, -0.1, f64::NAN, 1e-320] {
            assert!(lower_confidence_bound(5, 10, alpha).is_err(), "{alpha}");
        }
        assert_eq!(binomial_test_half(5, 10), 1.0);
        assert_eq!(binomial_test_half(0, 0), 1.0);
        // Two-sided test of 10 of 10: 2 · 2⁻¹⁰.
        assert!((binomial_test_half(10, 10) - 2.0f64.powi(-9)).abs() < 1e-15);
        let round_trip = normal_cdf(normal_quantile(0.975));
        assert!((round_trip - 0.975).abs() < 1e-10, "{round_trip}");
    }
}
