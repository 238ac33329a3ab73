//! The sanity checks of a robustness evaluation (after Carlini et al. 2019, "On Evaluating
//! Adversarial Robustness"): each returns a [`SanityCheck`] whose failure warns of possible
//! gradient masking. Four compare the accuracies already measured; two run the model again
//! (PGD at the ε that covers the input box, input gradients).

use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use aegis_model::{Classifier, Dataset, batch_tensor, label_tensor, to_host};

use super::outcomes::{BoxRows, RowOutcomes, mean};
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

/// The six checks in report order, from the per-row outcomes; those that compare attacks
/// appear only when the attacks were run.
pub(super) fn all_checks(
    attacks: &[EvalAttack],
    eps: &[f64],
    clean_accuracy: f64,
    results: &[EvalResult],
    per_sample: &[(EvalAttack, f64, Vec<bool>)],
    outcomes: &RowOutcomes,
) -> Vec<SanityCheck> {
    let mut checks = Vec::new();
    if eps.first() == Some(&0.0) {
        checks.push(eps_zero_gives_clean_accuracy(
            attacks,
            clean_accuracy,
            results,
        ));
    }
    checks.push(accuracy_does_not_increase(attacks, eps, results));
    if attacks.contains(&EvalAttack::Fgsm) {
        checks.push(iterative_at_least_as_strong(eps, results));
    }
    checks.extend(
        outcomes
            .box_attack
            .as_ref()
            .map(whole_box_gives_zero_accuracy),
    );
    if attacks.contains(&EvalAttack::Square) {
        checks.push(black_box_not_stronger(attacks, eps, per_sample));
    }
    checks.push(gradients_non_zero_and_finite(&outcomes.bad_gradient));
    checks
}

/// PGD-20 at the box's diameter ε (step ε/10) can reach any input of the box (for pixels
/// `[0, 1]`: ε = 1, step 0.1), so it must break every row: per row, whether it survived.
/// `None` for an unbounded box.
pub(super) fn box_attack_rows<M: Classifier + Module>(
    model: &M,
    inference: &M,
    data: &Dataset,
    row_offset: u64,
    cfg: &EvaluateConfig,
    device: &Device,
) -> Result<Option<BoxRows>> {
    let f = data.dim();
    let Some(diameter) = cfg.space.diameter(f) else {
        return Ok(None); // an unbounded box has no radius that covers it
    };
    let big = Pgd::new(
        PgdConfig::new(diameter)
            .with_steps(20)
            .with_step_size(diameter / 10.0)
            .with_seed(cfg.seed),
    )?;
    let mut correct = Vec::with_capacity(data.len());
    for s in (0..data.len()).step_by(cfg.batch_size.max(1)) {
        let e = (s + cfg.batch_size.max(1)).min(data.len());
        let x = batch_tensor(data.features[s * f..e * f].to_vec(), e - s, f, device);
        let goal = Goal::Untargeted(data.labels[s..e].to_vec());
        let keys = (s..e).map(|i| row_offset + i as u64).collect();
        let adv = cfg
            .space
            .perturb(&big.clone().with_row_keys(keys), model, x, &goal)?;
        correct.extend(
            predictions(inference, adv)
                .iter()
                .zip(&data.labels[s..e])
                .map(|(p, y)| p == y),
        );
    }
    Ok(Some(BoxRows {
        eps: diameter,
        correct,
    }))
}

/// The box-diameter PGD must leave no row correct.
fn whole_box_gives_zero_accuracy(rows: &BoxRows) -> SanityCheck {
    let d = rows.eps;
    let a = mean(&rows.correct);
    SanityCheck {
        name: format!("eps {d:.1} (L-inf, the whole input box) gives 0% accuracy"),
        passed: a == 0.0,
        detail: format!("PGD-20 (step {:.3}) at ε = {d:.3}: {a:.4}", d / 10.0),
    }
}

/// Per row, in batches: whether the input gradient of the loss is all zero or NaN.
pub(super) fn bad_gradient_rows<M: Classifier>(
    inference: &M,
    data: &Dataset,
    batch_size: usize,
    device: &Device,
) -> Vec<bool> {
    let f = data.dim();
    let mut bad = Vec::with_capacity(data.len());
    for s in (0..data.len()).step_by(batch_size.max(1)) {
        let e = (s + batch_size.max(1)).min(data.len());
        let x = batch_tensor(data.features[s * f..e * f].to_vec(), e - s, f, device);
        let g = to_host(objective_gradient(
            inference,
            &x,
            &label_tensor(&data.labels[s..e], device),
            false,
        ));
        bad.extend(
            g.chunks(f)
                .map(|row| row.iter().all(|v| *v == 0.0) || row.iter().any(|v| v.is_nan())),
        );
    }
    bad
}

/// Fewer than 1% of the rows may have an all-zero or NaN input gradient.
fn gradients_non_zero_and_finite(bad_rows: &[bool]) -> SanityCheck {
    let bad = bad_rows.iter().filter(|&&b| b).count();
    let frac = bad as f64 / bad_rows.len().max(1) as f64;
    SanityCheck {
        name: "input gradients are non-zero and finite".into(),
        passed: frac < 0.01,
        detail: format!(
            "{bad} of {} rows ({:.2}%) have an all-zero or NaN gradient",
            bad_rows.len(),
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
