//! A certification's report, `certify.json` ([`CertifyReport`]: the settings, every row's
//! certificate, the certified-accuracy curve), and its shards: `certify --shard K/N` certifies
//! the K-th of N contiguous slices of the rows into `partial.json`
//! ([`PartialCertification`]); `certify --merge DIR…` joins them into the report an unsharded
//! run writes, through the same [`summarize`]. Noise streams are keyed by the global row
//! index, so the merged report equals the unsharded one bit for bit, wall times aside.

use std::path::Path;

use aegis_model::io::{read_json_strict, write_json};
use serde::{Deserialize, Serialize};

use super::curve::{CurvePoint, certified_curve, write_curve};
use super::smoothing::{CertifiedRow, SmoothingConfig};
use crate::error::{AdversarialError, Result};
use crate::evaluation::{Shard, check_tiling, partial_path};

/// The report file of a certification.
pub const CERTIFY_FILE: &str = "certify.json";
/// The file a shard writes.
pub const PARTIAL_CERTIFY_FILE: &str = "partial.json";

/// `certify.json` of `certify --method smoothing`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertifyReport {
    /// `"smoothing"`.
    pub method: String,
    /// The settings.
    pub config: SmoothingConfig,
    /// SHA-256 of the model's weights file.
    pub model_sha256: String,
    /// Rows certified.
    pub n: usize,
    /// The smoothed classifier's accuracy: rows certified correct at radius 0.
    pub smoothed_accuracy: f64,
    /// Fraction of rows where CERTIFY abstained (`p̲_A < 1/2`).
    pub abstain_rate: f64,
    /// The largest radius the settings can certify, `σ·Φ⁻¹(α^(1/n))`.
    pub max_radius: f64,
    /// Mean certified radius over the rows certified correct.
    pub mean_correct_radius: f64,
    /// Certified accuracy against the L2 radius (`curve.csv`).
    pub curve: Vec<CurvePoint>,
    /// Wall time, the sum of the rows'.
    pub seconds: f64,
    /// Every row's certificate, in row order.
    pub rows: Vec<CertifiedRow>,
}

/// What one shard certified: `partial.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartialCertification {
    /// Which shard.
    pub shard: Shard,
    /// Its rows, `[start, end)` of `total_rows`.
    pub range: (usize, usize),
    /// Rows of the whole certification.
    pub total_rows: usize,
    /// SHA-256 of the model's weights file.
    pub model_sha256: String,
    /// The settings.
    pub config: SmoothingConfig,
    /// Its rows' certificates.
    pub rows: Vec<CertifiedRow>,
}

/// The report of `rows` (all the rows, in order) certified with `config`.
pub fn summarize(
    rows: Vec<CertifiedRow>,
    config: SmoothingConfig,
    model_sha256: String,
) -> CertifyReport {
    let n = rows.len();
    let max_radius = config.max_radius();
    let curve = certified_curve(&rows, config.sigma, max_radius);
    let correct: Vec<f64> = rows
        .iter()
        .filter(|r| r.correct)
        .map(|r| r.radius)
        .collect();
    let abstained = rows.iter().filter(|r| r.prediction.is_none()).count();
    CertifyReport {
        method: "smoothing".into(),
        smoothed_accuracy: correct.len() as f64 / n.max(1) as f64,
        abstain_rate: abstained as f64 / n.max(1) as f64,
        max_radius,
        mean_correct_radius: correct.iter().sum::<f64>() / correct.len().max(1) as f64,
        curve,
        seconds: rows.iter().map(|r| r.seconds).sum(),
        n,
        config,
        model_sha256,
        rows,
    }
}

/// Writes `dir/certify.json`, `dir/curve.csv` and `dir/curve.png`.
pub fn write_certify_report(report: &CertifyReport, dir: &Path) -> Result<()> {
    write_json(&dir.join(CERTIFY_FILE), report)?;
    let c = &report.config;
    write_curve(
        dir,
        &report.curve,
        &format!(
            "Randomized smoothing, σ={}, n={}, α={}, {} rows",
            c.sigma, c.n, c.alpha, report.n
        ),
    )
}

/// Writes `dir/partial.json` atomically.
pub fn write_partial_certification(partial: &PartialCertification, dir: &Path) -> Result<()> {
    Ok(write_json(&dir.join(PARTIAL_CERTIFY_FILE), partial)?)
}

/// Reads a shard: `path` itself when it is a file, else `path/partial.json`; checks that its
/// rows fit its range.
pub fn read_partial_certification(path: &Path) -> Result<PartialCertification> {
    let file = partial_path(path, PARTIAL_CERTIFY_FILE);
    let p: PartialCertification = read_json_strict(&file)?;
    let (start, end) = p.range;
    let indices_fit = p.rows.iter().enumerate().all(|(i, r)| r.index == start + i);
    if start > end || end > p.total_rows || p.rows.len() != end - start || !indices_fit {
        return Err(AdversarialError::invalid(
            "merge",
            format!(
                "{}: rows {start}..{end} of {} do not match its certificates",
                file.display(),
                p.total_rows
            ),
        ));
    }
    Ok(p)
}

/// Joins shards into the report of the whole certification. They must share the model, the
/// settings and the row count, and their rows must tile `0..total` exactly.
pub fn merge_certifications(mut parts: Vec<PartialCertification>) -> Result<CertifyReport> {
    let refuse = |why: String| AdversarialError::invalid("merge", why);
    let Some(first) = parts.first().cloned() else {
        return Err(refuse("no shards to merge".into()));
    };
    for p in &parts {
        if p.model_sha256 != first.model_sha256 {
            return Err(refuse(format!(
                "shard {}/{} certified another model ({} vs {})",
                p.shard.index, p.shard.count, p.model_sha256, first.model_sha256
            )));
        }
        if p.config != first.config || p.total_rows != first.total_rows {
            return Err(refuse(format!(
                "shard {}/{} ran other settings or another row set than shard {}/{}",
                p.shard.index, p.shard.count, first.shard.index, first.shard.count
            )));
        }
    }
    parts.sort_by_key(|p| p.range);
    check_tiling(parts.iter().map(|p| p.range).collect(), first.total_rows)?;
    let rows = parts.into_iter().flat_map(|p| p.rows).collect();
    Ok(summarize(rows, first.config, first.model_sha256))
}
