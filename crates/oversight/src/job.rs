//! The binary's commands as library calls: `calibrate-threshold` (SGR over random splits),
//! `queue` (build the review queue), `report` (team metrics from the audit log, and deferral
//! policies compared with a simulated expert). `review` is [`crate::review()`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use aegis_interpretability::{
    Attribution, IgConfig, IntegratedGradients, Saliency, SaliencyConfig,
};
use aegis_model::LoadedRun;
use aegis_model::data::shuffled_split;
use aegis_model::io::write_json;
use aegis_model::plot::{Series, line_chart};
use aegis_model::{DeviceSpec, RunDir};
use aegis_uncertainty::metrics::confidence_and_correct;
use aegis_uncertainty::{
    ConformalConfig, ConformalScore, PredictiveSamples, SplitConformal, gather_rows,
};
use aegis_uncertainty::{EstimatorConfig, estimator};
use burn::config::Config;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{AuditRecord, Decision, read_audit_log};
use crate::confidence::{ConfidenceKind, confidence};
use crate::error::{OversightError, Result};
use crate::metrics::{
    SimulatedExpert, cohens_kappa, expected_system_accuracy, selective_metrics,
    threshold_for_coverage,
};
use crate::queue::{Queue, QueueItem, QueueMeta, top_attributions};
use crate::sgr::{SgrResult, sgr};

/// SHA-256 (hex) of a run's `model.bpk`: the identity of the model in queues and audit logs.
pub fn model_hash(run: &RunDir) -> Result<String> {
    let p = run.weights_path();
    let bytes = std::fs::read(&p).map_err(|e| OversightError::io(&p, e))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Seeded split of `0..n`: `(calibration, deployment)`, the first `round(n·fraction)` shuffled
/// rows for calibration.
pub fn split_rows(n: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    shuffled_split(n, (n as f64 * fraction).round() as usize, seed)
}

/// Conformal sets for the queue: APS without randomisation (never empty), α = `alpha`.
fn conformal_for(cal: &PredictiveSamples, labels: &[usize], alpha: f64) -> Result<SplitConformal> {
    Ok(SplitConformal::calibrate(
        ConformalConfig::new()
            .with_alpha(alpha)
            .with_score(ConformalScore::Aps)
            .with_randomized(false),
        &cal.mean_probs(),
        labels,
        cal.classes,
    )?)
}

/// κ of the calibration and deployment rows (the conformal predictor of `set-size` is
/// calibrated on the calibration rows).
fn confidences(
    kind: ConfidenceKind,
    all: &PredictiveSamples,
    labels: &[usize],
    cal: &[usize],
    deploy: &[usize],
    alpha: f64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (sc, sd) = (all.select_rows(cal), all.select_rows(deploy));
    let cp = if kind == ConfidenceKind::SetSize {
        Some(conformal_for(&sc, &gather_rows(labels, 1, cal), alpha)?)
    } else {
        None
    };
    Ok((
        confidence(kind, &sc, cp.as_ref())?,
        confidence(kind, &sd, cp.as_ref())?,
    ))
}

// ---------------------------------------------------------------- calibrate-threshold

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

/// One split of the SGR experiment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgrSplit {
    /// SGR's output on the calibration rows.
    pub sgr: SgrResult,
    /// Coverage on the held-out rows.
    pub test_coverage: f64,
    /// Selective risk on the held-out rows.
    pub test_risk: f64,
    /// `test_risk > r*`.
    pub violated: bool,
}

/// `sgr.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SgrReport {
    /// `r*`.
    pub target_risk: f64,
    /// `δ`.
    pub delta: f64,
    /// Confidence function.
    pub confidence: ConfidenceKind,
    /// Estimator name.
    pub estimator: String,
    /// Fraction of splits whose held-out selective risk exceeded `r*`.
    pub violation_rate: f64,
    /// Mean held-out coverage.
    pub mean_coverage: f64,
    /// Mean held-out selective risk.
    pub mean_test_risk: f64,
    /// Fraction of splits where SGR found a threshold.
    pub feasible_rate: f64,
    /// Calibration / held-out rows per split.
    pub n_calibration: usize,
    /// Held-out rows per split.
    pub n_test: usize,
    /// Every split.
    pub splits: Vec<SgrSplit>,
    /// Split 0, what `queue --sgr` deploys: its threshold and its held-out rows.
    pub deployment: Deployment,
}

