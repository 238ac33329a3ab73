//! Robustness evaluation: accuracy against ε for several attacks, the per-sample worst case
//! over an ensemble, and sanity checks that flag possible gradient masking (after Carlini et
//! al. 2019, "On Evaluating Adversarial Robustness", and AutoAttack's ensemble).
//!
//! [`evaluate_robustness`] runs [`evaluate_rows`] (the clean predictions; every attack at
//! every ε over the rows in batches, as a suite's stages or each on every row; the rows that
//! the two model-probing sanity checks need), adds the per-row outcomes up into the report
//! (`summary.rs`: accuracies, stages, the per-sample worst case, the six sanity checks) and
//! writes the files (`write_report`, in `robustness_report.rs` with the report's types).

use std::path::Path;
use std::time::Instant;

use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::{Device, Tensor};
use aegis_model::{Classifier, Dataset, batch_tensor, to_host};

use super::outcomes::{RowOutcomes, RunRows};
use super::robustness_report::{EvalAttack, EvaluateConfig, RobustnessReport, Suite, write_report};
use super::sanity;
use super::suite::{run_stages, suite_settings};
use super::summary::summarize;
use crate::attacks::{
    Apgd, ApgdConfig, ApgdLoss, Attack, Fab, FabConfig, Fgsm, FgsmConfig, Goal, Pgd, PgdConfig,
    Square, SquareConfig, check_eps, over_target_ranks, predictions,
};
use crate::error::{AdversarialError, Result};

/// What every step of one evaluation reads: the model (and its inference-mode copy), the rows,
/// the settings and the device.
struct Evaluation<'a, M> {
    model: &'a M,
    inference: M,
    data: &'a Dataset,
    /// Global index of `data`'s first row (the key of its random streams).
    row_offset: u64,
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
    let rows = evaluate_rows(model, data, 0, cfg, device)?;
    let report = summarize(&rows.outcomes, &rows.config, &rows.eps, rows.notes);
    write_report(&report, out_dir)?;
    Ok(report)
}

/// An evaluation's per-row outcomes with the settings it actually ran (the suite's attacks,
/// those that fit the class count), the sorted radii and the notes on what changed.
pub(crate) struct EvaluatedRows {
    /// Per-row results.
    pub outcomes: RowOutcomes,
    /// The effective settings.
    pub config: EvaluateConfig,
    /// Radii, sorted, without duplicates.
    pub eps: Vec<f64>,
    /// What the evaluation changed and why.
    pub notes: Vec<String>,
}

