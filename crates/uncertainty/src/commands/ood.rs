//! `ood`: detection of the OOD and shifted image sets ([`ShiftKind::ALL`]) built from the run's
//! test images, with every score of the estimator → `ood.json` (AUROC per set and score),
//! `ood.csv`, `ood.png`, `config.json`.

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
use crate::ood::{OodScore, ShiftKind, shifted_images};

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
        for (set, per) in &r.auroc {
            let cells: Vec<String> = per.iter().map(|(s, v)| format!("{s} {v:.4}")).collect();
            println!("  {set:15} {}", cells.join("  "));
        }
        println!("wrote {}", out.join("ood.json").display());
        Ok(())
    }
}

/// `ood.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OodReport {
    /// Estimator name.
    pub estimator: String,
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
    /// Model accuracy on the label-preserving shifts (rotations; inversion).
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

/// Detects the OOD and shifted sets ([`ShiftKind::ALL`]) built from the run's test images with
/// every score of the estimator. Writes `ood.json`, `ood.csv`, `ood.png` (AUROC per set for
/// each score) and `config.json`.
pub fn ood(
    run: &LoadedRun,
    cfg: &EstimatorConfig,
    out: &Path,
    progress: bool,
) -> Result<OodReport> {
    let (h, w) = image_size(run)?;
    let est = estimator(run, cfg, progress)?;
    let c = run.test.num_classes;
    let id = est.predict_samples(&run.test.features, &run.device)?;
    let id_probs = id.mean_probs();
    let (_, ok) = confidence_and_correct(&id_probs, &run.test.labels, c)?;
    // In-distribution scores are the same for every OOD set: computed once.
    let id_scores = OodScore::all_for(id.samples)
        .into_iter()
        .map(|score| Ok((score, score.compute(&id)?)))
        .collect::<Result<Vec<_>>>()?;
    let sets = shifted_set_detection(run, &*est, &id_scores, (h, w), cfg.seed)?;
    let report = OodReport {
        estimator: est.name(),
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

/// Height and width of the run's single-channel images; an error for any other data.
fn image_size(run: &LoadedRun) -> Result<(usize, usize)> {
    let shape = &run.test.sample_shape;
    if shape.len() != 3 || shape[0] != 1 {
        return Err(UncertaintyError::invalid(
            "data",
            format!(
                "OOD sets are built from single-channel images; the run's data has samples of shape {shape:?}"
            ),
        ));
    }
    Ok((shape[1], shape[2]))
}

/// Builds each set of [`ShiftKind::ALL`] from the test images (set `k` drawn with seed
/// `seed + k`), predicts it, and scores it against the in-distribution scores.
fn shifted_set_detection(
    run: &LoadedRun,
    est: &dyn UncertaintyEstimator,
    id_scores: &[(OodScore, Vec<f64>)],
    (h, w): (usize, usize),
    seed: u64,
) -> Result<ShiftedSets> {
    let c = run.test.num_classes;
    let mut auroc = BTreeMap::new();
    let mut details = BTreeMap::new();
    let mut shifted_accuracy = BTreeMap::new();
    for (k, kind) in ShiftKind::ALL.iter().enumerate() {
        let x = shifted_images(*kind, &run.test.features, h, w, seed.wrapping_add(k as u64))?;
        let s = est.predict_samples(&x, &run.device)?;
        if !matches!(kind, ShiftKind::GaussianNoise | ShiftKind::UniformNoise) {
            let (_, ok) = confidence_and_correct(&s.mean_probs(), &run.test.labels, c)?;
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
    let mut csv = String::from("estimator,ood_set,score,auroc,aupr_in,aupr_out,fpr_at_95_tpr\n");
    for (set, per) in &report.details {
        for (score, m) in per {
            csv.push_str(&format!(
                "{},{set},{score},{:.6},{:.6},{:.6},{:.6}\n",
                report.estimator, m.auroc, m.aupr_in, m.aupr_out, m.fpr_at_95_tpr
            ));
        }
    }
    write_atomic(&out.join("ood.csv"), csv.as_bytes())?;
    let labels: Vec<String> = report
        .details
        .iter()
        .flat_map(|(set, per)| per.keys().map(move |s| format!("{set} / {s}")))
        .collect();
    let values: Vec<f64> = report
        .details
        .values()
        .flat_map(|per| per.values().map(|m| m.auroc))
        .collect();
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
