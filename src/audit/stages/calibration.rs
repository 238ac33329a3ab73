//! Stage `calibration`: the uncertainty crate's `calibrate` (temperature scaling fitted on a
//! seeded half of the audited rows, ECE / NLL / Brier before and after on the other half, the
//! reliability bins and `reliability.png`), plus the adaptive (equal-mass) ECE of the same
//! held-out half before and after. When the fit half holds too few misclassified (or correctly
//! classified) rows to estimate a temperature, `calibrate` keeps T = 1 and says why; the
//! result carries that, and the report and verdict say so instead of a fitted T.

use aegis_uncertainty::commands::halves;
use aegis_uncertainty::metrics::{
    BinScheme, CalibrationNorm, ReliabilityBin, calibration_error, confidence_and_correct,
};
use aegis_uncertainty::{
    CalibrateConfig, PredictiveSamples, batched_logits, calibrate, gather_rows,
};
use serde::{Deserialize, Serialize};

use super::context::StageContext;
use crate::audit::cache::StageCache;
use crate::error::Result;

/// The held-out numbers at one temperature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationMetrics {
    /// Expected calibration error, equal-width bins, L1.
    pub ece: f64,
    /// Adaptive ECE: equal-mass bins, L1.
    pub adaptive_ece: f64,
    /// Negative log-likelihood (nats per row).
    pub nll: f64,
    /// Brier score (sum over classes, mean over rows).
    pub brier: f64,
}

/// What the stage measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationResult {
    /// Rows the temperature was fitted on.
    pub n_fit: usize,
    /// Held-out rows every number is measured on.
    pub n_eval: usize,
    /// Bins of both ECEs and the reliability diagram.
    pub bins: usize,
    /// The temperature applied: the fitted one, or 1 when not estimated.
    pub temperature: f64,
    /// Whether the fit half could estimate a temperature (at least `min_fit_events`
    /// misclassified and as many correctly classified rows, an optimum inside the bounds);
    /// when not, every "after" number equals its "before".
    pub temperature_estimated: bool,
    /// Why not, one sentence with the counts (`None` when estimated).
    pub not_estimated_reason: Option<String>,
    /// Fit rows the model misclassifies.
    pub fit_misclassified: usize,
    /// The fewest misclassified, and correctly classified, fit rows an estimate needs (10,
    /// events per parameter).
    pub min_fit_events: usize,
    /// At T = 1.
    pub before: CalibrationMetrics,
    /// At the fitted T.
    pub after: CalibrationMetrics,
    /// Equal-width reliability bins of the held-out half at T = 1.
    pub reliability_before: Vec<ReliabilityBin>,
    /// The same at the fitted T.
    pub reliability_after: Vec<ReliabilityBin>,
}

/// Runs `calibrate` into the stage's folder and adds the adaptive ECEs.
pub fn run(ctx: &StageContext, cache: &StageCache) -> Result<CalibrationResult> {
    let s = &ctx.settings.calibration;
    let run = ctx.run;
    let bar = ctx.bar("calibration", 2, "step");
    let cfg = CalibrateConfig::new()
        .with_bins(s.bins)
        .with_seed(s.seed)
        .with_vector_scaling(false);
    let r = calibrate(run, &cfg, cache.dir())?;
    bar.inc(1);
    let c = run.test.num_classes;
    let logits = batched_logits(
        &run.model,
        &run.test.features,
        aegis_model::DEFAULT_BATCH_ROWS,
        &run.device,
    )?;
    let (_, eval_idx) = halves(run.test.len(), s.seed);
    let ev_logits = gather_rows(&logits, c, &eval_idx);
    let ev_y = gather_rows(&run.test.labels, 1, &eval_idx);
    let adaptive = |t: f64| -> Result<f64> {
        let scaled: Vec<f32> = ev_logits.iter().map(|&v| (v as f64 / t) as f32).collect();
        let p = PredictiveSamples::new(scaled, 1, eval_idx.len(), c)?.mean_probs();
        let (conf, ok) = confidence_and_correct(&p, &ev_y, c)?;
        Ok(calibration_error(
            &conf,
            &ok,
            s.bins,
            BinScheme::EqualMass,
            CalibrationNorm::L1,
        )?)
    };
    let result = CalibrationResult {
        n_fit: r.n_fit,
        n_eval: r.n_eval,
        bins: r.bins,
        temperature: r.temperature,
        temperature_estimated: r.temperature_estimated,
        not_estimated_reason: r.not_estimated_reason.clone(),
        fit_misclassified: r.fit_misclassified,
        min_fit_events: r.min_fit_events,
        before: CalibrationMetrics {
            ece: r.ece_before,
            adaptive_ece: adaptive(1.0)?,
            nll: r.nll_before,
            brier: r.brier_before,
        },
        after: CalibrationMetrics {
            ece: r.ece_after,
            adaptive_ece: adaptive(r.temperature)?,
            nll: r.nll_after,
            brier: r.brier_after,
        },
        reliability_before: r.reliability_before,
        reliability_after: r.reliability_after,
    };
    bar.inc(1);
    bar.finish_and_clear();
    Ok(result)
}
