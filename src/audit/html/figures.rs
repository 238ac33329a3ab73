//! The report's figures as inline SVG, each in its field's convention, with axis titles and
//! units: the confusion matrix; robust accuracy against ε as a line from the clean accuracy at
//! ε = 0 (bars when the grid has one positive ε); the reliability diagram as bars of per-bin
//! accuracy with the gap to the diagonal, over a histogram of the items per bin; conformal
//! coverage against its target; deletion curves against a random order; signed attribution
//! bars for tabular rows; the risk–coverage curve with the target risk.

use std::fmt::Write;

use aegis_adversarial_trainer::EpsUnits;
use aegis_uncertainty::metrics::ReliabilityBin;

use super::doc::{Doc, esc};
use super::svg::{Mark, PALETTE, Plot, labelled, tick_text, ticks};
use crate::audit::report::Fmt;
use crate::audit::stages::{
    AccuracyResult, ConformalResult, DeferralResult, ExplainResult, ExplainedItem, RobustnessResult,
};

fn pct(v: f64) -> String {
    format!("{}%", tick_text(100.0 * v))
}

/// Most classes the confusion matrix shows; a model with more (ImageNet's 1,000) shows
/// [`confusion_classes`].
pub const CONFUSION_MAX_CLASSES: usize = 20;

/// The classes the confusion matrix shows, in class order: all of them up to
/// [`CONFUSION_MAX_CLASSES`], else the ones with the most test items plus predictions (ties to
/// the lower index).
pub fn confusion_classes(a: &AccuracyResult) -> Vec<usize> {
    let c = a.confusion.len();
    if c <= CONFUSION_MAX_CLASSES {
        return (0..c).collect();
    }
    let busy = |k: usize| -> usize {
        a.confusion[k].iter().sum::<usize>() + a.confusion.iter().map(|row| row[k]).sum::<usize>()
    };
    let mut order: Vec<usize> = (0..c).collect();
    order.sort_by_key(|&k| (std::cmp::Reverse(busy(k)), k));
    order.truncate(CONFUSION_MAX_CLASSES);
    order.sort_unstable();
    order
}

/// The confusion matrix of [`confusion_classes`]: rows true class, columns predicted, shaded
/// by the cell's share of its whole row, each cell's count written in it.
pub fn confusion(doc: Doc, a: &AccuracyResult) -> String {
    let shown = confusion_classes(a);
    let c = shown.len().max(1);
    let cell = (360.0 / c as f64).clamp(18.0, 48.0);
    let names: Vec<&str> = shown
        .iter()
        .map(|&k| a.per_class[k].name.as_str())
        .collect();
    let label_w = 12.0 + 7.0 * names.iter().map(|n| n.chars().count()).max().unwrap_or(1) as f64;
    let left = 40.0 + label_w.min(120.0);
    let (w, h) = (
        left + cell * c as f64 + 16.0,
        40.0 + cell * c as f64 + 44.0 + label_w.min(80.0),
    );
    let mut p = Plot::new(w, h, (0.0, c as f64), (0.0, c as f64), "Confusion matrix").margins(
        left,
        16.0,
        40.0,
        h - 40.0 - cell * c as f64,
    );
    let mut s = String::new();
    for (i, &t) in shown.iter().enumerate() {
        let row = &a.confusion[t];
        let total = row.iter().sum::<usize>().max(1) as f64;
        for (j, &k) in shown.iter().enumerate() {
            let f = row[k] as f64 / total;
            let (x, y) = (p.px(j as f64), p.py((c - i) as f64));
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell:.1}\" height=\"{cell:.1}\" fill=\"#0072B2\" fill-opacity=\"{:.3}\" stroke=\"#ccc\"/>",
                0.05 + 0.95 * f
            );
            if cell >= 22.0 {
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" class=\"cell{}\" text-anchor=\"middle\" {}</text>",
                    x + cell / 2.0,
                    y + cell / 2.0 + 4.0,
                    if f > 0.5 { " light" } else { "" },
                    doc.svg_text(&format!("/accuracy/confusion/{t}/{k}"), Fmt::Int)
                );
            }
        }
    }
    for (j, name) in names.iter().enumerate() {
        let x = p.px(j as f64 + 0.5);
        let y = p.py((c - j) as f64 - 0.5);
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>\
             <text transform=\"translate({x:.1},{:.1}) rotate(-60)\" class=\"tick\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + 4.0,
            esc(name),
            40.0 + cell * c as f64 + 12.0,
            esc(name)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"24\" class=\"title\" text-anchor=\"middle\">predicted class</text>\
         <text transform=\"translate(16,{:.1}) rotate(-90)\" class=\"title\" text-anchor=\"middle\">true class</text>",
        left + cell * c as f64 / 2.0,
        40.0 + cell * c as f64 / 2.0
    );
    p.raw(&s);
    p.finish()
}

