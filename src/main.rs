//! `aegis`: the whole-model commands of Aegis. `aegis audit --run DIR` writes one
//! self-contained HTML safety report (`report.html`) and `audit.json`; `aegis audit --compare
//! A B` puts two audits side by side.
//!
//! Only the command line lives here; the command is `aegis::commands::audit`. Bad input is
//! one line on stderr and exit code 2; an audit whose report was written but one of whose
//! stages failed exits with 3 (`EXIT_STAGE_FAILED`), after one line per failed stage.

use std::process::ExitCode;

use aegis::commands::AuditArgs;
use aegis_model::DeviceArgs;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aegis",
    version,
    about = "Audit Aegis models: one report across robustness, calibration, uncertainty, explanations and deferral"
)]
struct Cli {
    #[command(flatten)]
    device: DeviceArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Audit a run into report.html and audit.json, or compare two audits (--compare A B).
    Audit(AuditArgs),
}

fn main() -> ExitCode {
    // Set only when the command returns: an error is run_cli's exit code 2.
    let mut code = 0;
    let status = aegis_model::cli::run_cli(|cli: Cli| -> anyhow::Result<()> {
        let device = cli.device.device;
        code = match cli.command {
            Command::Audit(args) => args.run(device)?,
        };
        Ok(())
    });
    if code == 0 {
        status
    } else {
        ExitCode::from(code)
    }
}
