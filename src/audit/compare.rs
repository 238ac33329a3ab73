//! [`compare_audits`]: reads two `audit.json` files and writes `compare.html` beside them.

use std::path::{Path, PathBuf};

use aegis_model::io::write_atomic;

use super::html::{Side, render_compare};
use super::report::AuditReport;
use crate::error::{AuditError, Result};

/// How the comparison names an audit: its run directory as recorded.
fn name(report: &AuditReport) -> String {
    report.model.run.clone()
}

/// Compares the audits in `a` and `b` (folders holding `audit.json`, or the files) and writes
/// `out/compare.html` (default `out`: `a`'s folder). Returns the page's path.
pub fn compare_audits(a: &Path, b: &Path, out: Option<&Path>) -> Result<PathBuf> {
    let (ra, ja) = AuditReport::read(a)?;
    let (rb, jb) = AuditReport::read(b)?;
    let folder = match out {
        Some(o) => o.to_path_buf(),
        None if a.is_dir() => a.to_path_buf(),
        None => a
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    };
    if folder.exists() && !folder.is_dir() {
        return Err(AuditError::invalid(
            "out",
            format!("{} is a file, not a folder", folder.display()),
        ));
    }
    let (mut na, mut nb) = (name(&ra), name(&rb));
    if na == nb {
        na = format!("{na} ({})", a.display());
        nb = format!("{nb} ({})", b.display());
    }
    let html = render_compare(
        &Side {
            report: &ra,
            json: &ja,
            name: na,
        },
        &Side {
            report: &rb,
            json: &jb,
            name: nb,
        },
    );
    std::fs::create_dir_all(&folder).map_err(|e| AuditError::io(&folder, e))?;
    let path = folder.join("compare.html");
    write_atomic(&path, html.as_bytes())?;
    Ok(path)
}
