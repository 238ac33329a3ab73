//! What a robustness evaluation is asked and what it answers: the settings
//! ([`EvaluateConfig`], [`EvalAttack`]), the results ([`RobustnessReport`] with
//! [`EvalResult`], [`WorstCase`] and [`SanityCheck`]), and the files they are written to
//! (`report.json`, `report.csv`, `report.png`).

use std::path::Path;

use aegis_model::io::{write_atomic, write_json};
use aegis_model::plot::{Series, bar_chart, line_chart};
use serde::{Deserialize, Serialize};

use crate::attacks::{EpsUnits, ThreatSpace};
use crate::error::Result;

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
    /// APGD-T: targeted APGD-DLR towards the 2nd, 3rd, … most likely classes in turn.
    #[value(name = "apgd-dlr-t")]
    ApgdDlrT,
    /// FAB-T: the targeted fast adaptive boundary attack over the same target classes.
    #[value(name = "fab-t")]
    FabT,
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
            Self::FabT => "fab-t",
            Self::Square => "square",
        }
    }
    /// Members of the worst-case ensemble (AutoAttack's: APGD-CE, APGD-T, FAB-T, Square).
    pub fn in_ensemble(self) -> bool {
        matches!(
            self,
            Self::ApgdCe | Self::ApgdDlrT | Self::FabT | Self::Square
        )
    }
}

/// Which attacks an evaluation runs, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// AutoAttack's `version='standard'` (Croce & Hein 2020) in stages, each on the rows still
    /// robust: APGD-CE (100 iterations), APGD-T (targeted DLR towards the 9 most likely wrong
    /// classes, 100 iterations each), FAB-T (the same 9 targets, 100 iterations each), Square
    /// (5,000 queries, p = 0.8).
    #[default]
    #[value(name = "autoattack")]
    AutoAttack,
    /// Cheaper: APGD-CE 20 iterations, APGD-T 3 targets × 20 iterations, Square 1,000
    /// queries; no FAB-T.
    Cheap,
    /// `--attacks`, each on every row, and the per-sample worst case over APGD-CE, APGD-T and
    /// Square.
    Custom,
}

impl Suite {
    /// `autoattack`, `cheap` or `custom`.
    pub fn name(self) -> &'static str {
        match self {
            Self::AutoAttack => "autoattack",
            Self::Cheap => "cheap",
            Self::Custom => "custom",
        }
    }
}

/// One stage of a suite at one ε: the robust accuracy after it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageResult {
    /// Radius.
    pub eps: f64,
    /// Attack of the stage.
    pub attack: String,
    /// Rows it attacked (those still robust before it).
    pub attacked: usize,
    /// Rows it broke.
    pub broken: usize,
    /// Robust accuracy after it (over all rows).
    pub robust_accuracy: f64,
    /// Seconds spent.
    pub seconds: f64,
}

/// Settings of an evaluation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluateConfig {
    /// The suite (default AutoAttack's standard composition).
    #[serde(default)]
    pub suite: Suite,
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
    /// Target classes of APGD-T (the 2nd, 3rd, … most likely; AutoAttack's standard: 9).
    #[serde(default = "nine")]
    pub apgd_targets: usize,
    /// Square queries.
    pub square_queries: usize,
    /// Seed of every random start.
    pub seed: u64,
    /// Rows per batch (default [`aegis_model::DEFAULT_BATCH_ROWS`]).
    pub batch_size: usize,
    /// The unit of ε and the input box (default: pixels, raw units, `[0, 1]`; `evaluate`
    /// takes a run's recorded domain: per-feature standard deviations and ranges for tables).
    #[serde(default)]
    pub space: ThreatSpace,
}

fn nine() -> usize {
    9
}

