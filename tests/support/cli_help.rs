//! Every binary's command line, seen two ways, for the tests that walk it (`cli_defaults.rs`,
//! `cli_sweep.rs`; `#[path]`-included like `cli_contract.rs`): from outside, the `--help`
//! text of each binary and subcommand, parsed into flags and the defaults they state; and
//! from inside, a mirror of each subcommand built from the library's clap `Args` (the `Cli`
//! types live in the binaries' `main.rs`), which knows each flag's type, its clap default and
//! its doc text. A subcommand or flag the mirror lacks fails the walk, so neither can be
//! added without the tests seeing it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use clap::{ArgMatches, Args, FromArgMatches};

/// The binaries of the workspace: the facade's `aegis` and one per crate.
pub const BINARIES: [&str; 7] = [
    "aegis",
    "aegis-model",
    "aegis-adversarial-trainer",
    "aegis-uncertainty",
    "aegis-interpretability",
    "aegis-oversight",
    "aegis-alignment",
];

/// A workspace binary: `aegis` is this package's, the others are built beside it by
/// `cargo test --workspace` (or `cargo build --bins --workspace` before running one test).
pub fn binary(name: &str) -> PathBuf {
    let path = std::path::Path::new(env!("CARGO_BIN_EXE_aegis")).with_file_name(name);
    assert!(
        path.is_file(),
        "{} not built: run `cargo test --workspace` (or `cargo build --bins --workspace` first)",
        path.display()
    );
    path
}

/// The `--help` text of `bin args…`.
pub fn help(bin: &str, args: &[&str]) -> String {
    let out = Command::new(binary(bin))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{bin} {args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands a binary's `--help` lists (without `help`).
pub fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// One flag of a subcommand's `--help`: its long name, whether it takes a value, and its
/// whole text (doc, possible values, clap's `[default: …]`) on one line.
#[derive(Debug, Clone)]
pub struct HelpFlag {
    pub long: String,
    pub takes_value: bool,
    pub text: String,
}

/// The flags of a subcommand's `--help`, in the short layout (text beside the flag) or the
/// long one (text indented below it).
pub fn flags(help: &str) -> Vec<HelpFlag> {
    let mut out: Vec<HelpFlag> = Vec::new();
    // Whether the lines being read belong to the last flag (not to a positional argument).
    let mut in_flag = false;
    for line in help.lines() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim();
        if body.is_empty() {
            continue;
        }
        if indent == 0 {
            in_flag = false; // a section header: Usage, Arguments, Options
        } else if indent <= 6 && body.starts_with('-') {
            let (spec, text) = body.split_once("  ").unwrap_or((body, ""));
            let long = spec.split(", ").last().unwrap().split(' ').next().unwrap();
            out.push(HelpFlag {
                long: long.trim_start_matches("--").to_string(),
                takes_value: spec.contains(" <"),
                text: text.trim().to_string(),
            });
            in_flag = true;
        } else if indent <= 6 && body.starts_with('<') {
            in_flag = false;
        } else if in_flag {
            let flag = out.last_mut().unwrap();
            if !flag.text.is_empty() {
                flag.text.push(' ');
            }
            flag.text.push_str(body);
        }
    }
    out
}

/// The defaults a help text states: the inside of every `[default…: …]` and
/// `(default…: …)`, e.g. `default: 10` or `default out: DIR/robustness` (brackets inside
/// are kept: `default: the run's input domain: [0, 1] for pixels, …`).
pub fn stated_defaults(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, open) in text.char_indices() {
        let close = match open {
            '[' => ']',
            '(' => ')',
            _ => continue,
        };
        let rest = &text[i + 1..];
        let Some(head) = rest.strip_prefix("default") else {
            continue;
        };
        // `default:` or `default <word>:`; a bare `(default)` states nothing checkable.
        if head
            .find(':')
            .is_none_or(|c| head[..c].trim().contains(' '))
        {
            continue;
        }
        let mut depth = 0;
        for (j, c) in rest.char_indices() {
            if c == open {
                depth += 1;
            } else if c == close {
                if depth == 0 {
                    out.push(rest[..j].to_string());
                    break;
                }
                depth -= 1;
            }
        }
    }
    out
}

/// Bare bracketed numbers such as `[50]`, which state a default without saying so.
pub fn bare_numbers(text: &str) -> Vec<String> {
    text.split('[')
        .skip(1)
        .filter_map(|s| s.split_once(']').map(|(inside, _)| inside))
        .filter(|inside| {
            !inside.is_empty() && inside.chars().all(|c| c.is_ascii_digit() || c == '.')
        })
        .map(|inside| format!("[{inside}]"))
        .collect()
}

/// clap's own statement of an argument's default, as its help renders it.
pub fn clap_default(arg: &clap::Arg) -> Option<String> {
    let values: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| {
            let v = v.to_string_lossy().into_owned();
            if v.is_empty() || v.contains(char::is_whitespace) {
                format!("{v:?}")
            } else {
                v
            }
        })
        .collect();
    (!values.is_empty() && !arg.is_hide_default_value_set())
        .then(|| format!("default: {}", values.join(" ")))
}

