//! The determinism contract of every Aegis binary (README, "Determinism"), as one check shared
//! by each crate's `tests/determinism.rs` (`#[path]`-included like `cli_contract.rs`): the
//! same commands with the same seeds, run three times in three fresh folders (twice with the
//! default thread count, once with `--threads 1`), leave byte-identical files, once the values
//! of the wall-clock fields in [`WALL_CLOCK_KEYS`] are masked.
//!
//! A fourth folder, `killed`, checks crash safety the same way: before each step runs to the
//! end there, the same step is started and killed with SIGKILL half-way through (half of
//! its time in the first folder); no JSON file may be left torn, and the finished folder
//! must equal the others. So no command leaves a half-written file that its next run
//! accepts as good.
//!
//! Compared: every file the commands leave in the folder (JSON, JSON lines, CSV, weights,
//! PNG) and the stdout of the steps that ask for it, except `.html` (the audit report prints
//! its date and stage times). Paths in the commands are relative to the folder, which is
//! the working directory, so the paths the reports record are the same too.

#![allow(dead_code)] // each test file uses its part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "kill.rs"]
mod kill;

/// JSON keys whose values measure wall-clock time or give a date: they differ from run to
/// run by nature, so their values (a number or a string) are masked before comparing.
/// `seconds`: a step's duration (per epoch, per attack, per stage…); `wall_seconds`: a whole
/// command's; `load_seconds`: reading imported weights; `created`: the date of an audit;
/// `timestamp`: the time of a review decision in the audit log.
pub const WALL_CLOCK_KEYS: &[&str] = &[
    "seconds",
    "wall_seconds",
    "load_seconds",
    "created",
    "timestamp",
];

/// File extensions left out of the comparison: `html` (the audit report shows its date and
/// how long each stage took, from the masked fields).
pub const NOT_COMPARED: &[&str] = &["html"];

/// One command of the binary under test.
pub enum Step<'a> {
    /// Run it; its files are compared.
    Run(&'a [&'a str]),
    /// Run it and also compare its stdout, saved as the named file in the folder.
    Stdout(&'a [&'a str], &'a str),
}

/// Runs `steps` with `bin` in `root/{a,b,threads-1}` (each prepared by `setup`, then used as
/// the working directory) and asserts that the three folders hold the same files with the
/// same bytes, wall-clock values masked. Returns the first folder.
pub fn assert_deterministic(
    bin: &Path,
    root: &Path,
    setup: &dyn Fn(&Path),
    steps: &[Step],
) -> PathBuf {
    let _ = std::fs::remove_dir_all(root);
    let variants = [
        ("a", false),
        ("b", false),
        ("threads-1", true),
        ("killed", false),
    ];
    let mut durations = Vec::new();
    for (name, one_thread) in variants {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        setup(&dir);
        for (i, step) in steps.iter().enumerate() {
            if name == "killed" {
                kill_step_half_way(bin, &dir, step, durations[i]);
            }
            let start = Instant::now();
            run_step(bin, &dir, step, one_thread);
            if name == "a" {
                durations.push(start.elapsed());
            }
        }
    }
    let first = root.join("a");
    let files = compared_files(&first);
    assert!(!files.is_empty(), "{}: no files written", first.display());
    for (other, _) in &variants[1..] {
        let other = root.join(other);
        assert_eq!(files, compared_files(&other), "file lists differ");
        for rel in &files {
            let (x, y) = (first.join(rel), other.join(rel));
            let (x, mut y) = (masked(&x), masked(&y));
            if other.ends_with("killed") {
                y = as_if_computed(y);
            }
            if x != y {
                panic!(
                    "{} differs between {} and {}: {}",
                    rel.display(),
                    first.display(),
                    other.display(),
                    first_difference(&x, &y)
                );
            }
        }
    }
    first
}

/// Starts `step` in `dir`, kills it with SIGKILL after half of `took` (its time when it ran to
/// the end), and asserts that no JSON file in `dir` is left torn.
fn kill_step_half_way(bin: &Path, dir: &Path, step: &Step, took: Duration) {
    let args = match step {
        Step::Run(args) | Step::Stdout(args, _) => *args,
    };
    let mut cmd = Command::new(bin);
    cmd.args(args).current_dir(dir);
    cmd.env("CUBECL_AUTOTUNE_LEVEL", "minimal");
    kill::kill_after(&mut cmd, took / 2);
    kill::assert_json_files_parse(dir);
}

fn run_step(bin: &Path, dir: &Path, step: &Step, one_thread: bool) {
    let (args, stdout_file) = match step {
        Step::Run(args) => (*args, None),
        Step::Stdout(args, file) => (*args, Some(*file)),
    };
    let mut cmd = Command::new(bin);
    cmd.args(args).current_dir(dir);
    cmd.env("CUBECL_AUTOTUNE_LEVEL", "minimal");
    if one_thread {
        cmd.args(["--threads", "1"]);
    }
    let out = cmd.output().expect("binary runs");
    assert!(
        out.status.success(),
        "{args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(file) = stdout_file {
        std::fs::write(dir.join(file), &out.stdout).unwrap();
    }
}