/// The threshold to deploy and the rows it is deployed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// The threshold (κ ≥ threshold is automatic).
    pub threshold: f64,
    /// Its calibrated risk bound.
    pub risk_bound: f64,
    /// Calibration rows (indices into the run's test split).
    pub calibration_rows: Vec<usize>,
    /// Deployment rows.
    pub rows: Vec<usize>,
    /// Seed of the split.
    pub seed: u64,
}

/// Runs SGR on `splits` random calibration/held-out splits of the run's test rows and measures
/// how often the held-out selective risk exceeds `r*`. Writes `sgr.json` and `config.json`.
pub fn calibrate_threshold(
    run: &LoadedRun,
    cfg: &SgrConfig,
    out: &Path,
    progress: bool,
) -> Result<SgrReport> {
    if cfg.splits == 0 {
        return Err(OversightError::invalid("splits", "must be at least 1"));
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
        splits,
        deployment,
    };
    std::fs::create_dir_all(out).map_err(|e| OversightError::io(out, e))?;
    write_json(&out.join("sgr.json"), &report)?;
    write_json(&out.join("config.json"), cfg)?;
    Ok(report)
}

// ---------------------------------------------------------------- queue

/// Attribution shown with each queued item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum AttributionChoice {
    /// Integrated gradients (Gauss–Legendre, n = 50; baseline: black image, or the mean of the
    /// calibration rows for tabular data).
    Ig,
    /// Saliency |∇|.
    Saliency,
    /// No attribution.
    None,
}

/// Where the queue's threshold comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThresholdSource {
    /// The deployment of an SGR run (`sgr.json`).
    Sgr(PathBuf),
    /// A fixed threshold on κ.
    Fixed(f64),
    /// The threshold reaching this coverage on the calibration rows.
    Coverage(f64),
}

/// Settings of `queue`.
#[derive(Config, Debug)]
pub struct QueueConfig {
    /// Where the threshold comes from.
    pub threshold: ThresholdSource,
    /// Confidence function (must match the SGR run's when `threshold` is `Sgr`).
    #[config(default = "ConfidenceKind::Msp")]
    pub confidence: ConfidenceKind,
    /// Estimator.
    pub estimator: EstimatorConfig,
    /// Attribution method.
    #[config(default = "AttributionChoice::Ig")]
    pub attribution: AttributionChoice,
    /// Attributions listed per item.
    #[config(default = 10)]
    pub top_k: usize,
    /// α of the conformal sets shown (APS, not randomised).
    #[config(default = 0.1)]
    pub conformal_alpha: f64,
    /// Calibration fraction and seed of the split when the threshold is not from SGR.
    #[config(default = 0.5)]
    pub calibration_fraction: f64,
    /// Seed of that split.
    #[config(default = 0)]
    pub seed: u64,
}

