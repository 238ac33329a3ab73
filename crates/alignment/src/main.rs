//! `aegis-alignment`: planning, reward shaping, inverse RL and preference learning on tabular
//! MDPs.
//!
//! Argument parsing and dispatch only: each subcommand's flags, printing and work are in
//! `aegis_alignment::commands::<name>`. Errors are one line on stderr and exit code 2.

use std::process::ExitCode;

use aegis_alignment::commands::{IrlArgs, PlanArgs, PreferencesArgs, ShapingArgs};
use aegis_model::DeviceArgs;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aegis-alignment",
    version,
    about = "Planning, reward shaping, inverse RL and reward learning from preferences"
)]
struct Cli {
    #[command(flatten)]
    device: DeviceArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Plan in an environment; writes DIR/plan.json (values, policy) and DIR/config.json.
    Plan(PlanArgs),
    /// Inverse RL from sampled demonstrations; writes DIR/irl.json (evd, reward_correlation),
    /// or with --sweep DIR/irl_sweep.json and irl_sweep.png.
    Irl(IrlArgs),
    /// Reward learning from synthetic preferences on the gridworld; writes
    /// DIR/preferences.json (reward_correlation, random vs active curves) and preferences.png.
    Preferences(PreferencesArgs),
    /// Potential-based shaping on the gridworld goal task; writes DIR/shaping.json
    /// (policy_unchanged, steps to the goal with and without shaping) and shaping.png.
    Shaping(ShapingArgs),
}

fn main() -> ExitCode {
    // Errors go through anyhow so that `run_cli` prints their whole chain of causes, as
    // before the commands moved into the library.
    aegis_model::cli::run_cli(|cli: Cli| -> anyhow::Result<()> {
        let device = cli.device.device;
        match cli.command {
            Command::Plan(args) => args.run()?,
            Command::Irl(args) => args.run(device)?,
            Command::Preferences(args) => args.run(device)?,
            Command::Shaping(args) => args.run()?,
        }
        Ok(())
    })
}
