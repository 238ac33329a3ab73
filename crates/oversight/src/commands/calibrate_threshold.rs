//! `calibrate-threshold`: SGR over random calibration/held-out splits of a run's test rows →
//! `sgr.json` (violation rate, mean coverage, and split 0's threshold to deploy, and how many
//! calibration rows a certificate at `r*` and `δ` needs at all, said when a split found none).

use std::path::{Path, PathBuf};

use aegis_model::io::write_json;
use aegis_model::{DeviceSpec, LoadedRun};
use aegis_uncertainty::metrics::confidence_and_correct;
use aegis_uncertainty::{EstimatorArgs, EstimatorConfig, estimator, gather_rows};
use burn::config::Config;

use super::sgr_report::{Deployment, SgrReport, SgrSplit};
use super::shared::{confidences, default_out, rows_for_calibration, split_rows};
use crate::confidence::ConfidenceKind;
use crate::error::{OversightError, Result};
use crate::metrics::selective_metrics;
use crate::sgr::{min_certifiable_rows, sgr};

/// Flags of `calibrate-threshold`.
#[derive(clap::Args, Debug)]
pub struct CalibrateThresholdArgs {
    /// Run directory.
    #[arg(long)]
    pub run: PathBuf,
    /// Target selective risk r*.
    #[arg(long, default_value_t = 0.02)]
    pub target_risk: f64,
    /// Confidence δ of the guarantee.
    #[arg(long, default_value_t = 0.001)]
    pub delta: f64,
    /// Random splits.
    #[arg(long, default_value_t = 20)]
    pub splits: usize,
    /// Calibration fraction of each split.
    #[arg(long, default_value_t = 0.8)]
    pub calibration_fraction: f64,
    /// Confidence function.
    #[arg(long, value_enum, default_value = "msp")]
    pub confidence: ConfidenceKind,
    /// Estimator; its `--seed` also seeds the splits.
    #[command(flatten)]
    pub estimator: EstimatorArgs,
    /// Output directory [default: RUN/oversight/calibrate-threshold].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl CalibrateThresholdArgs {
    /// Opens the run, runs [`calibrate_threshold`] and prints the violation rate, the mean
    /// coverage and the threshold to deploy.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let Self {
            run,
            target_risk,
            delta,
            splits,
            calibration_fraction,
            confidence,
            estimator,
            out,
        } = self;
        let loaded = LoadedRun::open(&run, device)?;
        let out = out.unwrap_or_else(|| default_out(&run, "calibrate-threshold"));
        let cfg = SgrConfig::new(estimator.config())
            .with_target_risk(target_risk)
            .with_delta(delta)
            .with_splits(splits)
            .with_calibration_fraction(calibration_fraction)
            .with_confidence(confidence)
            .with_seed(estimator.seed);
        let r = calibrate_threshold(&loaded, &cfg, &out, true)?;
        println!(
            "SGR r* = {target_risk}, δ = {delta}, {} ({}): held-out risk > r* in {:.1}% of {splits} splits; mean coverage {:.4}, mean risk {:.4}; feasible in {:.0}% ({} calibration / {} held-out rows)",
            r.estimator,
            confidence.key(),
            100.0 * r.violation_rate,
            r.mean_coverage,
            r.mean_test_risk,
            100.0 * r.feasible_rate,
            r.n_calibration,
            r.n_test
        );
        if r.feasible_rate < 1.0 {
            let need = if r.min_calibration_rows == usize::MAX {
                "no number of calibration rows can give one".to_string()
            } else {
                format!(
                    "a certificate needs at least {} calibration rows, all accepted and none misclassified ({} test rows at calibration fraction {calibration_fraction})",
                    r.min_calibration_rows, r.min_rows
                )
            };
            println!(
                "no threshold certifies r* = {target_risk} at δ = {delta} in {:.0}% of the splits: {need}; this run gives {}",
                100.0 * (1.0 - r.feasible_rate),
                r.n_calibration
            );
        }
        println!(
            "deploy: threshold {:.6} (risk bound {:.4}); wrote {}",
            r.deployment.threshold,
            r.deployment.risk_bound,
            out.join("sgr.json").display()
        );
        Ok(())
    }
}

