//! Temperature scaling (Guo, Pleiss, Sun & Weinberger 2017): one scalar `T > 0` dividing the
//! logits, fitted by minimising the NLL of a validation set.
//!
//! The NLL is convex in the inverse temperature `a = 1/T`:
//! `f(a) = mean[LSE(a·z) − a·z_y]`, `f′(a) = mean[E_p(z) − z_y]`, `f″(a) = mean[Var_p(z)] ≥ 0`
//! with `p = softmax(a·z)`, so a safeguarded 1-D Newton method on `a` finds the global
//! optimum in a handful of steps (PyTorch reference implementations use L-BFGS on `T`; the
//! optimum is the same). `a` is kept in `[1e-2, 1e2]`, i.e. `T ∈ [0.01, 100]`: on separable
//! data the NLL keeps falling as `T → 0` and the bound stops it.
//!
//! **When the fit set cannot estimate a temperature** ([`estimate_temperature`]). A row whose
//! label's logit is the largest contributes `E_p(z) − z_y ≤ 0` to `f′(a)` at every `a`: it
//! always asks for a lower `T`. Only a misclassified row (label's logit below the largest)
//! turns positive as `a` grows (towards `max z − z_y`), so only misclassified rows keep `T`
//! from 0; symmetrically, only correctly classified rows keep it from `∞`. With no
//! misclassified row the optimum is `T → 0` (the bound); with a handful, it is set by those
//! few rows' margins, and the fitted `T` is a property of them, not of the model. On a
//! 98%-accurate breast-cancer MLP whose 56 fit rows are all right, the fit stops at
//! `T = 0.017` (where the gradient vanishes in floating point, short of the bound) and the
//! held-out NLL goes from 0.11 to 0.97. Temperature scaling is a softmax regression with one parameter
//! and no intercept, and the standard requirement for such a fit is counted in events of the
//! rarer outcome per parameter: at least 10 (Peduzzi, Concato, Kemper, Holford & Feinstein
//! 1996, J. Clin. Epidemiol. 49:1373, where fewer gave biased coefficients and wrong
//! intervals). Here the two outcomes that pull `T` apart are "misclassified" and "correctly
//! classified", so the temperature counts as estimated only with at least
//! [`MIN_FIT_EVENTS`] = 10 of each, and only when the optimum lies inside the bounds (a fit
//! stopped at `T = 0.01` or `100` is not an optimum). Otherwise `T = 1` is kept (the logits
//! unchanged) and the reason says why, with the counts.
//!
//! [`cross_fit_temperature`] applies it 2-fold cross-fitted: each half of the rows is scaled by
//! the temperature fitted on the other half, so no row is scored by a `T` fitted on it.

use serde::{Deserialize, Serialize};

use crate::error::{Result, UncertaintyError};
use crate::estimators::{gather_rows, logsumexp, softmax};

const A_MIN: f64 = 1e-2;
const A_MAX: f64 = 1e2;

/// The fewest misclassified fit rows, and the fewest correctly classified ones, with which a
/// fitted temperature counts as estimated: 10 events per parameter (see the module doc).
pub const MIN_FIT_EVENTS: usize = 10;

/// The result of [`fit_temperature`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TemperatureFit {
    /// The fitted temperature `T`.
    pub temperature: f64,
    /// NLL of the fitting data at `T = 1`.
    pub nll_before: f64,
    /// NLL of the fitting data at the fitted `T`.
    pub nll_after: f64,
    /// Newton iterations used.
    pub iterations: usize,
    /// The fit stopped at a bound of `T ∈ [0.01, 100]` with the NLL still falling beyond it.
    pub at_bound: bool,
}

/// [`estimate_temperature`]'s answer: the temperature to use and whether the fit set could
/// estimate one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemperatureEstimate {
    /// The temperature to use: the fitted one when estimated, else 1 (logits unchanged).
    pub temperature: f64,
    /// The NLL fit on the fit set (its `temperature` is the optimum, used or not).
    pub fit: TemperatureFit,
    /// Fit rows.
    pub n: usize,
    /// Fit rows whose label's logit is below the row's largest; the others (ties included)
    /// are the correctly classified ones.
    pub misclassified: usize,
    /// Why no temperature was estimated (one sentence with the counts); `None` when it was.
    pub not_estimated: Option<String>,
}

