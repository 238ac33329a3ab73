//! Every relative link of the documentation resolves: README.md, ARCHITECTURE.md,
//! examples/README.md and every page of the book (`docs/book/src/`). A link's file must exist
//! (relative to the page), and a `#fragment` must name a heading of the Markdown page it points
//! to (the page itself for a bare `#fragment`), with the ids GitHub and mdBook both give.
//! Also: README.md stays within 250 lines, `SUMMARY.md` lists every page of the book, and
//! each `{{#include FILE:ANCHOR}}` finds its file and its `ANCHOR:` line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[path = "support/book.rs"]
mod book;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn book_src() -> PathBuf {
    root().join("docs/book/src")
}

/// The pages checked: the top-level docs, then the book's pages in name order.
fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "examples/README.md"]
        .iter()
        .map(|p| root().join(p))
        .collect();
    pages.extend(book::book_pages(root()));
    pages
}

/// The lines of `text` outside fenced code blocks, with their 1-based numbers, and inline
/// code spans blanked (a link written in backticks is an example, not a link).
fn prose_lines(text: &str) -> Vec<(usize, String)> {
    let mut fence = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        let mut s = String::new();
        for (k, part) in line.split('`').enumerate() {
            s.push_str(if k % 2 == 0 { part } else { "" });
        }
        out.push((i + 1, s));
    }
    out
}

/// `(line, target)` of every inline link or image `[..](target)` of `text`.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose_lines(text) {
        let mut rest = line.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split_whitespace().next().unwrap_or("");
            out.push((n, target.to_string()));
            rest = &after[end..];
        }
    }
    out
}

/// The anchor ids of `text`'s headings, as GitHub and mdBook make them: lower case, letters,
/// digits, `-` and `_` kept, spaces as `-`, the rest dropped; a repeated id gets `-1`, `-2`, ….
fn heading_ids(text: &str) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut ids = Vec::new();
    let mut fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fence = !fence;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if fence || hashes == 0 || hashes > 6 || !line[hashes..].starts_with(' ') {
            continue;
        }
        let id: String = line[hashes..]
            .trim()
            .chars()
            .filter_map(|c| match c {
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
                c if c.is_whitespace() => Some('-'),
                _ => None,
            })
            .flat_map(char::to_lowercase)
            .collect();
        let count = seen.entry(id.clone()).or_insert(0);
        ids.push(if *count == 0 {
            id.clone()
        } else {
            format!("{id}-{count}")
        });
        *count += 1;
    }
    ids
}

/// `text` with each whole-file `{{#include FILE}}` line replaced by that file, as mdBook
/// renders it (so a link may point to a heading of an included file).
fn with_includes(text: &str, dir: &Path) -> String {
    text.lines()
        .map(|line| match line.trim().strip_prefix("{{#include ") {
            Some(rest) if !rest.contains(':') => {
                let file = rest.trim_end_matches("}}").trim();
                std::fs::read_to_string(dir.join(file)).unwrap_or_default()
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `text` has mdBook's `ANCHOR: name` line for exactly `name`.
fn has_anchor(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        l.split("ANCHOR: ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|n| n == name)
    })
}

/// What is wrong with the relative links and includes of `page` (whose text is `text`), one
/// `page:line: …` line each.
fn broken_links(page: &Path, text: &str) -> Vec<String> {
    let dir = page.parent().expect("a page has a folder");
    let name = page
        .strip_prefix(root())
        .unwrap_or(page)
        .display()
        .to_string();
    let mut broken = Vec::new();
    for (line, target) in links(text) {
        if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (file, fragment) = match target.split_once('#') {
            Some((f, frag)) => (f, Some(frag)),
            None => (target.as_str(), None),
        };
        let path = if file.is_empty() {
            page.to_path_buf()
        } else {
            dir.join(file)
        };
        if !path.exists() {
            broken.push(format!(
                "{name}:{line}: `{target}`: no file {}",
                path.display()
            ));
            continue;
        }
        let Some(fragment) = fragment else { continue };
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let linked = if file.is_empty() {
            text.to_string()
        } else {
            std::fs::read_to_string(&path).unwrap_or_default()
        };
        let linked = with_includes(&linked, path.parent().unwrap_or(dir));
        if !heading_ids(&linked).iter().any(|id| id == fragment) {
            broken.push(format!(
                "{name}:{line}: `{target}`: no heading `#{fragment}` there"
            ));
        }
    }
    for (n, line) in text.lines().enumerate() {
        let Some(start) = line.find("{{#include ") else {
            continue;
        };
        if line[..start].ends_with('\\') {
            continue; // `\{{#include …}}` is mdBook's escape: shown, not included
        }
        let spec = line[start + 11..].split("}}").next().unwrap_or("").trim();
        let (file, anchor) = spec.split_once(':').unwrap_or((spec, ""));
        match std::fs::read_to_string(dir.join(file)) {
            Err(e) => broken.push(format!("{name}:{}: include `{file}`: {e}", n + 1)),
            Ok(t) if !anchor.is_empty() && !has_anchor(&t, anchor) => broken.push(format!(
                "{name}:{}: include `{spec}`: no `ANCHOR: {anchor}`",
                n + 1
            )),
            Ok(_) => {}
        }
    }
    broken
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    let mut count = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("page is readable");
        count += links(&text).len();
        broken.extend(broken_links(&page, &text));
    }
    assert!(
        count > 50,
        "only {count} links found: is the parser broken?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_summary_lists_every_page() {
    let summary = std::fs::read_to_string(book_src().join("SUMMARY.md")).expect("SUMMARY.md");
    let listed: Vec<String> = links(&summary).into_iter().map(|(_, t)| t).collect();
    let missing: Vec<String> = pages()
        .iter()
        .filter(|p| p.starts_with(book_src()))
        .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
        .filter(|f| f != "SUMMARY.md" && !listed.contains(f))
        .collect();
    assert!(
        missing.is_empty(),
        "pages SUMMARY.md does not list: {missing:?}"
    );
}

#[test]
fn a_broken_link_is_reported_with_its_line() {
    let page = book_src().join("introduction.md");
    let text = "# Title\n\n## Sub heading `x`\n\nsee [a](no-such.md) and [b](#sub-heading-x)\nand [c](#nowhere), `[d](in-code.md)`, [e](getting-started.md#two-commands-on-a-fresh-machine)\n\n{{#include ../../../README.md:bench-m}}\n`\\{{#include escaped}}`\n";
    let broken = broken_links(&page, text);
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(broken[0].starts_with("docs/book/src/introduction.md:5: `no-such.md`"));
    assert!(broken[1].contains(":6: `#nowhere`"));
    assert!(broken[2].contains(":8: include"));
}

#[test]
fn heading_ids_follow_github_and_mdbook() {
    let ids = heading_ids(
        "# The audit: `aegis audit`, one safety report\n## `evaluate`'s memory\n## Data\n## Data\n```\n# not a heading\n```\n",
    );
    assert_eq!(
        ids,
        [
            "the-audit-aegis-audit-one-safety-report",
            "evaluates-memory",
            "data",
            "data-1"
        ]
    );
}

/// Issue 27's bar: the README is a landing page (≤ 250 lines); the rest belongs in the book.
#[test]
fn the_readme_stays_short() {
    let lines = std::fs::read_to_string(root().join("README.md"))
        .expect("README.md")
        .lines()
        .count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines (bar 250): move detail into docs/book/src/"
    );
}