/// Every file under `dir` (relative paths, sorted), except those of [`NOT_COMPARED`].
fn compared_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
                if !NOT_COMPARED.contains(&ext) && !is_temp_file(&path) {
                    out.push(path.strip_prefix(root).unwrap().to_path_buf());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// An audit rerun after a kill reuses the stages the killed one finished and says so
/// (`"status": "cached"`); everything else must be as computed.
fn as_if_computed(bytes: Vec<u8>) -> Vec<u8> {
    match String::from_utf8(bytes) {
        Ok(text) => text
            .replace("\"status\": \"cached\"", "\"status\": \"computed\"")
            .into_bytes(),
        Err(e) => e.into_bytes(),
    }
}

/// A temp file of an atomic write (`.NAME.tmp-PID`, `aegis_model::io::temp_path_for`) that a
/// killed process left behind: never read by any command, so not compared.
fn is_temp_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.') && name.contains(".tmp-")
}

/// The file's bytes, with the value after every `"KEY":` of [`WALL_CLOCK_KEYS`] replaced by
/// `"<wall-clock>"` in JSON and JSON-lines files. Only a number or a string is masked.
fn masked(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "json" | "jsonl") {
        return bytes;
    }
    let mut text = String::from_utf8(bytes).unwrap();
    for key in WALL_CLOCK_KEYS {
        text = mask_key(&text, key);
    }
    text.into_bytes()
}

fn mask_key(text: &str, key: &str) -> String {
    let pattern = format!("\"{key}\":");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&pattern) {
        let (head, tail) = rest.split_at(at + pattern.len());
        out.push_str(head);
        let value = tail.trim_start();
        out.push_str(&tail[..tail.len() - value.len()]);
        let end = if let Some(s) = value.strip_prefix('"') {
            1 + s.find('"').expect("a closed string") + 1
        } else {
            assert!(
                !value.starts_with(['{', '[']),
                "`{key}` holds an object or array, not a wall-clock value"
            );
            value.find([',', '}', ']', '\n']).unwrap_or(value.len())
        };
        out.push_str("\"<wall-clock>\"");
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// Where two byte strings first differ, with some context (text, or hex for binary files),
/// for the failure message.
fn first_difference(x: &[u8], y: &[u8]) -> String {
    let at = x
        .iter()
        .zip(y)
        .position(|(a, b)| a != b)
        .unwrap_or(x.len().min(y.len()));
    let around = |b: &[u8]| {
        let part = &b[at.saturating_sub(60).min(b.len())..(at + 60).min(b.len())];
        match std::str::from_utf8(part) {
            Ok(text) if !text.contains('\0') => text.to_string(),
            _ => part.iter().map(|c| format!("{c:02x}")).collect(),
        }
    };
    format!(
        "{} vs {} bytes, first difference at byte {at}:\n  {}\n  {}",
        x.len(),
        y.len(),
        around(x),
        around(y)
    )
}

/// Trains a small run into `dir` with the library (SmallCnn for MNIST, an MLP for tables),
/// as the fixture that the commands of a crate other than `aegis-model` start from.
pub fn train_fixture(dir: &Path, data: aegis_model::DataSource, epochs: usize) {
    let mut req = aegis_model::TrainRequest::new(data);
    req.train = aegis_model::TrainConfig::new().with_epochs(epochs);
    req.out = Some(dir.to_path_buf());
    aegis_model::train_run(&req).unwrap();
}

/// Trains the two fixtures under `root/fixtures` that the other crates' tests start from,
/// `tab` (breast cancer, MLP, 2 epochs) and `cnn` (MNIST, SmallCnn, 1 epoch), and returns the
/// setup that copies both into a test folder.
pub fn tab_and_cnn_fixtures(root: &Path) -> impl Fn(&Path) + use<> {
    let fixtures = root.join("fixtures");
    let _ = std::fs::remove_dir_all(&fixtures);
    train_fixture(
        &fixtures.join("tab"),
        aegis_model::DataSource::BreastCancer,
        2,
    );
    train_fixture(&fixtures.join("cnn"), aegis_model::DataSource::Mnist, 1);
    move |dir: &Path| {
        copy_into(&fixtures.join("tab"), dir);
        copy_into(&fixtures.join("cnn"), dir);
    }
}

/// Copies the folder `from` into `to/<its name>` (a trained run into a test folder).
pub fn copy_into(from: &Path, to: &Path) {
    let dest = to.join(from.file_name().unwrap());
    std::fs::create_dir_all(&dest).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            copy_into(&path, &dest);
        } else {
            std::fs::copy(&path, dest.join(path.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn masking_hides_wall_clock_values_only() {
    let a = r#"{"seconds":0.25,"accuracy":0.5,"created":"2026-01-01T00:00:00Z","epochs":[{"seconds": 1e-3}]}"#;
    let b = r#"{"seconds":7,"accuracy":0.5,"created":"2027-02-02T00:00:00Z","epochs":[{"seconds": 2.5}]}"#;
    assert_eq!(
        mask_key(&mask_key(a, "seconds"), "created"),
        mask_key(&mask_key(b, "seconds"), "created")
    );
    let c = a.replace("0.5", "0.50");
    assert_ne!(mask_key(a, "seconds"), mask_key(&c, "seconds"));
}