/// Fits `T` on logits `[N, C]` and labels and says whether the fit set can estimate it: at
/// least [`MIN_FIT_EVENTS`] misclassified and as many correctly classified rows, and an
/// optimum inside the bounds (see the module doc). When not, `temperature` is 1.
pub fn estimate_temperature(
    logits: &[f32],
    labels: &[usize],
    classes: usize,
) -> Result<TemperatureEstimate> {
    let fit = fit_temperature(logits, labels, classes)?;
    let n = labels.len();
    let misclassified = logits
        .chunks(classes)
        .zip(labels)
        .filter(|(row, y)| row.iter().any(|&v| v > row[**y]))
        .count();
    let correct = n - misclassified;
    let not_estimated = if misclassified < MIN_FIT_EVENTS || correct < MIN_FIT_EVENTS {
        let (count, what, pulls) = if misclassified < MIN_FIT_EVENTS {
            (misclassified, "misclassified", "0")
        } else {
            (correct, "correctly classified", "infinity")
        };
        let are = if count == 1 { "is" } else { "are" };
        Some(format!(
            "only {count} of the {n} fit rows {are} {what}, and a temperature needs at least {MIN_FIT_EVENTS} misclassified and {MIN_FIT_EVENTS} correctly classified ones: the NLL optimum (T = {:.4}) is pulled towards {pulls} by too few rows to estimate, so T = 1 is kept",
            fit.temperature
        ))
    } else if fit.at_bound {
        Some(format!(
            "the NLL keeps falling beyond the bound T = {}, so there is no optimum to estimate and T = 1 is kept",
            fit.temperature
        ))
    } else {
        None
    };
    Ok(TemperatureEstimate {
        temperature: if not_estimated.is_some() {
            1.0
        } else {
            fit.temperature
        },
        fit,
        n,
        misclassified,
        not_estimated,
    })
}

/// Mean NLL of `logits / T` (`logits` `[N, C]`) — exact, from the log-sum-exp.
pub fn nll_at_temperature(logits: &[f32], labels: &[usize], classes: usize, t: f64) -> Result<f64> {
    check(logits, labels, classes)?;
    let a = 1.0 / t;
    Ok(value_grad_hess(logits, labels, classes, a).0)
}

/// Fits `T` on logits `[N, C]` and labels (see the module doc).
pub fn fit_temperature(logits: &[f32], labels: &[usize], classes: usize) -> Result<TemperatureFit> {
    check(logits, labels, classes)?;
    if labels.is_empty() {
        return Err(UncertaintyError::invalid(
            "labels",
            "need at least one row to fit on",
        ));
    }
    let (nll_before, ..) = value_grad_hess(logits, labels, classes, 1.0);
    let mut a = 1.0f64;
    let (mut f, mut g, mut h) = value_grad_hess(logits, labels, classes, a);
    let mut iterations = 0;
    for _ in 0..100 {
        if g.abs() < 1e-10 {
            break;
        }
        iterations += 1;
        // Newton step when the curvature is usable, else a gradient step; then backtrack
        // until the NLL does not increase, staying inside the bounds.
        let mut step = if h > 1e-12 {
            -g / h
        } else {
            -g.signum() * a * 0.5
        };
        let mut accepted = false;
        for _ in 0..60 {
            let cand = (a + step).clamp(A_MIN, A_MAX);
            let (fc, gc, hc) = value_grad_hess(logits, labels, classes, cand);
            if fc <= f {
                let moved = (cand - a).abs();
                (a, f, g, h) = (cand, fc, gc, hc);
                accepted = moved > 0.0;
                break;
            }
            step *= 0.5;
        }
        if !accepted || (g < 0.0 && a >= A_MAX) || (g > 0.0 && a <= A_MIN) {
            break;
        }
    }
    let at_bound = (g < 0.0 && a >= A_MAX) || (g > 0.0 && a <= A_MIN);
    Ok(TemperatureFit {
        temperature: 1.0 / a,
        nll_before,
        nll_after: f,
        iterations,
        at_bound,
    })
}