/// Robust accuracy against ε: lines from the clean accuracy at ε = 0 (worst case thick, the
/// robust accuracy after each stage of the suite thin), or bars when one ε is positive.
pub fn robustness(doc: Doc, r: &RobustnessResult) -> String {
    let positive: Vec<f64> = r
        .worst_case
        .iter()
        .map(|w| w.eps)
        .filter(|&e| e > 0.0)
        .collect();
    let x_title = match r.units {
        EpsUnits::Raw => "ε (L∞ radius, raw input units)",
        EpsUnits::Std => "ε (L∞ radius, training standard deviations of each feature)",
    };
    let mut attacks: Vec<&str> = Vec::new();
    for s in &r.stages {
        if !attacks.contains(&s.attack.as_str()) {
            attacks.push(&s.attack);
        }
    }
    let after = |attack: &str, eps: f64| {
        r.stages
            .iter()
            .find(|s| s.attack == attack && (s.eps - eps).abs() < 1e-12)
            .map(|s| s.robust_accuracy)
    };
    if positive.len() == 1 {
        return robustness_bars(doc, r, positive[0], &attacks, &after);
    }
    let max_eps = positive.iter().copied().fold(0.0, f64::max).max(1e-9);
    let mut p = Plot::new(
        560.0,
        340.0,
        (0.0, max_eps),
        (0.0, 100.0),
        "Robust accuracy against ε",
    );
    let xt = ticks(0.0, max_eps, 6);
    p.axes(
        x_title,
        "accuracy (% of attacked items)",
        &labelled(&xt, tick_text),
        &labelled(&ticks(0.0, 100.0, 5), |v| format!("{v}%")),
    );
    let mut legend = Vec::new();
    for (i, a) in attacks.iter().enumerate() {
        let mut pts = vec![(0.0, 100.0 * r.clean_accuracy)];
        pts.extend(
            positive
                .iter()
                .filter_map(|&e| after(a, e).map(|v| (e, 100.0 * v))),
        );
        let color = PALETTE[(i + 1) % PALETTE.len()];
        p.line(&pts, color, 1.5, true);
        legend.push((format!("after {a}"), color.to_string(), Mark::Dashed));
    }
    let mut worst = vec![(0.0, 100.0 * r.clean_accuracy)];
    worst.extend(
        r.worst_case
            .iter()
            .filter(|w| w.eps > 0.0)
            .map(|w| (w.eps, 100.0 * w.accuracy)),
    );
    p.line(&worst, PALETTE[0], 3.0, false);
    p.dots(&worst, PALETTE[0], 4.5);
    legend.insert(
        0,
        (
            "worst case (robust accuracy)".into(),
            PALETTE[0].into(),
            Mark::Line,
        ),
    );
    p.legend(&legend, (true, true));
    let _ = doc;
    p.finish()
}

/// Bars for a single positive ε: clean accuracy, then the robust accuracy after each stage.
fn robustness_bars(
    doc: Doc,
    r: &RobustnessResult,
    eps: f64,
    attacks: &[&str],
    after: &dyn Fn(&str, f64) -> Option<f64>,
) -> String {
    let mut bars = vec![("clean".to_string(), r.clean_accuracy)];
    bars.extend(
        attacks
            .iter()
            .filter_map(|a| after(a, eps).map(|v| (format!("after {a}"), v))),
    );
    let n = bars.len();
    let mut p = Plot::new(
        560.0,
        340.0,
        (0.0, n as f64),
        (0.0, 100.0),
        "Accuracy under attack at one ε",
    )
    .margins(64.0, 16.0, 14.0, 70.0);
    p.axes(
        &format!("stage of the suite at ε = {}", tick_text(eps)),
        "accuracy (% of attacked items)",
        &[],
        &labelled(&ticks(0.0, 100.0, 5), |v| format!("{v}%")),
    );
    for (i, (name, v)) in bars.iter().enumerate() {
        let color = if i == 0 { "#999" } else { PALETTE[0] };
        p.rect(
            (i as f64 + 0.15, i as f64 + 0.85),
            (0.0, 100.0 * v),
            &format!("fill=\"{color}\""),
        );
        let (x, y) = (p.px(i as f64 + 0.5), p.py(100.0 * v));
        let label = if i == 0 {
            format!(
                "<text x=\"{x:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\" {}</text>",
                y - 5.0,
                doc.svg_text("/robustness/clean_accuracy", Fmt::Pct1)
            )
        } else {
            format!(
                "<text x=\"{x:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
                y - 5.0,
                pct(*v)
            )
        };
        let by = p.py(0.0) + 16.0;
        p.raw(&format!("{label}<text x=\"{x:.1}\" y=\"{by:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>", esc(name)));
    }
    p.finish()
}

