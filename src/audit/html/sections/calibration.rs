//! The calibration section: ECE, adaptive ECE, NLL and Brier before and after temperature
//! scaling, and the reliability diagrams of both.

use super::common::{figure, files, section, table};
use crate::audit::config::Stage;
use crate::audit::html::doc::Doc;
use crate::audit::html::figures;
use crate::audit::report::{AuditReport, Fmt};

/// The section's HTML.
pub fn render(doc: Doc, report: &AuditReport) -> String {
    let Some(c) = &report.calibration else {
        return section(doc, report, Stage::Calibration, "", &[], "");
    };
    let what = format!(
        "A temperature T is fitted (exact Newton on the NLL) on a seeded half of the audited test items ({} items) and every number below is measured on the other half ({} items), unscaled and at the fitted T = {}. ECE uses {} equal-width bins, adaptive ECE {} equal-mass bins (both the count-weighted mean absolute gap between accuracy and confidence of the top label). A model counts as calibrated when its held-out ECE is at most {}.",
        doc.v("/calibration/n_fit", Fmt::Int),
        doc.v("/calibration/n_eval", Fmt::Int),
        doc.v("/calibration/temperature", Fmt::Dec3),
        doc.v("/calibration/bins", Fmt::Int),
        doc.v("/calibration/bins", Fmt::Int),
        doc.v("/settings/calibration/target_ece", Fmt::Pct1),
    );
    let metric = |name: &str, key: &str, fmt: Fmt| {
        vec![
            name.to_string(),
            doc.v(&format!("/calibration/before/{key}"), fmt),
            doc.v(&format!("/calibration/after/{key}"), fmt),
        ]
    };
    let rows = vec![
        metric("ECE (equal width)", "ece", Fmt::Pct2),
        metric("adaptive ECE (equal mass)", "adaptive_ece", Fmt::Pct2),
        metric("NLL (nats per item)", "nll", Fmt::Dec4),
        metric("Brier score", "brier", Fmt::Dec4),
    ];
    let caption = |when: &str| {
        format!(
            "Reliability diagram {when}: the {} held-out items binned by confidence; blue bars are the accuracy in each bin, hatched red the gap to the bin's mean confidence (the dashed diagonal is perfect calibration); below, how many items fall in each bin, which says how much each bar can be trusted.",
            doc.v("/calibration/n_eval", Fmt::Int)
        )
    };
    let body = format!(
        "{}<div class=\"row\">{}{}</div>",
        table(&["held-out metric", "unscaled", "at the fitted T"], &rows),
        figure(
            &figures::reliability(
                doc,
                &c.reliability_before,
                "/calibration/reliability_before",
                "before temperature scaling"
            ),
            &caption("unscaled")
        ),
        figure(
            &figures::reliability(
                doc,
                &c.reliability_after,
                "/calibration/reliability_after",
                "after temperature scaling"
            ),
            &caption("after temperature scaling")
        ),
    );
    section(
        doc,
        report,
        Stage::Calibration,
        &what,
        &files(&["calibration.json", "reliability.png"]),
        &body,
    )
}
