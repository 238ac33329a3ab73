//! Stage `deferral`: the oversight crate's `calibrate_threshold` (Selection with Guaranteed
//! Risk over random calibration / held-out splits of the audited rows → `sgr.json`): the
//! threshold of split 0 to deploy, its held-out coverage and risk, how often the held-out risk
//! broke the target, the risk–coverage curve of the deployment rows, and how many calibration
//! items (and audited items) a certificate at the target risk and δ needs at all.

use aegis_oversight::{SgrConfig, calibrate_threshold, confidence};
use aegis_uncertainty::metrics::{confidence_and_correct, risk_coverage};
use aegis_uncertainty::{Deterministic, EstimatorConfig, UncertaintyEstimator, gather_rows};
use serde::{Deserialize, Serialize};

use super::context::StageContext;
use crate::audit::cache::StageCache;
use crate::error::Result;

/// Points kept of the risk–coverage curve.
const CURVE_POINTS: usize = 100;

/// One point of the risk–coverage curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Fraction of rows accepted.
    pub coverage: f64,
    /// Error rate among them.
    pub risk: f64,
}

/// What the stage measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeferralResult {
    /// Target selective risk `r*`.
    pub target_risk: f64,
    /// `δ`.
    pub delta: f64,
    /// Confidence function.
    pub confidence: String,
    /// Random splits.
    pub splits: usize,
    /// Calibration rows per split.
    pub n_calibration: usize,
    /// Held-out (deployment) rows per split.
    pub n_test: usize,
    /// The fewest calibration items with which SGR can certify the target risk at δ at all,
    /// every one accepted and none misclassified: with fewer, every input is deferred however
    /// good the model.
    pub min_calibration_items: usize,
    /// The fewest audited items whose calibration share holds `min_calibration_items`.
    pub min_items: usize,
    /// SGR found a threshold on the deployment split's calibration rows.
    pub feasible: bool,
    /// That threshold (`None` when infeasible: everything is deferred).
    pub threshold: Option<f64>,
    /// Its risk bound (holds with probability ≥ 1 − δ).
    pub risk_bound: f64,
    /// Held-out coverage of the deployment split.
    pub coverage: f64,
    /// `1 − coverage`: the fraction of inputs deferred to a human.
    pub deferral_rate: f64,
    /// Held-out selective risk of the deployment split.
    pub risk: f64,
    /// Mean held-out coverage over the splits.
    pub mean_coverage: f64,
    /// Mean held-out selective risk over the splits.
    pub mean_risk: f64,
    /// Fraction of splits whose held-out risk exceeded `r*`.
    pub violation_rate: f64,
    /// Fraction of splits where SGR found a threshold.
    pub feasible_rate: f64,
    /// Risk–coverage curve of the deployment rows (at most 100 points).
    pub curve: Vec<CurvePoint>,
}

/// Runs `calibrate_threshold` into the stage's folder and draws the deployment rows' curve.
pub fn run(ctx: &StageContext, cache: &StageCache) -> Result<DeferralResult> {
    let s = &ctx.settings.deferral;
    let run = ctx.run;
    let bar = ctx.bar("deferral", 2, "step");
    let cfg = SgrConfig::new(EstimatorConfig::new())
        .with_target_risk(s.target_risk)
        .with_delta(s.delta)
        .with_splits(s.splits)
        .with_calibration_fraction(s.calibration_fraction)
        .with_confidence(s.confidence)
        .with_seed(s.seed);
    let r = calibrate_threshold(run, &cfg, cache.dir(), false)?;
    bar.inc(1);
    let samples =
        Deterministic::new(&run.model).predict_samples(&run.test.features, &run.device)?;
    let kappa = confidence(s.confidence, &samples, None)?;
    let (_, correct) =
        confidence_and_correct(&samples.mean_probs(), &run.test.labels, samples.classes)?;
    let rows = &r.deployment.rows;
    let full = risk_coverage(
        &gather_rows(&kappa, 1, rows),
        &gather_rows(&correct, 1, rows),
    )?;
    let step = full.len().div_ceil(CURVE_POINTS).max(1);
    let curve = full
        .iter()
        .enumerate()
        .filter(|(k, _)| (k + 1) % step == 0 || k + 1 == full.len())
        .map(|(_, p)| CurvePoint {
            coverage: p.coverage,
            risk: p.risk,
        })
        .collect();
    bar.inc(1);
    bar.finish_and_clear();
    let split0 = r.splits[0];
    Ok(DeferralResult {
        target_risk: r.target_risk,
        delta: r.delta,
        confidence: s.confidence.key().to_string(),
        splits: r.splits.len(),
        n_calibration: r.n_calibration,
        n_test: r.n_test,
        min_calibration_items: r.min_calibration_rows,
        min_items: r.min_rows,
        feasible: split0.sgr.feasible,
        threshold: r
            .deployment
            .threshold
            .is_finite()
            .then_some(r.deployment.threshold),
        risk_bound: r.deployment.risk_bound,
        coverage: split0.test_coverage,
        deferral_rate: 1.0 - split0.test_coverage,
        risk: split0.test_risk,
        mean_coverage: r.mean_coverage,
        mean_risk: r.mean_test_risk,
        violation_rate: r.violation_rate,
        feasible_rate: r.feasible_rate,
        curve,
    })
}