/// Runs every attack of `cfg` on `data`, whose first row is row `row_offset` of the full set:
/// random starts are keyed by that global row index, so a row's outcome does not depend on
/// how the rows are sharded or batched.
pub(crate) fn evaluate_rows<M: Classifier + Module>(
    model: &M,
    data: &Dataset,
    row_offset: u64,
    cfg: &EvaluateConfig,
    device: &Device,
) -> Result<EvaluatedRows> {
    let eps = checked_radii(cfg)?;
    let (cfg, suite_note) = suite_settings(cfg);
    let (cfg, mut notes) = attacks_for(model.num_classes(), &cfg);
    notes.extend(suite_note);
    let run = Evaluation {
        model,
        inference: model.valid(),
        data,
        row_offset,
        cfg: &cfg,
        device,
    };
    let clean = run.clean_correct();
    let runs = if cfg.suite == Suite::Custom {
        run.accuracy_per_attack(&eps)?
    } else {
        run_stages(&eps, &clean, &cfg.attacks, |a, e, rows| {
            run.correct_under_rows(a, e, rows)
        })?
    };
    let outcomes = RowOutcomes {
        clean,
        runs,
        box_attack: sanity::box_attack_rows(model, &run.inference, data, row_offset, &cfg, device)?,
        bad_gradient: sanity::bad_gradient_rows(&run.inference, data, cfg.batch_size, device),
    };
    Ok(EvaluatedRows {
        outcomes,
        eps,
        config: cfg,
        notes,
    })
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

impl<M: Classifier + Module> Evaluation<'_, M> {
    /// Whether each row is classified correctly without an attack, in batches of
    /// `batch_size` rows (as the attacks run), so memory does not grow with the row count.
    fn clean_correct(&self) -> Vec<bool> {
        let (data, f) = (self.data, self.data.dim());
        let batch = self.cfg.batch_size.max(1);
        let mut correct = Vec::with_capacity(data.len());
        for s in (0..data.len()).step_by(batch) {
            let e = (s + batch).min(data.len());
            let x = batch_tensor(data.features[s * f..e * f].to_vec(), e - s, f, self.device);
            let preds = predictions(&self.inference, x);
            correct.extend(preds.iter().zip(&data.labels[s..e]).map(|(p, y)| p == y));
        }
        correct
    }

    /// Every attack at every ε (attack-major), each on every row, timed.
    fn accuracy_per_attack(&self, eps: &[f64]) -> Result<Vec<RunRows>> {
        let mut runs = Vec::new();
        for &attack in &self.cfg.attacks {
            for &e in eps {
                let t = Instant::now();
                let correct = self.correct_under(attack, e)?;
                runs.push(RunRows {
                    attack,
                    eps: e,
                    correct,
                    seconds: t.elapsed().as_secs_f64(),
                });
            }
        }
        Ok(runs)
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
            let space = &cfg.space;
            // Random streams keyed by the global row index: independent of batch and shard.
            let keys: Vec<u64> = chunk.iter().map(|&i| self.row_offset + i as u64).collect();
            let adv = match attack {
                EvalAttack::Fgsm => {
                    space.perturb(&Fgsm::new(FgsmConfig::new(eps))?, model, x, &goal)?
                }
                EvalAttack::Pgd => {
                    let pgd = Pgd::new(
                        PgdConfig::new(eps)
                            .with_steps(cfg.pgd_steps)
                            .with_step_size(cfg.pgd_step_size)
                            .with_seed(cfg.seed),
                    )?
                    .with_row_keys(keys);
                    space.perturb(&pgd, model, x, &goal)?
                }
                EvalAttack::ApgdCe => {
                    let apgd = Apgd::new(
                        ApgdConfig::new(eps)
                            .with_steps(cfg.apgd_steps)
                            .with_seed(cfg.seed),
                    )?
                    .with_row_keys(keys);
                    space.perturb(&apgd, model, x, &goal)?
                }
                EvalAttack::ApgdDlrT => self.apgd_targeted(&x, &labels, &keys, eps)?,
                EvalAttack::FabT => {
                    let fab = Fab::new(
                        FabConfig::new(eps)
                            .with_steps(cfg.apgd_steps)
                            .with_targets(cfg.apgd_targets),
                    )?;
                    space.perturb(&fab, model, x, &goal)?
                }
                EvalAttack::Square => {
                    let square = Square::new(
                        SquareConfig::new(eps)
                            .with_queries(cfg.square_queries)
                            .with_seed(cfg.seed),
                    )?
                    .with_row_keys(keys);
                    space.perturb(&square, model, x, &goal)?
                }
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
    /// a row counts as broken when it is misclassified, whatever the class. Runs in the
    /// threat space's coordinates ([`ThreatSpace::in_space`]).
    fn apgd_targeted(
        &self,
        x: &Tensor<2>,
        labels: &[usize],
        keys: &[u64],
        eps: f64,
    ) -> Result<Tensor<2>> {
        let cfg = self.cfg;
        let apgd = Apgd::new(
            ApgdConfig::new(eps)
                .with_loss(ApgdLoss::Dlr)
                .with_steps(cfg.apgd_steps)
                .with_seed(cfg.seed),
        )?
        .with_bounds(cfg.space.attack_bounds());
        cfg.space.in_space(&self.inference, x, |model, z| {
            self.apgd_over_targets(&apgd, model, &z, labels, keys)
        })
    }

    /// [`over_target_ranks`] with targeted APGD-DLR on `model` (inference mode) at `x`.
    fn apgd_over_targets<C: Classifier>(
        &self,
        apgd: &Apgd,
        model: &C,
        x: &Tensor<2>,
        labels: &[usize],
        keys: &[u64],
    ) -> Result<Tensor<2>> {
        let f = x.dims()[1];
        over_target_ranks(
            model,
            x,
            labels,
            self.cfg.apgd_targets,
            |xs, rows, targets| {
                let truth: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
                let goal = Goal::Targeted(targets.to_vec());
                let row_keys = rows.iter().map(|&i| keys[i]).collect();
                let out =
                    apgd.clone()
                        .with_row_keys(row_keys)
                        .run(model, &xs, &goal, Some(&truth))?;
                let preds = predictions(model, out.clone());
                let out = to_host(out);
                Ok((0..rows.len())
                    .map(|j| (preds[j] != truth[j]).then(|| out[j * f..(j + 1) * f].to_vec()))
                    .collect())
            },
        )
    }
}
