//! The accuracy section: overall accuracy, the confusion matrix and per-class accuracy.

use super::common::{figure, section, table};
use crate::audit::config::Stage;
use crate::audit::html::doc::Doc;
use crate::audit::html::figures;
use crate::audit::report::{AuditReport, Fmt};

/// The section's HTML.
pub fn render(doc: Doc, report: &AuditReport) -> String {
    let Some(a) = &report.accuracy else {
        return section(doc, report, Stage::Accuracy, "", &[], "");
    };
    let what = format!(
        "Each of the {} audited test items is classified once; accuracy is the fraction whose most probable class is the label ({} correct, {}; mean top-class probability {}).",
        doc.v("/accuracy/n", Fmt::Int),
        doc.v("/accuracy/correct", Fmt::Int),
        doc.v("/accuracy/accuracy", Fmt::Pct1),
        doc.v("/accuracy/mean_confidence", Fmt::Pct1),
    );
    // A model with many classes (ImageNet's 1,000) lists the classes it has test items of.
    let many = a.per_class.len() > figures::CONFUSION_MAX_CLASSES;
    let rows: Vec<Vec<String>> = (0..a.per_class.len())
        .filter(|&k| !many || a.per_class[k].n > 0)
        .map(|k| {
            let p = |f: &str| format!("/accuracy/per_class/{k}/{f}");
            vec![
                doc.t(&p("name")),
                doc.v(&p("n"), Fmt::Int),
                doc.v(&p("correct"), Fmt::Int),
                if a.per_class[k].n == 0 {
                    "no test items".to_string()
                } else {
                    doc.v(&p("accuracy"), Fmt::Pct1)
                },
            ]
        })
        .collect();
    let body = format!(
        "<div class=\"row\">{}{}</div>",
        figure(
            &figures::confusion(doc, a),
            &format!(
                "Confusion matrix of the {} test items{}: rows are the true class, columns the predicted class; each cell holds its count and is shaded by its share of the row.",
                doc.v("/accuracy/n", Fmt::Int),
                if many {
                    " over the classes with the most test items and predictions (at most twenty of the model's classes)"
                } else {
                    ""
                }
            ),
        ),
        table(&["class", "items", "correct", "accuracy (recall)"], &rows),
    );
    let body = if many {
        format!("{body}<p>Classes without test items are not listed.</p>")
    } else {
        body
    };
    section(doc, report, Stage::Accuracy, &what, &[], &body)
}
