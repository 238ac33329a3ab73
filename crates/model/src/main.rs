//! `aegis-model`: train, evaluate and use classifiers on bundled or user data.
//!
//! Only the command line lives here; each command is a file of the library
//! (`aegis_model::commands`). Every error is one line on stderr and exit code 2.

use std::process::ExitCode;

use aegis_model::DeviceArgs;
use aegis_model::commands::{EvalArgs, ExportArgs, ImportArgs, PredictArgs, TrainArgs, devices};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aegis-model",
    version,
    about = "Train, evaluate and run Aegis classifiers"
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
    /// Train a model and write a run directory (model.bpk, config.json, metrics.json).
    Train(TrainArgs),
    /// Evaluate a run on a test split and write DIR/eval.json.
    Eval(EvalArgs),
    /// Classify every sample of an IDX, CSV, .npy, PNG or JPEG file; prints one JSON object per sample.
    Predict(PredictArgs),
    /// Import a PyTorch model (a JSON spec and its .safetensors / .pt weights) as a run.
    Import(ImportArgs),
    /// Export a sequential run's weights as PyTorch-layout .safetensors, with its spec.
    Export(ExportArgs),
    /// List the devices this build can use.
    Devices,
}

fn main() -> ExitCode {
    // Errors go through anyhow so that `run_cli` prints their whole chain of causes.
    aegis_model::cli::run_cli(|cli: Cli| -> anyhow::Result<()> {
        let device = cli.device.device;
        match cli.command {
            Command::Train(args) => args.run(device)?,
            Command::Eval(args) => args.run(device)?,
            Command::Predict(args) => args.run(device)?,
            Command::Import(args) => args.run(device)?,
            Command::Export(args) => args.run(device)?,
            Command::Devices => devices::run(),
        }
        Ok(())
    })
}
