//! `compare.html`: two audits side by side (e.g. an undefended model and its TRADES version):
//! the key numbers with their differences, highlighted where one model is better, the
//! robustness and risk–coverage curves of both in one chart, and both summaries.

use std::fmt::Write;

use serde_json::Value;

use super::doc::{Doc, esc, format_value};
use super::page::{CSS, summary};
use super::svg::{Mark, PALETTE, Plot, labelled, tick_text, ticks};
use crate::audit::report::{AuditReport, Fmt};

/// One audit of the comparison.
pub struct Side<'a> {
    /// Its `audit.json`.
    pub report: &'a AuditReport,
    /// The same as JSON.
    pub json: &'a Value,
    /// How the page names it.
    pub name: String,
}

/// A compared number: label, pointer, format, and whether higher is better (`None`: neither).
type Metric = (String, String, Fmt, Option<bool>);

/// The numbers compared, those present in either audit.
fn metrics(a: &AuditReport, b: &AuditReport) -> Vec<Metric> {
    let m = |l: &str, p: &str, f: Fmt, h: Option<bool>| (l.to_string(), p.to_string(), f, h);
    let mut v = vec![
        m("accuracy", "/accuracy/accuracy", Fmt::Pct1, Some(true)),
        m(
            "clean accuracy of the attacked items",
            "/robustness/clean_accuracy",
            Fmt::Pct1,
            Some(true),
        ),
    ];
    let eps = |r: &AuditReport| {
        r.robustness
            .as_ref()
            .map(|x| x.worst_case.clone())
            .unwrap_or_default()
    };
    let (ea, eb) = (eps(a), eps(b));
    // Radii are compared by position where both grids agree (or only one audit has a grid).
    let longer = if ea.len() >= eb.len() { &ea } else { &eb };
    let agree = |i: usize| {
        ea.is_empty() || eb.is_empty() || ea.get(i).map(|w| w.eps) == eb.get(i).map(|w| w.eps)
    };
    for (i, w) in longer
        .iter()
        .enumerate()
        .filter(|(i, w)| w.eps > 0.0 && agree(*i))
    {
        v.push(m(
            &format!("robust accuracy at ε = {}", w.eps),
            &format!("/robustness/worst_case/{i}/accuracy"),
            Fmt::Pct1,
            Some(true),
        ));
    }
    v.extend([
        m(
            "ECE at T = 1",
            "/calibration/before/ece",
            Fmt::Pct2,
            Some(false),
        ),
        m(
            "NLL at T = 1",
            "/calibration/before/nll",
            Fmt::Dec4,
            Some(false),
        ),
    ]);
    // A temperature is compared only where both audits could estimate one (a held-out set
    // with too few mistakes keeps T = 1, which is not a finding).
    let estimated = |r: &AuditReport| {
        r.calibration
            .as_ref()
            .is_some_and(|c| c.temperature_estimated)
    };
    if estimated(a) && estimated(b) {
        v.extend([
            m(
                "ECE after temperature scaling",
                "/calibration/after/ece",
                Fmt::Pct2,
                Some(false),
            ),
            m("temperature", "/calibration/temperature", Fmt::Dec3, None),
        ]);
    }
    for (i, l) in a.conformal.iter().flat_map(|c| c.levels.iter()).enumerate() {
        v.push(m(
            &format!("conformal coverage at α = {}", l.alpha),
            &format!("/conformal/levels/{i}/mean_coverage"),
            Fmt::Pct1,
            None,
        ));
        v.push(m(
            &format!("mean set size at α = {}", l.alpha),
            &format!("/conformal/levels/{i}/mean_set_size"),
            Fmt::Dec3,
            Some(false),
        ));
    }
    for (i, s) in a.ood.iter().flat_map(|o| o.sets.iter()).enumerate() {
        v.push(m(
            &format!("OOD AUROC on {} (best score)", s.set),
            &format!("/ood/sets/{i}/best_auroc"),
            Fmt::Dec3,
            Some(true),
        ));
    }
    v.extend([
        m(
            "deferred to hold the target risk",
            "/deferral/deferral_rate",
            Fmt::Pct1,
            Some(false),
        ),
        m(
            "held-out selective risk",
            "/deferral/risk",
            Fmt::Pct2,
            Some(false),
        ),
    ]);
    v
}

