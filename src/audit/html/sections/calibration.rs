//! The calibration section: ECE, adaptive ECE, NLL and Brier before and after temperature
//! scaling, and the reliability diagrams of both; when the fit half could not estimate a
//! temperature, the reason, and the unscaled numbers and diagram only.

use super::common::{figure, files, section, table};
use crate::audit::config::Stage;
use crate::audit::html::doc::Doc;
use crate::audit::html::figures;
use crate::audit::report::{AuditReport, Fmt};
use crate::audit::stages::CalibrationResult;

/// The section's HTML.
pub fn render(doc: Doc, report: &AuditReport) -> String {
    let Some(c) = &report.calibration else {
        return section(doc, report, Stage::Calibration, "", &[], "");
    };
    if !c.temperature_estimated {
        return not_estimated(doc, report, c);
    }
    let what = format!(
        "A temperature T is fitted (exact Newton on the NLL) on a seeded half of the audited test items ({} items) and every number below is measured on the other half ({} items), unscaled and at the fitted T = {}. {}",
        doc.v("/calibration/n_fit", Fmt::Int),
        doc.v("/calibration/n_eval", Fmt::Int),
        doc.v("/calibration/temperature", Fmt::Dec3),
        bins_and_bar(doc),
    );
    let rows = vec![
        metric(doc, "ECE (equal width)", "ece", Fmt::Pct2),
        metric(doc, "adaptive ECE (equal mass)", "adaptive_ece", Fmt::Pct2),
        metric(doc, "NLL (nats per item)", "nll", Fmt::Dec4),
        metric(doc, "Brier score", "brier", Fmt::Dec4),
    ];
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
            &caption(doc, "unscaled")
        ),
        figure(
            &figures::reliability(
                doc,
                &c.reliability_after,
                "/calibration/reliability_after",
                "after temperature scaling"
            ),
            &caption(doc, "after temperature scaling")
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

/// The bins of both ECEs and the bar, a sentence.
fn bins_and_bar(doc: Doc) -> String {
    format!(
        "ECE uses {} equal-width bins, adaptive ECE {} equal-mass bins (both the count-weighted mean absolute gap between accuracy and confidence of the top label). A model counts as calibrated when its held-out ECE is at most {}.",
        doc.v("/calibration/bins", Fmt::Int),
        doc.v("/calibration/bins", Fmt::Int),
        doc.v("/settings/calibration/target_ece", Fmt::Pct1),
    )
}

/// A row of the metrics table: the metric unscaled and at the fitted T.
fn metric(doc: Doc, name: &str, key: &str, fmt: Fmt) -> Vec<String> {
    vec![
        name.to_string(),
        doc.v(&format!("/calibration/before/{key}"), fmt),
        doc.v(&format!("/calibration/after/{key}"), fmt),
    ]
}

/// The caption of a reliability diagram `when`.
fn caption(doc: Doc, when: &str) -> String {
    format!(
        "Reliability diagram {when}: the {} held-out items binned by confidence; blue bars are the accuracy in each bin, hatched red the gap to the bin's mean confidence (the dashed diagonal is perfect calibration); below, how many items fall in each bin, which says how much each bar can be trusted.",
        doc.v("/calibration/n_eval", Fmt::Int)
    )
}

/// The section when the fit half could not estimate a temperature: why, then the unscaled
/// numbers and diagram (the "after" ones are the same and are not shown as a finding).
fn not_estimated(doc: Doc, report: &AuditReport, c: &CalibrationResult) -> String {
    let what = format!(
        "A temperature T would be fitted (exact Newton on the NLL) on a seeded half of the audited test items ({} items, {} of them misclassified) and every number below is measured on the other half ({} items). {}",
        doc.v("/calibration/n_fit", Fmt::Int),
        doc.v("/calibration/fit_misclassified", Fmt::Int),
        doc.v("/calibration/n_eval", Fmt::Int),
        bins_and_bar(doc),
    );
    let rows: Vec<Vec<String>> = [
        ("ECE (equal width)", "ece", Fmt::Pct2),
        ("adaptive ECE (equal mass)", "adaptive_ece", Fmt::Pct2),
        ("NLL (nats per item)", "nll", Fmt::Dec4),
        ("Brier score", "brier", Fmt::Dec4),
    ]
    .into_iter()
    .map(|(name, key, fmt)| {
        let mut row = metric(doc, name, key, fmt);
        row.pop();
        row
    })
    .collect();
    let body = format!(
        "<p class=\"skipped\">Temperature not estimated: {}. Below {} events of each kind per fitted parameter (the rule of Peduzzi et al. for logistic regression, of which temperature scaling is the one-parameter case) the fitted T describes a handful of items, not the model, so it is not reported as a finding.</p>{}<div class=\"row\">{}</div>",
        doc.t("/calibration/not_estimated_reason"),
        doc.v("/calibration/min_fit_events", Fmt::Int),
        table(&["held-out metric", "unscaled"], &rows),
        figure(
            &figures::reliability(
                doc,
                &c.reliability_before,
                "/calibration/reliability_before",
                "unscaled"
            ),
            &caption(doc, "unscaled")
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
