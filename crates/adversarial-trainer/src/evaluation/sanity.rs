//! The sanity checks of a robustness evaluation (after Carlini et al. 2019, "On Evaluating
//! Adversarial Robustness"): each returns a [`SanityCheck`] whose failure warns of possible
//! gradient masking. Four compare the accuracies already measured; two run the model again
//! (PGD at ε = 1, input gradients).

use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use aegis_model::{Classifier, Dataset, batch_tensor, label_tensor, to_host};

use super::robustness_report::{EvalAttack, EvalResult, EvaluateConfig, SanityCheck};
use crate::attacks::{Attack, Goal, Pgd, PgdConfig, objective_gradient, predictions};
use crate::error::Result;

/// The accuracy of `attack` at `eps` among `results`, if it was run.
fn accuracy_of(results: &[EvalResult], attack: EvalAttack, eps: f64) -> Option<f64> {
    results
        .iter()
        .find(|r| r.attack == attack.name() && r.eps == eps)
        .map(|r| r.accuracy)
}

/// Every attack at ε = 0 must give the clean accuracy.
pub(super) fn eps_zero_gives_clean_accuracy(
    attacks: &[EvalAttack],
    clean_accuracy: f64,
    results: &[EvalResult],
) -> SanityCheck {
    let bad: Vec<String> = attacks
        .iter()
        .filter(|&&a| accuracy_of(results, a, 0.0) != Some(clean_accuracy))
        .map(|a| a.name().to_string())
        .collect();
    SanityCheck {
        name: "eps 0 gives the clean accuracy".into(),
        passed: bad.is_empty(),
        detail: if bad.is_empty() {
            format!("all attacks at ε = 0: {clean_accuracy:.4}")
        } else {
            format!("differs for {}", bad.join(", "))
        },
    }
}

/// No attack's accuracy may rise from one ε to the next larger one.
pub(super) fn accuracy_does_not_increase(
    attacks: &[EvalAttack],
    eps: &[f64],
    results: &[EvalResult],
) -> SanityCheck {
    let acc = |a, e| accuracy_of(results, a, e);
    let mut rising = Vec::new();
    for &a in attacks {
        for w in eps.windows(2) {
            if let (Some(lo), Some(hi)) = (acc(a, w[0]), acc(a, w[1]))
                && hi > lo
            {
                rising.push(format!(
                    "{} {:.4} at ε={} > {:.4} at ε={}",
                    a.name(),
                    hi,
                    w[1],
                    lo,
                    w[0]
                ));
            }
        }
    }
    SanityCheck {
        name: "accuracy does not increase with eps".into(),
        passed: rising.is_empty(),
        detail: if rising.is_empty() {
            "monotone for every attack".into()
        } else {
            rising.join("; ")
        },
    }
}

/// PGD and APGD-CE must leave no higher accuracy than FGSM at every ε > 0.
pub(super) fn iterative_at_least_as_strong(eps: &[f64], results: &[EvalResult]) -> SanityCheck {
    let acc = |a, e| accuracy_of(results, a, e);
    let mut weaker = Vec::new();
    for &e in eps.iter().filter(|&&e| e > 0.0) {
        let single = acc(EvalAttack::Fgsm, e).unwrap_or(0.0);
        for a in [EvalAttack::Pgd, EvalAttack::ApgdCe] {
            if let Some(it) = acc(a, e)
                && it > single
            {
                weaker.push(format!("{} {it:.4} > fgsm {single:.4} at ε={e}", a.name()));
            }
        }
    }
    SanityCheck {
        name: "iterative attacks at least as strong as single-step".into(),
        passed: weaker.is_empty(),
        detail: if weaker.is_empty() {
            "yes at every ε".into()
        } else {
            weaker.join("; ")
        },
    }
}

/// Per sample, as AutoAttack's `checks.py`: at every ε, Square (black-box) must not break a
/// row that every white-box attack that ran left correctly classified; such rows are a sign
/// of gradient masking. `per_sample` holds each (attack, ε) run's per-row correctness.
pub(super) fn black_box_not_stronger(
    attacks: &[EvalAttack],
    eps: &[f64],
    per_sample: &[(EvalAttack, f64, Vec<bool>)],
) -> SanityCheck {
    let mut stronger = Vec::new();
    for &e in eps.iter().filter(|&&e| e > 0.0) {
        let at = |a: EvalAttack| {
            per_sample
                .iter()
                .find(|(x, xe, _)| *x == a && *xe == e)
                .map(|(_, _, ok)| ok)
        };
        let Some(square) = at(EvalAttack::Square) else {
            continue;
        };
        let white: Vec<&Vec<bool>> = attacks
            .iter()
            .filter(|&&a| a != EvalAttack::Square)
            .filter_map(|&a| at(a))
            .collect();
        if white.is_empty() {
            continue;
        }
        let only_square = (0..square.len())
            .filter(|&i| !square[i] && white.iter().all(|ok| ok[i]))
            .count();
        if only_square > 0 {
            stronger.push(format!(
                "square broke {only_square} of {} rows ({:.1}%) that every white-box attack missed at ε={e}",
                square.len(),
                100.0 * only_square as f64 / square.len().max(1) as f64
            ));
        }
    }
    SanityCheck {
        name: "black-box square not stronger than white-box".into(),
        passed: stronger.is_empty(),
        detail: if stronger.is_empty() {
            "no row broken by square alone, at every ε".into()
        } else {
            stronger.join("; ")
        },
    }
}

