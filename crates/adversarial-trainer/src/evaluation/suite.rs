//! Attack suites in stages, as AutoAttack composes them (Croce & Hein 2020, "Reliable
//! evaluation of adversarial robustness with an ensemble of diverse parameter-free attacks";
//! `autoattack.py`, `version='standard'`): per ε, every stage attacks only the rows still
//! robust after the stages before it, so the robust accuracy after the last stage is the
//! per-sample worst case and the later, slower attacks see few rows.

use std::time::Instant;

use super::outcomes::RunRows;
use super::robustness_report::{EvalAttack, EvaluateConfig, Suite};
use crate::error::Result;

/// The stages of `suite` and the settings they run with (a custom suite returns `cfg`
/// unchanged), with a note of what the suite leaves out.
pub(super) fn suite_settings(cfg: &EvaluateConfig) -> (EvaluateConfig, Option<String>) {
    let mut c = cfg.clone();
    let (steps, targets, queries, fab) = match cfg.suite {
        Suite::Custom => return (c, None),
        Suite::AutoAttack => (100, 9, 5000, true),
        Suite::Cheap => (20, 3, 1000, false),
    };
    c.attacks = vec![EvalAttack::ApgdCe, EvalAttack::ApgdDlrT];
    if fab {
        c.attacks.push(EvalAttack::FabT);
    }
    c.attacks.push(EvalAttack::Square);
    c.apgd_steps = steps;
    c.apgd_targets = targets;
    c.square_queries = queries;
    let note = format!(
        "suite {}: APGD-CE ({steps} iterations), APGD-T ({targets} targets × {steps} iterations), {}Square ({queries} queries, p = 0.8), each on the rows still robust",
        cfg.suite.name(),
        if fab {
            format!("FAB-T ({targets} targets × {steps} iterations), ")
        } else {
            "no FAB-T, ".into()
        }
    );
    (c, Some(note))
}

/// Runs `attacks` in order at every ε on the rows still robust (starting from `clean`);
/// `attack_rows(attack, ε, rows)` says, for each of `rows`, whether it stays correctly
/// classified. Returns, per stage, the per-row robustness after it and its time (the stage
/// counts follow from these: `summary.rs`).
pub(super) fn run_stages(
    eps: &[f64],
    clean: &[bool],
    attacks: &[EvalAttack],
    mut attack_rows: impl FnMut(EvalAttack, f64, &[usize]) -> Result<Vec<bool>>,
) -> Result<Vec<RunRows>> {
    let mut runs = Vec::new();
    for &e in eps {
        let mut robust = clean.to_vec();
        for &attack in attacks {
            let rows: Vec<usize> = (0..robust.len()).filter(|&i| robust[i]).collect();
            let t = Instant::now();
            let ok = if rows.is_empty() {
                Vec::new()
            } else {
                attack_rows(attack, e, &rows)?
            };
            for (&i, &still) in rows.iter().zip(&ok) {
                robust[i] &= still;
            }
            runs.push(RunRows {
                attack,
                eps: e,
                correct: robust.clone(),
                seconds: t.elapsed().as_secs_f64(),
            });
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stage_sees_only_the_rows_still_robust() {
        let clean = [true, true, true, false];
        let mut seen = Vec::new();
        let attacks = [EvalAttack::ApgdCe, EvalAttack::Square];
        let runs = run_stages(&[0.3], &clean, &attacks, |a, _, rows| {
            seen.push((a, rows.to_vec()));
            // APGD-CE breaks row 0; Square breaks row 2.
            Ok(rows
                .iter()
                .map(|&i| !(a == EvalAttack::ApgdCe && i == 0 || a == EvalAttack::Square && i == 2))
                .collect())
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                (EvalAttack::ApgdCe, vec![0, 1, 2]),
                (EvalAttack::Square, vec![1, 2])
            ]
        );
        assert_eq!(runs[0].correct, vec![false, true, true, false]);
        assert_eq!(runs[1].correct, vec![false, true, false, false]);
    }
}