/// Builds the review queue: deployment rows with κ below the threshold, most uncertain first.
/// Writes `queue.jsonl`, `queue.json` and `config.json` into `out`.
pub fn build_queue(
    run: &LoadedRun,
    cfg: &QueueConfig,
    out: &Path,
    progress: bool,
) -> Result<Queue> {
    let est = estimator(run, &cfg.estimator, progress)?;
    let samples = est.predict_samples(&run.test.features, &run.device)?;
    let labels = &run.test.labels;
    let c = samples.classes;
    // The threshold is known up front (SGR, fixed) or derived from the calibration rows' κ.
    let (cal, rows, known_threshold, source) = match &cfg.threshold {
        ThresholdSource::Sgr(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| OversightError::io(path, e))?;
            let r: SgrReport = serde_json::from_str(&text).map_err(|e| {
                OversightError::bad_line(path, e.line(), format!("not an sgr.json: {e}"))
            })?;
            if r.confidence != cfg.confidence {
                return Err(OversightError::invalid(
                    "confidence",
                    format!(
                        "{} was calibrated with {:?}, not {:?}",
                        path.display(),
                        r.confidence,
                        cfg.confidence
                    ),
                ));
            }
            if r.deployment
                .rows
                .iter()
                .chain(&r.deployment.calibration_rows)
                .any(|&i| i >= run.test.len())
            {
                return Err(OversightError::invalid(
                    "sgr",
                    format!("{} is for another run (row out of range)", path.display()),
                ));
            }
            let d = r.deployment;
            let src = format!(
                "sgr r*={} δ={} (bound {:.4})",
                r.target_risk, r.delta, d.risk_bound
            );
            (d.calibration_rows, d.rows, Some(d.threshold), src)
        }
        ThresholdSource::Fixed(t) => {
            let (cal, rows) = split_rows(run.test.len(), cfg.calibration_fraction, cfg.seed);
            (cal, rows, Some(*t), format!("fixed {t}"))
        }
        ThresholdSource::Coverage(cov) => {
            let (cal, rows) = split_rows(run.test.len(), cfg.calibration_fraction, cfg.seed);
            (
                cal,
                rows,
                None,
                format!("coverage {cov} on the calibration rows"),
            )
        }
    };
    if cal.is_empty() {
        return Err(OversightError::invalid(
            "calibration_fraction",
            "leaves no calibration rows for the conformal sets",
        ));
    }
    let (kc, kd) = confidences(
        cfg.confidence,
        &samples,
        labels,
        &cal,
        &rows,
        cfg.conformal_alpha,
    )?;
    let threshold = match (known_threshold, &cfg.threshold) {
        (Some(t), _) => t,
        (None, ThresholdSource::Coverage(cov)) => threshold_for_coverage(&kc, *cov)?,
        (None, _) => unreachable!("only a coverage target leaves the threshold open"),
    };
    let sd = samples.select_rows(&rows);
    let probs = sd.mean_probs();
    let cp = conformal_for(
        &samples.select_rows(&cal),
        &gather_rows(labels, 1, &cal),
        cfg.conformal_alpha,
    )?;
    let sets = cp.predict_sets(&probs, c, 0);
    let mut queued: Vec<usize> = (0..rows.len()).filter(|&j| kd[j] < threshold).collect();
    queued.sort_by(|&a, &b| kd[a].total_cmp(&kd[b]).then(rows[a].cmp(&rows[b])));
    // Arg-max class of each deployment row (the first on ties).
    let preds: Vec<usize> = probs
        .chunks(c)
        .map(|r| (0..c).fold(0, |best, k| if r[k] > r[best] { k } else { best }))
        .collect();
    let automatic: Vec<(usize, usize)> = (0..rows.len())
        .filter(|&j| kd[j] >= threshold)
        .map(|j| (rows[j], preds[j]))
        .collect();
    // Attributions of the queued rows toward their predicted class, in one batched call.
    let f = run.test.dim();
    let mut x = Vec::with_capacity(queued.len() * f);
    for &j in &queued {
        x.extend_from_slice(run.test.row(rows[j]));
    }
    let targets: Vec<usize> = queued.iter().map(|&j| preds[j]).collect();
    let attributions: Option<Vec<f32>> = match cfg.attribution {
        AttributionChoice::None => None,
        _ if queued.is_empty() => None,
        AttributionChoice::Saliency => Some(
            Saliency::new(SaliencyConfig::new())?
                .attribute(&run.model, &x, &targets, &run.device)?
                .values,
        ),
        AttributionChoice::Ig => {
            let mut ig = IgConfig::new();
            if !run.is_image() {
                let mean = run.test.select(&cal).feature_stats().0;
                ig = ig.with_baseline(aegis_interpretability::Baseline::Custom { values: mean });
            }
            Some(
                IntegratedGradients::new(ig)?
                    .attribute(&run.model, &x, &targets, &run.device)?
                    .values,
            )
        }
    };
    let items = queued
        .iter()
        .enumerate()
        .map(|(q, &j)| {
            let i = rows[j];
            let attr = attributions
                .as_ref()
                .map(|a| a[q * f..(q + 1) * f].to_vec())
                .unwrap_or_default();
            QueueItem {
                id: format!("row-{i}"),
                index: i,
                prediction: preds[j],
                confidence: kd[j],
                probability: probs[j * c + preds[j]],
                conformal_set: sets[j].clone(),
                top_attribution: if attr.is_empty() {
                    Vec::new()
                } else {
                    top_attributions(
                        &attr,
                        run.test.row(i),
                        cfg.top_k,
                        &run.test.sample_shape,
                        &run.test.feature_names,
                    )
                },
                attribution: attr,
                features: run.test.row(i).to_vec(),
            }
        })
        .collect();
    let queue = Queue {
        meta: QueueMeta {
            run: run.dir.root().to_path_buf(),
            model_hash: model_hash(&run.dir)?,
            confidence: cfg.confidence,
            threshold,
            threshold_source: source,
            attribution_method: match cfg.attribution {
                AttributionChoice::Ig => "integrated-gradients".into(),
                AttributionChoice::Saliency => "saliency".into(),
                AttributionChoice::None => "none".into(),
            },
            rows,
            automatic,
            sample_shape: run.test.sample_shape.clone(),
            feature_names: run.test.feature_names.clone(),
            class_names: if run.test.class_names.is_empty() {
                (0..c).map(|k| k.to_string()).collect()
            } else {
                run.test.class_names.clone()
            },
        },
        items,
    };
    queue.save(out)?;
    write_json(&out.join("config.json"), cfg)?;
    Ok(queue)
}

