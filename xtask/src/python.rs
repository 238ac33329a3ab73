//! Running a committed PyTorch reference script (`bench/pytorch/*.py`) that prints one JSON
//! object on stdout, for the side-by-side benchmarks.

use std::ffi::OsString;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;

/// Runs `python3 script args…` and parses its stdout as JSON; a failure is an error carrying
/// the script's last stderr line (e.g. a missing torch).
pub fn run_json<T: DeserializeOwned>(script: &str, args: &[OsString]) -> Result<T> {
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .context("python3 not found")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "{script} failed: {}",
            err.lines().last().unwrap_or("no message")
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("{script} printed no JSON object"))
}
