//! The entry point every Aegis binary shares: parse arguments, run, and turn any error into one
//! line on stderr with exit code 2 (argument errors included; `--help` and `--version` print
//! normally and exit 0).

use std::fmt::Display;
use std::process::ExitCode;

/// Parses `C` from the command line and runs `run`; errors become `error: …` on one line and
/// exit code 2. The alternate form (`{:#}`) of the error is printed, so an error type with a
/// chain of causes (such as `anyhow::Error`) shows all of them.
pub fn run_cli<C: clap::Parser, E: Display>(run: impl FnOnce(C) -> Result<(), E>) -> ExitCode {
    let cli = match C::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            let text = e.to_string();
            eprintln!(
                "{}",
                text.lines().next().unwrap_or("error: invalid arguments")
            );
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(2)
        }
    }
}
