//! `calibrate`: fit temperature (and vector) scaling on a seeded half of the run's test split
//! and measure NLL / ECE / Brier before and after on the other half → `calibration.json`,
//! `config.json`, `reliability.png`. A fit half with too few misclassified (or correctly
//! classified) rows cannot estimate a temperature ([`estimate_temperature`]): then T = 1 is
//! kept, and the report says so, with the reason and the counts.

use std::path::Path;

use aegis_model::io::write_json;
use aegis_model::{DeviceSpec, LoadedRun};
use burn::config::Config;
use serde::{Deserialize, Serialize};

use super::common::{CommonArgs, halves, reliability_plot};
use crate::error::{MAX_BINS, Result, UncertaintyError, check_count};
use crate::estimators::{PredictiveSamples, batched_logits, gather_rows};
use crate::metrics::{
    BinScheme, CalibrationNorm, ReliabilityBin, brier, calibration_error, confidence_and_correct,
    nll, reliability_bins,
};
use crate::recalibration::{MIN_FIT_EVENTS, estimate_temperature, fit_vector_scaling};

/// Flags of `calibrate`.
#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Equal-width ECE bins.
    #[arg(long, default_value_t = 15)]
    bins: usize,
    /// Seed of the fit / held-out split.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl CalibrateArgs {
    /// Runs [`calibrate`] on `--run` and prints the temperature and the held-out numbers.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let run = LoadedRun::open(&self.common.run, device)?;
        let out = self.common.out_dir("calibrate");
        let r = calibrate(
            &run,
            &CalibrateConfig::new()
                .with_bins(self.bins)
                .with_seed(self.seed),
            &out,
        )?;
        match &r.not_estimated_reason {
            None => println!(
                "temperature {:.4}: held-out NLL {:.4} → {:.4}, ECE {:.4} → {:.4} ({} fit / {} held-out rows)",
                r.temperature,
                r.nll_before,
                r.nll_after,
                r.ece_before,
                r.ece_after,
                r.n_fit,
                r.n_eval
            ),
            Some(why) => println!(
                "temperature not estimated: {why}; held-out NLL {:.4}, ECE {:.4} ({} fit / {} held-out rows)",
                r.nll_before, r.ece_before, r.n_fit, r.n_eval
            ),
        }
        if let Some((nll, ece)) = r.vector_scaling {
            println!("vector scaling: held-out NLL {nll:.4}, ECE {ece:.4}");
        }
        println!("wrote {}", out.join("calibration.json").display());
        Ok(())
    }
}

/// Settings of `calibrate`.
#[derive(Config, Debug)]
pub struct CalibrateConfig {
    /// Equal-width bins of the ECE.
    #[config(default = 15)]
    pub bins: usize,
    /// Seed of the fit/held-out split of the test rows.
    #[config(default = 0)]
    pub seed: u64,
    /// Also fit vector scaling and report it.
    #[config(default = true)]
    pub vector_scaling: bool,
}

/// `calibration.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// The temperature applied: the fitted one, or 1 when the fit half could not estimate one
    /// (`temperature_estimated` false; every "after" number then equals its "before").
    pub temperature: f64,
    /// Whether the fit half could estimate a temperature: at least `min_fit_events`
    /// misclassified and as many correctly classified rows, and an NLL optimum inside
    /// `T ∈ [0.01, 100]` ([`estimate_temperature`]).
    pub temperature_estimated: bool,
    /// Why not, one sentence with the counts and the optimum that was not used (`None` when
    /// estimated).
    pub not_estimated_reason: Option<String>,
    /// Fit rows whose label's logit is below the row's largest.
    pub fit_misclassified: usize,
    /// The fewest misclassified, and correctly classified, fit rows an estimate needs
    /// ([`MIN_FIT_EVENTS`]).
    pub min_fit_events: usize,
    /// Held-out NLL at T = 1.
    pub nll_before: f64,
    /// Held-out NLL at the fitted T.
    pub nll_after: f64,
    /// Held-out ECE (equal-width, L1) at T = 1.
    pub ece_before: f64,
    /// Held-out ECE at the fitted T.
    pub ece_after: f64,
    /// Held-out Brier score at T = 1.
    pub brier_before: f64,
    /// Held-out Brier score at the fitted T.
    pub brier_after: f64,
    /// NLL of the fitting half at T = 1 and at the temperature applied (the fitted objective).
    pub fit_nll: (f64, f64),
    /// Vector scaling on the held-out half: `(nll, ece)` (when enabled).
    pub vector_scaling: Option<(f64, f64)>,
    /// Rows used for fitting.
    pub n_fit: usize,
    /// Held-out rows the before/after numbers are measured on.
    pub n_eval: usize,
    /// ECE bins.
    pub bins: usize,
    /// Reliability bins of the held-out half before scaling.
    pub reliability_before: Vec<ReliabilityBin>,
    /// … and after.
    pub reliability_after: Vec<ReliabilityBin>,
}

