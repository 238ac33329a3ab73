//! The summary of `cargo xtask cross-cpu`: each figure's spread and margin to its bar, and
//! the Markdown that ARCHITECTURE.md quotes.

use super::{CrossCpuReport, FigureSummary, FigureValue};

/// Min, max and the margin to the bar.
pub(super) fn summarise(
    name: String,
    binary: String,
    bar: String,
    values: Vec<FigureValue>,
) -> FigureSummary {
    let native: Vec<f64> = values
        .iter()
        .filter(|v| v.setup.cpu == "native")
        .map(|v| v.value)
        .collect();
    let all: Vec<f64> = values.iter().map(|v| v.value).collect();
    let min = |v: &[f64]| v.iter().copied().reduce(f64::min);
    let max = |v: &[f64]| v.iter().copied().reduce(f64::max);
    let margin = parse_bar(&bar).and_then(|b| match b {
        Bar::AtLeast(b) => min(&all).map(|m| m - b),
        Bar::AtMost(b) => max(&all).map(|m| b - m),
        Bar::Within(lo, hi) => Some((min(&all)? - lo).min(hi - max(&all)?)),
    });
    FigureSummary {
        name,
        binary,
        bar,
        native_min: min(&native),
        native_max: max(&native),
        values,
        margin,
    }
}

/// Whether `value` meets `bar` (an unreadable bar counts as met).
pub(super) fn meets(bar: &str, value: f64) -> bool {
    match parse_bar(bar) {
        Some(Bar::AtLeast(b)) => value >= b,
        Some(Bar::AtMost(b)) => value <= b,
        Some(Bar::Within(lo, hi)) => (lo..=hi).contains(&value),
        None => true,
    }
}

enum Bar {
    AtLeast(f64),
    AtMost(f64),
    Within(f64, f64),
}

/// `>= b`, `<= b`, `in [lo, hi]` (tests/support/figures.rs).
fn parse_bar(bar: &str) -> Option<Bar> {
    if let Some(b) = bar.strip_prefix(">= ") {
        return b.parse().ok().map(Bar::AtLeast);
    }
    if let Some(b) = bar.strip_prefix("<= ") {
        return b.parse().ok().map(Bar::AtMost);
    }
    let inner = bar.strip_prefix("in [")?.strip_suffix(']')?;
    let (lo, hi) = inner.split_once(", ")?;
    Some(Bar::Within(lo.parse().ok()?, hi.parse().ok()?))
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.4}"))
}

/// The report as Markdown: the machine, the loss witness, each binary's outcome per setup and
/// each figure's spread and margin.
pub(super) fn markdown(r: &CrossCpuReport) -> String {
    let mut md = format!(
        "# Cross-CPU figures\n\nMeasured by `cargo xtask cross-cpu --seeds {}` on {} ({}, L1d \
         {}); also run as: {}.\n\n",
        r.seeds,
        r.cpu_model,
        r.native_level,
        r.host_l1,
        if r.variants.is_empty() {
            "none".to_string()
        } else {
            r.variants.join(", ")
        }
    );
    md += "## Epoch losses of the moons MLP (seed 1, 3 epochs)\n\n| CPU | losses | test accuracy |\n|---|---|---|\n";
    for w in &r.witness {
        let losses: Vec<String> = w.losses.iter().map(|l| format!("{l:.10}")).collect();
        md += &format!(
            "| {} | {} | {:.4} |\n",
            w.cpu,
            losses.join(" / "),
            w.test_accuracy
        );
    }
    md += "\n## Test binaries\n\n| binary | CPU | seed offset | kernels | seconds | outcome |\n|---|---|---|---|---|---|\n";
    for run in &r.runs {
        md += &format!(
            "| {} | {} | {} | {} | {:.0} | {} |\n",
            run.binary,
            run.setup.cpu,
            run.setup.seed_offset,
            run.setup.kernels,
            run.seconds,
            run.outcome
        );
    }
    md += "\n## Figures\n\nNative: every seed offset with both kernels. Another L1d: seed offset \
           0, Aegis's kernels / Burn's layers. Emulated CPUs: seed offset 0, Aegis's kernels. \
           Margin: the worst value over every run against the bar (negative: a run fails \
           it).\n\n";
    let emulated_cols: String = r.variants.iter().map(|c| format!(" {c} |")).collect();
    md += &format!(
        "| figure | bar | native min | native max |{emulated_cols} margin |\n|---|---|---|---|{}---|\n",
        "---|".repeat(r.variants.len())
    );
    for f in &r.figures {
        let emulated: String = r
            .variants
            .iter()
            .map(|c| {
                let v: Vec<String> = f
                    .values
                    .iter()
                    .filter(|v| &v.setup.cpu == c)
                    .map(|v| fmt(Some(v.value)))
                    .collect();
                format!(
                    " {} |",
                    if v.is_empty() {
                        "–".into()
                    } else {
                        v.join(" / ")
                    }
                )
            })
            .collect();
        md += &format!(
            "| {} | {} | {} | {} |{emulated} {} |\n",
            f.name,
            f.bar,
            fmt(f.native_min),
            fmt(f.native_max),
            fmt(f.margin)
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cross_cpu::{Setup, package_name};

    #[test]
    fn package_names_and_bars_parse() {
        assert_eq!(
            package_name("path+file:///w/crates/model#aegis-model@0.1.0"),
            Some("aegis-model")
        );
        assert_eq!(package_name("path+file:///w/xtask#0.1.0"), Some("xtask"));
        assert!(matches!(parse_bar(">= 0.9"), Some(Bar::AtLeast(b)) if b == 0.9));
        assert!(matches!(parse_bar("<= 0.01"), Some(Bar::AtMost(b)) if b == 0.01));
        assert!(
            matches!(parse_bar("in [0.88, 0.93]"), Some(Bar::Within(l, h)) if l == 0.88 && h == 0.93)
        );
        let setup = |cpu: &str, v: f64| FigureValue {
            setup: Setup {
                cpu: cpu.into(),
                seed_offset: 0,
                kernels: "aegis".into(),
            },
            value: v,
        };
        let s = summarise(
            "f".into(),
            "b".into(),
            "in [0.88, 0.93]".into(),
            vec![
                setup("native", 0.9),
                setup("native", 0.92),
                setup("Haswell", 0.89),
            ],
        );
        assert_eq!((s.native_min, s.native_max), (Some(0.9), Some(0.92)));
        assert!((s.margin.unwrap() - 0.01).abs() < 1e-12);
    }
}
