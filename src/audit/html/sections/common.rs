//! What every section shares: its frame (heading, how the stage ran, links to its JSON), the
//! skipped-stage note, the failed-stage box, figures with captions and tables.

use std::fmt::Write;

use crate::audit::cache::StageStatus;
use crate::audit::config::Stage;
use crate::audit::html::doc::{Doc, esc};
use crate::audit::report::{AuditReport, Fmt};

/// The index of `stage` in `audit.json`'s `stages`.
pub fn stage_index(report: &AuditReport, stage: Stage) -> usize {
    report
        .stages
        .iter()
        .position(|r| r.stage == stage)
        .unwrap_or(0)
}

/// A stage's section: heading, `what` (what was measured, on how many items, with which
/// settings), how it ran, links to its files, then `body`. A skipped stage says why; a failed
/// one shows its error in a box (and nothing else: it has no result).
pub fn section(
    doc: Doc,
    report: &AuditReport,
    stage: Stage,
    what: &str,
    files: &[(String, String)],
    body: &str,
) -> String {
    let i = stage_index(report, stage);
    let key = stage.key();
    let mut s = format!("<section id=\"{key}\"><h2>{}</h2>", esc(stage.title()));
    if report
        .record(stage)
        .is_some_and(|r| r.status == StageStatus::Failed)
    {
        let _ = write!(
            s,
            "<div class=\"failed-stage\"><p><span class=\"badge fail\">failed</span> This stage failed, so nothing of it was measured: {}</p><p class=\"meta\">The other sections do not depend on it. Nothing of it was cached: once the cause is fixed, a rerun of the same audit computes this stage and reads the others from the cache.</p></div></section>",
            doc.t(&format!("/stages/{i}/reason"))
        );
        return s;
    }
    let skipped = report
        .record(stage)
        .is_none_or(|r| r.status == StageStatus::Skipped);
    if skipped {
        let _ = write!(
            s,
            "<p class=\"skipped\">Not run: {}.</p></section>",
            doc.t(&format!("/stages/{i}/reason"))
        );
        return s;
    }
    let cached = report
        .record(stage)
        .is_some_and(|r| r.status == StageStatus::Cached);
    let mut links = vec![format!(
        "<a href=\"stages/{key}/result.json\">stages/{key}/result.json</a>"
    )];
    for (href, label) in files {
        links.push(format!("<a href=\"stages/{key}/{href}\">{label}</a>"));
    }
    let secs = doc.v(&format!("/stages/{i}/seconds"), Fmt::Dec1);
    let how = if cached {
        format!(
            "Read from the cache of an earlier audit of the same model with the same settings (its computation took {secs} s)"
        )
    } else {
        format!("Computed by this audit in {secs} s")
    };
    let _ = write!(
        s,
        "<p class=\"what\">{what}</p><p class=\"meta\">{how}. Files: {}; every number is in <a href=\"audit.json\">audit.json</a> under <code>{key}</code>.</p>{body}</section>",
        links.join(", ")
    );
    s
}

/// Links to files of the stage's folder, each named by its file name.
pub fn files(names: &[&str]) -> Vec<(String, String)> {
    names.iter().map(|n| (n.to_string(), esc(n))).collect()
}

/// A figure with its caption.
pub fn figure(content: &str, caption: &str) -> String {
    format!("<figure>{content}<figcaption>{caption}</figcaption></figure>")
}

/// A table: a header row, then rows of cells (already HTML).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in header {
        let _ = write!(s, "<th>{h}</th>");
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{c}</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// `pass` or `fail` for a check's outcome, as a badge.
pub fn pass_fail(passed: bool) -> String {
    if passed {
        "<span class=\"badge pass\">pass</span>".into()
    } else {
        "<span class=\"badge fail\">fail</span>".into()
    }
}
