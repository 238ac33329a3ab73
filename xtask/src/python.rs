//! Running a committed PyTorch reference script (`bench/pytorch/*.py`) that prints one JSON
//! object on stdout, for the side-by-side benchmarks. The interpreter is `python3`, or the one
//! `cargo xtask bench --with-pytorch` found (`use_interpreter`), so every PyTorch side of one
//! run uses the same Python.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;

static INTERPRETER: OnceLock<PathBuf> = OnceLock::new();

/// Runs the reference scripts with `python` from now on (the first call wins).
pub fn use_interpreter(python: &Path) {
    let _ = INTERPRETER.set(python.to_path_buf());
}

/// Runs `python3 script args…` and parses its stdout as JSON; a failure is an error carrying
/// the script's last stderr line (e.g. a missing torch).
pub fn run_json<T: DeserializeOwned>(script: &str, args: &[OsString]) -> Result<T> {
    let python = INTERPRETER
        .get()
        .map_or_else(|| PathBuf::from("python3"), Clone::clone);
    let out = Command::new(&python)
        .arg(script)
        .args(args)
        .output()
        .with_context(|| format!("{} not found", python.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "{script} failed: {}",
            err.lines().last().unwrap_or("no message")
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("{script} printed no JSON object"))
}
