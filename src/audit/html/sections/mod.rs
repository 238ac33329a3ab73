//! One section of the report per stage, each a file; `common.rs` holds their frame (heading,
//! how the stage ran, links to its files), figures and tables.

mod accuracy;
mod calibration;
mod certified;
mod common;
mod deferral;
mod explain;
mod robustness;
mod uncertainty;

pub use common::table;

use std::path::Path;

use super::doc::Doc;
use crate::audit::report::AuditReport;
use crate::error::Result;

/// Every section, in stage order.
pub fn all(doc: Doc, report: &AuditReport, out: &Path) -> Result<String> {
    Ok([
        accuracy::render(doc, report),
        robustness::render(doc, report),
        certified::render(doc, report),
        calibration::render(doc, report),
        uncertainty::conformal(doc, report),
        uncertainty::ood(doc, report),
        explain::render(doc, report, out)?,
        deferral::render(doc, report),
    ]
    .concat())
}