/// PGD-20 (step 0.1) at ε = 1 in L∞ can reach any input in `[0, 1]`, so it must break
/// every row.
pub(super) fn eps_one_gives_zero_accuracy<M: Classifier + Module>(
    model: &M,
    inference: &M,
    data: &Dataset,
    cfg: &EvaluateConfig,
    device: &Device,
) -> Result<SanityCheck> {
    let f = data.dim();
    let big = Pgd::new(
        PgdConfig::new(1.0)
            .with_steps(20)
            .with_step_size(0.1)
            .with_seed(cfg.seed),
    )?;
    let mut correct = 0usize;
    for s in (0..data.len()).step_by(cfg.batch_size.max(1)) {
        let e = (s + cfg.batch_size.max(1)).min(data.len());
        let x = batch_tensor(data.features[s * f..e * f].to_vec(), e - s, f, device);
        let goal = Goal::Untargeted(data.labels[s..e].to_vec());
        let adv = big.perturb(model, x, &goal)?;
        correct += predictions(inference, adv)
            .iter()
            .zip(&data.labels[s..e])
            .filter(|(p, y)| p == y)
            .count();
    }
    let a = correct as f64 / data.len().max(1) as f64;
    Ok(SanityCheck {
        name: "eps 1.0 (L-inf) gives 0% accuracy".into(),
        passed: a == 0.0,
        detail: format!("PGD-20 (step 0.1) at ε = 1: {a:.4}"),
    })
}

/// Fewer than 1% of the rows may have an all-zero or NaN input gradient.
pub(super) fn gradients_non_zero_and_finite<M: Classifier>(
    inference: &M,
    data: &Dataset,
    device: &Device,
) -> SanityCheck {
    let f = data.dim();
    let x = batch_tensor(data.features.clone(), data.len(), f, device);
    let g = to_host(objective_gradient(
        inference,
        &x,
        &label_tensor(&data.labels, device),
        false,
    ));
    let bad = g
        .chunks(f)
        .filter(|row| row.iter().all(|v| *v == 0.0) || row.iter().any(|v| v.is_nan()))
        .count();
    let frac = bad as f64 / data.len().max(1) as f64;
    SanityCheck {
        name: "input gradients are non-zero and finite".into(),
        passed: frac < 0.01,
        detail: format!(
            "{bad} of {} rows ({:.2}%) have an all-zero or NaN gradient",
            data.len(),
            100.0 * frac
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(attack: EvalAttack, eps: f64, accuracy: f64) -> EvalResult {
        EvalResult {
            attack: attack.name().into(),
            eps,
            accuracy,
            seconds: 0.0,
        }
    }

    #[test]
    fn the_accuracy_checks_fail_on_the_numbers_that_should_trip_them() {
        use EvalAttack::{Fgsm, Pgd};
        let attacks = [Fgsm, Pgd];
        let ok = [
            result(Fgsm, 0.0, 0.9),
            result(Pgd, 0.0, 0.9),
            result(Fgsm, 0.3, 0.5),
            result(Pgd, 0.3, 0.2),
        ];
        assert!(eps_zero_gives_clean_accuracy(&attacks, 0.9, &ok).passed);
        assert!(accuracy_does_not_increase(&attacks, &[0.0, 0.3], &ok).passed);
        assert!(iterative_at_least_as_strong(&[0.0, 0.3], &ok).passed);
        let bad = [
            result(Fgsm, 0.0, 0.8),
            result(Pgd, 0.0, 0.9),
            result(Fgsm, 0.3, 0.2),
            result(Pgd, 0.3, 0.95),
        ];
        assert!(!eps_zero_gives_clean_accuracy(&attacks, 0.9, &bad).passed);
        assert!(!accuracy_does_not_increase(&attacks, &[0.0, 0.3], &bad).passed);
        assert!(!iterative_at_least_as_strong(&[0.0, 0.3], &bad).passed);
    }

    #[test]
    fn square_is_compared_with_the_white_box_attacks_row_by_row() {
        use EvalAttack::{ApgdCe, Square};
        let attacks = [ApgdCe, Square];
        // Square's accuracy (2/4) is not below APGD-CE's (2/4), but it broke row 3, which
        // APGD-CE missed: the per-sample check must fail where an accuracy comparison passes.
        let per_sample = vec![
            (ApgdCe, 0.3, vec![false, false, true, true]),
            (Square, 0.3, vec![false, true, true, false]),
        ];
        let c = black_box_not_stronger(&attacks, &[0.0, 0.3], &per_sample);
        assert!(
            !c.passed && c.detail.contains("broke 1 of 4 rows"),
            "{}",
            c.detail
        );
        let fine = vec![
            (ApgdCe, 0.3, vec![false, false, true, true]),
            (Square, 0.3, vec![false, true, true, true]),
        ];
        assert!(black_box_not_stronger(&attacks, &[0.0, 0.3], &fine).passed);
    }
}
