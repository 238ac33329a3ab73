//! `aegis-uncertainty`: calibration, conformal sets, OOD detection and uncertainty reports
//! for trained Aegis runs.
//!
//! Argument parsing and printing only; the work is in the library. Errors are one line on
//! stderr and exit code 2.

use std::path::PathBuf;
use std::process::ExitCode;

use aegis_model::DeviceArgs;
use aegis_model::LoadedRun;
use aegis_uncertainty::job::{
    self, CalibrateConfig, ConformalRunConfig, EstimatorArgs, EvaluateConfig,
};
use aegis_uncertainty::{ConformalConfig, ConformalScore};
use anyhow::Result;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aegis-uncertainty",
    version,
    about = "Uncertainty, calibration, conformal sets and OOD detection for Aegis runs"
)]
struct Cli {
    #[command(flatten)]
    device: DeviceArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Common {
    /// Run directory written by `aegis-model train` (or adversarial `train`).
    #[arg(long)]
    run: PathBuf,
    /// Output directory [default: RUN/uncertainty/<command>].
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Fit temperature (and vector) scaling on half of the test split; report NLL / ECE /
    /// Brier before and after on the other half → calibration.json, reliability.png.
    Calibrate {
        #[command(flatten)]
        common: Common,
        /// Equal-width ECE bins.
        #[arg(long, default_value_t = 15)]
        bins: usize,
        /// Seed of the fit / held-out split.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Split conformal prediction sets over random calibration/test splits → conformal.json.
    Conformal {
        #[command(flatten)]
        common: Common,
        /// Miscoverage α.
        #[arg(long, default_value_t = 0.1)]
        alpha: f64,
        /// lac | aps | raps.
        #[arg(long, value_enum, default_value = "lac")]
        score: ConformalScore,
        /// Random calibration/test splits.
        #[arg(long, default_value_t = 20)]
        splits: usize,
        /// Fraction of rows used for calibration in each split.
        #[arg(long, default_value_t = 0.5)]
        calibration_fraction: f64,
        /// APS/RAPS without randomisation.
        #[arg(long)]
        no_randomize: bool,
        #[command(flatten)]
        estimator: EstimatorArgs,
    },
    /// OOD detection of noise, inverted and rotated images built from the test split →
    /// ood.json (AUROC per set and score), ood.csv, ood.png.
    Ood {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        estimator: EstimatorArgs,
    },
    /// Compare deterministic, temperature-scaled, MC-dropout and ensemble predictions:
    /// NLL, Brier, ECE variants, AURC → report.json, report.csv, reliability.png,
    /// risk_coverage.png.
    Evaluate {
        #[command(flatten)]
        common: Common,
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
    },
}

fn main() -> ExitCode {
    aegis_model::cli::run_cli(run)
}

fn out_dir(common: &Common, command: &str) -> PathBuf {
    common
        .out
        .clone()
        .unwrap_or_else(|| job::default_out(&common.run, command))
}

fn run(cli: Cli) -> Result<()> {
    let spec = cli.device.device;
    match cli.command {
        Command::Calibrate { common, bins, seed } => {
            let run = LoadedRun::open(&common.run, spec)?;
            let out = out_dir(&common, "calibrate");
            let r = job::calibrate(
                &run,
                &CalibrateConfig::new().with_bins(bins).with_seed(seed),
                &out,
            )?;
            println!(
                "temperature {:.4}: held-out NLL {:.4} → {:.4}, ECE {:.4} → {:.4} ({} fit / {} held-out rows)",
                r.temperature,
                r.nll_before,
                r.nll_after,
                r.ece_before,
                r.ece_after,
                r.n_fit,
                r.n_eval
            );
            if let Some((nll, ece)) = r.vector_scaling {
                println!("vector scaling: held-out NLL {nll:.4}, ECE {ece:.4}");
            }
            println!("wrote {}", out.join("calibration.json").display());
        }
        Command::Conformal {
            common,
            alpha,
            score,
            splits,
            calibration_fraction,
            no_randomize,
            estimator,
        } => {
            let run = LoadedRun::open(&common.run, spec)?;
            let out = out_dir(&common, "conformal");
            let cfg = ConformalRunConfig::new(
                ConformalConfig::new()
                    .with_alpha(alpha)
                    .with_score(score)
                    .with_randomized(!no_randomize)
                    .with_seed(estimator.seed),
                estimator.config(),
            )
            .with_splits(splits)
            .with_calibration_fraction(calibration_fraction);
            let r = job::conformal(&run, &cfg, &out, true)?;
            println!(
                "{:?} α = {alpha}: coverage {:.4} ± {:.4} (target {:.2}), mean set size {:.3}, over {splits} splits of {} calibration / {} test rows",
                score,
                r.mean_coverage,
                r.std_coverage,
                r.target_coverage,
                r.mean_set_size,
                r.n_calibration,
                r.n_test
            );
            println!("wrote {}", out.join("conformal.json").display());
        }
        Command::Ood { common, estimator } => {
            let run = LoadedRun::open(&common.run, spec)?;
            let out = out_dir(&common, "ood");
            let r = job::ood(&run, &estimator.config(), &out, true)?;
            println!(
                "{} ({} passes), in-distribution accuracy {:.4}; AUROC:",
                r.estimator, r.samples, r.in_distribution_accuracy
            );
            for (set, per) in &r.auroc {
                let cells: Vec<String> = per.iter().map(|(s, v)| format!("{s} {v:.4}")).collect();
                println!("  {set:15} {}", cells.join("  "));
            }
            println!("wrote {}", out.join("ood.json").display());
        }
        Command::Evaluate {
            common,
            passes,
            members,
            bins,
            seed,
        } => {
            let run = LoadedRun::open(&common.run, spec)?;
            let out = out_dir(&common, "evaluate");
            let cfg = EvaluateConfig::new()
                .with_passes(passes)
                .with_members(members)
                .with_bins(bins)
                .with_seed(seed);
            let r = job::evaluate(&run, &cfg, &out, true)?;
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
        }
    }
    Ok(())
}
