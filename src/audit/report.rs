//! `audit.json`: [`AuditReport`], every number the HTML report shows, with the settings, the
//! versions, the model's SHA-256, what each stage did ([`StageRecord`]) and the verdicts
//! ([`Verdict`]) whose evidence points into the same document (JSON pointers), so the report
//! and the JSON cannot disagree.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cache::StageStatus;
use super::config::{AuditSettings, Stage};
use super::stages::{
    AccuracyResult, CalibrationResult, CertifiedResult, ConformalResult, DeferralResult,
    ExplainResult, OodResult, RobustnessResult,
};
use crate::error::{AuditError, Result};

/// Version of the `audit.json` layout.
pub const FORMAT: u32 = 1;

/// The Burn version the workspace pins (checked against `Cargo.toml` by a test).
pub const BURN_VERSION: &str = "0.22.1";

/// How a number is written in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fmt {
    /// A fraction as a percentage with one decimal (`0.932` → `93.2%`).
    Pct1,
    /// A fraction as a percentage with two decimals.
    Pct2,
    /// One decimal.
    Dec1,
    /// Two decimals.
    Dec2,
    /// Three decimals.
    Dec3,
    /// Four decimals.
    Dec4,
    /// Scientific, three significant digits (`1.23e-3`).
    Sci,
    /// An integer.
    Int,
    /// The shortest decimal that reads back as the same number (radii, α, δ).
    Exact,
    /// A string.
    Text,
}

/// One piece of evidence of a verdict: a value of this document, with its label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Label written before the value (when `label_pointer` is `None`).
    pub label: String,
    /// A string of this document used as the label instead (e.g. a set or check name).
    pub label_pointer: Option<String>,
    /// JSON pointer of the value in this document.
    pub pointer: String,
    /// How it is written.
    pub fmt: Fmt,
}

impl Evidence {
    /// Evidence with a literal label.
    pub fn new(label: &str, pointer: impl Into<String>, fmt: Fmt) -> Self {
        Self {
            label: label.to_string(),
            label_pointer: None,
            pointer: pointer.into(),
            fmt,
        }
    }

    /// Evidence labelled by a string of the document.
    pub fn labelled_by(
        label_pointer: impl Into<String>,
        pointer: impl Into<String>,
        fmt: Fmt,
    ) -> Self {
        Self {
            label: String::new(),
            label_pointer: Some(label_pointer.into()),
            pointer: pointer.into(),
            fmt,
        }
    }
}

/// The outcome of a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictStatus {
    /// A check failed: the report's summary says so first.
    Fail,
    /// Holds only partly (e.g. calibrated only after temperature scaling).
    Warn,
    /// Holds.
    Pass,
    /// A measurement without a bar (e.g. accuracy).
    Info,
}

/// One line of the summary: a claim and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The stage it is about.
    pub stage: Stage,
    /// Its outcome.
    pub status: VerdictStatus,
    /// The claim, in words without numbers (the numbers are the evidence).
    pub claim: String,
    /// The numbers.
    pub evidence: Vec<Evidence>,
}

/// What happened to one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// The stage.
    pub stage: Stage,
    /// Computed, cached, skipped or failed.
    pub status: StageStatus,
    /// Seconds of its computation (also when read from the cache; 0 when skipped; until the
    /// failure when failed).
    pub seconds: f64,
    /// Why it was skipped, or, when it failed, the error in one line (a panic reads
    /// `panicked at FILE:LINE:COL: MESSAGE`); `None` for a computed or cached stage.
    pub reason: Option<String>,
}

/// Versions of what produced the audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    /// This package.
    pub aegis: String,
    /// Burn.
    pub burn: String,
    /// The Aegis version that wrote the run.
    pub run_aegis: String,
    /// Operating system and architecture.
    pub platform: String,
}

/// The audited model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The run directory, as given.
    pub run: String,
    /// SHA-256 of `model.bpk`.
    pub sha256: String,
    /// Architecture (`smallcnn`, `mlp`, `madrycnn`, `sequential` for specs and imports).
    pub architecture: String,
    /// The weights file a PyTorch model was imported from (`aegis-model import`).
    pub imported_from: Option<String>,
    /// The data source of the run.
    pub data: String,
    /// Images (rather than a table).
    pub image: bool,
    /// Shape of one sample.
    pub input_shape: Vec<usize>,
    /// Class names.
    pub class_names: Vec<String>,
    /// Training rows.
    pub n_train: usize,
    /// Rows of the run's test split.
    pub n_test: usize,
    /// The device the audit ran on.
    pub device: String,
}

