//! `queue`: the review queue of a run's deployment rows whose confidence κ is below the
//! threshold, most uncertain first, each item with its prediction, conformal set and top
//! attributions → `queue.jsonl`, `queue.json`.

use std::path::{Path, PathBuf};

use aegis_interpretability::{
    Attribution, Baseline, IgConfig, IntegratedGradients, Saliency, SaliencyConfig,
};
use aegis_model::io::write_json;
use aegis_model::{DeviceSpec, LoadedRun};
use aegis_uncertainty::{
    EstimatorArgs, EstimatorConfig, PredictiveSamples, estimator, gather_rows,
};
use burn::config::Config;
use serde::{Deserialize, Serialize};

use super::sgr_report::SgrReport;
use super::shared::{confidences, conformal_for, default_out, model_hash, split_rows};
use crate::confidence::ConfidenceKind;
use crate::error::{OversightError, Result};
use crate::metrics::threshold_for_coverage;
use crate::queue::{Queue, QueueItem, QueueMeta, top_attributions};

/// The coverage `queue` reaches when no threshold source is given: 90% of the calibration
/// rows are decided automatically, the least confident 10% go to review.
pub const DEFAULT_COVERAGE: f64 = 0.9;

/// Flags of `queue`.
#[derive(clap::Args, Debug)]
pub struct QueueArgs {
    /// Run directory.
    #[arg(long)]
    pub run: PathBuf,
    /// Use the deployment threshold of this sgr.json.
    #[arg(long, conflicts_with_all = ["threshold", "coverage"])]
    pub sgr: Option<PathBuf>,
    /// A fixed threshold on the confidence.
    #[arg(long, conflicts_with = "coverage")]
    pub threshold: Option<f64>,
    /// The threshold reaching this coverage on the calibration rows [default: 0.9].
    #[arg(long)]
    pub coverage: Option<f64>,
    /// Confidence function.
    #[arg(long, value_enum, default_value = "msp")]
    pub confidence: ConfidenceKind,
    /// Attribution shown with each item.
    #[arg(long, value_enum, default_value = "ig")]
    pub attribution: AttributionChoice,
    /// Estimator (the flags of [`EstimatorArgs`]).
    #[command(flatten)]
    pub estimator: EstimatorArgs,
    /// Output directory [default: RUN/oversight/queue].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl QueueArgs {
    /// Opens the run, runs [`build_queue`] and prints how many rows were queued.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let Self {
            run,
            sgr,
            threshold,
            coverage,
            confidence,
            attribution,
            estimator,
            out,
        } = self;
        let loaded = LoadedRun::open(&run, device)?;
        let out = out.unwrap_or_else(|| default_out(&run, "queue"));
        let source = match (sgr, threshold, coverage) {
            (Some(p), _, _) => ThresholdSource::Sgr(p),
            (None, Some(t), _) => ThresholdSource::Fixed(t),
            (None, None, c) => ThresholdSource::Coverage(c.unwrap_or(DEFAULT_COVERAGE)),
        };
        let cfg = QueueConfig::new(source, estimator.config())
            .with_confidence(confidence)
            .with_attribution(attribution);
        let q = build_queue(&loaded, &cfg, &out, true)?;
        println!(
            "{} of {} rows queued for review (threshold {:.6}, {}); {} decided automatically",
            q.items.len(),
            q.meta.rows.len(),
            q.meta.threshold,
            q.meta.threshold_source,
            q.meta.automatic.len()
        );
        println!("wrote {}", Queue::items_path(&out).display());
        Ok(())
    }
}

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
    let split = queue_rows(run, cfg)?;
    let (kc, kd) = confidences(
        cfg.confidence,
        &samples,
        labels,
        &split.cal,
        &split.rows,
        cfg.conformal_alpha,
    )?;
    let threshold = resolve_threshold(split.known_threshold, &cfg.threshold, &kc)?;
    let (probs, sets) = conformal_sets(&samples, labels, &split, cfg.conformal_alpha)?;
    let scored = Scored {
        preds: predictions(&probs, c),
        kd,
        probs,
        sets,
        classes: c,
    };
    let (queued, automatic) = select_for_review(&scored, &split.rows, threshold);
    let attributions = attribute_queued(run, cfg, &split, &queued, &scored.preds)?;
    let items = queue_items(run, cfg, &split.rows, &queued, &scored, attributions);
    let queue = Queue {
        meta: queue_meta(run, cfg, split, threshold, automatic, c)?,
        items,
    };
    write_queue(&queue, cfg, out)?;
    Ok(queue)
}