// ---------------------------------------------------------------- report

/// Settings of `report`.
#[derive(Config, Debug)]
pub struct ReportConfig {
    /// The simulated expert of the policy comparison.
    #[config(default = "SimulatedExpert::Uniform(0.98)")]
    pub expert: SimulatedExpert,
    /// Estimator for the policy comparison (MC dropout or an ensemble adds `variance`).
    pub estimator: EstimatorConfig,
    /// Coverage grid step of the policy curves.
    #[config(default = 0.05)]
    pub coverage_step: f64,
    /// Seed of the simulated expert's labels.
    #[config(default = 0)]
    pub seed: u64,
}

/// Team metrics from the audit log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamMetrics {
    /// Deployment rows.
    pub rows: usize,
    /// Fraction decided automatically.
    pub coverage: f64,
    /// Error rate of the automatic decisions.
    pub selective_risk: f64,
    /// Queued items.
    pub queued: usize,
    /// Accepted by the reviewer.
    pub accepted: usize,
    /// Overridden.
    pub overridden: usize,
    /// Skipped.
    pub skipped: usize,
    /// Not reviewed yet.
    pub pending: usize,
    /// Overrides / (accepts + overrides) (null when nothing was decided).
    pub override_rate: Option<f64>,
    /// Accuracy of the reviewer's final labels on decided items.
    pub reviewer_accuracy: Option<f64>,
    /// Accuracy of the model on the same decided items.
    pub model_accuracy_on_reviewed: Option<f64>,
    /// Cohen's κ between the model's predictions and the reviewer's labels on decided items.
    pub kappa_model_reviewer: Option<f64>,
    /// Accuracy of the whole system: automatic predictions, reviewer labels where decided, the
    /// model's prediction for skipped and pending items.
    pub system_accuracy: f64,
    /// Model accuracy on all deployment rows (no human).
    pub model_accuracy: f64,
    /// Records in the log for this queue that repeat an item (0 unless the log was edited).
    pub duplicate_records: usize,
}

