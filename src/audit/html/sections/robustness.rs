//! The robustness section: robust accuracy against ε, the suite's stages and the sanity
//! checks against gradient masking.

use super::common::{figure, files, pass_fail, section, table};
use crate::audit::config::Stage;
use crate::audit::html::doc::Doc;
use crate::audit::html::figures;
use crate::audit::report::{AuditReport, Fmt};

/// The section's HTML.
pub fn render(doc: Doc, report: &AuditReport) -> String {
    let Some(r) = &report.robustness else {
        return section(doc, report, Stage::Robustness, "", &[], "");
    };
    let attacks: Vec<String> = (0..r.attacks.len())
        .map(|i| doc.t(&format!("/robustness/attacks/{i}")))
        .collect();
    let grid: Vec<String> = (0..r.worst_case.len())
        .map(|i| doc.v(&format!("/robustness/worst_case/{i}/eps"), Fmt::Exact))
        .collect();
    let what = format!(
        "The adversarial crate's {} suite attacks the first {} test items at every radius of the grid ε ∈ {{{}}} ({}), each stage only on the items still robust after the stages before it ({}). An item counts as robust at ε when it is classified correctly and no attack found an adversarial example within the L∞ ball. Clean accuracy on these items: {}.",
        doc.t("/robustness/suite"),
        doc.v("/robustness/n", Fmt::Int),
        grid.join(", "),
        doc.t("/robustness/space"),
        attacks.join(" → "),
        doc.v("/robustness/clean_accuracy", Fmt::Pct1),
    );
    let worst_rows: Vec<Vec<String>> = (0..r.worst_case.len())
        .map(|i| {
            vec![
                doc.v(&format!("/robustness/worst_case/{i}/eps"), Fmt::Exact),
                doc.v(&format!("/robustness/worst_case/{i}/accuracy"), Fmt::Pct1),
            ]
        })
        .collect();
    let stage_rows: Vec<Vec<String>> = (0..r.stages.len())
        .filter(|&i| r.stages[i].eps > 0.0)
        .map(|i| {
            let p = |f: &str| format!("/robustness/stages/{i}/{f}");
            vec![
                doc.v(&p("eps"), Fmt::Exact),
                doc.t(&p("attack")),
                doc.v(&p("attacked"), Fmt::Int),
                doc.v(&p("broken"), Fmt::Int),
                doc.v(&p("robust_accuracy"), Fmt::Pct1),
                doc.v(&p("seconds"), Fmt::Dec1),
            ]
        })
        .collect();
    let checks: Vec<Vec<String>> = (0..r.sanity_checks.len())
        .map(|i| {
            vec![
                pass_fail(r.sanity_checks[i].passed),
                doc.t(&format!("/robustness/sanity_checks/{i}/name")),
                doc.t(&format!("/robustness/sanity_checks/{i}/detail")),
            ]
        })
        .collect();
    let notes: Vec<String> = (0..r.notes.len())
        .map(|i| format!("<li>{}</li>", doc.t(&format!("/robustness/notes/{i}"))))
        .collect();
    let body = format!(
        "<div class=\"row\">{}{}</div><h3>Stages</h3>{}<h3>Sanity checks against gradient masking</h3>{}<ul class=\"notes\">{}</ul>",
        figure(
            &figures::robustness(doc, r),
            &format!(
                "Robust accuracy of the {} attacked items against ε; each line starts at the clean accuracy, with no attack (worst case: robust against every attack of the suite).",
                doc.v("/robustness/n", Fmt::Int)
            )
        ),
        table(&["ε", "worst-case accuracy"], &worst_rows),
        table(
            &[
                "ε",
                "attack",
                "items attacked",
                "items broken",
                "robust accuracy after it",
                "seconds"
            ],
            &stage_rows
        ),
        table(&["", "check", "measured"], &checks),
        notes.join("")
    );
    section(
        doc,
        report,
        Stage::Robustness,
        &what,
        &files(&["report.json", "report.csv", "report.png"]),
        &body,
    )
}
