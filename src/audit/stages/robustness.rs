//! Stage `robustness`: the adversarial crate's evaluation suite (AutoAttack's stages, or the
//! cheap suite) at every ε of the grid, in the run's threat space (raw pixels for images,
//! training standard deviations for tables), with its six sanity checks.
//!
//! The rows are evaluated in shards of `shard_rows` ([`evaluate_shard`]: random starts are
//! keyed by the global row index, so the merged report equals an unsharded one). Each shard is
//! kept in `shard-K-of-N/` with the key it was computed under, so an interrupted audit resumes
//! at the first missing shard, and the progress bar counts shards. The merged report is written
//! with the crate's own `write_report` (`report.json`, `report.csv`, `report.png`).

use std::path::Path;

use aegis_adversarial_trainer::evaluation::{
    EvaluateConfig, PartialReport, SanityCheck, Shard, StageResult, evaluate_shard, merge_partials,
    read_partial, write_partial, write_report,
};
use aegis_adversarial_trainer::{EpsUnits, EvalResult, ThreatSpace};
use aegis_model::io::write_json;
use serde::{Deserialize, Serialize};

use super::context::StageContext;
use crate::audit::cache::StageCache;
use crate::audit::config::RobustnessSettings;
use crate::error::Result;

/// Accuracy at one radius.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpsAccuracy {
    /// Radius, in the report's units.
    pub eps: f64,
    /// Accuracy (clean at ε = 0; otherwise robust: correct and unbroken by every attack).
    pub accuracy: f64,
}

/// What the stage measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobustnessResult {
    /// Rows attacked.
    pub n: usize,
    /// Accuracy on them, unattacked.
    pub clean_accuracy: f64,
    /// `autoattack` or `cheap`.
    pub suite: String,
    /// The unit of ε.
    pub units: EpsUnits,
    /// The threat space in words (unit and box).
    pub space: String,
    /// The attacks of the worst case, in the order they ran.
    pub attacks: Vec<String>,
    /// Worst-case (robust) accuracy per ε of the grid, ascending.
    pub worst_case: Vec<EpsAccuracy>,
    /// The verdict's radius: 0.1 when in the grid, else the smallest positive one.
    pub headline: EpsAccuracy,
    /// Every stage of the suite at every ε.
    pub stages: Vec<StageResult>,
    /// Accuracy per attack and ε.
    pub per_attack: Vec<EvalResult>,
    /// The six checks against gradient masking.
    pub sanity_checks: Vec<SanityCheck>,
    /// What the evaluation changed and why.
    pub notes: Vec<String>,
}

/// The evaluation settings of the crate's `evaluate` for these audit settings.
fn evaluate_config(s: &RobustnessSettings, space: ThreatSpace) -> EvaluateConfig {
    EvaluateConfig {
        suite: s.suite,
        eps: s.eps.clone(),
        space,
        batch_size: s.batch_size,
        ..EvaluateConfig::default()
    }
}

/// The shard `K/N` of `dir` when it was computed for this model and these settings.
fn cached_shard(dir: &Path, key: &serde_json::Value) -> Option<PartialReport> {
    let text = std::fs::read_to_string(dir.join("key.json")).ok()?;
    let found: serde_json::Value = serde_json::from_str(&text).ok()?;
    if &found != key {
        return None;
    }
    read_partial(dir).ok()
}

/// Runs the suite over the first `rows` test rows, shard by shard, and summarises it.
pub fn run(ctx: &StageContext, cache: &StageCache) -> Result<RobustnessResult> {
    let s = &ctx.settings.robustness;
    let run = ctx.run;
    let data = run.test.clone().head(Some(s.rows));
    let domain = run.config.input_domain()?;
    let space = ThreatSpace::for_domain(&domain.covering(&data), Some(s.units), None)?;
    let cfg = evaluate_config(s, space);
    let count = data.len().div_ceil(s.shard_rows.max(1)).max(1);
    let key = serde_json::json!({
        "model_sha256": cache.sha256(),
        "settings": s,
        "rows": data.len(),
    });
    let bar = ctx.bar("robustness", count as u64, "shard");
    let mut parts = Vec::with_capacity(count);
    for index in 1..=count {
        let dir = cache
            .dir()
            .join("shards")
            .join(format!("shard-{index}-of-{count}"));
        let part = match cached_shard(&dir, &key) {
            Some(p) => p,
            None => {
                let shard = Shard { index, count };
                let p =
                    evaluate_shard(&run.model, &data, shard, &cfg, &run.device, cache.sha256())?;
                write_partial(&p, &dir)?;
                write_json(&dir.join("key.json"), &key)?;
                // Merged as read back, like a shard cached by an earlier (killed) audit, so
                // both go through one path (before serde_json's float_roundtrip a 17-digit
                // radius came back one ulp off and the merge refused the shards).
                read_partial(&dir)?
            }
        };
        parts.push(part);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let report = merge_partials(parts)?;
    write_report(&report, cache.dir())?;
    let mut worst: Vec<EpsAccuracy> = report
        .worst_case
        .iter()
        .map(|w| EpsAccuracy {
            eps: w.eps,
            accuracy: w.accuracy,
        })
        .collect();
    worst.sort_by(|a, b| a.eps.total_cmp(&b.eps));
    let headline = worst
        .iter()
        .find(|w| (w.eps - 0.1).abs() < 1e-12)
        .or_else(|| worst.iter().find(|w| w.eps > 0.0))
        .or(worst.first())
        .cloned()
        .unwrap_or(EpsAccuracy {
            eps: 0.0,
            accuracy: report.clean_accuracy,
        });
    Ok(RobustnessResult {
        n: report.n,
        clean_accuracy: report.clean_accuracy,
        suite: report.config.suite.name().to_string(),
        units: report.config.space.units,
        space: report.config.space.describe(),
        attacks: report
            .worst_case
            .first()
            .map(|w| w.attacks.clone())
            .unwrap_or_default(),
        worst_case: worst,
        headline,
        stages: report.stages,
        per_attack: report.results,
        sanity_checks: report.sanity_checks,
        notes: report.notes,
    })
}