/// One deferral policy's curve with the simulated expert.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyCurve {
    /// The confidence function (or `random`).
    pub policy: String,
    /// `(coverage, expected system accuracy)`.
    pub points: Vec<(f64, f64)>,
    /// Mean expected system accuracy over the grid (higher is better).
    pub mean_accuracy: f64,
}

/// `report.json` of `report`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OversightReport {
    /// Metrics of the recorded review.
    pub team: TeamMetrics,
    /// The simulated expert.
    pub expert: SimulatedExpert,
    /// The queue's items reviewed by the simulated expert: `(override rate, κ model–expert,
    /// system accuracy)`.
    pub simulated_review: TeamMetrics,
    /// Deferral policies compared on the deployment rows.
    pub policies: Vec<PolicyCurve>,
}

fn team_metrics(
    queue: &Queue,
    labels: &[usize],
    decisions: &HashMap<String, &AuditRecord>,
    duplicate_records: usize,
) -> Result<TeamMetrics> {
    let classes = queue.meta.class_names.len().max(1);
    let auto_ok = queue
        .meta
        .automatic
        .iter()
        .filter(|(i, p)| labels[*i] == *p)
        .count();
    let (mut acc, mut over, mut skip) = (0, 0, 0);
    let (mut model_l, mut human_l, mut truth) = (Vec::new(), Vec::new(), Vec::new());
    let mut system_ok = auto_ok;
    for item in &queue.items {
        let y = labels[item.index];
        match decisions.get(&item.id) {
            Some(r) if r.decision != Decision::Skip => {
                let l = r.label.unwrap_or(item.prediction);
                if r.decision == Decision::Accept {
                    acc += 1
                } else {
                    over += 1
                }
                model_l.push(item.prediction);
                human_l.push(l);
                truth.push(y);
                system_ok += usize::from(l == y);
            }
            Some(_) => {
                skip += 1;
                system_ok += usize::from(item.prediction == y);
            }
            None => system_ok += usize::from(item.prediction == y),
        }
    }
    let rows = queue.meta.rows.len().max(1);
    let decided = acc + over;
    let frac = |k: usize| (decided > 0).then(|| k as f64 / decided as f64);
    let model_all = queue.meta.automatic.len();
    let model_ok_all = auto_ok
        + queue
            .items
            .iter()
            .filter(|i| labels[i.index] == i.prediction)
            .count();
    Ok(TeamMetrics {
        rows: queue.meta.rows.len(),
        coverage: model_all as f64 / rows as f64,
        selective_risk: if model_all == 0 {
            0.0
        } else {
            1.0 - auto_ok as f64 / model_all as f64
        },
        queued: queue.items.len(),
        accepted: acc,
        overridden: over,
        skipped: skip,
        pending: queue.items.len() - decided - skip,
        override_rate: frac(over),
        reviewer_accuracy: frac(human_l.iter().zip(&truth).filter(|(a, b)| a == b).count()),
        model_accuracy_on_reviewed: frac(
            model_l.iter().zip(&truth).filter(|(a, b)| a == b).count(),
        ),
        kappa_model_reviewer: cohens_kappa(&model_l, &human_l, classes)?,
        system_accuracy: system_ok as f64 / rows as f64,
        model_accuracy: model_ok_all as f64 / rows as f64,
        duplicate_records,
    })
}

