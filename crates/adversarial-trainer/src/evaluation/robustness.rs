//! Robustness evaluation: accuracy against ε for several attacks, the per-sample worst case
//! over an ensemble, and sanity checks that flag possible gradient masking (after Carlini et
//! al. 2019, "On Evaluating Adversarial Robustness", and AutoAttack's ensemble).
//!
//! [`evaluate_robustness`] runs, in order: the clean predictions; every attack at every ε over
//! the rows in batches (`accuracy_per_attack`, `correct_under`); the per-sample worst case over
//! the ensemble (`worst_case`); the six sanity checks (`sanity_checks`, in `sanity.rs`); and
//! the files (`write_report`, in `robustness_report.rs` with the report's types).

use std::path::Path;
use std::time::Instant;

use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::{Device, Tensor};
use aegis_model::{Classifier, Dataset, batch_tensor, to_host};

use super::robustness_report::{
    EvalAttack, EvalResult, EvaluateConfig, RobustnessReport, SanityCheck, Suite, WorstCase,
    write_report,
};
use super::sanity;
use super::suite::{run_stages, suite_settings};
use crate::attacks::{
    Apgd, ApgdConfig, ApgdLoss, Attack, Fab, FabConfig, Fgsm, FgsmConfig, Goal, Pgd, PgdConfig,
    Square, SquareConfig, check_eps, over_target_ranks, predictions,
};
use crate::error::{AdversarialError, Result};

/// Per (attack, ε) run: whether each row is still classified correctly.
type PerSample = Vec<(EvalAttack, f64, Vec<bool>)>;

/// What every step of one evaluation reads: the model (and its inference-mode copy), the rows,
/// the settings and the device.
struct Evaluation<'a, M> {
    model: &'a M,
    inference: M,
    data: &'a Dataset,
    cfg: &'a EvaluateConfig,
    device: &'a Device,
}

/// Runs the evaluation on `data` and writes `report.json`, `report.csv` and `report.png` into
/// `out_dir`. Failed sanity checks are returned in the report (the binary prints them as
/// warnings).
pub fn evaluate_robustness<M: Classifier + Module>(
    model: &M,
    data: &Dataset,
    cfg: &EvaluateConfig,
    device: &Device,
    out_dir: &Path,
) -> Result<RobustnessReport> {
    let eps = checked_radii(cfg)?;
    let (cfg, suite_note) = suite_settings(cfg);
    let (cfg, mut notes) = attacks_for(model.num_classes(), &cfg);
    notes.extend(suite_note);
    let cfg = &cfg;
    let run = Evaluation {
        model,
        inference: model.valid(),
        data,
        cfg,
        device,
    };
    let clean = run.clean_correct();
    let clean_accuracy = mean(&clean);
    let (results, per_sample, stages) = if cfg.suite == Suite::Custom {
        let (results, per_sample) = run.accuracy_per_attack(&eps)?;
        (results, per_sample, Vec::new())
    } else {
        let (stages, per_sample) = run_stages(&eps, &clean, &cfg.attacks, |a, e, rows| {
            run.correct_under_rows(a, e, rows)
        })?;
        let results = stages
            .iter()
            .map(|s| EvalResult {
                attack: s.attack.clone(),
                eps: s.eps,
                accuracy: s.robust_accuracy,
                seconds: s.seconds,
            })
            .collect();
        (results, per_sample, stages)
    };
    let worst_case = worst_case(&eps, &clean, &per_sample, &ensemble(&cfg.attacks));
    let sanity_checks = run.sanity_checks(&eps, clean_accuracy, &results, &per_sample)?;
    let report = RobustnessReport {
        n: data.len(),
        clean_accuracy,
        results,
        worst_case,
        stages,
        sanity_checks,
        config: cfg.clone(),
        notes,
    };
    write_report(&report, out_dir)?;
    Ok(report)
}