/// An `audit.json` written before the certified stage existed has no `settings.certified`:
/// they are filled in as its profile would set them (its `certified` result stays absent), so
/// `--compare` reads it. Anything malformed is left for the parse to report.
fn fill_certified_settings(value: &mut serde_json::Value) {
    let Some(settings) = value.get_mut("settings").and_then(|s| s.as_object_mut()) else {
        return;
    };
    if settings.contains_key("certified") {
        return;
    }
    let field = |v: Option<&serde_json::Value>| v.cloned().unwrap_or_default();
    let profile = serde_json::from_value(field(settings.get("profile")));
    let rows = serde_json::from_value(field(settings.get("rows")));
    let units = serde_json::from_value(field(
        settings.get("robustness").and_then(|r| r.get("units")),
    ));
    if let (Ok(profile), Ok(rows), Ok(units)) = (profile, rows, units) {
        let certified = AuditSettings::new(profile, rows, units).certified;
        if let Ok(v) = serde_json::to_value(certified) {
            settings.insert("certified".into(), v);
        }
    }
}

/// `audit.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditReport {
    /// [`FORMAT`].
    pub format: u32,
    /// When the report was written (UTC, RFC 3339).
    pub created: String,
    /// Versions.
    pub versions: Versions,
    /// The model.
    pub model: ModelInfo,
    /// Every setting.
    pub settings: AuditSettings,
    /// Every stage, in order.
    pub stages: Vec<StageRecord>,
    /// The summary, failures first.
    pub verdicts: Vec<Verdict>,
    /// Stage `accuracy`.
    pub accuracy: Option<AccuracyResult>,
    /// Stage `robustness`.
    pub robustness: Option<RobustnessResult>,
    /// Stage `certified`: the lower end of the robust-accuracy interval at the headline ε.
    pub certified: Option<CertifiedResult>,
    /// Stage `calibration`.
    pub calibration: Option<CalibrationResult>,
    /// Stage `conformal`.
    pub conformal: Option<ConformalResult>,
    /// Stage `ood`.
    pub ood: Option<OodResult>,
    /// Stage `explain`.
    pub explain: Option<ExplainResult>,
    /// Stage `deferral`.
    pub deferral: Option<DeferralResult>,
    /// Seconds of every stage's computation together.
    pub seconds: f64,
}

impl AuditReport {
    /// Reads an `audit.json` (`path` itself, or `path/audit.json` for a folder).
    pub fn read(path: &Path) -> Result<(Self, serde_json::Value)> {
        let file = if path.extension().is_some_and(|e| e == "json") {
            path.to_path_buf()
        } else {
            path.join("audit.json")
        };
        let text = std::fs::read_to_string(&file).map_err(|e| AuditError::io(&file, e))?;
        let mut value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| AuditError::corrupt(&file, format!("not an audit.json: {e}")))?;
        fill_certified_settings(&mut value);
        let report: Self = serde_json::from_value(value.clone())
            .map_err(|e| AuditError::corrupt(&file, format!("not an audit.json: {e}")))?;
        if report.format != FORMAT {
            return Err(AuditError::corrupt(
                &file,
                format!(
                    "audit.json format {} (this aegis reads {FORMAT})",
                    report.format
                ),
            ));
        }
        Ok((report, value))
    }

    /// Whether the robustness stage attacked the rows the certified stage bounded, at its
    /// radius, so that its headline accuracy is the upper end of the certified interval.
    pub fn same_ball(&self) -> bool {
        match (&self.robustness, &self.certified) {
            (Some(r), Some(c)) => {
                r.n == c.n && r.units == c.units && (r.headline.eps - c.eps).abs() <= 1e-12
            }
            _ => false,
        }
    }

    /// The record of `stage`.
    pub fn record(&self, stage: Stage) -> Option<&StageRecord> {
        self.stages.iter().find(|r| r.stage == stage)
    }
}

/// `secs` since the Unix epoch as an RFC 3339 UTC time (`2026-12-01T08:11:54Z`).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_112_714), "2026-12-01T08:11:54Z");
    }

    #[test]
    fn the_burn_version_is_the_one_the_workspace_pins() {
        let toml = include_str!("../../Cargo.toml");
        assert!(
            toml.contains(&format!("burn = {{ version = \"={BURN_VERSION}\"")),
            "Cargo.toml pins another Burn than {BURN_VERSION}"
        );
    }
}