/// The doc text of an argument (its long help when it has one).
pub fn doc(arg: &clap::Arg) -> String {
    arg.get_long_help()
        .or(arg.get_help())
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// One subcommand of one binary, rebuilt from the library's clap `Args` with the global
/// `--device` / `--threads` of [`aegis_model::DeviceArgs`].
pub struct Mirror {
    pub bin: &'static str,
    pub sub: &'static str,
    pub command: clap::Command,
    /// Turns matches into the library's `Args` (and `DeviceArgs`), as the binary does.
    pub parse: fn(&ArgMatches) -> Result<(), clap::Error>,
}

impl Mirror {
    /// The mirror's argument with long name `long`.
    pub fn arg(&self, long: &str) -> Option<&clap::Arg> {
        self.command
            .get_arguments()
            .find(|a| a.get_long() == Some(long))
    }
}

/// `aegis-model devices`, which has no flags of its own.
fn devices() -> Mirror {
    use aegis_model::DeviceArgs;
    Mirror {
        bin: "aegis-model",
        sub: "devices",
        command: DeviceArgs::augment_args(clap::Command::new("devices")),
        parse: |m| DeviceArgs::from_arg_matches(m).map(drop),
    }
}

fn mirror<A: Args + FromArgMatches>(bin: &'static str, sub: &'static str) -> Mirror {
    use aegis_model::DeviceArgs;
    Mirror {
        bin,
        sub,
        command: DeviceArgs::augment_args(A::augment_args(clap::Command::new(sub))),
        parse: |m| {
            A::from_arg_matches(m)?;
            DeviceArgs::from_arg_matches(m).map(drop)
        },
    }
}

/// Every subcommand of every binary, as its `main.rs` dispatches them.
pub fn mirrors() -> Vec<Mirror> {
    use aegis_adversarial_trainer::commands as adv;
    use aegis_alignment::commands as align;
    use aegis_interpretability::commands as interp;
    use aegis_model::commands as model;
    use aegis_oversight::commands as over;
    use aegis_uncertainty::commands as unc;
    vec![
        mirror::<aegis::commands::AuditArgs>("aegis", "audit"),
        mirror::<model::TrainArgs>("aegis-model", "train"),
        mirror::<model::EvalArgs>("aegis-model", "eval"),
        mirror::<model::PredictArgs>("aegis-model", "predict"),
        mirror::<model::ImportArgs>("aegis-model", "import"),
        mirror::<model::ExportArgs>("aegis-model", "export"),
        devices(),
        mirror::<adv::TrainArgs>("aegis-adversarial-trainer", "train"),
        mirror::<adv::EvaluateArgs>("aegis-adversarial-trainer", "evaluate"),
        mirror::<adv::AttackArgs>("aegis-adversarial-trainer", "attack"),
        mirror::<adv::CertifyArgs>("aegis-adversarial-trainer", "certify"),
        mirror::<unc::CalibrateArgs>("aegis-uncertainty", "calibrate"),
        mirror::<unc::ConformalArgs>("aegis-uncertainty", "conformal"),
        mirror::<unc::OodArgs>("aegis-uncertainty", "ood"),
        mirror::<unc::EvaluateArgs>("aegis-uncertainty", "evaluate"),
        mirror::<interp::ExplainArgs>("aegis-interpretability", "explain"),
        mirror::<interp::ImportanceArgs>("aegis-interpretability", "importance"),
        mirror::<interp::PdpArgs>("aegis-interpretability", "pdp"),
        mirror::<interp::EvaluateArgs>("aegis-interpretability", "evaluate"),
        mirror::<over::CalibrateThresholdArgs>("aegis-oversight", "calibrate-threshold"),
        mirror::<over::QueueArgs>("aegis-oversight", "queue"),
        mirror::<over::ReviewArgs>("aegis-oversight", "review"),
        mirror::<over::ReportArgs>("aegis-oversight", "report"),
        mirror::<over::ServeArgs>("aegis-oversight", "serve"),
        mirror::<align::PlanArgs>("aegis-alignment", "plan"),
        mirror::<align::IrlArgs>("aegis-alignment", "irl"),
        mirror::<align::PreferencesArgs>("aegis-alignment", "preferences"),
        mirror::<align::ShapingArgs>("aegis-alignment", "shaping"),
    ]
}

/// One subcommand seen both ways.
pub struct Walked {
    pub mirror: Mirror,
    pub flags: Vec<HelpFlag>,
}

/// Walks every binary's `--help` and each subcommand's, pairing each with its mirror; fails
/// on a subcommand without a mirror (or the reverse) and on a flag one side lacks.
pub fn walk() -> Vec<Walked> {
    let mut mirrors = mirrors();
    let mut out = Vec::new();
    for bin in BINARIES {
        for sub in subcommands(&help(bin, &[])) {
            let i = mirrors
                .iter()
                .position(|m| m.bin == bin && m.sub == sub)
                .unwrap_or_else(|| {
                    panic!("`{bin} {sub}` has no mirror: add it to mirrors() in tests/support/cli_help.rs")
                });
            let mirror = mirrors.remove(i);
            let flags: Vec<HelpFlag> = flags(&help(bin, &[&sub]))
                .into_iter()
                .filter(|f| f.long != "help" && f.long != "version")
                .collect();
            let mut seen: Vec<&str> = flags.iter().map(|f| f.long.as_str()).collect();
            let mut mirrored: Vec<&str> = mirror
                .command
                .get_arguments()
                .filter_map(clap::Arg::get_long)
                .collect();
            seen.sort_unstable();
            mirrored.sort_unstable();
            assert_eq!(
                seen, mirrored,
                "`{bin} {sub}`: --help and the mirror differ"
            );
            out.push(Walked { mirror, flags });
        }
    }
    let left: Vec<String> = mirrors
        .iter()
        .map(|m| format!("{} {}", m.bin, m.sub))
        .collect();
    assert!(left.is_empty(), "mirrors of no subcommand: {left:?}");
    out
}
