//! The certified section: robust accuracy as an interval at the headline ε, the rows bound
//! propagation proves robust (the lower end) beside the rows no attack broke (the upper end):
//! "certified X% ≤ robust accuracy ≤ attacked Y% at ε", both numbers tagged by pointer.

use super::common::{files, section, table};
use crate::audit::config::Stage;
use crate::audit::html::doc::Doc;
use crate::audit::report::{AuditReport, Fmt};

/// The section's HTML.
pub fn render(doc: Doc, report: &AuditReport) -> String {
    if report.certified.is_none() {
        return section(doc, report, Stage::Certified, "", &[], "");
    }
    let what = format!(
        "{} bounds every margin of the first {} test items over the L∞ ball of radius ε = {} ({}), the ball the attacks search. An item is verified when it is classified correctly and every margin's lower bound is positive: no input of the ball can change its prediction. Verified: {} items. Clean accuracy on these items: {}.",
        doc.t("/certified/method"),
        doc.v("/certified/n", Fmt::Int),
        doc.v("/certified/eps", Fmt::Exact),
        doc.t("/certified/space"),
        doc.v("/certified/verified", Fmt::Int),
        doc.v("/certified/clean_accuracy", Fmt::Pct1),
    );
    let certified = doc.v("/certified/verified_accuracy", Fmt::Pct1);
    let interval = if report.same_ball() {
        format!(
            "<p class=\"interval\"><strong>certified {certified} ≤ robust accuracy ≤ attacked {}</strong> at ε = {}: the true robust accuracy lies in between. The lower end is proven; the upper end is what the {} suite could not break.</p>",
            doc.v("/robustness/headline/accuracy", Fmt::Pct1),
            doc.v("/certified/eps", Fmt::Exact),
            doc.t("/robustness/suite"),
        )
    } else {
        format!(
            "<p class=\"interval\"><strong>certified {certified} ≤ robust accuracy</strong> at ε = {}; the attacks' upper end is missing (the robustness stage did not run on these items at this radius).</p>",
            doc.v("/certified/eps", Fmt::Exact),
        )
    };
    let rows = vec![vec![
        doc.t("/certified/method"),
        doc.v("/certified/eps", Fmt::Exact),
        doc.v("/certified/verified", Fmt::Int),
        certified,
        doc.v("/certified/seconds", Fmt::Dec1),
    ]];
    let body = format!(
        "{interval}{}",
        table(
            &[
                "method",
                "ε",
                "items verified",
                "verified accuracy",
                "seconds"
            ],
            &rows
        )
    );
    section(
        doc,
        report,
        Stage::Certified,
        &what,
        &files(&["bounds.json", "bounds.csv"]),
        &body,
    )
}
