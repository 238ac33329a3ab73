//! `report.html`: one self-contained page (inline CSS and SVG, heatmaps as base64 PNG, no
//! script, no font or file from anywhere else), printable. The summary at the top gives the
//! verdicts with their evidence, failures first (a failed stage is one: "not assessed"), and
//! what was skipped and why; then one section per stage (a failed one as a box with its
//! error); then the settings and versions.

use std::fmt::Write;
use std::path::Path;

use serde_json::Value;

use super::doc::{Doc, esc};
use super::sections;
use crate::audit::cache::StageStatus;
use crate::audit::report::{AuditReport, Fmt, VerdictStatus};
use crate::error::Result;

/// The page's style sheet (screen and print).
pub const CSS: &str = r#"
:root { --fg: #1b1b1b; --muted: #5a5a5a; --line: #d9d9d9; --pass: #1a7f37; --warn: #9a6700; --fail: #cf222e; --info: #0969da; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: var(--fg); margin: 0 auto; max-width: 1180px; padding: 24px 28px 48px; line-height: 1.45; font-size: 15px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 30px 0 8px; border-bottom: 2px solid var(--line); padding-bottom: 4px; } h3 { font-size: 16px; margin: 18px 0 6px; }
header .model { color: var(--muted); margin: 0; }
code, .hash { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
.hash { word-break: break-all; }
.verdicts { list-style: none; padding: 0; margin: 0; }
.verdicts li { padding: 8px 10px; margin: 6px 0; border-left: 6px solid var(--line); background: #f6f8fa; }
.verdicts li.fail { border-color: var(--fail); background: #ffebe9; } .verdicts li.warn { border-color: var(--warn); background: #fff8c5; }
.verdicts li.pass { border-color: var(--pass); } .verdicts li.info { border-color: var(--info); }
.verdicts .claim { font-weight: 600; } .verdicts .evidence { color: var(--muted); }
.badge { display: inline-block; min-width: 44px; text-align: center; font-size: 12px; font-weight: 700; text-transform: uppercase; border-radius: 4px; padding: 1px 6px; color: #fff; margin-right: 6px; }
.badge.pass { background: var(--pass); } .badge.warn { background: var(--warn); } .badge.fail { background: var(--fail); } .badge.info { background: var(--info); }
.what { margin: 4px 0; } .meta, .small, figcaption { color: var(--muted); font-size: 13px; }
.skipped { color: var(--warn); font-weight: 600; }
.failed-stage { border: 2px solid var(--fail); border-left-width: 6px; background: #ffebe9; padding: 4px 12px; border-radius: 4px; }
.failed-stage p:first-child { font-weight: 600; overflow-wrap: anywhere; }
.row { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
figure { margin: 8px 0; max-width: 100%; flex: 0 1 auto; } figure svg { max-width: 100%; height: auto; display: block; }
figcaption { max-width: 520px; }
.stack svg { display: block; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.cards { display: flex; flex-wrap: wrap; gap: 14px; }
.card { border: 1px solid var(--line); padding: 8px; border-radius: 6px; width: 356px; margin: 0; }
.card img { width: 164px; height: auto; image-rendering: pixelated; display: block; }
.pic { display: inline-block; margin-right: 4px; vertical-align: top; }
.good { color: var(--pass); font-weight: 600; } .fair { color: var(--warn); } .poor { color: var(--fail); font-weight: 600; }
svg text { font-family: system-ui, "DejaVu Sans", Arial, sans-serif; }
svg .tick { font-size: 11px; fill: #333; } svg .title { font-size: 12px; fill: #111; }
svg .cell { font-size: 11px; fill: #111; } svg .cell.light { fill: #fff; }
svg .grid { stroke: #e6e6e6; } svg .axis { stroke: #333; } svg .legend { fill: #fff; fill-opacity: 0.9; stroke: #999; }
nav ol { columns: 2; margin: 6px 0; } .notes { color: var(--muted); font-size: 13px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  section, figure, table, .card, .verdicts li { break-inside: avoid; }
  h2 { break-after: avoid; } nav { display: none; }
  a { color: inherit; text-decoration: none; }
  .verdicts li, th, .badge { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// The badge of a verdict status.
fn badge(status: VerdictStatus) -> &'static str {
    match status {
        VerdictStatus::Fail => "<span class=\"badge fail\">fail</span>",
        VerdictStatus::Warn => "<span class=\"badge warn\">warn</span>",
        VerdictStatus::Pass => "<span class=\"badge pass\">pass</span>",
        VerdictStatus::Info => "<span class=\"badge info\">info</span>",
    }
}

fn status_class(status: VerdictStatus) -> &'static str {
    match status {
        VerdictStatus::Fail => "fail",
        VerdictStatus::Warn => "warn",
        VerdictStatus::Pass => "pass",
        VerdictStatus::Info => "info",
    }
}

/// The summary: verdicts with their evidence (failures first), then the skipped stages.
pub fn summary(doc: Doc, report: &AuditReport) -> String {
    let mut s = String::from("<section id=\"summary\"><h2>Summary</h2><ul class=\"verdicts\">");
    for (i, v) in report.verdicts.iter().enumerate() {
        let evidence: Vec<String> = v
            .evidence
            .iter()
            .enumerate()
            .map(|(j, e)| {
                let p = format!("/verdicts/{i}/evidence/{j}");
                let label = match &e.label_pointer {
                    Some(lp) => doc.t(lp),
                    None => doc.t(&format!("{p}/label")),
                };
                format!("{label}: {}", doc.v(&e.pointer, e.fmt))
            })
            .collect();
        let _ = write!(
            s,
            "<li class=\"{}\">{}<a href=\"#{}\">{}</a>: <span class=\"claim\">{}</span><br><span class=\"evidence\">{}</span></li>",
            status_class(v.status),
            badge(v.status),
            v.stage.key(),
            esc(v.stage.title()),
            doc.t(&format!("/verdicts/{i}/claim")),
            evidence.join("; ")
        );
    }
    s.push_str("</ul>");
    let skipped: Vec<String> = report
        .stages
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == StageStatus::Skipped)
        .map(|(i, r)| {
            format!(
                "<li><a href=\"#{}\">{}</a>: {}</li>",
                r.stage.key(),
                esc(r.stage.title()),
                doc.t(&format!("/stages/{i}/reason"))
            )
        })
        .collect();
    if !skipped.is_empty() {
        let _ = write!(s, "<h3>Not run</h3><ul>{}</ul>", skipped.join(""));
    }
    let _ = write!(
        s,
        "<p class=\"meta\">The stages took {} s of computation together. Every number on this page is read from <a href=\"audit.json\">audit.json</a>, where it sits at the JSON pointer its element names (<code>data-json</code>).</p></section>",
        doc.v("/seconds", Fmt::Dec1)
    );
    s
}

/// The page header: what was audited, with which profile, when, by which versions.
fn header(doc: Doc) -> String {
    let imported = if doc.str("/model/imported_from").is_empty() {
        String::new()
    } else {
        format!(" (imported from {})", doc.t("/model/imported_from"))
    };
    format!(
        "<header><h1>Aegis safety audit</h1><p class=\"model\">Run {} · {}{imported} on {} · input shape {} · {} classes · {} training and {} test items · profile {} · {} audited test items · device {} · {}</p><p class=\"model\">Model SHA-256 <span class=\"hash\">{}</span></p></header>",
        doc.t("/model/run"),
        doc.t("/model/architecture"),
        doc.t("/model/data"),
        shape(doc),
        count(doc, "/model/class_names"),
        doc.v("/model/n_train", Fmt::Int),
        doc.v("/model/n_test", Fmt::Int),
        doc.t("/settings/profile"),
        doc.v("/settings/rows", Fmt::Int),
        doc.t("/model/device"),
        doc.t("/created"),
        doc.t("/model/sha256"),
    )
}

/// `[a × b × c]` of `/model/input_shape`, each number tagged.
fn shape(doc: Doc) -> String {
    let n = doc
        .get("/model/input_shape")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let parts: Vec<String> = (0..n)
        .map(|i| doc.v(&format!("/model/input_shape/{i}"), Fmt::Int))
        .collect();
    format!("[{}]", parts.join(" × "))
}

/// The length of an array of the document, in an element that names the array.
fn count(doc: Doc, pointer: &str) -> String {
    let n = doc
        .get(pointer)
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    format!(
        "<span class=\"v\" data-json=\"{}\" data-count=\"true\">{n}</span>",
        esc(pointer)
    )
}

/// Every leaf of `value` under `pointer` as table rows: the path in words, the value tagged.
fn leaves(doc: Doc, pointer: &str, name: &str, value: &Value, rows: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let child = if name.is_empty() {
                    k.clone()
                } else {
                    format!("{name} › {k}")
                };
                leaves(doc, &format!("{pointer}/{k}"), &child, v, rows);
            }
        }
        Value::Array(items) => {
            let vals: Vec<String> = (0..items.len())
                .map(|i| doc.v(&format!("{pointer}/{i}"), Fmt::Exact))
                .collect();
            rows.push(vec![esc(name), vals.join(", ")]);
        }
        Value::Number(_) => rows.push(vec![esc(name), doc.v(pointer, Fmt::Exact)]),
        _ => rows.push(vec![esc(name), doc.t(pointer)]),
    }
}

/// The settings and versions.
fn settings(doc: Doc) -> String {
    let mut rows = Vec::new();
    if let Some(v) = doc.get("/versions") {
        leaves(doc, "/versions", "versions", v, &mut rows);
    }
    if let Some(v) = doc.get("/settings") {
        leaves(doc, "/settings", "", v, &mut rows);
    }
    format!(
        "<section id=\"settings\"><h2>Settings and versions</h2>{}</section>",
        sections::table(&["setting", "value"], &rows)
    )
}

/// The whole page for `report` (whose JSON form is `json`); `out` holds the stage folders.
pub fn render_report(report: &AuditReport, json: &Value, out: &Path) -> Result<String> {
    let doc = Doc::new(json);
    let nav: Vec<String> = report
        .stages
        .iter()
        .map(|r| {
            format!(
                "<li><a href=\"#{}\">{}</a></li>",
                r.stage.key(),
                esc(r.stage.title())
            )
        })
        .collect();
    Ok(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Aegis safety audit</title><style>{CSS}</style></head><body>{}{}<nav><h2>Contents</h2><ol>{}</ol></nav>{}{}<footer class=\"meta\">Written by aegis {}. Open <a href=\"audit.json\">audit.json</a> for the numbers and settings in machine-readable form.</footer></body></html>\n",
        header(doc),
        summary(doc, report),
        nav.join(""),
        sections::all(doc, report, out)?,
        settings(doc),
        doc.t("/versions/aegis"),
    ))
}
