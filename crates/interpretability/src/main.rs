//! `aegis-interpretability`: explain trained Aegis models and check the explanations.
//!
//! Argument parsing and dispatch only; each command (its flags, its work and what it prints)
//! is in the library's `commands` module. Errors are one line on stderr and exit code 2.

use std::process::ExitCode;

use aegis_interpretability::commands::{EvaluateArgs, ExplainArgs, ImportanceArgs, PdpArgs};
use aegis_model::DeviceArgs;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aegis-interpretability",
    version,
    about = "Attributions, global explanations and explanation-quality checks for Aegis models"
)]
struct Cli {
    #[command(flatten)]
    device: DeviceArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Attribute one test row's prediction to its input features; writes explanation.json
    /// (+ heatmap.png for images, attributions.png for tables).
    Explain(ExplainArgs),
    /// Global feature importance on the test split; writes importance.json, importance.png
    /// (+ values.png for SHAP/LIME).
    Importance(ImportanceArgs),
    /// Partial dependence and ICE curves of one feature over training rows; writes pdp.json
    /// and pdp.png.
    Pdp(PdpArgs),
    /// Explanation-quality report: deletion/insertion AUC vs random order, IG convergence,
    /// infidelity, max-sensitivity, parameter randomisation; writes evaluation.json, curves.png.
    Evaluate(EvaluateArgs),
}

fn main() -> ExitCode {
    // Through anyhow, so the one-line error shows the whole chain of causes (`{:#}`), as before.
    aegis_model::cli::run_cli(|cli: Cli| -> anyhow::Result<()> {
        let device = cli.device.device;
        match cli.command {
            Command::Explain(args) => args.run(device)?,
            Command::Importance(args) => args.run(device)?,
            Command::Pdp(args) => args.run(device)?,
            Command::Evaluate(args) => args.run(device)?,
        }
        Ok(())
    })
}
