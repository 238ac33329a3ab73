//! The binary's commands as library calls: `calibrate`, `conformal`, `ood` and `evaluate` on a
//! trained run directory. Each writes its JSON report, `config.json` with the settings, and
//! where useful CSV and PNG files, atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aegis_model::LoadedRun;
use aegis_model::data::shuffled_split;
use aegis_model::io::{write_atomic, write_json};
use aegis_model::plot::{Series, line_chart};
use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::conformal::{ConformalConfig, ConformalReport, evaluate_conformal};
use crate::deterministic::Deterministic;
use crate::ensemble::{DeepEnsemble, train_ensemble};
use crate::error::{Result, UncertaintyError};
use crate::estimator::{PredictiveSamples, UncertaintyEstimator, gather_rows};
use crate::mc_dropout::{McDropout, McDropoutConfig};
use crate::metrics::{
    BinScheme, CalibrationNorm, OodMetrics, ReliabilityBin, RiskCoveragePoint, aurc_of_curve,
    brier, calibration_error, confidence_and_correct, entropy, mutual_information, nll,
    ood_metrics, reliability_bins, risk_coverage,
};
use crate::ood_scores::OodScore;
use crate::shift::{ShiftKind, shifted_images};
use crate::temperature::fit_temperature;
use crate::vector_scaling::fit_vector_scaling;

/// Which estimator a command uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EstimatorKind {
    /// The run's model, one pass.
    Deterministic,
    /// MC dropout with `passes` passes.
    McDropout,
    /// A deep ensemble of `members` (the run plus retrained seeds).
    Ensemble,
}

/// Estimator settings shared by the commands.
#[derive(Config, Debug)]
pub struct EstimatorConfig {
    /// The estimator.
    #[config(default = "EstimatorKind::Deterministic")]
    pub kind: EstimatorKind,
    /// MC-dropout passes `T`.
    #[config(default = 20)]
    pub passes: usize,
    /// Ensemble size `M` (the run itself is member 0).
    #[config(default = 5)]
    pub members: usize,
    /// Seed of MC-dropout masks.
    #[config(default = 0)]
    pub seed: u64,
}

/// The estimator flags every binary that needs a predictive distribution shares
/// (`aegis-uncertainty`, `aegis-oversight`); flatten it into a clap parser.
#[derive(Debug, Clone, clap::Args)]
pub struct EstimatorArgs {
    /// deterministic | mc-dropout | ensemble.
    #[arg(long, value_enum, default_value = "deterministic")]
    pub estimator: EstimatorKind,
    /// MC-dropout passes T.
    #[arg(long, default_value_t = 20)]
    pub passes: usize,
    /// Ensemble members M (the run is member 0; the others are trained once, cached under
    /// RUN/uncertainty/ensemble and reused by every command).
    #[arg(long, default_value_t = 5)]
    pub members: usize,
    /// Seed of dropout masks and noise sets.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl EstimatorArgs {
    /// The settings the flags describe.
    pub fn config(&self) -> EstimatorConfig {
        EstimatorConfig::new()
            .with_kind(self.estimator)
            .with_passes(self.passes)
            .with_members(self.members)
            .with_seed(self.seed)
    }
}

/// Where ensemble members of a run are cached: `<run>/uncertainty/ensemble`, shared by every
/// command (members are keyed by their seed and checked against the run's recipe).
pub fn ensemble_cache(run: &LoadedRun) -> PathBuf {
    run.dir.root().join("uncertainty").join("ensemble")
}

/// Builds the estimator `cfg` describes for `run`. Ensemble members are trained once and
/// reused from [`ensemble_cache`].
pub fn estimator(
    run: &LoadedRun,
    cfg: &EstimatorConfig,
    progress: bool,
) -> Result<Box<dyn UncertaintyEstimator>> {
    Ok(match cfg.kind {
        EstimatorKind::Deterministic => Box::new(Deterministic::new(&run.model)),
        EstimatorKind::McDropout => Box::new(McDropout::new(
            &run.model,
            McDropoutConfig::new()
                .with_passes(cfg.passes)
                .with_seed(cfg.seed),
        )?),
        EstimatorKind::Ensemble => {
            let members = train_ensemble(
                &run.dir,
                cfg.members,
                &run.spec,
                &ensemble_cache(run),
                progress,
            )?;
            Box::new(DeepEnsemble::new(&members)?)
        }
    })
}

/// Seeded split of `0..n` into two halves (the first `⌊n/2⌋` shuffled indices, the rest).
pub fn halves(n: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    shuffled_split(n, n / 2, seed)
}

