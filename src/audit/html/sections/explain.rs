//! The explanations section: IG and SmoothGrad of the chosen items (heatmaps embedded as
//! base64 PNG for images, signed bars for tables), the deletion curves against a random order,
//! the parameter-randomisation test and the crate's checks.

use std::path::Path;

use base64::Engine;

use super::common::{figure, files, pass_fail, section, table};
use crate::audit::config::Stage;
use crate::audit::html::doc::{Doc, esc};
use crate::audit::html::figures;
use crate::audit::report::{AuditReport, Fmt};
use crate::error::{AuditError, Result};

/// An `<img>` of a PNG under the stage folder, embedded as a data URI.
fn embedded_png(dir: &Path, file: &str, alt: &str) -> Result<String> {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).map_err(|e| AuditError::io(&path, e))?;
    Ok(format!(
        "<img src=\"data:image/png;base64,{}\" alt=\"{}\">",
        base64::engine::general_purpose::STANDARD.encode(bytes),
        esc(alt)
    ))
}

/// The explained items: one card each.
fn items(doc: Doc, report: &AuditReport, dir: &Path) -> Result<String> {
    let Some(e) = &report.explain else {
        return Ok(String::new());
    };
    let mut cards = String::new();
    for (i, item) in e.items.iter().enumerate() {
        let p = |f: &str| format!("/explain/items/{i}/{f}");
        let pictures = if e.image {
            let mut s = String::new();
            for (file, name) in [
                (&item.ig_png, "integrated gradients"),
                (&item.smoothgrad_png, "SmoothGrad"),
            ] {
                if let Some(f) = file {
                    s.push_str(&format!(
                        "<div class=\"pic\">{}<div class=\"small\">input | {name}</div></div>",
                        embedded_png(dir, f, &format!("{name} heatmap"))?
                    ));
                }
            }
            s
        } else {
            figures::feature_bars(item)
        };
        let delta = if item.ig_relative_delta.is_some() {
            format!(
                "; IG completeness gap {}",
                doc.v(&p("ig_relative_delta"), Fmt::Pct2)
            )
        } else {
            String::new()
        };
        cards.push_str(&format!(
            "<figure class=\"card\">{pictures}<figcaption><strong>{}</strong>: item {}, label {}, predicted {} with probability {}{delta}</figcaption></figure>",
            doc.t(&p("group")),
            doc.v(&p("index"), Fmt::Int),
            doc.t(&p("label")),
            doc.t(&p("predicted")),
            doc.v(&p("confidence"), Fmt::Pct1),
        ));
    }
    Ok(cards)
}

/// The section's HTML; `out` is the audit's folder (the heatmaps are read from it).
pub fn render(doc: Doc, report: &AuditReport, out: &Path) -> Result<String> {
    let Some(e) = &report.explain else {
        return Ok(section(doc, report, Stage::Explain, "", &[], ""));
    };
    let dir = out.join("stages").join(Stage::Explain.key());
    let what = format!(
        "Integrated gradients ({} Gauss–Legendre points, from a {} baseline) and SmoothGrad ({} noisy copies) explain the predicted class of three groups of audited items: the most confident correct predictions, the most confident mistakes and the least confident predictions. Faithfulness: deleting the features in each method's order from the first {} items should lower the predicted class's probability faster than a random order (smaller area under the deletion curve). Sanity: after randomising the model's layers (output first, on {} items) the explanations should change (Spearman correlation with the trained model's below one half).",
        doc.v("/settings/explain/ig_steps", Fmt::Int),
        if e.image {
            "black image"
        } else {
            "training-mean"
        },
        doc.v("/settings/explain/smoothgrad_samples", Fmt::Int),
        doc.v("/explain/quality_rows", Fmt::Int),
        doc.v("/explain/randomization_rows", Fmt::Int),
    );
    let key = if e.image {
        format!("<div class=\"key\">{}</div>", figures::attribution_key())
    } else {
        String::new()
    };
    let auc_rows: Vec<Vec<String>> = (0..e.deletion.len())
        .map(|i| {
            vec![
                doc.t(&format!("/explain/deletion/{i}/method")),
                doc.v(&format!("/explain/deletion/{i}/auc"), Fmt::Dec4),
            ]
        })
        .collect();
    let rand_rows: Vec<Vec<String>> = (0..e.randomization.len())
        .map(|i| {
            let p = |f: &str| format!("/explain/randomization/{i}/{f}");
            vec![
                doc.t(&p("method")),
                doc.t(&p("layer")),
                doc.v(&p("layers"), Fmt::Int),
                doc.v(&p("spearman_signed"), Fmt::Dec3),
                doc.v(&p("spearman_abs"), Fmt::Dec3),
            ]
        })
        .collect();
    let checks: Vec<Vec<String>> = (0..e.checks.len())
        .map(|i| {
            vec![
                pass_fail(e.checks[i].passed),
                doc.t(&format!("/explain/checks/{i}/name")),
                doc.t(&format!("/explain/checks/{i}/detail")),
            ]
        })
        .collect();
    let body = format!(
        "{key}<div class=\"cards\">{}</div><h3>Faithfulness</h3><div class=\"row\">{}{}</div><h3>Parameter randomisation</h3>{}<h3>Checks</h3>{}",
        items(doc, report, &dir)?,
        figure(
            &figures::deletion(e),
            &format!(
                "Mean probability of the predicted class over {} items as features are deleted (set to the baseline) in each order.",
                doc.v("/explain/quality_rows", Fmt::Int)
            )
        ),
        table(&["deletion order", "area under the curve"], &auc_rows),
        table(
            &[
                "method",
                "randomised down to layer",
                "layers randomised",
                "Spearman (signed)",
                "Spearman (absolute)"
            ],
            &rand_rows
        ),
        table(&["", "check", "measured"], &checks),
    );
    Ok(section(
        doc,
        report,
        Stage::Explain,
        &what,
        &files(&["evaluation.json", "curves.png"]),
        &body,
    ))
}
