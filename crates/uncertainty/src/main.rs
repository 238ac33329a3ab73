//! `aegis-uncertainty`: calibration, conformal sets, OOD detection and uncertainty reports
//! for trained Aegis runs.
//!
//! Argument parsing and dispatch only; each command's flags and work are in
//! `aegis_uncertainty::commands`. Errors are one line on stderr and exit code 2.

use std::process::ExitCode;

use aegis_model::DeviceArgs;
use aegis_uncertainty::commands::{CalibrateArgs, ConformalArgs, EvaluateArgs, OodArgs};
use clap::{Parser, Subcommand};

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

#[derive(Subcommand)]
enum Command {
    /// Fit temperature (and vector) scaling on half of the test split; report NLL / ECE /
    /// Brier before and after on the other half → calibration.json, reliability.png.
    Calibrate(CalibrateArgs),
    /// Split conformal prediction sets over random calibration/test splits → conformal.json.
    Conformal(ConformalArgs),
    /// OOD detection of noise, inverted and rotated images built from the test split →
    /// ood.json (AUROC per set and score), ood.csv, ood.png.
    Ood(OodArgs),
    /// Compare deterministic, temperature-scaled, MC-dropout and ensemble predictions:
    /// NLL, Brier, ECE variants, AURC → report.json, report.csv, reliability.png,
    /// risk_coverage.png.
    Evaluate(EvaluateArgs),
}

fn main() -> ExitCode {
    // Errors go through anyhow so `{:#}` prints their cause chain, as before the split.
    aegis_model::cli::run_cli(|cli: Cli| -> anyhow::Result<()> {
        let device = cli.device.device;
        match cli.command {
            Command::Calibrate(args) => args.run(device)?,
            Command::Conformal(args) => args.run(device)?,
            Command::Ood(args) => args.run(device)?,
            Command::Evaluate(args) => args.run(device)?,
        }
        Ok(())
    })
}
