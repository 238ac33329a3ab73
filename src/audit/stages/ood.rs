//! Stage `ood`: the uncertainty crate's `ood` (noise sets and label-preserving shifts built
//! from the audited test images, each detected with every score of the model's softmax) →
//! `ood.json`, `ood.csv`, `ood.png`. It applies to single-channel images only; for other data
//! the audit records why it was skipped ([`not_applicable`]).

use std::collections::BTreeMap;

use aegis_model::LoadedRun;
use aegis_uncertainty::{EstimatorConfig, OodScore, ShiftKind, ood};
use serde::{Deserialize, Serialize};

use super::context::StageContext;
use crate::audit::cache::StageCache;
use crate::error::Result;

/// Detection of one set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OodSet {
    /// The set (`gaussian-noise`, `uniform-noise`, `inverted`, `rotated-45`, `rotated-90`).
    pub set: String,
    /// A noise set (far out of distribution) rather than a shift of the test images.
    pub noise: bool,
    /// AUROC per score (in-distribution positive).
    pub auroc: BTreeMap<String, f64>,
    /// False-positive rate at 95% true-positive rate, per score.
    pub fpr_at_95_tpr: BTreeMap<String, f64>,
    /// The score with the largest AUROC.
    pub best_score: String,
    /// Its AUROC.
    pub best_auroc: f64,
    /// Accuracy of the model on the set when it keeps the labels (shifts only).
    pub shifted_accuracy: Option<f64>,
}

/// What the stage measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OodResult {
    /// The estimator (the model's softmax, one pass).
    pub estimator: String,
    /// In-distribution rows (the audited test rows); every set has as many.
    pub n_in_distribution: usize,
    /// The scores, in report order.
    pub scores: Vec<String>,
    /// One entry per set, in report order.
    pub sets: Vec<OodSet>,
}

/// Why the stage does not apply to `run`, if it does not.
pub fn not_applicable(run: &LoadedRun) -> Option<String> {
    let shape = &run.test.sample_shape;
    if shape.len() == 3 && shape[0] == 1 {
        None
    } else if shape.len() == 1 {
        Some("the OOD and shift sets are built from images; this run has tabular data".into())
    } else {
        Some(format!(
            "the OOD and shift sets are built from single-channel images; this run's samples have shape {shape:?}"
        ))
    }
}

/// Runs `ood` into the stage's folder.
pub fn run(ctx: &StageContext, cache: &StageCache) -> Result<OodResult> {
    let bar = ctx.bar("ood", 1, "pass");
    let cfg = EstimatorConfig::new().with_seed(ctx.settings.ood.seed);
    let r = ood(ctx.run, &cfg, cache.dir(), false)?;
    bar.inc(1);
    bar.finish_and_clear();
    let scores: Vec<String> = OodScore::all_for(r.samples)
        .iter()
        .map(|s| s.key().to_string())
        .collect();
    let sets = ShiftKind::ALL
        .iter()
        .filter_map(|kind| {
            let key = kind.key();
            let details = r.details.get(key)?;
            let auroc: BTreeMap<String, f64> =
                details.iter().map(|(s, m)| (s.clone(), m.auroc)).collect();
            let (best_score, best_auroc) =
                auroc
                    .iter()
                    .fold((String::new(), f64::NEG_INFINITY), |(bs, bv), (s, &v)| {
                        if v > bv { (s.clone(), v) } else { (bs, bv) }
                    });
            Some(OodSet {
                set: key.to_string(),
                noise: matches!(kind, ShiftKind::GaussianNoise | ShiftKind::UniformNoise),
                fpr_at_95_tpr: details
                    .iter()
                    .map(|(s, m)| (s.clone(), m.fpr_at_95_tpr))
                    .collect(),
                auroc,
                best_score,
                best_auroc,
                shifted_accuracy: r.shifted_accuracy.get(key).copied(),
            })
        })
        .collect();
    Ok(OodResult {
        estimator: r.estimator,
        n_in_distribution: r.n_in_distribution,
        scores,
        sets,
    })
}
