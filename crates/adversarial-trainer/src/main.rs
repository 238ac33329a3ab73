//! `aegis-adversarial-trainer`: attack trained Aegis models and report robustness.
//!
//! Argument parsing and dispatch only; each command's flags, work and printing are in the
//! library's `commands` module. Errors are one line on stderr and exit code 2.

use std::process::ExitCode;

use aegis_adversarial_trainer::commands::{AttackArgs, CertifyArgs, EvaluateArgs, TrainArgs};
use aegis_model::DeviceArgs;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aegis-adversarial-trainer",
    version,
    about = "Adversarial attacks on Aegis models"
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
    /// Train a model adversarially (default: Aegis's best MNIST recipe) and write a run
    /// directory in the `aegis-model train` format, then report its PGD-40 robustness.
    Train(TrainArgs),
    /// Evaluate a run's robustness: accuracy against ε per attack, the worst case over
    /// APGD-CE + targeted APGD-DLR + Square, sanity checks; writes report.json, report.csv,
    /// report.png.
    Evaluate(EvaluateArgs),
    /// Attack a run's test split and write DIR2/attack.json.
    Attack(AttackArgs),
    /// Certify a run's robustness: randomized smoothing's certified L2 radii (certify.json,
    /// curve.csv, curve.png), or bound propagation (ibp, crown).
    Certify(CertifyArgs),
}

fn main() -> ExitCode {
    // The library's errors go through anyhow, as before the commands moved into the library,
    // so that `run_cli` prints an error with its whole chain of causes.
    aegis_model::cli::run_cli(|cli: Cli| -> anyhow::Result<()> {
        let device = cli.device.device;
        match cli.command {
            Command::Train(args) => args.run(device)?,
            Command::Evaluate(args) => args.run(device)?,
            Command::Attack(args) => args.run(device)?,
            Command::Certify(args) => args.run(device)?,
        }
        Ok(())
    })
}
