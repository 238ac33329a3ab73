//! The deferral section: the SGR threshold, its coverage and risk, the guarantee's record over
//! random splits, and the risk–coverage curve.

use super::common::{figure, files, section, table};
use crate::audit::config::Stage;
use crate::audit::html::doc::Doc;
use crate::audit::html::figures;
use crate::audit::report::{AuditReport, Fmt};

/// The section's HTML.
pub fn render(doc: Doc, report: &AuditReport) -> String {
    let Some(d) = &report.deferral else {
        return section(doc, report, Stage::Deferral, "", &[], "");
    };
    let what = format!(
        "Selection with Guaranteed Risk (Geifman &amp; El-Yaniv) picks the lowest {} confidence threshold whose selective risk is, with probability at least one minus δ = {}, below the target r* = {}, using {} calibration items; items below the threshold are deferred to a human. The threshold is deployed on the other {} items of the same split, and the experiment is repeated over {} random splits to see how often the held-out risk breaks the target.",
        doc.t("/deferral/confidence"),
        doc.v("/deferral/delta", Fmt::Exact),
        doc.v("/deferral/target_risk", Fmt::Pct1),
        doc.v("/deferral/n_calibration", Fmt::Int),
        doc.v("/deferral/n_test", Fmt::Int),
        doc.v("/deferral/splits", Fmt::Int),
    );
    let rows = vec![
        vec![
            "threshold found".into(),
            if d.feasible {
                "yes".into()
            } else {
                "no: every item is deferred".into()
            },
        ],
        vec![
            "threshold (confidence)".into(),
            doc.v("/deferral/threshold", Fmt::Dec4),
        ],
        vec![
            "risk bound at δ".into(),
            doc.v("/deferral/risk_bound", Fmt::Pct2),
        ],
        vec![
            "held-out coverage (automated)".into(),
            doc.v("/deferral/coverage", Fmt::Pct1),
        ],
        vec![
            "deferred to a human".into(),
            doc.v("/deferral/deferral_rate", Fmt::Pct1),
        ],
        vec![
            "held-out selective risk".into(),
            doc.v("/deferral/risk", Fmt::Pct2),
        ],
        vec![
            "mean coverage over the splits".into(),
            doc.v("/deferral/mean_coverage", Fmt::Pct1),
        ],
        vec![
            "mean risk over the splits".into(),
            doc.v("/deferral/mean_risk", Fmt::Pct2),
        ],
        vec![
            "splits whose risk exceeded r*".into(),
            doc.v("/deferral/violation_rate", Fmt::Pct1),
        ],
        vec![
            "splits where a threshold was found".into(),
            doc.v("/deferral/feasible_rate", Fmt::Pct1),
        ],
    ];
    let body = format!(
        "<div class=\"row\">{}{}</div>",
        figure(
            &figures::risk_coverage(d),
            &format!(
                "Risk–coverage curve of the {} deployment items: accepting the most confident items first, the error rate among those accepted; dashed, the target risk; the dot marks the deployed threshold.",
                doc.v("/deferral/n_test", Fmt::Int)
            )
        ),
        table(&["", "deployment split"], &rows),
    );
    section(
        doc,
        report,
        Stage::Deferral,
        &what,
        &files(&["sgr.json"]),
        &body,
    )
}
