//! Robustness evaluation: accuracy against ε for several attacks, the per-sample worst case
//! over an ensemble, and sanity checks that flag possible gradient masking (after Carlini et
//! al. 2019, "On Evaluating Adversarial Robustness", and AutoAttack's ensemble).

use std::path::Path;
use std::time::Instant;

use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use aegis_model::io::{write_atomic, write_json};
use aegis_model::plot::{Series, line_chart};
use aegis_model::{Classifier, Dataset, argmax, batch_tensor, label_tensor, to_host};
use serde::{Deserialize, Serialize};

use crate::apgd::{Apgd, ApgdConfig, ApgdLoss};
use crate::attack::{Attack, Goal, objective_gradient, predictions};
use crate::error::{AdversarialError, Result};
use crate::fgsm::{Fgsm, FgsmConfig};
use crate::pgd::{Pgd, PgdConfig};
use crate::square::{Square, SquareConfig};

/// Attacks the evaluation can run (all L∞).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EvalAttack {
    /// FGSM.
    Fgsm,
    /// PGD, `pgd_steps` of `pgd_step_size`, random start.
    Pgd,
    /// APGD with cross-entropy.
    #[value(name = "apgd-ce")]
    ApgdCe,
    /// Targeted APGD-DLR towards each row's most likely wrong class.
    #[value(name = "apgd-dlr-t")]
    ApgdDlrT,
    /// Square attack (no gradients).
    Square,
}

impl EvalAttack {
    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fgsm => "fgsm",
            Self::Pgd => "pgd",
            Self::ApgdCe => "apgd-ce",
            Self::ApgdDlrT => "apgd-dlr-t",
            Self::Square => "square",
        }
    }
    /// Members of the worst-case ensemble (AutoAttack's: APGD-CE, targeted APGD-DLR, Square).
    pub fn in_ensemble(self) -> bool {
        matches!(self, Self::ApgdCe | Self::ApgdDlrT | Self::Square)
    }
}

/// Settings of an evaluation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluateConfig {
    /// Radii, in any order (0 included to check the pipeline).
    pub eps: Vec<f64>,
    /// Attacks.
    pub attacks: Vec<EvalAttack>,
    /// PGD iterations.
    pub pgd_steps: usize,
    /// PGD step size.
    pub pgd_step_size: f64,
    /// APGD iterations.
    pub apgd_steps: usize,
    /// Square queries.
    pub square_queries: usize,
    /// Seed of every random start.
    pub seed: u64,
    /// Rows per batch (default [`aegis_model::DEFAULT_BATCH_ROWS`]).
    pub batch_size: usize,
}

impl Default for EvaluateConfig {
    fn default() -> Self {
        Self {
            eps: vec![0.0, 0.1, 0.2, 0.3],
            attacks: vec![
                EvalAttack::Fgsm,
                EvalAttack::Pgd,
                EvalAttack::ApgdCe,
                EvalAttack::ApgdDlrT,
                EvalAttack::Square,
            ],
            pgd_steps: 40,
            pgd_step_size: 0.01,
            apgd_steps: 100,
            square_queries: 1000,
            seed: 0,
            batch_size: aegis_model::DEFAULT_BATCH_ROWS,
        }
    }
}

/// One (attack, ε) accuracy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalResult {
    /// Attack name.
    pub attack: String,
    /// Radius.
    pub eps: f64,
    /// Accuracy under the attack.
    pub accuracy: f64,
    /// Seconds spent.
    pub seconds: f64,
}

/// Per-ε accuracy when each row counts as robust only if it survives every ensemble attack.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorstCase {
    /// Radius.
    pub eps: f64,
    /// Worst-case accuracy.
    pub accuracy: f64,
    /// Attacks in the ensemble.
    pub attacks: Vec<String>,
}

/// A sanity check and its outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SanityCheck {
    /// Check name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was measured.
    pub detail: String,
}

/// `report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RobustnessReport {
    /// Rows evaluated.
    pub n: usize,
    /// Clean accuracy.
    pub clean_accuracy: f64,
    /// Accuracy per attack and ε.
    pub results: Vec<EvalResult>,
    /// Worst case per ε.
    pub worst_case: Vec<WorstCase>,
    /// Sanity checks; a failure is a warning of possible gradient masking.
    pub sanity_checks: Vec<SanityCheck>,
    /// The settings used.
    pub config: EvaluateConfig,
}