/// The reliability diagram (Guo et al. / netcal style) of the bins at `pointer` (an array of
/// the document): bars of accuracy per confidence bin, the gap to the bin's mean confidence
/// hatched, the diagonal; below it, the items per bin with their counts.
pub fn reliability(doc: Doc, bins: &[ReliabilityBin], pointer: &str, label: &str) -> String {
    let id = format!("hatch{}", pointer.len() + label.len());
    let mut p = Plot::new(
        420.0,
        300.0,
        (0.0, 1.0),
        (0.0, 1.0),
        &format!("Reliability diagram, {label}"),
    )
    .margins(64.0, 12.0, 12.0, 36.0);
    let t = labelled(&ticks(0.0, 1.0, 5), tick_text);
    p.axes("", "accuracy in bin", &t, &t);
    p.raw(&format!(
        "<defs><pattern id=\"{id}\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <rect width=\"6\" height=\"6\" fill=\"#D55E00\" fill-opacity=\"0.18\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#D55E00\" stroke-width=\"2\"/></pattern></defs>"
    ));
    for b in bins.iter().filter(|b| b.count > 0) {
        p.rect(
            (b.lo, b.hi),
            (0.0, b.accuracy),
            "fill=\"#0072B2\" stroke=\"#fff\"",
        );
    }
    for b in bins.iter().filter(|b| b.count > 0) {
        p.rect(
            (b.lo, b.hi),
            (b.accuracy, b.confidence),
            &format!("fill=\"url(#{id})\" stroke=\"#D55E00\""),
        );
    }
    p.line(&[(0.0, 0.0), (1.0, 1.0)], "#333", 1.5, true);
    p.legend(
        &[
            ("accuracy in bin".into(), "#0072B2".into(), Mark::Box),
            (
                "gap to the bin's mean confidence".into(),
                "#D55E00".into(),
                Mark::Box,
            ),
            ("perfect calibration".into(), "#333".into(), Mark::Dashed),
        ],
        (true, false),
    );
    let top = p.finish();
    let max = bins.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let mut h = Plot::new(
        420.0,
        150.0,
        (0.0, 1.0),
        (0.0, 1.2 * max),
        &format!("Items per confidence bin, {label}"),
    )
    .margins(64.0, 12.0, 8.0, 44.0);
    h.axes(
        "confidence (top-class probability)",
        "items",
        &t,
        &labelled(&ticks(0.0, max, 3), tick_text),
    );
    for (k, b) in bins.iter().enumerate() {
        h.rect(
            (b.lo, b.hi),
            (0.0, b.count as f64),
            "fill=\"#888\" stroke=\"#fff\"",
        );
        if b.count > 0 {
            let (x, y) = (h.px((b.lo + b.hi) / 2.0), h.py(b.count as f64) - 3.0);
            h.raw(&format!(
                "<text x=\"{x:.1}\" y=\"{y:.1}\" class=\"tick\" text-anchor=\"middle\" {}</text>",
                doc.svg_text(&format!("{pointer}/{k}/count"), Fmt::Int)
            ));
        }
    }
    format!("<div class=\"stack\">{top}{}</div>", h.finish())
}

