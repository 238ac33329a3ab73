//! `cargo xtask audit-screenshot`: regenerates the README's picture of `aegis audit`. Trains
//! SmallCnn on the bundled MNIST (seed 1, as `aegis-model train` does) unless `--run` names a
//! run, audits it with the quick profile through the `aegis` binary (`cargo run --bin aegis`),
//! and has headless Chromium photograph the top of `report.html` (the verdicts) into
//! `docs/screenshots/audit-report.png`.

use std::path::{Path, PathBuf};
use std::process::Command;

use aegis_model::{DataSource, TrainRequest, train_run};
use anyhow::{Context, Result, bail};

/// Flags of `audit-screenshot`.
#[derive(clap::Args, Debug)]
pub struct ScreenshotArgs {
    /// Run to audit [default: train SmallCnn on bundled MNIST into target/audit-screenshot/mnist].
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// The picture to write.
    #[arg(long, default_value = "docs/screenshots/audit-report.png")]
    pub out: PathBuf,
    /// Window size WIDTHxHEIGHT of the picture.
    #[arg(long, default_value = "1280x1400")]
    pub size: String,
}

/// Chromium, from `$AEGIS_CHROMIUM` or the usual paths.
fn chromium() -> Result<PathBuf> {
    let env = std::env::var("AEGIS_CHROMIUM").unwrap_or_default();
    [
        env.as_str(),
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .filter(|c| !c.is_empty())
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .context("headless Chromium is needed: apt-get install -y chromium (or set AEGIS_CHROMIUM)")
}

/// Trains the default run, audits it and photographs the report.
pub fn run(args: ScreenshotArgs) -> Result<()> {
    let work = Path::new("target/audit-screenshot");
    let run = match args.run {
        Some(r) => r,
        None => {
            let dir = work.join("mnist");
            if !dir.join("model.bpk").is_file() {
                let mut req = TrainRequest::new(DataSource::Mnist);
                req.out = Some(dir.clone());
                train_run(&req)?;
            }
            dir
        }
    };
    let audit = work.join("audit");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "run",
            "-q",
            "--bin",
            "aegis",
            "--",
            "audit",
            "--profile",
            "quick",
            "--run",
        ])
        .arg(&run)
        .arg("--out")
        .arg(&audit)
        .status()
        .context("cargo runs the aegis binary")?;
    if !status.success() {
        bail!("aegis audit failed on {}", run.display());
    }
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let page = std::fs::canonicalize(audit.join("report.html"))?;
    let out = std::path::absolute(&args.out)?;
    let status = Command::new(chromium()?)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--window-size={}", args.size.replace('x', ",")))
        .arg(format!("--screenshot={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .stderr(std::process::Stdio::null())
        .status()?;
    if !status.success() || !out.is_file() {
        bail!("chromium did not write {}", out.display());
    }
    println!("wrote {} from {}", args.out.display(), page.display());
    Ok(())
}