/// Settings of `calibrate-threshold`.
#[derive(Config, Debug)]
pub struct SgrConfig {
    /// Target selective risk `r*`.
    #[config(default = 0.02)]
    pub target_risk: f64,
    /// Confidence parameter `δ` (the guarantee holds with probability ≥ 1 − δ).
    #[config(default = 0.001)]
    pub delta: f64,
    /// Random calibration/test splits of the run's test rows.
    #[config(default = 20)]
    pub splits: usize,
    /// Fraction of the rows used for calibration in each split. With r* = 2% and δ = 0.001 a
    /// threshold needs several hundred accepted calibration rows before even an error-free
    /// set can certify r* (`n ≥ ln(δ/k) / ln(1 − r*) ≈ 460`), hence 0.8 of MNIST's 1,000 test
    /// rows.
    #[config(default = 0.8)]
    pub calibration_fraction: f64,
    /// Confidence function.
    #[config(default = "ConfidenceKind::Msp")]
    pub confidence: ConfidenceKind,
    /// α of the conformal predictor behind `set-size`.
    #[config(default = 0.1)]
    pub conformal_alpha: f64,
    /// Estimator of the predictive distribution.
    pub estimator: EstimatorConfig,
    /// Seed of the splits (split `k` uses `seed + k`).
    #[config(default = 0)]
    pub seed: u64,
}

/// The most random splits of [`calibrate_threshold`] (each one reruns SGR's binary search).
const MAX_SPLITS: usize = 10_000;

/// Runs SGR on `splits` random calibration/held-out splits of the run's test rows and measures
/// how often the held-out selective risk exceeds `r*`. Writes `sgr.json` and `config.json`.
pub fn calibrate_threshold(
    run: &LoadedRun,
    cfg: &SgrConfig,
    out: &Path,
    progress: bool,
) -> Result<SgrReport> {
    if !(1..=MAX_SPLITS).contains(&cfg.splits) {
        return Err(OversightError::invalid(
            "splits",
            format!("{} is not in [1, {MAX_SPLITS}]", cfg.splits),
        ));
    }
    if !(cfg.calibration_fraction > 0.0 && cfg.calibration_fraction < 1.0) {
        return Err(OversightError::invalid(
            "calibration_fraction",
            "must be in (0, 1)",
        ));
    }
    let est = estimator(run, &cfg.estimator, progress)?;
    let samples = est.predict_samples(&run.test.features, &run.device)?;
    let labels = &run.test.labels;
    let (_, correct) = confidence_and_correct(&samples.mean_probs(), labels, samples.classes)?;
    let mut splits = Vec::new();
    let mut deployment = None;
    for k in 0..cfg.splits {
        let seed = cfg.seed.wrapping_add(k as u64);
        let (cal, test) = split_rows(run.test.len(), cfg.calibration_fraction, seed);
        if cal.is_empty() || test.is_empty() {
            return Err(OversightError::invalid(
                "calibration_fraction",
                "leaves no calibration or test rows",
            ));
        }
        let (kc, kt) = confidences(
            cfg.confidence,
            &samples,
            labels,
            &cal,
            &test,
            cfg.conformal_alpha,
        )?;
        let r = sgr(
            &kc,
            &gather_rows(&correct, 1, &cal),
            cfg.target_risk,
            cfg.delta,
        )?;
        let m = selective_metrics(&kt, &gather_rows(&correct, 1, &test), r.threshold)?;
        if k == 0 {
            deployment = Some(Deployment {
                threshold: r.threshold,
                risk_bound: r.risk_bound,
                calibration_rows: cal.clone(),
                rows: test.clone(),
                seed,
            });
        }
        splits.push(SgrSplit {
            sgr: r,
            test_coverage: m.coverage,
            test_risk: m.selective_risk,
            violated: m.selective_risk > cfg.target_risk,
        });
    }
    let n = splits.len() as f64;
    let deployment = deployment.expect("at least one split");
    let min_calibration_rows = min_certifiable_rows(cfg.target_risk, cfg.delta)?;
    let report = SgrReport {
        target_risk: cfg.target_risk,
        delta: cfg.delta,
        confidence: cfg.confidence,
        estimator: est.name(),
        violation_rate: splits.iter().filter(|s| s.violated).count() as f64 / n,
        mean_coverage: splits.iter().map(|s| s.test_coverage).sum::<f64>() / n,
        mean_test_risk: splits.iter().map(|s| s.test_risk).sum::<f64>() / n,
        feasible_rate: splits.iter().filter(|s| s.sgr.feasible).count() as f64 / n,
        n_calibration: deployment.calibration_rows.len(),
        n_test: deployment.rows.len(),
        min_calibration_rows,
        min_rows: rows_for_calibration(min_calibration_rows, cfg.calibration_fraction),
        splits,
        deployment,
    };
    std::fs::create_dir_all(out).map_err(|e| OversightError::io(out, e))?;
    write_json(&out.join("sgr.json"), &report)?;
    write_json(&out.join("config.json"), cfg)?;
    Ok(report)
}