/// The rows a queue is built on and, when it is known before κ is computed, its threshold.
struct QueueRows {
    /// Calibration rows: the conformal sets, and the threshold of a coverage target.
    cal: Vec<usize>,
    /// Deployment rows: automatic or queued.
    rows: Vec<usize>,
    /// The threshold of an SGR deployment or a fixed one; `None` for a coverage target.
    known_threshold: Option<f64>,
    /// Where the threshold comes from, in words (`QueueMeta::threshold_source`).
    source: String,
}

/// The rows and threshold of `cfg.threshold`: an SGR deployment's, or a seeded split of the
/// run's test rows (`calibration_fraction`, `seed`) with a fixed threshold or a coverage
/// target. There must be calibration rows for the conformal sets.
fn queue_rows(run: &LoadedRun, cfg: &QueueConfig) -> Result<QueueRows> {
    // The threshold is known up front (SGR, fixed) or derived from the calibration rows' κ.
    let split = match &cfg.threshold {
        ThresholdSource::Sgr(path) => sgr_deployment(run, cfg, path)?,
        ThresholdSource::Fixed(t) if !t.is_finite() => {
            return Err(OversightError::invalid(
                "threshold",
                format!("{t} must be a finite confidence value"),
            ));
        }
        ThresholdSource::Fixed(t) => {
            let (cal, rows) = split_rows(run.test.len(), cfg.calibration_fraction, cfg.seed);
            QueueRows {
                cal,
                rows,
                known_threshold: Some(*t),
                source: format!("fixed {t}"),
            }
        }
        ThresholdSource::Coverage(cov) => {
            let (cal, rows) = split_rows(run.test.len(), cfg.calibration_fraction, cfg.seed);
            QueueRows {
                cal,
                rows,
                known_threshold: None,
                source: format!("coverage {cov} on the calibration rows"),
            }
        }
    };
    if split.cal.is_empty() {
        return Err(OversightError::invalid(
            "calibration_fraction",
            "leaves no calibration rows for the conformal sets",
        ));
    }
    Ok(split)
}

/// The deployment of the `sgr.json` at `path`: its rows and threshold, checked against the
/// queue's confidence function and the run's test split.
fn sgr_deployment(run: &LoadedRun, cfg: &QueueConfig, path: &Path) -> Result<QueueRows> {
    let text = std::fs::read_to_string(path).map_err(|e| OversightError::io(path, e))?;
    let r: SgrReport = serde_json::from_str(&text)
        .map_err(|e| OversightError::bad_line(path, e.line(), format!("not an sgr.json: {e}")))?;
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
    let source = format!(
        "sgr r*={} δ={} (bound {:.4})",
        r.target_risk, r.delta, d.risk_bound
    );
    Ok(QueueRows {
        cal: d.calibration_rows,
        rows: d.rows,
        known_threshold: Some(d.threshold),
        source,
    })
}

/// The threshold on κ: the known one, or the one reaching the coverage target on the
/// calibration rows' κ `kc`.
fn resolve_threshold(known: Option<f64>, source: &ThresholdSource, kc: &[f64]) -> Result<f64> {
    Ok(match (known, source) {
        (Some(t), _) => t,
        (None, ThresholdSource::Coverage(cov)) => threshold_for_coverage(kc, *cov)?,
        (None, _) => unreachable!("only a coverage target leaves the threshold open"),
    })
}

/// Mean probabilities `[rows, C]` of the deployment rows and their APS conformal sets,
/// calibrated on the calibration rows.
fn conformal_sets(
    samples: &PredictiveSamples,
    labels: &[usize],
    split: &QueueRows,
    alpha: f64,
) -> Result<(Vec<f64>, Vec<Vec<usize>>)> {
    let sd = samples.select_rows(&split.rows);
    let probs = sd.mean_probs();
    let cp = conformal_for(
        &samples.select_rows(&split.cal),
        &gather_rows(labels, 1, &split.cal),
        alpha,
    )?;
    let sets = cp.predict_sets(&probs, samples.classes, 0);
    Ok((probs, sets))
}

/// Arg-max class of each row of `probs` `[rows, c]` (the first on ties).
fn predictions(probs: &[f64], c: usize) -> Vec<usize> {
    probs
        .chunks(c)
        .map(|r| (0..c).fold(0, |best, k| if r[k] > r[best] { k } else { best }))
        .collect()
}

