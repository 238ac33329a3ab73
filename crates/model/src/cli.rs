//! The entry point every Aegis binary shares: parse arguments, run, and turn any error into one
//! line on stderr with exit code 2 (argument errors included; `--help` and `--version` print
//! normally and exit 0).

use std::io::IsTerminal;
use std::process::ExitCode;

/// Keeps freed memory for reuse ([`aegis_malloc::keep_freed_memory`]), parses `C` from the
/// command line and runs `run`; errors become `error: …` on one line and
/// exit code 2: the error and each cause in its chain that its message does not already say
/// (an I/O error wrapped with its file names its source once, not twice).
pub fn run_cli<C: clap::Parser, E: Into<anyhow::Error>>(
    run: impl FnOnce(C) -> Result<(), E>,
) -> ExitCode {
    aegis_malloc::keep_freed_memory();
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
            eprintln!("error: {}", one_line(&e.into()));
            ExitCode::from(2)
        }
    }
}

/// The error and the causes its message does not already contain, on one line.
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg.replace('\n', " ")
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
