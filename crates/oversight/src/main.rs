//! `aegis-oversight`: selective prediction with a risk guarantee, a human review queue and an
//! append-only audit log.
//!
//! Argument parsing and dispatch only; each command's flags, work and printing are in
//! [`aegis_oversight::commands`]. Errors are one line on stderr and exit code 2.

use std::process::ExitCode;

use aegis_model::DeviceArgs;
use aegis_oversight::commands::{
    CalibrateThresholdArgs, QueueArgs, ReportArgs, ReviewArgs, ServeArgs,
};
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
    CalibrateThreshold(CalibrateThresholdArgs),
    /// Build the review queue of the rows below the threshold → queue.jsonl, queue.json.
    Queue(QueueArgs),
    /// Review a queue: each decision is appended to the audit log and synced before the next
    /// item; a stopped review resumes where it stopped.
    Review(ReviewArgs),
    /// Team metrics from the audit log and deferral policies compared with a simulated
    /// expert → report.json, policies.csv, policies.png.
    Report(ReportArgs),
    /// Review in the browser: a local server on the queue and the same audit log, one URL
    /// with a token per reviewer; each answer is synced to the log before it is acknowledged.
    Serve(ServeArgs),
}

fn main() -> ExitCode {
    aegis_model::cli::run_cli(|cli: Cli| {
        let device = cli.device.device;
        let done = match cli.command {
            Command::CalibrateThreshold(args) => args.run(device),
            Command::Queue(args) => args.run(device),
            Command::Review(args) => args.run(),
            Command::Report(args) => args.run(device),
            Command::Serve(args) => args.run(),
        };
        // As an `anyhow::Error`, so an error prints its chain of causes as it always has.
        done.map_err(anyhow::Error::from)
    })
}