/// Checks that `logits` is `[N, C]` for `N = labels.len()` and every label is below `C`.
pub(crate) fn check(logits: &[f32], labels: &[usize], classes: usize) -> Result<()> {
    if classes == 0 || logits.len() != labels.len() * classes {
        return Err(UncertaintyError::Shape(format!(
            "{} logits for {} labels and {classes} classes",
            logits.len(),
            labels.len()
        )));
    }
    if labels.iter().any(|&y| y >= classes) {
        return Err(UncertaintyError::Shape(
            "a label is not below the class count".into(),
        ));
    }
    Ok(())
}

/// `(f, f′, f″)` of the mean NLL at inverse temperature `a`.
fn value_grad_hess(logits: &[f32], labels: &[usize], classes: usize, a: f64) -> (f64, f64, f64) {
    let n = labels.len().max(1) as f64;
    let (mut f, mut g, mut h) = (0.0, 0.0, 0.0);
    for (row, &y) in logits.chunks(classes).zip(labels) {
        let z: Vec<f64> = row.iter().map(|&v| v as f64).collect();
        let az: Vec<f64> = z.iter().map(|v| a * v).collect();
        let p = softmax(&az);
        let ez: f64 = p.iter().zip(&z).map(|(p, z)| p * z).sum();
        let ez2: f64 = p.iter().zip(&z).map(|(p, z)| p * z * z).sum();
        f += logsumexp(&az) - az[y];
        g += ez - z[y];
        h += (ez2 - ez * ez).max(0.0);
    }
    (f / n, g / n, h / n)
}

