//! The report an evaluation's per-row outcomes add up to ([`summarize`]): accuracies per
//! attack and ε, AutoAttack's stages, the per-sample worst case and the sanity checks. The
//! same code serves an unsharded run and a merge of shards, so both write the same report.

use super::outcomes::{RowOutcomes, RunRows, mean};
use super::robustness_report::{
    EvalAttack, EvalResult, EvaluateConfig, RobustnessReport, StageResult, Suite, WorstCase,
};
use super::sanity;

/// The report of `outcomes` under the (effective) settings `cfg`, radii `eps` (sorted).
pub(super) fn summarize(
    outcomes: &RowOutcomes,
    cfg: &EvaluateConfig,
    eps: &[f64],
    notes: Vec<String>,
) -> RobustnessReport {
    let clean_accuracy = mean(&outcomes.clean);
    let stages = if cfg.suite == Suite::Custom {
        Vec::new()
    } else {
        stage_results(&outcomes.clean, &outcomes.runs)
    };
    let results: Vec<EvalResult> = outcomes
        .runs
        .iter()
        .map(|r| EvalResult {
            attack: r.attack.name().into(),
            eps: r.eps,
            accuracy: mean(&r.correct),
            seconds: r.seconds,
        })
        .collect();
    let per_sample: Vec<(EvalAttack, f64, Vec<bool>)> = outcomes
        .runs
        .iter()
        .map(|r| (r.attack, r.eps, r.correct.clone()))
        .collect();
    let worst_case = worst_case(eps, &outcomes.clean, &per_sample, &ensemble(&cfg.attacks));
    let sanity_checks = sanity::all_checks(
        &cfg.attacks,
        eps,
        clean_accuracy,
        &results,
        &per_sample,
        outcomes,
    );
    RobustnessReport {
        n: outcomes.len(),
        clean_accuracy,
        results,
        worst_case,
        stages,
        sanity_checks,
        config: cfg.clone(),
        notes,
    }
}

/// Each stage's attacked / broken counts: per ε, a stage attacks the rows still robust after
/// the stages before it at that ε (the clean rows for the first).
pub(super) fn stage_results(clean: &[bool], runs: &[RunRows]) -> Vec<StageResult> {
    let mut out = Vec::with_capacity(runs.len());
    let mut before: &[bool] = clean;
    let mut at_eps = f64::NAN;
    for r in runs {
        if r.eps != at_eps {
            before = clean;
            at_eps = r.eps;
        }
        let attacked = before.iter().filter(|&&b| b).count();
        let broken = before
            .iter()
            .zip(&r.correct)
            .filter(|&(&b, &ok)| b && !ok)
            .count();
        out.push(StageResult {
            eps: r.eps,
            attack: r.attack.name().into(),
            attacked,
            broken,
            robust_accuracy: mean(&r.correct),
            seconds: r.seconds,
        });
        before = &r.correct;
    }
    out
}

/// The worst-case ensemble: the ensemble attacks that were run, or everything run when none
/// of them was.
fn ensemble(attacks: &[EvalAttack]) -> Vec<EvalAttack> {
    let members: Vec<EvalAttack> = attacks
        .iter()
        .copied()
        .filter(|a| a.in_ensemble())
        .collect();
    if members.is_empty() {
        attacks.to_vec()
    } else {
        members
    }
}

/// Per ε, the accuracy when a row counts as robust only if it is classified correctly clean
/// and under every attack of `ensemble`.
fn worst_case(
    eps: &[f64],
    clean: &[bool],
    per_sample: &[(EvalAttack, f64, Vec<bool>)],
    ensemble: &[EvalAttack],
) -> Vec<WorstCase> {
    eps.iter()
        .map(|&e| {
            let mut robust = clean.to_vec();
            for (a, ae, ok) in per_sample {
                if *ae == e && ensemble.contains(a) {
                    robust.iter_mut().zip(ok).for_each(|(r, o)| *r &= *o);
                }
            }
            WorstCase {
                eps: e,
                accuracy: mean(&robust),
                attacks: ensemble.iter().map(|a| a.name().to_string()).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::outcomes::test_run as run;

    #[test]
    fn stages_count_what_each_attack_broke_per_eps() {
        let clean = [true, true, true, false];
        let runs = [
            run(EvalAttack::ApgdCe, 0.1, &[false, true, true, false]),
            run(EvalAttack::Square, 0.1, &[false, true, false, false]),
            run(EvalAttack::ApgdCe, 0.3, &[false, false, true, false]),
        ];
        let s = stage_results(&clean, &runs);
        let counts: Vec<(usize, usize)> = s.iter().map(|s| (s.attacked, s.broken)).collect();
        assert_eq!(counts, vec![(3, 1), (2, 1), (3, 2)]);
        assert_eq!(s[1].robust_accuracy, 0.25);
    }
}