/// What the queue knows of each deployment row (indexed by position in the deployment rows).
struct Scored {
    /// Confidence κ.
    kd: Vec<f64>,
    /// Mean probabilities `[rows, classes]`.
    probs: Vec<f64>,
    /// APS conformal sets.
    sets: Vec<Vec<usize>>,
    /// Predicted (arg-max) class.
    preds: Vec<usize>,
    /// Classes.
    classes: usize,
}

/// Positions of the deployment rows with κ below `threshold`, most uncertain first (ties by
/// row index), and the `(row, prediction)` pairs decided automatically.
fn select_for_review(
    scored: &Scored,
    rows: &[usize],
    threshold: f64,
) -> (Vec<usize>, Vec<(usize, usize)>) {
    let kd = &scored.kd;
    let mut queued: Vec<usize> = (0..rows.len()).filter(|&j| kd[j] < threshold).collect();
    queued.sort_by(|&a, &b| kd[a].total_cmp(&kd[b]).then(rows[a].cmp(&rows[b])));
    let automatic: Vec<(usize, usize)> = (0..rows.len())
        .filter(|&j| kd[j] >= threshold)
        .map(|j| (rows[j], scored.preds[j]))
        .collect();
    (queued, automatic)
}

/// Attributions `[queued, F]` of the queued rows toward their predicted class, in one batched
/// call; `None` without an attribution method or without queued rows.
fn attribute_queued(
    run: &LoadedRun,
    cfg: &QueueConfig,
    split: &QueueRows,
    queued: &[usize],
    preds: &[usize],
) -> Result<Option<Vec<f32>>> {
    let f = run.test.dim();
    let mut x = Vec::with_capacity(queued.len() * f);
    for &j in queued {
        x.extend_from_slice(run.test.row(split.rows[j]));
    }
    let targets: Vec<usize> = queued.iter().map(|&j| preds[j]).collect();
    Ok(match cfg.attribution {
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
                let mean = run.test.select(&split.cal).feature_stats().0;
                ig = ig.with_baseline(Baseline::Custom { values: mean });
            }
            Some(
                IntegratedGradients::new(ig)?
                    .attribute(&run.model, &x, &targets, &run.device)?
                    .values,
            )
        }
    })
}

/// One [`QueueItem`] per queued position, in queue order, with its attribution and the
/// `top_k` largest.
fn queue_items(
    run: &LoadedRun,
    cfg: &QueueConfig,
    rows: &[usize],
    queued: &[usize],
    scored: &Scored,
    attributions: Option<Vec<f32>>,
) -> Vec<QueueItem> {
    let (f, c) = (run.test.dim(), scored.classes);
    let Scored {
        kd,
        probs,
        sets,
        preds,
        ..
    } = scored;
    queued
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
                probabilities: probs[j * c..(j + 1) * c].to_vec(),
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
        .collect()
}

/// `queue.json`: the run and its model hash, the threshold and where it came from, the
/// deployment rows and the automatic decisions, and how to show items.
fn queue_meta(
    run: &LoadedRun,
    cfg: &QueueConfig,
    split: QueueRows,
    threshold: f64,
    automatic: Vec<(usize, usize)>,
    c: usize,
) -> Result<QueueMeta> {
    Ok(QueueMeta {
        run: run.dir.root().to_path_buf(),
        model_hash: model_hash(&run.dir)?,
        confidence: cfg.confidence,
        threshold,
        threshold_source: split.source,
        attribution_method: match cfg.attribution {
            AttributionChoice::Ig => "integrated-gradients".into(),
            AttributionChoice::Saliency => "saliency".into(),
            AttributionChoice::None => "none".into(),
        },
        rows: split.rows,
        automatic,
        sample_shape: run.test.sample_shape.clone(),
        feature_names: run.test.feature_names.clone(),
        class_names: if run.test.class_names.is_empty() {
            (0..c).map(|k| k.to_string()).collect()
        } else {
            run.test.class_names.clone()
        },
    })
}

/// Writes `queue.jsonl` and `queue.json` ([`Queue::save`]) and the settings (`config.json`).
fn write_queue(queue: &Queue, cfg: &QueueConfig, out: &Path) -> Result<()> {
    queue.save(out)?;
    write_json(&out.join("config.json"), cfg)?;
    Ok(())
}
