//! The uncertainty sections: conformal coverage and set sizes per α, and OOD detection AUROC
//! per shifted set and score.

use super::common::{figure, files, pass_fail, section, table};
use crate::audit::config::Stage;
use crate::audit::html::doc::Doc;
use crate::audit::html::figures;
use crate::audit::report::{AuditReport, Fmt};

/// The conformal section's HTML.
pub fn conformal(doc: Doc, report: &AuditReport) -> String {
    let Some(c) = &report.conformal else {
        return section(doc, report, Stage::Conformal, "", &[], "");
    };
    let what = format!(
        "Split conformal prediction with the {} score on the model's softmax: each of {} random splits calibrates the threshold on {} of the audited items and measures, on the rest, how often the set holds the label (coverage) and how many classes it holds. Split conformal covers at least the target and, in expectation, at most the target plus one over the number of calibration items plus one; coverage passes when it lies in that range widened by {} on both sides.",
        doc.t("/conformal/score"),
        doc.v("/conformal/splits", Fmt::Int),
        doc.v("/settings/conformal/calibration_fraction", Fmt::Pct1),
        doc.v("/conformal/tolerance", Fmt::Pct1),
    );
    let rows: Vec<Vec<String>> = (0..c.levels.len())
        .map(|i| {
            let p = |f: &str| format!("/conformal/levels/{i}/{f}");
            vec![
                doc.v(&p("alpha"), Fmt::Exact),
                format!(
                    "{} to {}",
                    doc.v(&p("target_coverage"), Fmt::Pct1),
                    doc.v(&p("max_expected_coverage"), Fmt::Pct1)
                ),
                format!(
                    "{} ± {}",
                    doc.v(&p("mean_coverage"), Fmt::Pct2),
                    doc.v(&p("std_coverage"), Fmt::Pct2)
                ),
                doc.v(&p("min_class_coverage"), Fmt::Pct1),
                doc.v(&p("mean_set_size"), Fmt::Dec3),
                doc.v(&p("empty_fraction"), Fmt::Pct1),
                format!(
                    "{} / {}",
                    doc.v(&p("n_calibration"), Fmt::Int),
                    doc.v(&p("n_test"), Fmt::Int)
                ),
                pass_fail(c.levels[i].within_tolerance),
            ]
        })
        .collect();
    let body = format!(
        "<div class=\"row\">{}{}</div>",
        figure(
            &figures::coverage(c),
            &format!(
                "Mean coverage over {} splits per α, against the target (dashed) and its tolerance band (grey).",
                doc.v("/conformal/splits", Fmt::Int)
            )
        ),
        table(
            &[
                "α",
                "expected coverage",
                "coverage (mean ± sd)",
                "lowest class coverage",
                "mean set size",
                "empty sets",
                "calibration / test items",
                "coverage check"
            ],
            &rows
        ),
    );
    let files: Vec<(String, String)> = (0..c.levels.len())
        .map(|i| {
            (
                format!("alpha-{}/conformal.json", c.levels[i].alpha),
                format!(
                    "conformal.json at α = {}",
                    doc.v(&format!("/conformal/levels/{i}/alpha"), Fmt::Exact)
                ),
            )
        })
        .collect();
    section(doc, report, Stage::Conformal, &what, &files, &body)
}

/// The OOD section's HTML.
pub fn ood(doc: Doc, report: &AuditReport) -> String {
    let Some(o) = &report.ood else {
        return section(doc, report, Stage::Ood, "", &[], "");
    };
    let what = format!(
        "Each set is built from the {} audited test inputs in the run's input domain (noise sets: as many random inputs of the same shape; shifts: the same images transformed channel by channel; tabular runs get the noise sets only) and ranked against them by each score of the {} estimator (higher = in distribution). The table gives the AUROC of telling the set from the real inputs (one is perfect, one half is chance); detection passes when the best score reaches {} on every noise set. Shifts keep the label, so the model's accuracy on them is given too.",
        doc.v("/ood/n_in_distribution", Fmt::Int),
        doc.t("/ood/estimator"),
        doc.v("/settings/ood/pass_auroc", Fmt::Dec2),
    );
    let mut header: Vec<String> = vec!["set".into(), "what it is".into(), "kind".into()];
    header.extend(
        (0..o.scores.len()).map(|k| format!("AUROC {}", doc.t(&format!("/ood/scores/{k}")))),
    );
    header.push("accuracy on the set".into());
    let rows: Vec<Vec<String>> = (0..o.sets.len())
        .map(|i| {
            let p = |f: &str| format!("/ood/sets/{i}/{f}");
            let mut r = vec![
                doc.t(&p("set")),
                doc.t(&p("label")),
                if o.sets[i].noise {
                    "noise".into()
                } else {
                    "shift".into()
                },
            ];
            r.extend(o.scores.iter().map(|s| {
                let v = o.sets[i].auroc.get(s).copied().unwrap_or(0.0);
                let class = if v >= 0.9 {
                    "good"
                } else if v >= 0.7 {
                    "fair"
                } else {
                    "poor"
                };
                format!(
                    "<span class=\"{class}\">{}</span>",
                    doc.v(&p(&format!("auroc/{s}")), Fmt::Dec3)
                )
            }));
            r.push(if o.sets[i].shifted_accuracy.is_some() {
                doc.v(&p("shifted_accuracy"), Fmt::Pct1)
            } else {
                "none (noise has no label)".into()
            });
            r
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    section(
        doc,
        report,
        Stage::Ood,
        &what,
        &files(&["ood.json", "ood.csv", "ood.png"]),
        &table(&header, &rows),
    )
}
