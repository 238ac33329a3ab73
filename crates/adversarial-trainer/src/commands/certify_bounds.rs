//! `certify --method ibp|crown`: L∞ verification of a run's test rows by bound propagation
//! ([`crate::certified::bounds::certify_bounds`]: IBP, Gowal et al. 2018; CROWN, Zhang et al. 2018). The ball of radius
//! `--eps` (raw input units) is clipped to the run's input domain, widened to hold the
//! certified rows as the attacks' box is. Writes `bounds.json` (settings, verified and clean
//! accuracy, per row every margin's lower bound) and `bounds.csv` (one line per row: label,
//! prediction, verified, the smallest margin bound).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use aegis_model::io::{write_atomic, write_json};
use aegis_model::{Dataset, InputDomain, Model};
use serde::{Deserialize, Serialize};

use crate::attacks::{EpsUnits, ThreatSpace};
use crate::certified::bounds::{BoundRow, BoundsConfig, certify_bounds_scaled};
use crate::error::Result;

/// `bounds.json`.
pub const BOUNDS_FILE: &str = "bounds.json";
/// `bounds.csv`.
pub const BOUNDS_CSV: &str = "bounds.csv";

/// What bound propagation proved on a run's rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundsReport {
    /// The settings (radius, method, intermediate bounds, rows per batch).
    pub config: BoundsConfig,
    /// SHA-256 of the run's `model.bpk`.
    pub model_sha256: String,
    /// Rows certified.
    pub n: usize,
    /// Fraction predicted correctly on the clean rows.
    pub clean_accuracy: f64,
    /// Fraction verified: correct, and every margin's lower bound > 0 over the whole box (a
    /// lower bound on the robust accuracy at `eps`).
    pub verified_accuracy: f64,
    /// Wall-clock seconds of the bound propagation.
    pub seconds: f64,
    /// Per row, in row order.
    pub rows: Vec<BoundRow>,
}

/// Bounds every margin of `data`'s rows under `config` on `model`'s `device`, inside the
/// input domain `domain` (widened to hold the rows).
pub fn certify_run_bounds(
    model: &Model,
    data: &Dataset,
    domain: &InputDomain,
    config: &BoundsConfig,
    model_sha256: String,
    device: &aegis_model::burn::tensor::Device,
) -> Result<BoundsReport> {
    let space = ThreatSpace::for_domain(&domain.covering(data), Some(EpsUnits::Raw), None)?;
    certify_space_bounds(model, data, &space, config, model_sha256, device)
}

/// Bounds every margin of `data`'s rows under `config` inside the attacks' threat `space`:
/// its box, and ε in its units (`config.eps` times each feature's scale for `std` units, so
/// the ball is the one the attacks search).
pub fn certify_space_bounds(
    model: &Model,
    data: &Dataset,
    space: &ThreatSpace,
    config: &BoundsConfig,
    model_sha256: String,
    device: &aegis_model::burn::tensor::Device,
) -> Result<BoundsReport> {
    let start = Instant::now();
    let rows = certify_bounds_scaled(
        model,
        &data.features,
        &data.labels,
        space.bounds.lower(),
        space.bounds.upper(),
        &space.scale,
        config,
        device,
    )?;
    let n = rows.len().max(1) as f64;
    Ok(BoundsReport {
        config: config.clone(),
        model_sha256,
        n: rows.len(),
        clean_accuracy: rows.iter().filter(|r| r.prediction == r.label).count() as f64 / n,
        verified_accuracy: rows.iter().filter(|r| r.verified).count() as f64 / n,
        seconds: start.elapsed().as_secs_f64(),
        rows,
    })
}

/// The smallest margin lower bound of a row (`None` for a one-class model).
fn min_margin(row: &BoundRow) -> Option<f64> {
    row.margin_lower.iter().flatten().copied().reduce(f64::min)
}

/// Writes `bounds.json` and `bounds.csv` into `dir`, each atomically.
pub fn write_bounds_report(report: &BoundsReport, dir: &Path) -> Result<()> {
    write_json(&dir.join(BOUNDS_FILE), report)?;
    let mut csv = String::from("index,label,prediction,verified,min_margin_lower\n");
    for r in &report.rows {
        let m = min_margin(r).map_or(String::new(), |m| format!("{m}"));
        let _ = writeln!(
            csv,
            "{},{},{},{},{m}",
            r.index, r.label, r.prediction, r.verified
        );
    }
    write_atomic(&dir.join(BOUNDS_CSV), csv.as_bytes())?;
    Ok(())
}

/// Prints the verified accuracy and where the files are.
pub fn print_bounds_report(report: &BoundsReport, dir: &Path) {
    let c = &report.config;
    println!(
        "{} at L∞ ε={} on {} rows: verified accuracy {:.2}% (clean {:.2}%), {:.1}s",
        c.method.label(),
        c.eps,
        report.n,
        100.0 * report.verified_accuracy,
        100.0 * report.clean_accuracy,
        report.seconds
    );
    println!("written to {}/{BOUNDS_FILE}, {BOUNDS_CSV}", dir.display());
}
