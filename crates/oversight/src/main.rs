//! `aegis-oversight`: selective prediction with a risk guarantee, a human review queue and an
//! append-only audit log.
//!
//! Argument parsing and printing only; the work is in the library. Errors are one line on
//! stderr and exit code 2.

use std::io::{BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use aegis_model::DeviceArgs;
use aegis_model::LoadedRun;
use aegis_oversight::job::{
    self, AttributionChoice, QueueConfig, ReportConfig, SgrConfig, ThresholdSource,
};
use aegis_oversight::{
    AuditLog, ConfidenceKind, Queue, ScriptedDecisions, SimulatedExpert, TerminalReviewer, review,
};
use aegis_uncertainty::EstimatorArgs;
use anyhow::{Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aegis-oversight",
    version,
    about = "Selective prediction with guaranteed risk, human review queue and audit log"
)]
struct Cli {
    #[command(flatten)]
    device: DeviceArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)]
enum Command {
    /// SGR over random calibration/held-out splits of the run's test rows → sgr.json
    /// (violation_rate, mean_coverage, the threshold to deploy).
    CalibrateThreshold {
        /// Run directory.
        #[arg(long)]
        run: PathBuf,
        /// Target selective risk r*.
        #[arg(long, default_value_t = 0.02)]
        target_risk: f64,
        /// Confidence δ of the guarantee.
        #[arg(long, default_value_t = 0.001)]
        delta: f64,
        /// Random splits.
        #[arg(long, default_value_t = 20)]
        splits: usize,
        /// Calibration fraction of each split.
        #[arg(long, default_value_t = 0.8)]
        calibration_fraction: f64,
        /// Confidence function.
        #[arg(long, value_enum, default_value = "msp")]
        confidence: ConfidenceKind,
        /// Estimator; its `--seed` also seeds the splits.
        #[command(flatten)]
        estimator: EstimatorArgs,
        /// Output directory [default: RUN/oversight/calibrate-threshold].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Build the review queue of the rows below the threshold → queue.jsonl, queue.json.
    Queue {
        /// Run directory.
        #[arg(long)]
        run: PathBuf,
        /// Use the deployment threshold of this sgr.json.
        #[arg(long, conflicts_with_all = ["threshold", "coverage"])]
        sgr: Option<PathBuf>,
        /// A fixed threshold on the confidence.
        #[arg(long, conflicts_with = "coverage")]
        threshold: Option<f64>,
        /// The threshold reaching this coverage on the calibration rows [default: 0.9].
        #[arg(long)]
        coverage: Option<f64>,
        /// Confidence function.
        #[arg(long, value_enum, default_value = "msp")]
        confidence: ConfidenceKind,
        /// Attribution shown with each item.
        #[arg(long, value_enum, default_value = "ig")]
        attribution: AttributionChoice,
        #[command(flatten)]
        estimator: EstimatorArgs,
        /// Output directory [default: RUN/oversight/queue].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Review a queue: each decision is appended to the audit log and synced before the next
    /// item; a stopped review resumes where it stopped.
    Review {
        /// Queue directory (from `queue`).
        queue: PathBuf,
        /// Reviewer name recorded with each decision.
        #[arg(long)]
        reviewer: String,
        /// Audit log [default: QUEUE/audit.jsonl].
        #[arg(long)]
        log: Option<PathBuf>,
        /// Take decisions from this file (`ITEM_ID accept|skip|LABEL` per line) instead of the
        /// terminal.
        #[arg(long)]
        decisions: Option<PathBuf>,
        /// Wait this many milliseconds after each recorded decision.
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
    },
    /// Team metrics from the audit log and deferral policies compared with a simulated
    /// expert → report.json, policies.csv, policies.png.
    Report {
        /// Queue directory.
        queue: PathBuf,
        /// Audit log [default: QUEUE/audit.jsonl].
        #[arg(long)]
        log: Option<PathBuf>,
        /// Simulated expert accuracy: one probability, or one per class (comma-separated).
        #[arg(long, default_value = "0.98")]
        expert_accuracy: String,
        #[command(flatten)]
        estimator: EstimatorArgs,
        /// Output directory [default: QUEUE/report].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    aegis_model::cli::run_cli(run)
}

fn run(cli: Cli) -> Result<()> {
    let spec = cli.device.device;
    match cli.command {
        Command::CalibrateThreshold {
            run,
            target_risk,
            delta,
            splits,
            calibration_fraction,
            confidence,
            estimator,
            out,
        } => {
            let loaded = LoadedRun::open(&run, spec)?;
            let out = out.unwrap_or_else(|| job::default_out(&run, "calibrate-threshold"));
            let cfg = SgrConfig::new(estimator.config())
                .with_target_risk(target_risk)
                .with_delta(delta)
                .with_splits(splits)
                .with_calibration_fraction(calibration_fraction)
                .with_confidence(confidence)
                .with_seed(estimator.seed);
            let r = job::calibrate_threshold(&loaded, &cfg, &out, true)?;
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
            println!(
                "deploy: threshold {:.6} (risk bound {:.4}); wrote {}",
                r.deployment.threshold,
                r.deployment.risk_bound,
                out.join("sgr.json").display()
            );
        }
        Command::Queue {
            run,
            sgr,
            threshold,
            coverage,
            confidence,
            attribution,
            estimator,
            out,
        } => {
            let loaded = LoadedRun::open(&run, spec)?;
            let out = out.unwrap_or_else(|| job::default_out(&run, "queue"));
            let source = match (sgr, threshold, coverage) {
                (Some(p), _, _) => ThresholdSource::Sgr(p),
                (None, Some(t), _) => ThresholdSource::Fixed(t),
                (None, None, c) => ThresholdSource::Coverage(c.unwrap_or(0.9)),
            };
            let cfg = QueueConfig::new(source, estimator.config())
                .with_confidence(confidence)
                .with_attribution(attribution);
            let q = job::build_queue(&loaded, &cfg, &out, true)?;
            println!(
                "{} of {} rows queued for review (threshold {:.6}, {}); {} decided automatically",
                q.items.len(),
                q.meta.rows.len(),
                q.meta.threshold,
                q.meta.threshold_source,
                q.meta.automatic.len()
            );
            println!("wrote {}", Queue::items_path(&out).display());
        }
        Command::Review {
            queue,
            reviewer,
            log,
            decisions,
            pause_ms,
        } => {
            let q = Queue::load(&queue)?;
            let log_path = log.unwrap_or_else(|| queue.join("audit.jsonl"));
            let mut log = AuditLog::open(&log_path)?;
            let pause = Duration::from_millis(pause_ms);
            let outcome = match decisions {
                Some(path) => {
                    let mut src = ScriptedDecisions::read(&path)?;
                    review(&q, &mut log, &reviewer, &mut src, pause)?
                }
                None => {
                    if !std::io::stdin().is_terminal() {
                        eprintln!("reading answers from standard input");
                    }
                    let stdin = std::io::stdin();
                    let mut term =
                        TerminalReviewer::new(BufReader::new(stdin.lock()), std::io::stdout());
                    review(&q, &mut log, &reviewer, &mut term, pause)?
                }
            };
            println!(
                "{} decisions recorded ({} already in the log), {} pending; log {}",
                outcome.recorded,
                outcome.already_decided,
                outcome.pending,
                log_path.display()
            );
        }
        Command::Report {
            queue,
            log,
            expert_accuracy,
            estimator,
            out,
        } => {
            let probs: Vec<f64> = expert_accuracy
                .split(',')
                .map(|s| s.trim().parse::<f64>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| anyhow::anyhow!("--expert-accuracy {expert_accuracy:?}: {e}"))?;
            let expert = match probs.as_slice() {
                [] => bail!("--expert-accuracy is empty"),
                [p] => SimulatedExpert::Uniform(*p),
                v => SimulatedExpert::PerClass(v.to_vec()),
            };
            let log_path = log.unwrap_or_else(|| queue.join("audit.jsonl"));
            let out = out.unwrap_or_else(|| queue.join("report"));
            let cfg = ReportConfig::new(estimator.config()).with_expert(expert);
            let r = job::report(&queue, &log_path, spec, &cfg, &out, true)?;
            let t = &r.team;
            let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
            println!(
                "coverage {:.4}, selective risk {:.4}; queued {}: {} accepted, {} overridden, {} skipped, {} pending",
                t.coverage,
                t.selective_risk,
                t.queued,
                t.accepted,
                t.overridden,
                t.skipped,
                t.pending
            );
            println!(
                "system accuracy {:.4} (model alone {:.4}); override rate {}, reviewer accuracy {}, κ(model, reviewer) {}",
                t.system_accuracy,
                t.model_accuracy,
                opt(t.override_rate),
                opt(t.reviewer_accuracy),
                opt(t.kappa_model_reviewer)
            );
            println!(
                "simulated expert on the queue: system accuracy {:.4}, override rate {}",
                r.simulated_review.system_accuracy,
                opt(r.simulated_review.override_rate)
            );
            for (p, m) in job::policy_means(&r.policies) {
                println!("  policy {p:10} mean expected system accuracy {m:.4}");
            }
            println!("wrote {}", out.join("report.json").display());
        }
    }
    Ok(())
}
