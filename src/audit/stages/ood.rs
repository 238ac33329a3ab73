//! Stage `ood`: the uncertainty crate's `ood` (noise sets drawn in the input's shape and
//! domain, and for images of any channels and size the label-preserving per-channel shifts,
//! each detected with every score of the model's softmax) → `ood.json`, `ood.csv`, `ood.png`.
//! It runs on every image model and on tabular runs (noise sets only: uniform in the
//! per-feature box, and Gaussian with each feature's training mean and std); when no set
//! applies the audit records why it was skipped ([`not_applicable`]).

use std::collections::BTreeMap;

use aegis_model::LoadedRun;
use aegis_uncertainty::shift::why_no_set;
use aegis_uncertainty::{EstimatorConfig, OodScore, ood};
use serde::{Deserialize, Serialize};

use super::context::StageContext;
use crate::audit::cache::StageCache;
use crate::error::Result;

/// Detection of one set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OodSet {
    /// The set (`gaussian-noise`, `uniform-noise`, `inverted`, `rotated-45`, `rotated-90`,
    /// `gaussian-blur`, `colour-jitter`; those that apply to the run's samples).
    pub set: String,
    /// What the set is, for readers (e.g. the blur's σ).
    pub label: String,
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

/// Why the stage does not apply to `run`, if it does not (no set applies to its samples).
pub fn not_applicable(run: &LoadedRun) -> Option<String> {
    why_no_set(&run.test.sample_shape)
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
    let sets = r
        .sets
        .iter()
        .filter_map(|info| {
            let key = &info.set;
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
                set: key.clone(),
                label: info.description.clone(),
                noise: info.noise,
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