/// Mean coverage per α (bars) against the target `1 − α` (dashed) and its tolerance band.
pub fn coverage(c: &ConformalResult) -> String {
    let lo_data = c
        .levels
        .iter()
        .map(|l| l.mean_coverage.min(l.target_coverage - c.tolerance))
        .fold(1.0, f64::min);
    let lo = ((lo_data - 0.05) * 20.0).floor().max(0.0) / 20.0;
    let n = c.levels.len().max(1);
    let mut p = Plot::new(
        420.0,
        300.0,
        (0.0, n as f64),
        (100.0 * lo, 100.0),
        "Conformal coverage against its target",
    );
    let xt: Vec<(f64, String)> = c
        .levels
        .iter()
        .enumerate()
        .map(|(i, l)| (i as f64 + 0.5, format!("α = {}", l.alpha)))
        .collect();
    p.axes(
        "miscoverage level",
        "coverage (% of test items)",
        &xt,
        &labelled(&ticks(100.0 * lo, 100.0, 5), |v| {
            format!("{}%", tick_text(v))
        }),
    );
    for (i, l) in c.levels.iter().enumerate() {
        let x = (i as f64 + 0.1, i as f64 + 0.9);
        let t = 100.0 * l.target_coverage;
        p.rect(
            x,
            (
                t - 100.0 * c.tolerance,
                (t + 100.0 * c.tolerance).min(100.0),
            ),
            "fill=\"#bbb\" fill-opacity=\"0.4\"",
        );
        p.rect(
            (i as f64 + 0.3, i as f64 + 0.7),
            (100.0 * lo, 100.0 * l.mean_coverage),
            "fill=\"#0072B2\"",
        );
        p.line(&[(x.0, t), (x.1, t)], "#000", 2.0, true);
    }
    p.legend(
        &[
            ("mean coverage".into(), "#0072B2".into(), Mark::Box),
            ("target and tolerance".into(), "#000".into(), Mark::Dashed),
        ],
        (false, true),
    );
    p.finish()
}

/// Deletion curves: the predicted class's mean probability as features are deleted in each
/// method's order, against a random order.
pub fn deletion(e: &ExplainResult) -> String {
    let mut p = Plot::new(480.0, 320.0, (0.0, 100.0), (0.0, 1.0), "Deletion curves");
    p.axes(
        "features deleted (% of the input, most important first)",
        "mean probability of the predicted class",
        &labelled(&ticks(0.0, 100.0, 5), |v| format!("{v}%")),
        &labelled(&ticks(0.0, 1.0, 5), tick_text),
    );
    let mut legend = Vec::new();
    for (i, d) in e.deletion.iter().enumerate() {
        let pts: Vec<(f64, f64)> = d
            .fractions
            .iter()
            .zip(&d.mean)
            .map(|(f, m)| (100.0 * f, *m))
            .collect();
        let random = d.method == "random order";
        let color = if random {
            "#000"
        } else {
            PALETTE[i % PALETTE.len()]
        };
        p.line(&pts, color, 2.5, random);
        legend.push((
            d.method.clone(),
            color.to_string(),
            if random { Mark::Dashed } else { Mark::Line },
        ));
    }
    p.legend(&legend, (true, true));
    p.finish()
}

/// The colour key of the heatmaps (red: raises the predicted class's logit; blue: lowers it).
pub fn attribution_key() -> String {
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 360 44\" width=\"360\" height=\"44\" role=\"img\" aria-label=\"Attribution colour key\">\
     <title>Attribution colour key</title><defs><linearGradient id=\"attr-key\">\
     <stop offset=\"0\" stop-color=\"#004DFF\"/><stop offset=\"0.5\" stop-color=\"#A6A6A6\"/><stop offset=\"1\" stop-color=\"#FF0000\"/>\
     </linearGradient></defs><rect x=\"10\" y=\"4\" width=\"340\" height=\"14\" fill=\"url(#attr-key)\"/>\
     <text x=\"10\" y=\"34\" class=\"tick\">lowers the predicted class</text>\
     <text x=\"180\" y=\"34\" class=\"tick\" text-anchor=\"middle\">none</text>\
     <text x=\"350\" y=\"34\" class=\"tick\" text-anchor=\"end\">raises the predicted class</text></svg>"
        .to_string()
}

/// Signed IG and SmoothGrad attributions of one tabular row, largest |IG| first.
pub fn feature_bars(item: &ExplainedItem) -> String {
    let k = item.features.len().max(1);
    let m = item
        .features
        .iter()
        .flat_map(|f| [f.ig.abs(), f.smoothgrad.abs()])
        .fold(1e-12, f64::max);
    let h = 28.0 + 22.0 * k as f64 + 50.0;
    let mut p = Plot::new(460.0, h, (-m, m), (0.0, k as f64), "Feature attributions")
        .margins(170.0, 12.0, 28.0, 50.0);
    let xt = ticks(-m, m, 4);
    p.axes(
        "attribution (logit of the predicted class)",
        "",
        &labelled(&xt, |v| format!("{v:.2}")),
        &[],
    );
    for (i, f) in item.features.iter().enumerate() {
        let y = (k - 1 - i) as f64;
        p.rect(
            (0.0, f.ig),
            (y + 0.5, y + 0.9),
            &format!("fill=\"{}\"", PALETTE[0]),
        );
        p.rect(
            (0.0, f.smoothgrad),
            (y + 0.1, y + 0.5),
            &format!("fill=\"{}\"", PALETTE[4]),
        );
        let (x, py) = (p.px(-m) - 6.0, p.py(y + 0.5) + 4.0);
        p.raw(&format!(
            "<text x=\"{x:.1}\" y=\"{py:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
            esc(&f.name)
        ));
    }
    p.line(&[(0.0, 0.0), (0.0, k as f64)], "#333", 1.0, false);
    p.legend_above(&[
        ("integrated gradients".into(), PALETTE[0].into()),
        ("SmoothGrad".into(), PALETTE[4].into()),
    ]);
    p.finish()
}

