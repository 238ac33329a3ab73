//! `evaluate`: deterministic, temperature-scaled, MC-dropout and ensemble predictions (and the
//! stochastic ones recalibrated) compared on the run's test split: NLL, Brier, ECE variants,
//! AURC → `report.json`, `report.csv`, `reliability.png`, `risk_coverage.png`, `config.json`.

use std::path::Path;

use aegis_model::io::{write_atomic, write_json};
use aegis_model::plot::{Series, line_chart};
use aegis_model::{DeviceSpec, LoadedRun};
use burn::config::Config;
use serde::{Deserialize, Serialize};

use super::common::{CommonArgs, halves, reliability_plot};
use crate::args::ensemble_cache;
use crate::error::{MAX_BINS, MAX_MEMBERS, MAX_PASSES, Result, check_count};
use crate::estimators::{
    DeepEnsemble, Deterministic, McDropout, McDropoutConfig, PredictiveSamples,
    UncertaintyEstimator, train_ensemble,
};
use crate::metrics::{
    BinScheme, CalibrationNorm, ReliabilityBin, RiskCoveragePoint, aurc_of_curve, brier,
    calibration_error, confidence_and_correct, entropy, mutual_information, nll, reliability_bins,
    risk_coverage,
};
use crate::recalibration::cross_fit_temperature;

/// Flags of `evaluate`.
#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// MC-dropout passes (0: skip).
    #[arg(long, default_value_t = 20)]
    passes: usize,
    /// Ensemble members (0 or 1: skip).
    #[arg(long, default_value_t = 5)]
    members: usize,
    /// Equal-width ECE bins.
    #[arg(long, default_value_t = 15)]
    bins: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl EvaluateArgs {
    /// Runs [`evaluate`] on `--run` and prints one table row per estimator.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let run = LoadedRun::open(&self.common.run, device)?;
        let out = self.common.out_dir("evaluate");
        let cfg = EvaluateConfig::new()
            .with_passes(self.passes)
            .with_members(self.members)
            .with_bins(self.bins)
            .with_seed(self.seed);
        let r = evaluate(&run, &cfg, &out, true)?;
        println!(
            "{:20} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "estimator", "acc", "NLL", "Brier", "ECE", "aECE", "AURC"
        );
        for m in &r.estimators {
            println!(
                "{:20} {:8.4} {:8.4} {:8.4} {:8.4} {:8.4} {:8.4}",
                m.estimator, m.accuracy, m.nll, m.brier, m.ece, m.ece_adaptive, m.aurc
            );
        }
        println!("wrote {}", out.join("report.json").display());
        Ok(())
    }
}

/// Settings of `evaluate`.
#[derive(Config, Debug)]
pub struct EvaluateConfig {
    /// ECE bins.
    #[config(default = 15)]
    pub bins: usize,
    /// MC-dropout passes (0: skip MC dropout).
    #[config(default = 20)]
    pub passes: usize,
    /// Ensemble members (0 or 1: skip the ensemble).
    #[config(default = 5)]
    pub members: usize,
    /// Seed of MC-dropout masks and of the temperature cross-fitting halves.
    #[config(default = 0)]
    pub seed: u64,
}

/// Metrics of one estimator on the test split.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EstimatorMetrics {
    /// Estimator name.
    pub estimator: String,
    /// Passes per input.
    pub samples: usize,
    /// Top-1 accuracy.
    pub accuracy: f64,
    /// Negative log-likelihood (nats).
    pub nll: f64,
    /// Brier score (sum over classes).
    pub brier: f64,
    /// ECE, equal-width bins, L1.
    pub ece: f64,
    /// ECE, equal-mass bins, L1.
    pub ece_adaptive: f64,
    /// ECE, equal-width bins, L2.
    pub ece_l2: f64,
    /// Maximum calibration error (equal-width).
    pub mce: f64,
    /// Area under the risk–coverage curve (confidence = MSP).
    pub aurc: f64,
    /// Mean predictive entropy (nats).
    pub mean_entropy: f64,
    /// Mean mutual information (nats; 0 for one pass).
    pub mean_mutual_information: f64,
    /// Equal-width reliability bins.
    pub reliability: Vec<ReliabilityBin>,
}

