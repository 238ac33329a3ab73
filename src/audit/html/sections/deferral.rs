//! The deferral section: the SGR threshold, its coverage and risk, the guarantee's record over
//! random splits, and the risk–coverage curve; how many items a certificate needs at all, and,
//! when no threshold was found, whether the set was too small or the model's errors the cause.

use super::common::{figure, files, section, table};
use crate::audit::config::Stage;
use crate::audit::html::doc::Doc;
use crate::audit::html::figures;
use crate::audit::report::{AuditReport, Fmt};
use crate::audit::stages::DeferralResult;

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
        vec![
            "calibration items any certificate needs".into(),
            doc.v("/deferral/min_calibration_items", Fmt::Int),
        ],
        vec![
            "audited items that takes".into(),
            doc.v("/deferral/min_items", Fmt::Int),
        ],
    ];
    let body = format!(
        "{}<div class=\"row\">{}{}</div>",
        infeasible(doc, d),
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

/// Why no threshold was found (empty when one was): too few calibration items for any
/// certificate at this risk and δ, or the model's confident errors.
fn infeasible(doc: Doc, d: &DeferralResult) -> String {
    if d.feasible {
        return String::new();
    }
    let why = if d.n_calibration < d.min_calibration_items {
        format!(
            "The split has {} calibration items, and a certificate of a selective risk below {} at δ = {} needs at least {} even if every one is accepted and none is misclassified (the binomial bound SGR uses, with δ split over its search steps), that is at least {} audited items at this calibration fraction. Every input is deferred because the audited set is too small for this guarantee, not because of the model: audit more items, or ask for a larger target risk or δ.",
            doc.v("/deferral/n_calibration", Fmt::Int),
            doc.v("/deferral/target_risk", Fmt::Pct1),
            doc.v("/deferral/delta", Fmt::Exact),
            doc.v("/deferral/min_calibration_items", Fmt::Int),
            doc.v("/deferral/min_items", Fmt::Int),
        )
    } else {
        format!(
            "The split has enough calibration items for a certificate ({} where an error-free set needs {}), but the model's errors among its most confident items keep every searched threshold's risk bound above the target {}.",
            doc.v("/deferral/n_calibration", Fmt::Int),
            doc.v("/deferral/min_calibration_items", Fmt::Int),
            doc.v("/deferral/target_risk", Fmt::Pct1),
        )
    };
    format!("<p class=\"skipped\">No threshold found. {why}</p>")
}