/// Reads the audit log of a queue and computes the team metrics, then compares deferral
/// policies with a simulated expert. Writes `report.json`, `policies.csv`, `policies.png` and
/// `config.json` into `out`.
pub fn report(
    queue_dir: &Path,
    log_path: &Path,
    spec: DeviceSpec,
    cfg: &ReportConfig,
    out: &Path,
    progress: bool,
) -> Result<OversightReport> {
    cfg.expert.validate()?;
    if !(cfg.coverage_step > 0.0 && cfg.coverage_step <= 1.0) {
        return Err(OversightError::invalid(
            "coverage_step",
            "must be in (0, 1]",
        ));
    }
    let queue = Queue::load(queue_dir)?;
    let run = LoadedRun::open(&queue.meta.run, spec)?;
    if model_hash(&run.dir)? != queue.meta.model_hash {
        return Err(OversightError::invalid(
            "queue",
            format!(
                "the weights in {} changed since the queue was built",
                queue.meta.run.display()
            ),
        ));
    }
    if queue.meta.rows.iter().any(|&i| i >= run.test.len()) {
        return Err(OversightError::invalid(
            "queue",
            "rows out of range of the run's test split",
        ));
    }
    let labels = &run.test.labels;
    let records = if log_path.exists() {
        read_audit_log(log_path)?
    } else {
        Vec::new()
    };
    let ids: std::collections::HashSet<&str> = queue.items.iter().map(|i| i.id.as_str()).collect();
    let mut decisions: HashMap<String, &AuditRecord> = HashMap::new();
    let mut duplicates = 0;
    for r in records
        .iter()
        .filter(|r| r.model_hash == queue.meta.model_hash && ids.contains(r.item_id.as_str()))
    {
        if decisions.insert(r.item_id.clone(), r).is_some() {
            duplicates += 1;
        }
    }
    let team = team_metrics(&queue, labels, &decisions, duplicates)?;

    // The simulated expert reviews the whole queue.
    let truth: Vec<usize> = queue.items.iter().map(|i| labels[i.index]).collect();
    let sim = cfg
        .expert
        .label(&truth, queue.meta.class_names.len(), cfg.seed);
    let sim_records: Vec<AuditRecord> = queue
        .items
        .iter()
        .zip(&sim)
        .map(|(item, &l)| AuditRecord {
            item_id: item.id.clone(),
            model_hash: queue.meta.model_hash.clone(),
            prediction: item.prediction,
            decision: if l == item.prediction {
                Decision::Accept
            } else {
                Decision::Override
            },
            label: Some(l),
            reviewer: "simulated".into(),
            timestamp: String::new(),
        })
        .collect();
    let sim_map: HashMap<String, &AuditRecord> =
        sim_records.iter().map(|r| (r.item_id.clone(), r)).collect();
    let simulated_review = team_metrics(&queue, labels, &sim_map, 0)?;

    // Deferral policies on the deployment rows, thresholds from the rows' own κ at each
    // coverage (an oracle choice of threshold, the same for every policy).
    let est = estimator(&run, &cfg.estimator, progress)?;
    let samples = est.predict_samples(&run.test.features, &run.device)?;
    let rows = &queue.meta.rows;
    let cal: Vec<usize> = {
        let set: std::collections::HashSet<usize> = rows.iter().cloned().collect();
        (0..run.test.len()).filter(|i| !set.contains(i)).collect()
    };
    let y = gather_rows(labels, 1, rows);
    let (_, ok) =
        confidence_and_correct(&samples.select_rows(rows).mean_probs(), &y, samples.classes)?;
    let grid: Vec<f64> = {
        let steps = (1.0 / cfg.coverage_step).round() as usize;
        (0..=steps)
            .map(|k| (k as f64 * cfg.coverage_step).min(1.0))
            .collect()
    };
    let mut policies = Vec::new();
    for kind in ConfidenceKind::ALL {
        if kind == ConfidenceKind::Variance && samples.samples < 2 {
            continue;
        }
        if kind == ConfidenceKind::SetSize && cal.is_empty() {
            continue;
        }
        let (_, kd) = confidences(kind, &samples, labels, &cal, rows, 0.1)?;
        let mut points = Vec::new();
        for &cov in &grid {
            let t = threshold_for_coverage(&kd, cov)?;
            let m = selective_metrics(&kd, &ok, t)?;
            points.push((
                m.coverage,
                expected_system_accuracy(&kd, &ok, &y, t, &cfg.expert),
            ));
        }
        policies.push(curve(kind.key(), points));
    }
    // Random deferral: exact expectation at coverage c.
    let model_acc = ok.iter().filter(|v| **v).count() as f64 / ok.len().max(1) as f64;
    let expert_acc =
        y.iter().map(|&t| cfg.expert.accuracy_on(t)).sum::<f64>() / y.len().max(1) as f64;
    policies.push(curve(
        "random",
        grid.iter()
            .map(|&c| (c, c * model_acc + (1.0 - c) * expert_acc))
            .collect(),
    ));

    let report = OversightReport {
        team,
        expert: cfg.expert.clone(),
        simulated_review,
        policies,
    };
    std::fs::create_dir_all(out).map_err(|e| OversightError::io(out, e))?;
    write_json(&out.join("report.json"), &report)?;
    write_json(&out.join("config.json"), cfg)?;
    let mut csv = String::from("policy,coverage,expected_system_accuracy\n");
    for p in &report.policies {
        for (c, a) in &p.points {
            csv.push_str(&format!("{},{c:.4},{a:.6}\n", p.policy));
        }
    }
    aegis_model::io::write_atomic(&out.join("policies.csv"), csv.as_bytes())?;
    let series: Vec<Series> = report
        .policies
        .iter()
        .map(|p| Series {
            name: p.policy.clone(),
            points: p.points.clone(),
        })
        .collect();
    line_chart(
        &out.join("policies.png"),
        "Human–AI team accuracy by deferral policy (simulated expert)",
        "coverage (fraction decided by the model)",
        "expected system accuracy",
        &series,
        None,
    )?;
    Ok(report)
}