impl Default for EvaluateConfig {
    fn default() -> Self {
        Self {
            suite: Suite::AutoAttack,
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
            apgd_targets: 9,
            square_queries: 1000,
            seed: 0,
            batch_size: aegis_model::DEFAULT_BATCH_ROWS,
            space: ThreatSpace::default(),
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
    /// Worst case per ε (for a suite: the robust accuracy after its last stage).
    pub worst_case: Vec<WorstCase>,
    /// For a suite, every stage at every ε (empty for `custom`).
    #[serde(default)]
    pub stages: Vec<StageResult>,
    /// Sanity checks; a failure is a warning of possible gradient masking.
    pub sanity_checks: Vec<SanityCheck>,
    /// The settings used (the attacks actually run).
    pub config: EvaluateConfig,
    /// What the evaluation changed and why (e.g. an attack dropped for too few classes).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Writes `report.json`, `report.csv` (one row per attack and ε, then the worst case) and
/// `report.png`: accuracy against ε per attack and the worst case, each line starting at the
/// clean accuracy at ε = 0; bars (clean, each attack, worst case) when a single positive ε
/// was evaluated. The title gives the number of items.
pub fn write_report(report: &RobustnessReport, out_dir: &Path) -> Result<()> {
    write_json(&out_dir.join("report.json"), report)?;
    write_atomic(&out_dir.join("report.csv"), report_csv(report).as_bytes())?;
    let unit = match report.config.space.units {
        EpsUnits::Raw => "raw input units",
        EpsUnits::Std => "training standard deviations per feature",
    };
    let mut positive: Vec<f64> = report
        .worst_case
        .iter()
        .map(|w| w.eps)
        .filter(|&e| e > 0.0)
        .collect();
    positive.dedup();
    let png = out_dir.join("report.png");
    if let [eps] = positive[..] {
        let (labels, values) = single_eps_bars(report, eps);
        bar_chart(
            &png,
            &format!(
                "Accuracy under attack at L-inf ε = {eps} ({unit}), {} items",
                report.n
            ),
            "accuracy (fraction of items)",
            &labels,
            &values,
            None,
        )?;
    } else {
        line_chart(
            &png,
            &format!("Accuracy under attack, {} items", report.n),
            &format!("ε (L-inf radius, {unit})"),
            "accuracy (fraction of items)",
            &accuracy_series(report),
            Some((0.0, 1.0)),
        )?;
    }
    Ok(())
}

/// The bars of a single-ε report: the clean accuracy, each attack's, then the worst case.
fn single_eps_bars(report: &RobustnessReport, eps: f64) -> (Vec<String>, Vec<f64>) {
    let mut labels = vec!["clean (no attack)".to_string()];
    let mut values = vec![report.clean_accuracy];
    for r in report.results.iter().filter(|r| r.eps == eps) {
        labels.push(r.attack.clone());
        values.push(r.accuracy);
    }
    for w in report.worst_case.iter().filter(|w| w.eps == eps) {
        labels.push("worst case".into());
        values.push(w.accuracy);
    }
    (labels, values)
}

/// `report.csv`: `attack,eps,accuracy` rows, the worst case as attack `worst-case`.
fn report_csv(report: &RobustnessReport) -> String {
    let mut csv = String::from("attack,eps,accuracy\n");
    for r in &report.results {
        csv += &format!("{},{},{}\n", r.attack, r.eps, r.accuracy);
    }
    for w in &report.worst_case {
        csv += &format!("worst-case,{},{}\n", w.eps, w.accuracy);
    }
    csv
}

/// The plot's curves: accuracy against ε per attack (in the configured order), then the
/// worst case; each starts at the clean accuracy at ε = 0 when ε = 0 was not evaluated.
fn accuracy_series(report: &RobustnessReport) -> Vec<Series> {
    let from_clean = |mut points: Vec<(f64, f64)>| {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if points.first().is_none_or(|p| p.0 > 0.0) {
            points.insert(0, (0.0, report.clean_accuracy));
        }
        points
    };
    let mut series: Vec<Series> = report
        .config
        .attacks
        .iter()
        .map(|a| Series {
            name: a.name().into(),
            points: from_clean(
                report
                    .results
                    .iter()
                    .filter(|r| r.attack == a.name())
                    .map(|r| (r.eps, r.accuracy))
                    .collect(),
            ),
        })
        .filter(|s| s.points.len() > 1)
        .collect();
    series.push(Series {
        name: "worst case".into(),
        points: from_clean(
            report
                .worst_case
                .iter()
                .map(|w| (w.eps, w.accuracy))
                .collect(),
        ),
    });
    series
}