/// Fits temperature scaling on a random half of the run's test split and measures NLL, ECE and
/// Brier before and after on the other half. Writes `calibration.json`, `config.json` and
/// `reliability.png` into `out`.
pub fn calibrate(run: &LoadedRun, cfg: &CalibrateConfig, out: &Path) -> Result<CalibrationReport> {
    check_count("bins", cfg.bins, 1, MAX_BINS)?;
    let c = run.test.num_classes;
    let logits = batched_logits(
        &run.model,
        &run.test.features,
        aegis_model::DEFAULT_BATCH_ROWS,
        &run.device,
    )?;
    let (fit_idx, eval_idx) = halves(run.test.len(), cfg.seed);
    if fit_idx.is_empty() || eval_idx.is_empty() {
        return Err(UncertaintyError::invalid(
            "data",
            "need at least two test rows",
        ));
    }
    let (fit_logits, fit_y) = (
        gather_rows(&logits, c, &fit_idx),
        gather_rows(&run.test.labels, 1, &fit_idx),
    );
    let (ev_logits, ev_y) = (
        gather_rows(&logits, c, &eval_idx),
        gather_rows(&run.test.labels, 1, &eval_idx),
    );
    let est = estimate_temperature(&fit_logits, &fit_y, c)?;
    let t = est.temperature;
    let scaled: Vec<f32> = ev_logits.iter().map(|v| (*v as f64 / t) as f32).collect();
    let (p0, p1) = (softmax_rows(&ev_logits, c), softmax_rows(&scaled, c));
    let ece = |p: &[f64]| held_out_ece(p, &ev_y, c, cfg.bins);
    let ((ece0, rel0), (ece1, rel1)) = (ece(&p0)?, ece(&p1)?);
    let vector_scaling = if cfg.vector_scaling {
        let vs = fit_vector_scaling(&fit_logits, &fit_y, c)?;
        let pv = softmax_rows(&vs.apply(&ev_logits), c);
        Some((nll(&pv, &ev_y, c)?, ece(&pv)?.0))
    } else {
        None
    };
    let (fit, estimated) = (est.fit, est.not_estimated.is_none());
    let report = CalibrationReport {
        temperature: t,
        temperature_estimated: estimated,
        not_estimated_reason: est.not_estimated,
        fit_misclassified: est.misclassified,
        min_fit_events: MIN_FIT_EVENTS,
        nll_before: nll(&p0, &ev_y, c)?,
        nll_after: nll(&p1, &ev_y, c)?,
        ece_before: ece0,
        ece_after: ece1,
        brier_before: brier(&p0, &ev_y, c)?,
        brier_after: brier(&p1, &ev_y, c)?,
        fit_nll: (
            fit.nll_before,
            if estimated {
                fit.nll_after
            } else {
                fit.nll_before
            },
        ),
        vector_scaling,
        n_fit: fit_idx.len(),
        n_eval: eval_idx.len(),
        bins: cfg.bins,
        reliability_before: rel0,
        reliability_after: rel1,
    };
    write_calibration(&report, cfg, out)?;
    Ok(report)
}

/// Equal-width L1 ECE of probabilities `[N, C]` against `labels`, with its reliability bins.
fn held_out_ece(
    p: &[f64],
    labels: &[usize],
    c: usize,
    bins: usize,
) -> Result<(f64, Vec<ReliabilityBin>)> {
    let (conf, ok) = confidence_and_correct(p, labels, c)?;
    Ok((
        calibration_error(&conf, &ok, bins, BinScheme::EqualWidth, CalibrationNorm::L1)?,
        reliability_bins(&conf, &ok, bins, BinScheme::EqualWidth)?,
    ))
}

/// Writes `calibration.json`, `config.json` and `reliability.png` (before and after) into `out`.
fn write_calibration(report: &CalibrationReport, cfg: &CalibrateConfig, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| aegis_model::ModelError::io(out, e))?;
    write_json(&out.join("calibration.json"), report)?;
    write_json(&out.join("config.json"), cfg)?;
    let mut series = vec![("T = 1".to_string(), &report.reliability_before)];
    if report.temperature_estimated {
        series.push((
            format!("T = {:.3}", report.temperature),
            &report.reliability_after,
        ));
    }
    reliability_plot(&out.join("reliability.png"), &series)?;
    Ok(())
}

/// Softmax of each row of logits `[N, C]` (empty on a shape error).
fn softmax_rows(logits: &[f32], c: usize) -> Vec<f64> {
    PredictiveSamples::new(logits.to_vec(), 1, logits.len() / c, c)
        .map(|s| s.mean_probs())
        .unwrap_or_default()
}
