//! `report`: team metrics of a reviewed queue from its audit log, and deferral policies (one
//! per confidence function, and random) compared with a simulated expert → `report.json`,
//! `policies.csv`, `policies.png`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use aegis_model::io::write_json;
use aegis_model::plot::{Series, line_chart};
use aegis_model::{DeviceSpec, LoadedRun};
use aegis_uncertainty::metrics::confidence_and_correct;
use aegis_uncertainty::{EstimatorArgs, EstimatorConfig, estimator, gather_rows};
use burn::config::Config;
use serde::{Deserialize, Serialize};

use super::shared::{confidences, model_hash};
use crate::audit::{AuditRecord, Decision, read_audit_log};
use crate::confidence::ConfidenceKind;
use crate::error::{OversightError, Result};
use crate::ledger::Ledger;
use crate::metrics::{
    SimulatedExpert, expected_system_accuracy, selective_metrics, threshold_for_coverage,
};
use crate::queue::Queue;
pub use crate::team::TeamMetrics;
use crate::team::team_metrics;

/// Flags of `report`.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Queue directory.
    pub queue: PathBuf,
    /// Audit log [default: QUEUE/audit.jsonl].
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Simulated expert accuracy: one probability, or one per class (comma-separated).
    #[arg(long, default_value = "0.98")]
    pub expert_accuracy: String,
    /// Estimator (the flags of [`EstimatorArgs`]).
    #[command(flatten)]
    pub estimator: EstimatorArgs,
    /// Output directory [default: QUEUE/report].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl ReportArgs {
    /// Runs [`report`] and prints the team metrics, the simulated review and each policy's
    /// mean expected system accuracy.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let Self {
            queue,
            log,
            expert_accuracy,
            estimator,
            out,
        } = self;
        let expert = parse_expert(&expert_accuracy)?;
        let log_path = log.unwrap_or_else(|| queue.join("audit.jsonl"));
        let out = out.unwrap_or_else(|| queue.join("report"));
        let cfg = ReportConfig::new(estimator.config()).with_expert(expert);
        let r = report(&queue, &log_path, device, &cfg, &out, true)?;
        let t = &r.team;
        let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
        println!(
            "coverage {:.4}, selective risk {:.4}; queued {}: {} accepted, {} overridden, {} skipped, {} pending",
            t.coverage, t.selective_risk, t.queued, t.accepted, t.overridden, t.skipped, t.pending
        );
        println!(
            "system accuracy {:.4} (model alone {:.4}); override rate {}, reviewer accuracy {}, κ(model, reviewer) {}",
            t.system_accuracy,
            t.model_accuracy,
            opt(t.override_rate),
            opt(t.reviewer_accuracy),
            opt(t.kappa_model_reviewer)
        );
        for p in &t.reviewers.pairs {
            println!(
                "  reviewers {} and {}: {} items labelled by both, agreement {}, Cohen's κ {}",
                p.first,
                p.second,
                p.items,
                opt(p.agreement),
                opt(p.kappa)
            );
        }
        println!(
            "simulated expert on the queue: system accuracy {:.4}, override rate {}",
            r.simulated_review.system_accuracy,
            opt(r.simulated_review.override_rate)
        );
        for (p, m) in policy_means(&r.policies) {
            println!("  policy {p:10} mean expected system accuracy {m:.4}");
        }
        println!("wrote {}", out.join("report.json").display());
        Ok(())
    }
}

/// `--expert-accuracy`: one probability (a uniform expert) or one per class.
fn parse_expert(expert_accuracy: &str) -> Result<SimulatedExpert> {
    let probs: Vec<f64> = expert_accuracy
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| OversightError::BadFlag {
            flag: "expert-accuracy".into(),
            value: expert_accuracy.into(),
            reason: e.to_string(),
        })?;
    Ok(match probs.as_slice() {
        [] => {
            return Err(OversightError::EmptyFlag {
                flag: "expert-accuracy".into(),
            });
        }
        [p] => SimulatedExpert::Uniform(*p),
        v => SimulatedExpert::PerClass(v.to_vec()),
    })
}