fn correct_under<M: Classifier + Module>(
    attack: EvalAttack,
    eps: f64,
    cfg: &EvaluateConfig,
    model: &M,
    data: &Dataset,
    device: &Device,
) -> Result<Vec<bool>> {
    let f = data.dim();
    let inference = model.valid();
    let mut out = Vec::with_capacity(data.len());
    for s in (0..data.len()).step_by(cfg.batch_size.max(1)) {
        let e = (s + cfg.batch_size).min(data.len());
        let labels = data.labels[s..e].to_vec();
        let x = batch_tensor(data.features[s * f..e * f].to_vec(), e - s, f, device);
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
            EvalAttack::ApgdDlrT => {
                // Target: the most likely wrong class on the clean input.
                let c = model.num_classes();
                let logits = to_host(inference.logits(x.clone()));
                let targets: Vec<usize> = logits
                    .chunks(c)
                    .zip(&labels)
                    .map(|(z, &y)| {
                        let mut z = z.to_vec();
                        z[y] = f32::NEG_INFINITY;
                        argmax(&z)
                    })
                    .collect();
                Apgd::new(
                    ApgdConfig::new(eps)
                        .with_loss(ApgdLoss::Dlr)
                        .with_steps(cfg.apgd_steps)
                        .with_seed(cfg.seed),
                )?
                .run(&inference, &x, &Goal::Targeted(targets), Some(&labels))
            }
            EvalAttack::Square => Square::new(
                SquareConfig::new(eps)
                    .with_queries(cfg.square_queries)
                    .with_seed(cfg.seed),
            )?
            .perturb(model, x, &goal)?,
        };
        out.extend(
            predictions(&inference, adv)
                .iter()
                .zip(&labels)
                .map(|(p, y)| p == y),
        );
    }
    Ok(out)
}