/// The risk–coverage curve of the deployment rows with the target risk and the SGR point.
pub fn risk_coverage(d: &DeferralResult) -> String {
    let top = d
        .curve
        .iter()
        .map(|c| c.risk)
        .fold(3.0 * d.target_risk, f64::max)
        .min(1.0);
    let mut p = Plot::new(
        520.0,
        330.0,
        (0.0, 100.0),
        (0.0, 100.0 * top),
        "Risk against coverage",
    );
    p.axes(
        "coverage (% of items accepted, most confident first)",
        "selective risk (% errors among accepted)",
        &labelled(&ticks(0.0, 100.0, 5), |v| format!("{v}%")),
        &labelled(&ticks(0.0, 100.0 * top, 5), |v| {
            format!("{}%", tick_text(v))
        }),
    );
    let pts: Vec<(f64, f64)> = d
        .curve
        .iter()
        .map(|c| (100.0 * c.coverage, 100.0 * c.risk))
        .collect();
    p.line(&pts, PALETTE[0], 2.5, false);
    let t = 100.0 * d.target_risk;
    p.line(&[(0.0, t), (100.0, t)], PALETTE[1], 2.0, true);
    let mut legend = vec![
        (
            "risk of the most confident items".to_string(),
            PALETTE[0].to_string(),
            Mark::Line,
        ),
        (
            "target risk".to_string(),
            PALETTE[1].to_string(),
            Mark::Dashed,
        ),
    ];
    if d.feasible {
        p.dots(&[(100.0 * d.coverage, 100.0 * d.risk)], PALETTE[2], 6.0);
        legend.push((
            "deployed SGR threshold".into(),
            PALETTE[2].into(),
            Mark::Box,
        ));
    }
    p.legend(&legend, (true, false));
    p.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::stages::ClassAccuracy;

    /// An accuracy result of `c` classes whose test items are `(label, prediction)` pairs.
    fn result(c: usize, items: &[(usize, usize)]) -> AccuracyResult {
        let mut confusion = vec![vec![0; c]; c];
        for &(t, p) in items {
            confusion[t][p] += 1;
        }
        AccuracyResult {
            n: items.len(),
            correct: items.iter().filter(|(t, p)| t == p).count(),
            accuracy: 0.0,
            mean_confidence: 0.0,
            per_class: (0..c)
                .map(|k| ClassAccuracy {
                    name: format!("class {k}"),
                    n: confusion[k].iter().sum(),
                    correct: confusion[k][k],
                    accuracy: None,
                })
                .collect(),
            confusion,
        }
    }

    #[test]
    fn a_thousand_class_model_shows_its_busiest_classes_only() {
        let items: Vec<(usize, usize)> = (0..64).map(|i| (i * 7 % 1000, i * 13 % 1000)).collect();
        let a = result(1000, &items);
        let shown = confusion_classes(&a);
        assert_eq!(shown.len(), CONFUSION_MAX_CLASSES);
        assert!(shown.windows(2).all(|w| w[0] < w[1]));
        assert!(
            shown
                .iter()
                .all(|&k| a.per_class[k].n > 0 || a.confusion.iter().any(|r| r[k] > 0))
        );
        let json = serde_json::json!({});
        let svg = confusion(Doc::new(&json), &a);
        assert_eq!(
            svg.matches("fill=\"#0072B2\"").count(),
            400,
            "20 × 20 cells"
        );
        assert!(svg.len() < 200_000, "{} bytes", svg.len());

        let small = result(10, &[(3, 3), (6, 3)]);
        assert_eq!(confusion_classes(&small), (0..10).collect::<Vec<_>>());
    }
}
