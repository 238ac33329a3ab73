//! `ood`: detection of the OOD and shifted sets built from the run's test inputs (the kinds of
//! [`ShiftKind::ALL`] that apply to its sample shape: noise sets for every input, per-channel
//! image shifts for images of any channels and size), with every score of the estimator →
//! `ood.json` (the sets built, AUROC per set and score), `ood.csv`, `ood.png`, `config.json`.

use std::collections::BTreeMap;
use std::path::Path;

use aegis_model::io::{write_atomic, write_json};
use aegis_model::{DeviceSpec, LoadedRun};
use serde::{Deserialize, Serialize};

use super::common::CommonArgs;
use crate::args::{EstimatorArgs, EstimatorConfig, estimator};
use crate::error::{Result, UncertaintyError};
use crate::estimators::UncertaintyEstimator;
use crate::metrics::{OodMetrics, confidence_and_correct, ood_metrics};
use crate::ood::{OodScore, SetDomain, ShiftKind, shifted_set, why_no_set};

/// Flags of `ood`.
#[derive(clap::Args, Debug)]
pub struct OodArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    estimator: EstimatorArgs,
}

impl OodArgs {
    /// Runs [`ood`] on `--run` and prints the AUROC of every set and score.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let run = LoadedRun::open(&self.common.run, device)?;
        let out = self.common.out_dir("ood");
        let r = ood(&run, &self.estimator.config(), &out, true)?;
        println!(
            "{} ({} passes), in-distribution accuracy {:.4}; AUROC:",
            r.estimator, r.samples, r.in_distribution_accuracy
        );
        for info in &r.sets {
            let Some(per) = r.auroc.get(&info.set) else {
                continue;
            };
            let cells: Vec<String> = per.iter().map(|(s, v)| format!("{s} {v:.4}")).collect();
            println!("  {:15} {}", info.set, cells.join("  "));
        }
        println!("wrote {}", out.join("ood.json").display());
        Ok(())
    }
}

/// One set `ood` built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OodSetInfo {
    /// The set's key (`gaussian-noise`, `uniform-noise`, `inverted`, `rotated-45`,
    /// `rotated-90`, `gaussian-blur`, `colour-jitter`).
    pub set: String,
    /// What it is ([`ShiftKind::describe`]).
    pub description: String,
    /// A noise set (no label) rather than a label-preserving shift.
    pub noise: bool,
}

/// `ood.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OodReport {
    /// Estimator name.
    pub estimator: String,
    /// Shape of one sample (`[C, H, W]` images, `[F]` tables).
    pub sample_shape: Vec<usize>,
    /// The sets built for that shape, in report order.
    pub sets: Vec<OodSetInfo>,
    /// Passes per input.
    pub samples: usize,
    /// In-distribution rows (the run's test split).
    pub n_in_distribution: usize,
    /// Accuracy on them.
    pub in_distribution_accuracy: f64,
    /// AUROC keyed by OOD set, then score (in-distribution positive).
    pub auroc: BTreeMap<String, BTreeMap<String, f64>>,
    /// All metrics keyed by OOD set, then score.
    pub details: BTreeMap<String, BTreeMap<String, OodMetrics>>,
    /// Model accuracy on the label-preserving shifts (inversion, rotations, blur, jitter).
    pub shifted_accuracy: BTreeMap<String, f64>,
}

/// Values keyed by OOD set, then score.
type PerSetAndScore<T> = BTreeMap<String, BTreeMap<String, T>>;

/// What [`shifted_set_detection`] measures: AUROC and all metrics per set and score, and the
/// accuracy on the label-preserving shifts.
struct ShiftedSets {
    auroc: PerSetAndScore<f64>,
    details: PerSetAndScore<OodMetrics>,
    shifted_accuracy: BTreeMap<String, f64>,
}