/// The comparison table: A, B, B − A, the better side highlighted.
fn table(a: &Side, b: &Side) -> String {
    let mut s = format!(
        "<table><thead><tr><th>measure</th><th>A: {}</th><th>B: {}</th><th>B − A</th></tr></thead><tbody>",
        esc(&a.name),
        esc(&b.name)
    );
    for (label, pointer, fmt, higher) in metrics(a.report, b.report) {
        let (va, vb) = (a.json.pointer(&pointer), b.json.pointer(&pointer));
        if va.is_none_or(Value::is_null) && vb.is_none_or(Value::is_null) {
            continue;
        }
        let (xa, xb) = (va.and_then(Value::as_f64), vb.and_then(Value::as_f64));
        let (diff, class) = match (xa, xb) {
            (Some(x), Some(y)) => {
                let d = y - x;
                let class = match higher {
                    Some(h) if d.abs() > 1e-12 => {
                        if (d > 0.0) == h {
                            "better"
                        } else {
                            "worse"
                        }
                    }
                    _ => "same",
                };
                let text = format_value(Some(&Value::from(d)), fmt);
                (if d > 0.0 { format!("+{text}") } else { text }, class)
            }
            _ => ("n/a".to_string(), "same"),
        };
        let cell = |side: &str, v: Option<&Value>| {
            format!(
                "<span class=\"v\" data-doc=\"{side}\" data-json=\"{}\">{}</span>",
                esc(&pointer),
                esc(&format_value(v, fmt))
            )
        };
        let _ = write!(
            s,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"diff\">{}</td></tr>",
            esc(&label),
            cell("a", va),
            cell("b", vb),
            esc(&diff)
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// The worst-case accuracy against ε of both audits in one chart.
fn robustness_overlay(a: &Side, b: &Side) -> Option<String> {
    let (ra, rb) = (a.report.robustness.as_ref()?, b.report.robustness.as_ref()?);
    let max = ra
        .worst_case
        .iter()
        .chain(&rb.worst_case)
        .map(|w| w.eps)
        .fold(0.0, f64::max)
        .max(1e-9);
    let mut p = Plot::new(
        560.0,
        340.0,
        (0.0, max),
        (0.0, 100.0),
        "Robust accuracy against ε, both audits",
    );
    p.axes(
        "ε (L∞ radius, in each run's units)",
        "worst-case accuracy (% of attacked items)",
        &labelled(&ticks(0.0, max, 6), tick_text),
        &labelled(&ticks(0.0, 100.0, 5), |v| format!("{v}%")),
    );
    let mut legend = Vec::new();
    for (k, (side, r)) in [(a, ra), (b, rb)].into_iter().enumerate() {
        let mut pts = vec![(0.0, 100.0 * r.clean_accuracy)];
        pts.extend(
            r.worst_case
                .iter()
                .filter(|w| w.eps > 0.0)
                .map(|w| (w.eps, 100.0 * w.accuracy)),
        );
        p.line(&pts, PALETTE[k], 3.0, k == 1);
        p.dots(&pts, PALETTE[k], 4.0);
        let who = if k == 0 { "A" } else { "B" };
        legend.push((
            format!("{who}: {}", side.name),
            PALETTE[k].to_string(),
            if k == 0 { Mark::Line } else { Mark::Dashed },
        ));
    }
    p.legend(&legend, (true, true));
    Some(p.finish())
}

/// The page comparing audit `a` with audit `b`.
pub fn render_compare(a: &Side, b: &Side) -> String {
    let robust = robustness_overlay(a, b)
        .map(|svg| format!("<figure>{svg}<figcaption>Worst-case accuracy against ε of both audits, from the clean accuracy at ε = 0.</figcaption></figure>"))
        .unwrap_or_default();
    let side = |s: &Side, who: &str| {
        format!(
            "<div class=\"side\"><h2>{who}: {}</h2><p class=\"meta\">Model SHA-256 <span class=\"hash\">{}</span> · profile {}</p>{}</div>",
            esc(&s.name),
            esc(&s.report.model.sha256),
            esc(s.report.settings.profile.key()),
            summary(Doc::new(s.json), s.report)
        )
    };
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Aegis audit comparison</title><style>{CSS}\
         tr.better td {{ background: #dafbe1; }} tr.worse td {{ background: #ffebe9; }} .side {{ flex: 1 1 480px; min-width: 0; }}</style></head><body>\
         <header><h1>Aegis audit comparison</h1><p class=\"model\">A: {} · B: {}. Green rows: B is better than A; red rows: B is worse.</p></header>\
         <section><h2>Key numbers</h2>{}{}</section><div class=\"row\">{}{}</div></body></html>\n",
        esc(&a.name),
        esc(&b.name),
        table(a, b),
        robust,
        side(a, "A"),
        side(b, "B"),
    )
}