fn curve(name: &str, points: Vec<(f64, f64)>) -> PolicyCurve {
    let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len().max(1) as f64;
    PolicyCurve {
        policy: name.to_string(),
        points,
        mean_accuracy: mean,
    }
}

/// Default output directory: `<run>/oversight/<command>`.
pub fn default_out(run: &Path, command: &str) -> PathBuf {
    run.join("oversight").join(command)
}

/// Summary counts of a policy list keyed by name (for printing).
pub fn policy_means(policies: &[PolicyCurve]) -> BTreeMap<String, f64> {
    policies
        .iter()
        .map(|p| (p.policy.clone(), p.mean_accuracy))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditLog;
    use crate::review::{ScriptedDecisions, review};
    use aegis_model::{DataSource, TrainRequest, train_run};

    fn blobs_run(dir: &Path) -> LoadedRun {
        let mut req = TrainRequest::new(DataSource::Blobs);
        req.train = req.train.clone().with_epochs(15);
        req.hidden = Some(vec![16]);
        req.out = Some(dir.to_path_buf());
        train_run(&req).unwrap();
        LoadedRun::open(dir, DeviceSpec::Flex).unwrap()
    }

    #[test]
    fn sgr_queue_review_report_end_to_end() {
        let tmp = tempfile::tempdir().unwrap();
        let run = blobs_run(&tmp.path().join("run"));
        let n = run.test.len();

        let cfg = SgrConfig::new(EstimatorConfig::new())
            .with_target_risk(0.2)
            .with_delta(0.05)
            .with_splits(4);
        let sgr_dir = tmp.path().join("sgr");
        let r = calibrate_threshold(&run, &cfg, &sgr_dir, false).unwrap();
        assert_eq!(r.splits.len(), 4);
        assert_eq!(r.n_calibration + r.n_test, n);
        assert!(
            r.splits
                .iter()
                .all(|s| !s.sgr.feasible || s.sgr.risk_bound < 0.2)
        );
        assert_eq!(r.deployment.rows.len(), r.n_test);

        let qcfg = QueueConfig::new(ThresholdSource::Coverage(0.6), EstimatorConfig::new());
        let qdir = tmp.path().join("q");
        let q = build_queue(&run, &qcfg, &qdir, false).unwrap();
        assert_eq!(q.items.len() + q.meta.automatic.len(), q.meta.rows.len());
        assert!(
            q.items
                .windows(2)
                .all(|w| w[0].confidence <= w[1].confidence),
            "most uncertain first"
        );
        assert!(
            q.items
                .iter()
                .all(|i| i.confidence < q.meta.threshold && i.top_attribution.len() == 2)
        );
        assert!(
            q.items.iter().all(|i| !i.conformal_set.is_empty()),
            "APS sets are never empty"
        );
        let ids = |q: &Queue| q.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&Queue::load(&qdir).unwrap()), ids(&q));
        // A queue from the SGR deployment uses its rows and threshold.
        let qs = build_queue(
            &run,
            &QueueConfig::new(
                ThresholdSource::Sgr(sgr_dir.join("sgr.json")),
                EstimatorConfig::new(),
            ),
            &tmp.path().join("qs"),
            false,
        )
        .unwrap();
        assert_eq!(qs.meta.rows, r.deployment.rows);

        // The reviewer accepts the first half of the queue and relabels the rest with the truth.
        let lines: Vec<String> = q
            .items
            .iter()
            .enumerate()
            .map(|(k, i)| {
                let answer = if k < q.items.len() / 2 {
                    "accept".to_string()
                } else {
                    run.test.labels[i.index].to_string()
                };
                format!("{} {answer}", i.id)
            })
            .collect();
        let script = tmp.path().join("decisions.txt");
        std::fs::write(&script, lines.join("\n")).unwrap();
        let log_path = qdir.join("audit.jsonl");
        let mut log = AuditLog::open(&log_path).unwrap();
        review(
            &q,
            &mut log,
            "tester",
            &mut ScriptedDecisions::read(&script).unwrap(),
            std::time::Duration::ZERO,
        )
        .unwrap();
        drop(log);

        let rep = report(
            &qdir,
            &log_path,
            DeviceSpec::Flex,
            &ReportConfig::new(EstimatorConfig::new()),
            &tmp.path().join("rep"),
            false,
        )
        .unwrap();
        let t = &rep.team;
        assert_eq!(
            t.pending + t.accepted + t.overridden + t.skipped,
            q.items.len()
        );
        // System accuracy by hand: automatic rows right, accepted rows right when the model
        // was, relabelled rows always right.
        let y = &run.test.labels;
        let auto_ok = q.meta.automatic.iter().filter(|(i, p)| y[*i] == *p).count();
        let half = q.items.len() / 2;
        let acc_ok = q.items[..half]
            .iter()
            .filter(|i| y[i.index] == i.prediction)
            .count();
        let expect = (auto_ok + acc_ok + (q.items.len() - half)) as f64 / q.meta.rows.len() as f64;
        assert!(
            (t.system_accuracy - expect).abs() < 1e-12,
            "{} vs {expect}",
            t.system_accuracy
        );
        assert!(t.system_accuracy >= t.model_accuracy);
        assert_eq!(t.duplicate_records, 0);
        let random = rep.policies.iter().find(|p| p.policy == "random").unwrap();
        let msp = rep.policies.iter().find(|p| p.policy == "msp").unwrap();
        assert!(
            msp.mean_accuracy >= random.mean_accuracy,
            "deferring the least confident beats random"
        );
        for f in ["report.json", "policies.csv", "policies.png"] {
            assert!(tmp.path().join("rep").join(f).exists(), "{f}");
        }
    }

    #[test]
    fn bad_input_is_reported_with_its_file() {
        let tmp = tempfile::tempdir().unwrap();
        let run = blobs_run(&tmp.path().join("run"));
        let bad = tmp.path().join("sgr.json");
        std::fs::write(&bad, "{\"target_risk\": 0.1").unwrap();
        let e = build_queue(
            &run,
            &QueueConfig::new(ThresholdSource::Sgr(bad.clone()), EstimatorConfig::new()),
            &tmp.path().join("q"),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("sgr.json"), "{e}");
        let e = calibrate_threshold(
            &run,
            &SgrConfig::new(EstimatorConfig::new()).with_splits(0),
            tmp.path(),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("splits"), "{e}");
        assert!(
            Queue::load(&tmp.path().join("nowhere"))
                .unwrap_err()
                .to_string()
                .contains("nowhere")
        );
    }
}