/// Detects the OOD and shifted sets that apply to the run's samples ([`ShiftKind::applicable`]),
/// built from its test inputs in its input domain ([`SetDomain::of`]), with every score of the
/// estimator. Writes `ood.json`, `ood.csv`, `ood.png` (AUROC per set for each score) and
/// `config.json`. An error when no set applies or the domain has no finite bounds.
pub fn ood(
    run: &LoadedRun,
    cfg: &EstimatorConfig,
    out: &Path,
    progress: bool,
) -> Result<OodReport> {
    let shape = run.test.sample_shape.clone();
    if let Some(why) = why_no_set(&shape) {
        return Err(UncertaintyError::invalid("data", why));
    }
    let domain = SetDomain::of(&run.config.input_domain()?, &run.train)?;
    let est = estimator(run, cfg, progress)?;
    let id = est.predict_samples(&run.test.features, &run.device)?;
    let id_probs = id.mean_probs();
    // The model's classes, not the labels' (an imported model may have classes the audited
    // rows never show).
    let (_, ok) = confidence_and_correct(&id_probs, &run.test.labels, id.classes)?;
    // In-distribution scores are the same for every OOD set: computed once.
    let id_scores = OodScore::all_for(id.samples)
        .into_iter()
        .map(|score| Ok((score, score.compute(&id)?)))
        .collect::<Result<Vec<_>>>()?;
    let sets = shifted_set_detection(run, &*est, &id_scores, &domain, cfg.seed)?;
    let report = OodReport {
        estimator: est.name(),
        sets: ShiftKind::applicable(&shape)
            .into_iter()
            .map(|(_, kind)| OodSetInfo {
                set: kind.key().into(),
                description: kind.describe(&shape),
                noise: kind.is_noise(),
            })
            .collect(),
        sample_shape: shape,
        samples: id.samples,
        n_in_distribution: run.test.len(),
        in_distribution_accuracy: ok.iter().filter(|&&v| v).count() as f64 / ok.len().max(1) as f64,
        auroc: sets.auroc,
        details: sets.details,
        shifted_accuracy: sets.shifted_accuracy,
    };
    write_ood(&report, cfg, out)?;
    Ok(report)
}

/// Builds each set that applies to the test samples (the `k`-th of [`ShiftKind::ALL`] drawn
/// with seed `seed + k`), predicts it, and scores it against the in-distribution scores.
fn shifted_set_detection(
    run: &LoadedRun,
    est: &dyn UncertaintyEstimator,
    id_scores: &[(OodScore, Vec<f64>)],
    domain: &SetDomain,
    seed: u64,
) -> Result<ShiftedSets> {
    let shape = &run.test.sample_shape;
    let mut auroc = BTreeMap::new();
    let mut details = BTreeMap::new();
    let mut shifted_accuracy = BTreeMap::new();
    for (k, kind) in ShiftKind::applicable(shape) {
        let x = shifted_set(
            kind,
            &run.test.features,
            shape,
            domain,
            seed.wrapping_add(k as u64),
        )?;
        let s = est.predict_samples(&x, &run.device)?;
        if !kind.is_noise() {
            let (_, ok) = confidence_and_correct(&s.mean_probs(), &run.test.labels, s.classes)?;
            shifted_accuracy.insert(
                kind.key().to_string(),
                ok.iter().filter(|&&v| v).count() as f64 / ok.len().max(1) as f64,
            );
        }
        let mut a = BTreeMap::new();
        let mut d = BTreeMap::new();
        for (score, id_score) in id_scores {
            let m = ood_metrics(id_score, &score.compute(&s)?)?;
            a.insert(score.key().to_string(), m.auroc);
            d.insert(score.key().to_string(), m);
        }
        auroc.insert(kind.key().to_string(), a);
        details.insert(kind.key().to_string(), d);
    }
    Ok(ShiftedSets {
        auroc,
        details,
        shifted_accuracy,
    })
}

/// Writes `ood.json`, `config.json`, `ood.csv` (one row per set and score) and `ood.png`
/// (AUROC bars) into `out`.
fn write_ood(report: &OodReport, cfg: &EstimatorConfig, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| aegis_model::ModelError::io(out, e))?;
    write_json(&out.join("ood.json"), report)?;
    write_json(&out.join("config.json"), cfg)?;
    // Sets in report order (noise first), scores in key order.
    let rows: Vec<(&str, &str, &OodMetrics)> = report
        .sets
        .iter()
        .filter_map(|info| Some((info.set.as_str(), report.details.get(&info.set)?)))
        .flat_map(|(set, per)| per.iter().map(move |(score, m)| (set, score.as_str(), m)))
        .collect();
    let mut csv = String::from("estimator,ood_set,score,auroc,aupr_in,aupr_out,fpr_at_95_tpr\n");
    for (set, score, m) in &rows {
        csv.push_str(&format!(
            "{},{set},{score},{:.6},{:.6},{:.6},{:.6}\n",
            report.estimator, m.auroc, m.aupr_in, m.aupr_out, m.fpr_at_95_tpr
        ));
    }
    write_atomic(&out.join("ood.csv"), csv.as_bytes())?;
    let labels: Vec<String> = rows
        .iter()
        .map(|(set, s, _)| format!("{set} / {s}"))
        .collect();
    let values: Vec<f64> = rows.iter().map(|(_, _, m)| m.auroc).collect();
    aegis_model::plot::bar_chart(
        &out.join("ood.png"),
        &format!("OOD detection AUROC ({})", report.estimator),
        "AUROC (in-distribution positive)",
        &labels,
        &values,
        None,
    )?;
    Ok(())
}