/// Settings of `report`.
#[derive(Config, Debug)]
pub struct ReportConfig {
    /// The simulated expert of the policy comparison.
    #[config(default = "SimulatedExpert::Uniform(0.98)")]
    pub expert: SimulatedExpert,
    /// Estimator for the policy comparison (MC dropout or an ensemble adds `variance`).
    pub estimator: EstimatorConfig,
    /// Coverage grid step of the policy curves, in [1e-4, 0.5].
    #[config(default = 0.05)]
    pub coverage_step: f64,
    /// Seed of the simulated expert's labels.
    #[config(default = 0)]
    pub seed: u64,
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
    // At most 10,000 grid points: the library config, not only the CLI, is bounded.
    if !(1e-4..=0.5).contains(&cfg.coverage_step) {
        return Err(OversightError::invalid(
            "coverage_step",
            format!("{} must be in [1e-4, 0.5]", cfg.coverage_step),
        ));
    }
    let queue = Queue::load(queue_dir)?;
    let run = open_queue_run(&queue, spec)?;
    let labels = &run.test.labels;
    let team = recorded_review(&queue, labels, log_path)?;
    let simulated_review = simulated_review(&queue, labels, cfg)?;
    let policies = deferral_policies(&run, &queue, cfg, progress)?;
    let report = OversightReport {
        team,
        expert: cfg.expert.clone(),
        simulated_review,
        policies,
    };
    write_report(&report, cfg, out)?;
    Ok(report)
}

/// Opens the queue's run, checked to be the model the queue was built with (same weights, the
/// queue's rows inside its test split).
fn open_queue_run(queue: &Queue, spec: DeviceSpec) -> Result<LoadedRun> {
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
    Ok(run)
}

/// Team metrics of the review recorded in the audit log at `log_path` (none when it does not
/// exist): the standing decisions on this queue's items and model ([`Ledger`]).
fn recorded_review(queue: &Queue, labels: &[usize], log_path: &Path) -> Result<TeamMetrics> {
    let records = if log_path.exists() {
        read_audit_log(log_path)?
    } else {
        Vec::new()
    };
    let ledger = Ledger::build(&records, &queue.meta.model_hash, log_path)?;
    team_metrics(queue, labels, &ledger)
}

/// Team metrics when the simulated expert reviews the whole queue.
fn simulated_review(queue: &Queue, labels: &[usize], cfg: &ReportConfig) -> Result<TeamMetrics> {
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
    let ledger = Ledger::build(
        &sim_records,
        &queue.meta.model_hash,
        Path::new("<simulated>"),
    )?;
    team_metrics(queue, labels, &ledger)
}

/// Deferral policies on the deployment rows, thresholds from the rows' own κ at each
/// coverage (an oracle choice of threshold, the same for every policy): one curve per
/// confidence function the estimator supports, then random deferral.
fn deferral_policies(
    run: &LoadedRun,
    queue: &Queue,
    cfg: &ReportConfig,
    progress: bool,
) -> Result<Vec<PolicyCurve>> {
    let labels = &run.test.labels;
    let est = estimator(run, &cfg.estimator, progress)?;
    let samples = est.predict_samples(&run.test.features, &run.device)?;
    let rows = &queue.meta.rows;
    let cal: Vec<usize> = {
        let set: HashSet<usize> = rows.iter().cloned().collect();
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
    policies.push(random_deferral(&ok, &y, &grid, &cfg.expert));
    Ok(policies)
}

/// Random deferral: exact expectation at coverage c.
fn random_deferral(
    ok: &[bool],
    y: &[usize],
    grid: &[f64],
    expert: &SimulatedExpert,
) -> PolicyCurve {
    let model_acc = ok.iter().filter(|v| **v).count() as f64 / ok.len().max(1) as f64;
    let expert_acc = y.iter().map(|&t| expert.accuracy_on(t)).sum::<f64>() / y.len().max(1) as f64;
    curve(
        "random",
        grid.iter()
            .map(|&c| (c, c * model_acc + (1.0 - c) * expert_acc))
            .collect(),
    )
}

/// Writes `report.json`, the settings (`config.json`), and the policy curves as
/// `policies.csv` and `policies.png`.
fn write_report(report: &OversightReport, cfg: &ReportConfig, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| OversightError::io(out, e))?;
    write_json(&out.join("report.json"), report)?;
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
    Ok(())
}

fn curve(name: &str, points: Vec<(f64, f64)>) -> PolicyCurve {
    let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len().max(1) as f64;
    PolicyCurve {
        policy: name.to_string(),
        points,
        mean_accuracy: mean,
    }
}

/// Summary counts of a policy list keyed by name (for printing).
pub fn policy_means(policies: &[PolicyCurve]) -> BTreeMap<String, f64> {
    policies
        .iter()
        .map(|p| (p.policy.clone(), p.mean_accuracy))
        .collect()
}