/// `report.json` of `evaluate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UncertaintyReport {
    /// Test rows.
    pub rows: usize,
    /// One entry per estimator.
    pub estimators: Vec<EstimatorMetrics>,
    /// Temperatures fitted on each half (cross-fitting).
    pub temperatures: Vec<f64>,
}

/// Metrics of predictive samples against labels.
pub fn estimator_metrics(
    name: &str,
    s: &PredictiveSamples,
    labels: &[usize],
    bins: usize,
) -> Result<EstimatorMetrics> {
    Ok(metrics_and_curve(name, s, labels, bins)?.0)
}

/// [`estimator_metrics`] and the risk–coverage curve it derives AURC from, so `evaluate` can
/// plot the curve without recomputing it.
fn metrics_and_curve(
    name: &str,
    s: &PredictiveSamples,
    labels: &[usize],
    bins: usize,
) -> Result<(EstimatorMetrics, Vec<RiskCoveragePoint>)> {
    let c = s.classes;
    let p = s.mean_probs();
    let (conf, ok) = confidence_and_correct(&p, labels, c)?;
    let curve = risk_coverage(&conf, &ok)?;
    let ce = |scheme, norm| calibration_error(&conf, &ok, bins, scheme, norm);
    let n = labels.len().max(1) as f64;
    let metrics = EstimatorMetrics {
        estimator: name.to_string(),
        samples: s.samples,
        accuracy: ok.iter().filter(|&&v| v).count() as f64 / n,
        nll: nll(&p, labels, c)?,
        brier: brier(&p, labels, c)?,
        ece: ce(BinScheme::EqualWidth, CalibrationNorm::L1)?,
        ece_adaptive: ce(BinScheme::EqualMass, CalibrationNorm::L1)?,
        ece_l2: ce(BinScheme::EqualWidth, CalibrationNorm::L2)?,
        mce: ce(BinScheme::EqualWidth, CalibrationNorm::Max)?,
        aurc: aurc_of_curve(&curve),
        mean_entropy: entropy(&p, c)?.iter().sum::<f64>() / n,
        mean_mutual_information: mutual_information(&s.sample_probs(), s.samples, c)?
            .iter()
            .sum::<f64>()
            / n,
        reliability: reliability_bins(&conf, &ok, bins, BinScheme::EqualWidth)?,
    };
    Ok((metrics, curve))
}

/// Compares the deterministic model, temperature scaling (2-fold cross-fitted: each half is
/// scaled by the temperature fitted on the other half, so no row is scored by a T fitted on
/// it), MC dropout and a deep ensemble on the run's test split, plus the stochastic
/// estimators recalibrated the same way (`+ts`: temperature on the log of the predictive
/// mean). Writes `report.json`,
/// `report.csv`, `reliability.png`, `risk_coverage.png` and `config.json`.
pub fn evaluate(
    run: &LoadedRun,
    cfg: &EvaluateConfig,
    out: &Path,
    progress: bool,
) -> Result<UncertaintyReport> {
    check_count("bins", cfg.bins, 1, MAX_BINS)?;
    check_count("passes", cfg.passes, 0, MAX_PASSES)?;
    check_count("members", cfg.members, 0, MAX_MEMBERS)?;
    let (x, y, c) = (&run.test.features, &run.test.labels, run.test.num_classes);
    let mut all: Vec<(String, PredictiveSamples)> = Vec::new();
    let det = Deterministic::new(&run.model).predict_samples(x, &run.device)?;
    // Cross-fitted temperature scaling.
    let (a, b) = halves(run.test.len(), cfg.seed);
    let (scaled, temperatures) = cross_fit_temperature(&det.logits, y, c, &a, &b)?;
    all.push(("deterministic".into(), det.clone()));
    all.push((
        "temperature-scaled".into(),
        PredictiveSamples::new(scaled, 1, det.rows, c)?,
    ));
    all.extend(stochastic_estimators(run, cfg, progress)?);
    let recalibrated = recalibrate_stochastic(&all, y, c, (&a, &b))?;
    all.extend(recalibrated);
    let (estimators, risk_curves): (Vec<_>, Vec<_>) = all
        .iter()
        .map(|(name, s)| metrics_and_curve(name, s, y, cfg.bins))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let report = UncertaintyReport {
        rows: run.test.len(),
        estimators,
        temperatures,
    };
    write_evaluation(&report, &all, &risk_curves, cfg, out)?;
    Ok(report)
}

