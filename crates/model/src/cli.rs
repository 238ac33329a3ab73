//! The entry point every Aegis binary shares: parse arguments, size the CPU thread pool
//! (`--threads`), run, and turn any error into one line on stderr with exit code 2 (argument
//! errors included; `--help` and `--version` print normally and exit 0).

use std::io::IsTerminal;
use std::process::ExitCode;

/// Keeps freed memory for reuse ([`aegis_malloc::keep_freed_memory`]), parses `C` from the
/// command line, applies its `--threads` (the global flag of [`DeviceArgs`](crate::DeviceArgs))
/// and runs `run`; errors become `error: …` on one line and
/// exit code 2: the error and each cause in its chain that its message does not already say
/// (an I/O error wrapped with its file names its source once, not twice).
pub fn run_cli<C: clap::Parser, E: Into<anyhow::Error>>(
    run: impl FnOnce(C) -> Result<(), E>,
) -> ExitCode {
    aegis_malloc::keep_freed_memory();
    let (cli, threads) = match parse::<C>() {
        Ok(parsed) => parsed,
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
    if let Err(e) = apply_threads(threads) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e.into()));
            ExitCode::from(2)
        }
    }
}

/// `C` from the command line, and the value of the global `--threads` flag of
/// [`DeviceArgs`](crate::DeviceArgs) when `C` has it and it was given (as `C::try_parse`,
/// with one look at the matches in between).
fn parse<C: clap::Parser>() -> Result<(C, Option<usize>), clap::Error> {
    let mut matches = C::command().try_get_matches()?;
    let threads = matches
        .try_get_one::<usize>("threads")
        .ok()
        .flatten()
        .copied();
    let cli = C::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut C::command()))?;
    Ok((cli, threads))
}

/// Sizes the CPU backends' thread pool when `--threads` was given ([`set_cpu_threads`]); 0
/// is refused.
///
/// [`set_cpu_threads`]: crate::device::set_cpu_threads
fn apply_threads(threads: Option<usize>) -> Result<(), String> {
    match threads {
        None => Ok(()),
        Some(0) => Err("--threads must be at least 1".into()),
        Some(n) => crate::device::set_cpu_threads(n).map_err(|e| e.to_string()),
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