fn mean(v: &[bool]) -> f64 {
    v.iter().filter(|&&b| b).count() as f64 / v.len().max(1) as f64
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
    if cfg.attacks.is_empty() || cfg.eps.is_empty() {
        return Err(AdversarialError::invalid(
            "evaluate",
            "needs at least one attack and one ε",
        ));
    }
    for &e in &cfg.eps {
        crate::attack::check_eps(e)?;
    }
    let mut eps = cfg.eps.clone();
    eps.sort_by(f64::total_cmp);
    eps.dedup();
    let f = data.dim();
    let inference = model.valid();
    let clean: Vec<bool> = predictions(
        &inference,
        batch_tensor(data.features.clone(), data.len(), f, device),
    )
    .iter()
    .zip(&data.labels)
    .map(|(p, y)| p == y)
    .collect();
    let clean_accuracy = mean(&clean);
    let mut results = Vec::new();
    let mut per_sample: Vec<(EvalAttack, f64, Vec<bool>)> = Vec::new();
    for &attack in &cfg.attacks {
        for &e in &eps {
            let t = Instant::now();
            let ok = correct_under(attack, e, cfg, model, data, device)?;
            results.push(EvalResult {
                attack: attack.name().into(),
                eps: e,
                accuracy: mean(&ok),
                seconds: t.elapsed().as_secs_f64(),
            });
            per_sample.push((attack, e, ok));
        }
    }
    let acc = |a: EvalAttack, e: f64| {
        results
            .iter()
            .find(|r| r.attack == a.name() && r.eps == e)
            .map(|r| r.accuracy)
    };
    // Worst case over the ensemble (or over everything run when no ensemble attack was).
    let ensemble: Vec<EvalAttack> = {
        let members: Vec<EvalAttack> = cfg
            .attacks
            .iter()
            .copied()
            .filter(|a| a.in_ensemble())
            .collect();
        if members.is_empty() {
            cfg.attacks.clone()
        } else {
            members
        }
    };
    let worst_case = eps
        .iter()
        .map(|&e| {
            let mut robust = clean.clone();
            for (a, ae, ok) in &per_sample {
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
        .collect::<Vec<_>>();

    // Sanity checks.
    let mut checks = Vec::new();
    if eps[0] == 0.0 {
        let bad: Vec<String> = cfg
            .attacks
            .iter()
            .filter(|&&a| acc(a, 0.0) != Some(clean_accuracy))
            .map(|a| a.name().to_string())
            .collect();
        checks.push(SanityCheck {
            name: "eps 0 gives the clean accuracy".into(),
            passed: bad.is_empty(),
            detail: if bad.is_empty() {
                format!("all attacks at ε = 0: {clean_accuracy:.4}")
            } else {
                format!("differs for {}", bad.join(", "))
            },
        });
    }
    let mut rising = Vec::new();
    for &a in &cfg.attacks {
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
    checks.push(SanityCheck {
        name: "accuracy does not increase with eps".into(),
        passed: rising.is_empty(),
        detail: if rising.is_empty() {
            "monotone for every attack".into()
        } else {
            rising.join("; ")
        },
    });
    if cfg.attacks.contains(&EvalAttack::Fgsm) {
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
        checks.push(SanityCheck {
            name: "iterative attacks at least as strong as single-step".into(),
            passed: weaker.is_empty(),
            detail: if weaker.is_empty() {
                "yes at every ε".into()
            } else {
                weaker.join("; ")
            },
        });
    }
    {
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
            correct += predictions(&inference, adv)
                .iter()
                .zip(&data.labels[s..e])
                .filter(|(p, y)| p == y)
                .count();
        }
        let a = correct as f64 / data.len().max(1) as f64;
        checks.push(SanityCheck {
            name: "eps 1.0 (L-inf) gives 0% accuracy".into(),
            passed: a == 0.0,
            detail: format!("PGD-20 (step 0.1) at ε = 1: {a:.4}"),
        });
    }
    if cfg.attacks.contains(&EvalAttack::Square) {
        let mut stronger = Vec::new();
        for &e in eps.iter().filter(|&&e| e > 0.0) {
            let bb = acc(EvalAttack::Square, e).unwrap_or(1.0);
            let wb = cfg
                .attacks
                .iter()
                .filter(|&&a| a != EvalAttack::Square)
                .filter_map(|&a| acc(a, e))
                .fold(f64::INFINITY, f64::min);
            if wb.is_finite() && bb < wb {
                stronger.push(format!("square {bb:.4} < best white-box {wb:.4} at ε={e}"));
            }
        }
        checks.push(SanityCheck {
            name: "black-box square not stronger than white-box".into(),
            passed: stronger.is_empty(),
            detail: if stronger.is_empty() {
                "yes at every ε".into()
            } else {
                stronger.join("; ")
            },
        });
    }
    {
        let x = batch_tensor(data.features.clone(), data.len(), f, device);
        let g = to_host(objective_gradient(
            &inference,
            &x,
            &label_tensor(&data.labels, device),
            false,
        ));
        let bad = g
            .chunks(f)
            .filter(|row| row.iter().all(|v| *v == 0.0) || row.iter().any(|v| v.is_nan()))
            .count();
        let frac = bad as f64 / data.len().max(1) as f64;
        checks.push(SanityCheck {
            name: "input gradients are non-zero and finite".into(),
            passed: frac < 0.01,
            detail: format!(
                "{bad} of {} rows ({:.2}%) have an all-zero or NaN gradient",
                data.len(),
                100.0 * frac
            ),
        });
    }

    let report = RobustnessReport {
        n: data.len(),
        clean_accuracy,
        results,
        worst_case,
        sanity_checks: checks,
        config: cfg.clone(),
    };
    write_json(&out_dir.join("report.json"), &report)?;
    let mut csv = String::from("attack,eps,accuracy\n");
    for r in &report.results {
        csv += &format!("{},{},{}\n", r.attack, r.eps, r.accuracy);
    }
    for w in &report.worst_case {
        csv += &format!("worst-case,{},{}\n", w.eps, w.accuracy);
    }
    write_atomic(&out_dir.join("report.csv"), csv.as_bytes())?;
    let mut series: Vec<Series> = cfg
        .attacks
        .iter()
        .map(|a| Series {
            name: a.name().into(),
            points: report
                .results
                .iter()
                .filter(|r| r.attack == a.name())
                .map(|r| (r.eps, r.accuracy))
                .collect(),
        })
        .collect();
    series.push(Series {
        name: "worst case".into(),
        points: report
            .worst_case
            .iter()
            .map(|w| (w.eps, w.accuracy))
            .collect(),
    });
    line_chart(
        &out_dir.join("report.png"),
        "Accuracy under attack",
        "epsilon (L-inf)",
        "accuracy",
        &series,
        Some((0.0, 1.0)),
    )?;
    Ok(report)
}
