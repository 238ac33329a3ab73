//! The entry point every Aegis binary shares: parse arguments, run, and turn any error into one
//! line on stderr with exit code 2 (argument errors included; `--help` and `--version` print
//! normally and exit 0).

use std::fmt::Display;
use std::io::IsTerminal;
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

/// A progress bar on stderr over `total` steps counted in `unit` (e.g. `batch`, `rows`),
/// with elapsed time and ETA; drawn only when `show` is true and stderr is a terminal, so
/// tests, pipes and library calls stay quiet. Every long loop of Aegis uses it.
pub fn progress_bar(show: bool, total: u64, unit: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        if show && std::io::stderr().is_terminal() {
            indicatif::ProgressDrawTarget::stderr()
        } else {
            indicatif::ProgressDrawTarget::hidden()
        },
    );
    let template = format!(
        "{{bar:30.cyan/blue}} {unit} {{pos}}/{{len}} {{msg}} [{{elapsed_precise}} < {{eta_precise}}]"
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
