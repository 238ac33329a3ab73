//! Which Python runs the PyTorch side of `cargo xtask bench --with-pytorch`: the one given with
//! `--python`, else the bench's virtual environment (`<target>/bench-venv`) when it has torch,
//! else `python3` when it imports torch and numpy, else a new virtual environment created
//! there (`python3 -m venv --system-site-packages`, then `pip install torch numpy` from
//! PyTorch's CPU index). The choice and how it was made go into the report; when none works
//! the error says what was tried.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};
use serde::Serialize;

/// The interpreter chosen, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Python {
    /// Path (or command name) of the interpreter.
    pub path: PathBuf,
    /// How it was found: `--python`, `existing venv`, `python3 on PATH`, `new venv`.
    pub found: String,
}

/// The script every import check runs: torch and numpy, nothing else.
const CHECK: &str = "import torch, numpy; print(torch.__version__)";

/// PyTorch's CPU wheels, with PyPI for numpy and torch's own dependencies.
const PIP_INDEX: [&str; 4] = [
    "--index-url",
    "https://download.pytorch.org/whl/cpu",
    "--extra-index-url",
    "https://pypi.org/simple",
];

/// The target folder of the running xtask binary (`<target>/debug/xtask` → `<target>`), or
/// `target` when the binary lives elsewhere.
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .filter(|t| t.join("CACHEDIR.TAG").is_file() || t.join("debug").is_dir())
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// `python -c CHECK` succeeds: the interpreter imports torch and numpy.
fn has_torch(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", CHECK])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Finds or creates an interpreter with torch and numpy (see the module doc).
pub fn find(explicit: Option<&Path>) -> Result<Python> {
    if let Some(p) = explicit {
        if has_torch(p) {
            return Ok(Python {
                path: p.to_path_buf(),
                found: "--python".into(),
            });
        }
        bail!(
            "--python {}: `{CHECK}` fails with that interpreter",
            p.display()
        );
    }
    let venv = target_dir().join("bench-venv");
    let venv_python = venv.join("bin/python");
    if has_torch(&venv_python) {
        return Ok(Python {
            path: venv_python,
            found: "existing venv".into(),
        });
    }
    let system = PathBuf::from("python3");
    if has_torch(&system) {
        return Ok(Python {
            path: system,
            found: "python3 on PATH".into(),
        });
    }
    create_venv(&venv)?;
    Ok(Python {
        path: venv_python,
        found: "new venv".into(),
    })
}

/// `python3 -m venv --system-site-packages VENV`, then `pip install torch numpy` from the CPU
/// index; fails with the last line pip (or venv) printed.
fn create_venv(venv: &Path) -> Result<()> {
    eprintln!(
        "--with-pytorch: no python with torch and numpy; creating {} (pip install torch numpy)",
        venv.display()
    );
    let step = |cmd: &mut Command, what: &str| -> Result<()> {
        let out = cmd.output();
        match out {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => {
                let err = String::from_utf8_lossy(&o.stderr);
                bail!(
                    "--with-pytorch: {what} failed: {}; install torch and numpy for python3 \
                     or pass --python PATH",
                    err.lines().last().unwrap_or("no message")
                )
            }
            Err(e) => bail!("--with-pytorch: {what} could not start: {e}"),
        }
    };
    step(
        Command::new("python3")
            .args(["-m", "venv", "--system-site-packages"])
            .arg(venv),
        "python3 -m venv",
    )?;
    step(
        Command::new(venv.join("bin/pip"))
            .args(["install", "torch", "numpy"])
            .args(PIP_INDEX),
        "pip install torch numpy",
    )?;
    if !has_torch(&venv.join("bin/python")) {
        bail!(
            "--with-pytorch: {} still cannot import torch",
            venv.display()
        );
    }
    Ok(())
}