/// The settings with the attacks that fit a model of `classes` classes, and a note for each
/// attack dropped: the targeted DLR loss needs 4 classes (AutoAttack drops it the same way).
fn attacks_for(classes: usize, cfg: &EvaluateConfig) -> (EvaluateConfig, Vec<String>) {
    let mut cfg = cfg.clone();
    let mut notes = Vec::new();
    if classes < 4 && cfg.attacks.contains(&EvalAttack::ApgdDlrT) {
        cfg.attacks.retain(|a| *a != EvalAttack::ApgdDlrT);
        notes.push(format!(
            "apgd-dlr-t dropped: the targeted DLR loss needs at least 4 classes, the model has {classes}"
        ));
    }
    (cfg, notes)
}

/// Checks the settings and returns the radii sorted, without duplicates.
fn checked_radii(cfg: &EvaluateConfig) -> Result<Vec<f64>> {
    if cfg.attacks.is_empty() || cfg.eps.is_empty() {
        return Err(AdversarialError::invalid(
            "evaluate",
            "needs at least one attack and one ε",
        ));
    }
    for &e in &cfg.eps {
        check_eps(e)?;
    }
    let mut eps = cfg.eps.clone();
    eps.sort_by(f64::total_cmp);
    eps.dedup();
    Ok(eps)
}