fn softmax_rows(logits: &[f32], c: usize) -> Vec<f64> {
    PredictiveSamples::new(logits.to_vec(), 1, logits.len() / c, c)
        .map(|s| s.mean_probs())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- calibrate

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
    /// Fitted temperature.
    pub temperature: f64,
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
    /// NLL of the fitting half before and after (the fitted objective).
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
    if cfg.bins == 0 {
        return Err(UncertaintyError::invalid("bins", "must be at least 1"));
    }
    let c = run.test.num_classes;
    let logits = crate::estimator::batched_logits(
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
    let fit = fit_temperature(&fit_logits, &fit_y, c)?;
    let scaled: Vec<f32> = ev_logits
        .iter()
        .map(|v| (*v as f64 / fit.temperature) as f32)
        .collect();
    let (p0, p1) = (softmax_rows(&ev_logits, c), softmax_rows(&scaled, c));
    let ece = |p: &[f64]| -> Result<(f64, Vec<ReliabilityBin>)> {
        let (conf, ok) = confidence_and_correct(p, &ev_y, c)?;
        Ok((
            calibration_error(
                &conf,
                &ok,
                cfg.bins,
                BinScheme::EqualWidth,
                CalibrationNorm::L1,
            )?,
            reliability_bins(&conf, &ok, cfg.bins, BinScheme::EqualWidth)?,
        ))
    };
    let ((ece0, rel0), (ece1, rel1)) = (ece(&p0)?, ece(&p1)?);
    let vector_scaling = if cfg.vector_scaling {
        let vs = fit_vector_scaling(&fit_logits, &fit_y, c)?;
        let pv = softmax_rows(&vs.apply(&ev_logits), c);
        Some((nll(&pv, &ev_y, c)?, ece(&pv)?.0))
    } else {
        None
    };
    let report = CalibrationReport {
        temperature: fit.temperature,
        nll_before: nll(&p0, &ev_y, c)?,
        nll_after: nll(&p1, &ev_y, c)?,
        ece_before: ece0,
        ece_after: ece1,
        brier_before: brier(&p0, &ev_y, c)?,
        brier_after: brier(&p1, &ev_y, c)?,
        fit_nll: (fit.nll_before, fit.nll_after),
        vector_scaling,
        n_fit: fit_idx.len(),
        n_eval: eval_idx.len(),
        bins: cfg.bins,
        reliability_before: rel0,
        reliability_after: rel1,
    };
    std::fs::create_dir_all(out).map_err(|e| aegis_model::ModelError::io(out, e))?;
    write_json(&out.join("calibration.json"), &report)?;
    write_json(&out.join("config.json"), cfg)?;
    reliability_plot(
        &out.join("reliability.png"),
        &[
            ("T = 1".to_string(), &report.reliability_before),
            (
                format!("T = {:.3}", report.temperature),
                &report.reliability_after,
            ),
        ],
    )?;
    Ok(report)
}

/// A reliability diagram: accuracy against mean confidence of each non-empty bin, per
/// estimator, with the diagonal of perfect calibration.
pub fn reliability_plot(path: &Path, curves: &[(String, &Vec<ReliabilityBin>)]) -> Result<()> {
    let mut series = vec![Series {
        name: "perfect calibration".into(),
        points: vec![(0.0, 0.0), (1.0, 1.0)],
    }];
    for (name, bins) in curves {
        series.push(Series {
            name: name.clone(),
            points: bins
                .iter()
                .filter(|b| b.count > 0)
                .map(|b| (b.confidence, b.accuracy))
                .collect(),
        });
    }
    line_chart(
        path,
        "Reliability diagram",
        "mean confidence in bin",
        "accuracy in bin",
        &series,
        Some((0.0, 1.0)),
    )?;
    Ok(())
}

// ---------------------------------------------------------------- conformal

/// Settings of `conformal`.
#[derive(Config, Debug)]
pub struct ConformalRunConfig {
    /// Conformal settings (α, score, randomisation, seed).
    pub conformal: ConformalConfig,
    /// Random calibration/test splits.
    #[config(default = 20)]
    pub splits: usize,
    /// Fraction of the test rows used for calibration in each split.
    #[config(default = 0.5)]
    pub calibration_fraction: f64,
    /// Estimator whose predictive distribution is calibrated.
    pub estimator: EstimatorConfig,
}

/// Split conformal on the run's test split, averaged over random splits. Writes
/// `conformal.json` and `config.json`.
pub fn conformal(
    run: &LoadedRun,
    cfg: &ConformalRunConfig,
    out: &Path,
    progress: bool,
) -> Result<ConformalReport> {
    let est = estimator(run, &cfg.estimator, progress)?;
    let probs = est.predict_proba(&run.test.features, &run.device)?;
    let report = evaluate_conformal(
        &cfg.conformal,
        &probs,
        &run.test.labels,
        run.test.num_classes,
        cfg.splits,
        cfg.calibration_fraction,
    )?;
    std::fs::create_dir_all(out).map_err(|e| aegis_model::ModelError::io(out, e))?;
    write_json(&out.join("conformal.json"), &report)?;
    write_json(&out.join("config.json"), cfg)?;
    Ok(report)
}

// ---------------------------------------------------------------- ood

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

/// Detects the OOD and shifted sets ([`ShiftKind::ALL`]) built from the run's test images with
/// every score of the estimator. Writes `ood.json`, `ood.csv`, `ood.png` (AUROC per set for
/// each score) and `config.json`.
pub fn ood(
    run: &LoadedRun,
    cfg: &EstimatorConfig,
    out: &Path,
    progress: bool,
) -> Result<OodReport> {
    let shape = &run.test.sample_shape;
    if shape.len() != 3 || shape[0] != 1 {
        return Err(UncertaintyError::invalid(
            "data",
            format!(
                "OOD sets are built from single-channel images; the run's data has samples of shape {shape:?}"
            ),
        ));
    }
    let (h, w) = (shape[1], shape[2]);
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
    let mut auroc = BTreeMap::new();
    let mut details = BTreeMap::new();
    let mut shifted_accuracy = BTreeMap::new();
    for (k, kind) in ShiftKind::ALL.iter().enumerate() {
        let x = shifted_images(
            *kind,
            &run.test.features,
            h,
            w,
            cfg.seed.wrapping_add(k as u64),
        )?;
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
        for (score, id_score) in &id_scores {
            let m = ood_metrics(id_score, &score.compute(&s)?)?;
            a.insert(score.key().to_string(), m.auroc);
            d.insert(score.key().to_string(), m);
        }
        auroc.insert(kind.key().to_string(), a);
        details.insert(kind.key().to_string(), d);
    }
    let report = OodReport {
        estimator: est.name(),
        samples: id.samples,
        n_in_distribution: run.test.len(),
        in_distribution_accuracy: ok.iter().filter(|&&v| v).count() as f64 / ok.len().max(1) as f64,
        auroc,
        details,
        shifted_accuracy,
    };
    std::fs::create_dir_all(out).map_err(|e| aegis_model::ModelError::io(out, e))?;
    write_json(&out.join("ood.json"), &report)?;
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
    Ok(report)
}

// ---------------------------------------------------------------- evaluate

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

/// 2-fold cross-fitted temperature scaling of logits `[N, C]`: rows in `b` are divided by the
/// temperature fitted on the rows in `a`, and vice versa. Returns the scaled logits and the two
/// temperatures `[T fitted on a, T fitted on b]`.
pub fn cross_fit_temperature(
    logits: &[f32],
    labels: &[usize],
    c: usize,
    a: &[usize],
    b: &[usize],
) -> Result<(Vec<f32>, Vec<f64>)> {
    let mut scaled = logits.to_vec();
    let mut temperatures = Vec::new();
    for (fit, apply) in [(a, b), (b, a)] {
        let t = fit_temperature(
            &gather_rows(logits, c, fit),
            &gather_rows(labels, 1, fit),
            c,
        )?
        .temperature;
        temperatures.push(t);
        for &i in apply {
            for v in &mut scaled[i * c..(i + 1) * c] {
                *v = (*v as f64 / t) as f32;
            }
        }
    }
    Ok((scaled, temperatures))
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
    if cfg.bins == 0 {
        return Err(UncertaintyError::invalid("bins", "must be at least 1"));
    }
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
    // Stochastic estimators recalibrated the same way, on the log of their predictive mean.
    let stochastic: Vec<(String, PredictiveSamples)> =
        all.iter().filter(|(_, s)| s.samples > 1).cloned().collect();
    for (name, s) in stochastic {
        let log_mean: Vec<f32> = s
            .mean_probs()
            .iter()
            .map(|p| p.max(crate::metrics::NLL_PROB_FLOOR).ln() as f32)
            .collect();
        let (scaled, _) = cross_fit_temperature(&log_mean, y, c, &a, &b)?;
        all.push((
            format!("{name}+ts"),
            PredictiveSamples::new(scaled, 1, s.rows, c)?,
        ));
    }
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
    std::fs::create_dir_all(out).map_err(|e| aegis_model::ModelError::io(out, e))?;
    write_json(&out.join("report.json"), &report)?;
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
        .zip(&risk_curves)
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
    Ok(report)
}

/// Default output directory of a command: `<run>/uncertainty/<command>`.
pub fn default_out(run: &Path, command: &str) -> PathBuf {
    run.join("uncertainty").join(command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_model::{DataSource, DeviceSpec, TrainRequest, train_run};

    /// A small MLP with dropout on the synthetic blobs, trained into `dir` (a few seconds).
    fn blobs_run(dir: &Path) -> LoadedRun {
        let mut req = TrainRequest::new(DataSource::Blobs);
        req.train = req.train.clone().with_epochs(4);
        req.dropout = Some(0.3);
        req.hidden = Some(vec![32]);
        req.out = Some(dir.to_path_buf());
        train_run(&req).unwrap();
        LoadedRun::open(dir, DeviceSpec::Flex).unwrap()
    }

    #[test]
    fn commands_write_their_reports_and_reuse_ensemble_members() {
        let tmp = tempfile::tempdir().unwrap();
        let run = blobs_run(&tmp.path().join("run"));
        let out = tmp.path().join("out");

        let cal = calibrate(&run, &CalibrateConfig::new(), &out.join("cal")).unwrap();
        assert!(cal.temperature > 0.0 && cal.n_fit + cal.n_eval == run.test.len());
        assert!(
            cal.fit_nll.1 <= cal.fit_nll.0 + 1e-12,
            "the fit never worsens its own NLL"
        );
        assert!(out.join("cal/reliability.png").exists());
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("cal/calibration.json")).unwrap())
                .unwrap();
        for key in [
            "temperature",
            "nll_before",
            "nll_after",
            "ece_before",
            "ece_after",
        ] {
            assert!(json[key].is_f64(), "{key} missing");
        }

        let cfg =
            ConformalRunConfig::new(ConformalConfig::new(), EstimatorConfig::new()).with_splits(5);
        let conf = conformal(&run, &cfg, &out.join("conf"), false).unwrap();
        assert_eq!(conf.splits.len(), 5);
        assert!(conf.mean_coverage > 0.8, "{conf:?}");

        let eval_cfg = EvaluateConfig::new().with_passes(5).with_members(2);
        let rep = evaluate(&run, &eval_cfg, &out.join("eval"), false).unwrap();
        let names: Vec<&str> = rep
            .estimators
            .iter()
            .map(|m| m.estimator.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "deterministic",
                "temperature-scaled",
                "mc-dropout",
                "ensemble",
                "mc-dropout+ts",
                "ensemble+ts"
            ]
        );
        for f in [
            "report.json",
            "report.csv",
            "reliability.png",
            "risk_coverage.png",
            "config.json",
        ] {
            assert!(out.join("eval").join(f).exists(), "{f}");
        }
        // The second member is cached: building the ensemble again does not retrain it.
        let member = ensemble_cache(&run).join("member-1-seed-2/metrics.json");
        let before = std::fs::metadata(&member).unwrap().modified().unwrap();
        let again =
            train_ensemble(&run.dir, 2, &DeviceSpec::Flex, &ensemble_cache(&run), false).unwrap();
        assert_eq!(again.len(), 2);
        assert_eq!(
            std::fs::metadata(&member).unwrap().modified().unwrap(),
            before
        );
    }

    #[test]
    fn bad_input_gives_errors_naming_the_fault() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("no-such-run");
        let e = LoadedRun::open(&missing, DeviceSpec::Flex)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no-such-run"), "{e}");
        let run = blobs_run(&tmp.path().join("run"));
        let e = ood(&run, &EstimatorConfig::new(), &tmp.path().join("o"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("images"), "{e}");
        let e = calibrate(
            &run,
            &CalibrateConfig::new().with_bins(0),
            &tmp.path().join("c"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("bins"), "{e}");
    }

    #[test]
    fn halves_are_seeded_disjoint_and_complete() {
        let (a, b) = halves(11, 3);
        assert_eq!((a.len(), b.len()), (5, 6));
        let mut all: Vec<usize> = a.iter().chain(&b).cloned().collect();
        all.sort();
        assert_eq!(all, (0..11).collect::<Vec<_>>());
        assert_eq!(halves(11, 3), (a, b));
        assert_ne!(halves(11, 4).0, halves(11, 3).0);
    }
}