/// Predictive samples of MC dropout (when `passes > 0` and the model has dropout) and of the
/// deep ensemble (when `members > 1`; members trained once, reused from [`ensemble_cache`]).
fn stochastic_estimators(
    run: &LoadedRun,
    cfg: &EvaluateConfig,
    progress: bool,
) -> Result<Vec<(String, PredictiveSamples)>> {
    let x = &run.test.features;
    let mut all = Vec::new();
    if cfg.passes > 0 && run.model.dropout_prob() > 0.0 {
        let mc = McDropout::new(
            &run.model,
            McDropoutConfig::new()
                .with_passes(cfg.passes)
                .with_seed(cfg.seed),
        )?;
        all.push(("mc-dropout".into(), mc.predict_samples(x, &run.device)?));
    }
    if cfg.members > 1 {
        let members = train_ensemble(
            &run.dir,
            cfg.members,
            &run.spec,
            &ensemble_cache(run),
            progress,
        )?;
        let ens = DeepEnsemble::new(&members)?;
        all.push(("ensemble".into(), ens.predict_samples(x, &run.device)?));
    }
    Ok(all)
}

/// The stochastic estimators of `all` recalibrated like the deterministic model: 2-fold
/// cross-fitted temperature scaling (halves `a`, `b`) on the log of their predictive mean,
/// named `<name>+ts`.
fn recalibrate_stochastic(
    all: &[(String, PredictiveSamples)],
    y: &[usize],
    c: usize,
    (a, b): (&[usize], &[usize]),
) -> Result<Vec<(String, PredictiveSamples)>> {
    let mut recalibrated = Vec::new();
    let stochastic: Vec<(String, PredictiveSamples)> =
        all.iter().filter(|(_, s)| s.samples > 1).cloned().collect();
    for (name, s) in stochastic {
        let log_mean: Vec<f32> = s
            .mean_probs()
            .iter()
            .map(|p| p.max(crate::metrics::NLL_PROB_FLOOR).ln() as f32)
            .collect();
        let (scaled, _) = cross_fit_temperature(&log_mean, y, c, a, b)?;
        recalibrated.push((
            format!("{name}+ts"),
            PredictiveSamples::new(scaled, 1, s.rows, c)?,
        ));
    }
    Ok(recalibrated)
}

/// Writes `report.json`, `config.json`, `report.csv` (one row per estimator),
/// `reliability.png` and `risk_coverage.png` into `out`.
fn write_evaluation(
    report: &UncertaintyReport,
    all: &[(String, PredictiveSamples)],
    risk_curves: &[Vec<RiskCoveragePoint>],
    cfg: &EvaluateConfig,
    out: &Path,
) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| aegis_model::ModelError::io(out, e))?;
    write_json(&out.join("report.json"), report)?;
    write_json(&out.join("config.json"), cfg)?;
    let mut csv = String::from(
        "estimator,samples,accuracy,nll,brier,ece,ece_adaptive,ece_l2,mce,aurc,mean_entropy,mean_mutual_information\n",
    );
    for m in &report.estimators {
        csv.push_str(&format!(
            "{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6},{:.6}\n",
            m.estimator,
            m.samples,
            m.accuracy,
            m.nll,
            m.brier,
            m.ece,
            m.ece_adaptive,
            m.ece_l2,
            m.mce,
            m.aurc,
            m.mean_entropy,
            m.mean_mutual_information
        ));
    }
    write_atomic(&out.join("report.csv"), csv.as_bytes())?;
    let curves: Vec<(String, &Vec<ReliabilityBin>)> = report
        .estimators
        .iter()
        .map(|m| (m.estimator.clone(), &m.reliability))
        .collect();
    reliability_plot(&out.join("reliability.png"), &curves)?;
    let series: Vec<Series> = all
        .iter()
        .zip(risk_curves)
        .map(|((name, _), curve)| Series {
            name: name.clone(),
            points: curve.iter().map(|p| (p.coverage, p.risk)).collect(),
        })
        .collect();
    line_chart(
        &out.join("risk_coverage.png"),
        "Risk–coverage (confidence = max probability)",
        "coverage",
        "selective risk",
        &series,
        None,
    )?;
    Ok(())
}