/// The fraction of `true` (0 for none).
fn mean(v: &[bool]) -> f64 {
    v.iter().filter(|&&b| b).count() as f64 / v.len().max(1) as f64
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

impl<M: Classifier + Module> Evaluation<'_, M> {
    /// Whether each row is classified correctly without an attack.
    fn clean_correct(&self) -> Vec<bool> {
        let data = self.data;
        predictions(
            &self.inference,
            batch_tensor(data.features.clone(), data.len(), data.dim(), self.device),
        )
        .iter()
        .zip(&data.labels)
        .map(|(p, y)| p == y)
        .collect()
    }

    /// Every attack at every ε (attack-major): the accuracies, timed, and the per-row
    /// correctness the worst case is taken over.
    fn accuracy_per_attack(&self, eps: &[f64]) -> Result<(Vec<EvalResult>, PerSample)> {
        let mut results = Vec::new();
        let mut per_sample: PerSample = Vec::new();
        for &attack in &self.cfg.attacks {
            for &e in eps {
                let t = Instant::now();
                let ok = self.correct_under(attack, e)?;
                results.push(EvalResult {
                    attack: attack.name().into(),
                    eps: e,
                    accuracy: mean(&ok),
                    seconds: t.elapsed().as_secs_f64(),
                });
                per_sample.push((attack, e, ok));
            }
        }
        Ok((results, per_sample))
    }

    /// Runs one attack at radius `eps` over all rows in batches: whether each row is still
    /// classified correctly.
    fn correct_under(&self, attack: EvalAttack, eps: f64) -> Result<Vec<bool>> {
        let rows: Vec<usize> = (0..self.data.len()).collect();
        self.correct_under_rows(attack, eps, &rows)
    }

    /// Runs one attack at radius `eps` over `rows` in batches: whether each of them is still
    /// classified correctly.
    fn correct_under_rows(
        &self,
        attack: EvalAttack,
        eps: f64,
        rows: &[usize],
    ) -> Result<Vec<bool>> {
        let (cfg, model, data, device) = (self.cfg, self.model, self.data, self.device);
        let f = data.dim();
        let inference = &self.inference;
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(cfg.batch_size.max(1)) {
            let labels: Vec<usize> = chunk.iter().map(|&i| data.labels[i]).collect();
            let xs: Vec<f32> = chunk.iter().flat_map(|&i| data.row(i).to_vec()).collect();
            let x = batch_tensor(xs, chunk.len(), f, device);
            let goal = Goal::Untargeted(labels.clone());
            let adv = match attack {
                EvalAttack::Fgsm => Fgsm::new(FgsmConfig::new(eps))?.perturb(model, x, &goal)?,
                EvalAttack::Pgd => Pgd::new(
                    PgdConfig::new(eps)
                        .with_steps(cfg.pgd_steps)
                        .with_step_size(cfg.pgd_step_size)
                        .with_seed(cfg.seed),
                )?
                .perturb(model, x, &goal)?,
                EvalAttack::ApgdCe => Apgd::new(
                    ApgdConfig::new(eps)
                        .with_steps(cfg.apgd_steps)
                        .with_seed(cfg.seed),
                )?
                .perturb(model, x, &goal)?,
                EvalAttack::ApgdDlrT => self.apgd_targeted(&x, &labels, eps)?,
                EvalAttack::FabT => Fab::new(
                    FabConfig::new(eps)
                        .with_steps(cfg.apgd_steps)
                        .with_targets(cfg.apgd_targets),
                )?
                .perturb(model, x, &goal)?,
                EvalAttack::Square => Square::new(
                    SquareConfig::new(eps)
                        .with_queries(cfg.square_queries)
                        .with_seed(cfg.seed),
                )?
                .perturb(model, x, &goal)?,
            };
            out.extend(
                predictions(inference, adv)
                    .iter()
                    .zip(&labels)
                    .map(|(p, y)| p == y),
            );
        }
        Ok(out)
    }

    /// APGD-T as AutoAttack runs it: targeted DLR towards the 2nd, 3rd, … most likely class
    /// (up to `apgd_targets` of them), each run only on the rows still classified correctly;
    /// a row counts as broken when it is misclassified, whatever the class.
    fn apgd_targeted(&self, x: &Tensor<2>, labels: &[usize], eps: f64) -> Result<Tensor<2>> {
        let cfg = self.cfg;
        let apgd = Apgd::new(
            ApgdConfig::new(eps)
                .with_loss(ApgdLoss::Dlr)
                .with_steps(cfg.apgd_steps)
                .with_seed(cfg.seed),
        )?;
        let f = x.dims()[1];
        over_target_ranks(
            &self.inference,
            x,
            labels,
            cfg.apgd_targets,
            |xs, rows, targets| {
                let truth: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
                let goal = Goal::Targeted(targets.to_vec());
                let out = apgd.run(&self.inference, &xs, &goal, Some(&truth))?;
                let preds = predictions(&self.inference, out.clone());
                let out = to_host(out);
                Ok((0..rows.len())
                    .map(|j| (preds[j] != truth[j]).then(|| out[j * f..(j + 1) * f].to_vec()))
                    .collect())
            },
        )
    }

    /// The sanity checks against gradient masking, in report order; those that compare
    /// attacks run only when the attacks were run.
    fn sanity_checks(
        &self,
        eps: &[f64],
        clean_accuracy: f64,
        results: &[EvalResult],
        per_sample: &PerSample,
    ) -> Result<Vec<SanityCheck>> {
        let attacks = &self.cfg.attacks;
        let mut checks = Vec::new();
        if eps[0] == 0.0 {
            checks.push(sanity::eps_zero_gives_clean_accuracy(
                attacks,
                clean_accuracy,
                results,
            ));
        }
        checks.push(sanity::accuracy_does_not_increase(attacks, eps, results));
        if attacks.contains(&EvalAttack::Fgsm) {
            checks.push(sanity::iterative_at_least_as_strong(eps, results));
        }
        checks.push(sanity::eps_one_gives_zero_accuracy(
            self.model,
            &self.inference,
            self.data,
            self.cfg,
            self.device,
        )?);
        if attacks.contains(&EvalAttack::Square) {
            checks.push(sanity::black_box_not_stronger(attacks, eps, per_sample));
        }
        checks.push(sanity::gradients_non_zero_and_finite(
            &self.inference,
            self.data,
            self.device,
        ));
        Ok(checks)
    }
}