/// 2-fold cross-fitted temperature scaling of logits `[N, C]`: rows in `b` are divided by the
/// temperature fitted on the rows in `a`, and vice versa. Returns the scaled logits and the two
/// temperatures `[T fitted on a, T fitted on b]`.
pub fn cross_fit_temperature(
    logits: &[f32],
    labels: &[usize],
    c: usize,
    a: &[usize],
    b: &[usize],
) -> Result<(Vec<f32>, Vec<f64>)> {
    let mut scaled = logits.to_vec();
    let mut temperatures = Vec::new();
    for (fit, apply) in [(a, b), (b, a)] {
        let t = fit_temperature(
            &gather_rows(logits, c, fit),
            &gather_rows(labels, 1, fit),
            c,
        )?
        .temperature;
        temperatures.push(t);
        for &i in apply {
            for v in &mut scaled[i * c..(i + 1) * c] {
                *v = (*v as f64 / t) as f32;
            }
        }
    }
    Ok((scaled, temperatures))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Logits of a calibrated 3-class model scaled by `scale` (labels drawn from the true
    /// softmax): fitting must recover `T ≈ scale`.
    fn overconfident(scale: f64, n: usize) -> (Vec<f32>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (mut logits, mut labels) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let z: Vec<f64> = (0..3).map(|_| rng.random_range(-2.0..2.0)).collect();
            let p = softmax(&z);
            let u: f64 = rng.random();
            let y = if u < p[0] {
                0
            } else if u < p[0] + p[1] {
                1
            } else {
                2
            };
            labels.push(y);
            logits.extend(z.iter().map(|v| (v * scale) as f32));
        }
        (logits, labels)
    }

    #[test]
    fn recovers_the_temperature_of_overconfident_logits() {
        let (logits, labels) = overconfident(3.0, 20_000);
        let fit = fit_temperature(&logits, &labels, 3).unwrap();
        assert!((fit.temperature - 3.0).abs() < 0.15, "{fit:?}");
        assert!(fit.nll_after < fit.nll_before);
        assert!(fit.iterations < 30, "{fit:?}");
        // The optimum: the NLL is higher a little on either side.
        let at = |t| nll_at_temperature(&logits, &labels, 3, t).unwrap();
        assert!(at(fit.temperature) <= at(fit.temperature * 1.05));
        assert!(at(fit.temperature) <= at(fit.temperature / 1.05));
        assert!((at(fit.temperature) - fit.nll_after).abs() < 1e-12);
    }

    #[test]
    fn nll_at_temperature_matches_hand_computation() {
        // One row, logits (2, 0), label 0, T = 2: −ln(e¹ / (e¹ + 1)) = ln(1 + e⁻¹) = 0.313262.
        let v = nll_at_temperature(&[2.0, 0.0], &[0], 2, 2.0).unwrap();
        assert!((v - 0.313_261_687_518_222_8).abs() < 1e-12, "{v}");
    }

    #[test]
    fn separable_data_sharpens_and_bad_input_is_rejected() {
        // Separable data: the NLL falls towards 0 as T → 0; the fit sharpens until the gradient
        // vanishes numerically (or the T = 0.01 bound).
        let fit = fit_temperature(&[5.0, 0.0, 0.0, 5.0], &[0, 1], 2).unwrap();
        assert!(fit.temperature <= 0.2 && fit.temperature >= 0.01, "{fit:?}");
        assert!(fit.nll_after < 1e-9, "{fit:?}");
        assert!(fit_temperature(&[], &[], 2).is_err());
        assert!(fit_temperature(&[1.0, 2.0], &[2], 2).is_err());
    }

    /// `n` two-class rows `[m, 0]` with margins `m` in `[1, 4)`, all labelled 0 but the first
    /// `wrong`, labelled 1 (misclassified).
    fn margins(n: usize, wrong: usize) -> (Vec<f32>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let logits = (0..n)
            .flat_map(|_| [rng.random_range(1.0f32..4.0), 0.0])
            .collect();
        (logits, (0..n).map(|i| usize::from(i < wrong)).collect())
    }

    #[test]
    fn a_temperature_needs_enough_errors_and_enough_hits_in_the_fit_set() {
        // Perfectly separable: the optimum runs towards T → 0; not estimated, T = 1 kept.
        let (logits, labels) = margins(200, 0);
        let e = estimate_temperature(&logits, &labels, 2).unwrap();
        assert_eq!((e.temperature, e.misclassified, e.n), (1.0, 0, 200));
        assert!(e.fit.temperature < 0.2, "{e:?}");
        let why = e.not_estimated.unwrap();
        assert!(
            why.contains("only 0 of the 200 fit rows are misclassified"),
            "{why}"
        );
        // Nine errors: the optimum is finite but rests on nine rows; ten: estimated, and the
        // temperature is the fit's own.
        let (logits, labels) = margins(200, MIN_FIT_EVENTS - 1);
        let e = estimate_temperature(&logits, &labels, 2).unwrap();
        assert!(e.not_estimated.is_some() && e.temperature == 1.0, "{e:?}");
        assert!(!e.fit.at_bound, "{e:?}");
        let (logits, labels) = margins(200, MIN_FIT_EVENTS);
        let e = estimate_temperature(&logits, &labels, 2).unwrap();
        assert_eq!(e.not_estimated, None);
        assert_eq!(e.temperature, e.fit.temperature);
        // Almost every row wrong: T would run towards ∞; not estimated either.
        let (logits, labels) = margins(200, 195);
        let e = estimate_temperature(&logits, &labels, 2).unwrap();
        let why = e.not_estimated.unwrap();
        assert!(
            why.contains("only 5 of the 200 fit rows are correctly classified"),
            "{why}"
        );
        // Plenty of both: the same temperature as before this check existed.
        let (logits, labels) = overconfident(3.0, 20_000);
        let e = estimate_temperature(&logits, &labels, 3).unwrap();
        assert!(
            e.misclassified > 1000 && e.n - e.misclassified > 1000,
            "{e:?}"
        );
        assert_eq!(e.not_estimated, None);
        assert_eq!(
            e.temperature,
            fit_temperature(&logits, &labels, 3).unwrap().temperature
        );
    }
}
