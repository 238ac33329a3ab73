//! What every page shares: HTML escaping, the page shell with the embedded style sheet and
//! script (compiled into the binary, no CDN, no second request), the per-response script
//! nonce and the Content-Security-Policy that allows nothing else, and the header bar with
//! the team's and the reviewer's progress.

use rand::RngCore;

use super::state::Progress;

/// The style sheet of every page.
const STYLE: &str = include_str!("assets/style.css");
/// The review page's script.
pub const REVIEW_JS: &str = include_str!("assets/review.js");

/// Escapes text for HTML content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A fresh nonce for one response's script and style.
pub fn nonce() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The Content-Security-Policy of a page: only its own nonce'd style and script, images only
/// as `data:` URIs, requests only to this server, not framable.
pub fn csp(nonce: &str) -> String {
    format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; \
         img-src data:; connect-src 'self'; form-action 'none'; base-uri 'none'; \
         frame-ancestors 'none'"
    )
}

/// A link to `path` carrying the token.
pub fn link(path: &str, token: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}token={}", esc(token))
}

/// The header bar: brand, team progress, the reviewer's own count, navigation.
pub fn top_bar(progress: &Progress, reviewer: &str, token: &str) -> String {
    let pct = if progress.total == 0 {
        100.0
    } else {
        100.0 * progress.complete as f64 / progress.total as f64
    };
    let mine = progress.reviewers.iter().find(|r| r.reviewer == reviewer);
    let (decided, left) = mine.map_or((0, 0), |r| (r.decided, r.remaining));
    let per = if progress.reviews_per_item > 1 {
        format!(" ({} reviews each)", progress.reviews_per_item)
    } else {
        String::new()
    };
    format!(
        r#"<header class="top"><span class="brand">Aegis review</span>
<div class="progress" id="progress"><span>Team: <b>{complete}</b> / {total} items complete{per}</span>
<span class="bar" title="{pct:.0}% complete">{bar}</span>
<span class="you">You ({who}): <b>{decided}</b> decided, {left} left</span></div>
<nav><a href="{review}">Review</a><a href="{summary}">Summary</a></nav></header>"#,
        complete = progress.complete,
        total = progress.total,
        who = esc(reviewer),
        bar = hbar(pct / 100.0, "team"),
        review = link("/review", token),
        summary = link("/summary", token),
    )
}

/// A horizontal bar filled to `fraction` (0–1), as SVG: a page's policy allows no inline
/// `style`, and SVG geometry is not style.
pub fn hbar(fraction: f64, class: &str) -> String {
    let w = (fraction.clamp(0.0, 1.0) * 100.0 * 100.0).round() / 100.0;
    format!(
        "<svg class=\"hbar {class}\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" \
         aria-hidden=\"true\"><rect class=\"bg\" width=\"100\" height=\"10\"/>\
         <rect class=\"fg\" width=\"{w}\" height=\"10\"/></svg>"
    )
}

/// A whole page: `body_class` on `<body>` with `data` attributes, the header bar, `main`, and
/// the script when given.
pub fn page(
    title: &str,
    nonce: &str,
    body_attrs: &str,
    top: &str,
    main: &str,
    script: Option<&str>,
) -> String {
    let script = script
        .map(|s| format!("<script nonce=\"{nonce}\">{s}</script>"))
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title}</title><style nonce=\"{nonce}\">{STYLE}</style></head>\n\
         <body {body_attrs}>{top}\n<main>{main}</main>{script}</body></html>\n",
        title = esc(title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<img src=x onerror="a('b')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
        assert_ne!(nonce(), nonce());
        assert!(csp("n1").contains("script-src 'nonce-n1'"));
    }
}
