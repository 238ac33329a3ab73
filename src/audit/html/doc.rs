//! Numbers in the report come from `audit.json` itself: [`Doc`] looks a value up by its JSON
//! pointer and writes it in an element that carries the pointer (`data-json`), so a reader or
//! a test can check every number shown against the JSON. Also HTML escaping.

use serde_json::Value;

use crate::audit::report::Fmt;

/// The audit document being rendered.
#[derive(Clone, Copy)]
pub struct Doc<'a> {
    /// `audit.json` as a JSON value.
    pub json: &'a Value,
}

impl<'a> Doc<'a> {
    /// Wraps `json`.
    pub fn new(json: &'a Value) -> Self {
        Self { json }
    }

    /// The value at `pointer`.
    pub fn get(&self, pointer: &str) -> Option<&'a Value> {
        self.json.pointer(pointer)
    }

    /// The number at `pointer`.
    pub fn num(&self, pointer: &str) -> Option<f64> {
        self.get(pointer).and_then(Value::as_f64)
    }

    /// The string at `pointer` (empty when absent).
    pub fn str(&self, pointer: &str) -> &'a str {
        self.get(pointer).and_then(Value::as_str).unwrap_or("")
    }

    /// The value at `pointer`, formatted, in a `<span>` that names its pointer.
    pub fn v(&self, pointer: &str, fmt: Fmt) -> String {
        tagged("span", pointer, &format_value(self.get(pointer), fmt))
    }

    /// The string at `pointer` in a `<span>` that names its pointer.
    pub fn t(&self, pointer: &str) -> String {
        self.v(pointer, Fmt::Text)
    }

    /// The value at `pointer`, formatted, as SVG `<text>` attributes plus content: use as
    /// `<text x=.. y=.. {}</text>`.
    pub fn svg_text(&self, pointer: &str, fmt: Fmt) -> String {
        format!(
            "data-json=\"{}\">{}",
            esc(pointer),
            esc(&format_value(self.get(pointer), fmt))
        )
    }
}

/// `<tag class="v" data-json="pointer">text</tag>`, escaped.
pub fn tagged(tag: &str, pointer: &str, text: &str) -> String {
    format!(
        "<{tag} class=\"v\" data-json=\"{}\">{}</{tag}>",
        esc(pointer),
        esc(text)
    )
}

/// A value as the report writes it; `n/a` for a missing or null value.
pub fn format_value(v: Option<&Value>, fmt: Fmt) -> String {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return "n/a".into();
    };
    if fmt == Fmt::Text {
        return match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
    }
    if fmt == Fmt::Int {
        if let Some(i) = v.as_u64() {
            return i.to_string();
        }
    }
    match v.as_f64() {
        Some(x) => format_number(x, fmt),
        None => v.to_string(),
    }
}

/// A number as the report writes it.
pub fn format_number(x: f64, fmt: Fmt) -> String {
    let x = x + 0.0; // no "-0"
    match fmt {
        Fmt::Pct1 => format!("{:.1}%", 100.0 * x + 0.0),
        Fmt::Pct2 => format!("{:.2}%", 100.0 * x + 0.0),
        Fmt::Dec1 => format!("{x:.1}"),
        Fmt::Dec2 => format!("{x:.2}"),
        Fmt::Dec3 => format!("{x:.3}"),
        Fmt::Dec4 => format!("{x:.4}"),
        Fmt::Sci => format!("{x:.2e}"),
        Fmt::Int => format!("{}", x.round() as i64),
        Fmt::Exact | Fmt::Text => format!("{x}"),
    }
}

/// HTML escaping: the review server's (`&`, `<`, `>`, `"`, `'`).
pub use aegis_oversight::serve::esc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_formatted_and_tagged_with_their_pointer() {
        let j = serde_json::json!({"a": {"x": 0.9321, "n": 500, "s": "<b>", "z": null}});
        let d = Doc::new(&j);
        assert_eq!(
            d.v("/a/x", Fmt::Pct1),
            "<span class=\"v\" data-json=\"/a/x\">93.2%</span>"
        );
        assert!(d.v("/a/n", Fmt::Int).contains(">500<"));
        assert!(d.t("/a/s").contains(">&lt;b&gt;<"));
        assert!(d.v("/a/z", Fmt::Dec2).contains(">n/a<"));
        assert!(d.v("/nope", Fmt::Dec2).contains(">n/a<"));
        assert_eq!(format_number(0.001, Fmt::Exact), "0.001");
        assert_eq!(format_number(-0.0, Fmt::Pct1), "0.0%");
        assert_eq!(format_number(0.00123, Fmt::Sci), "1.23e-3");
    }
}
