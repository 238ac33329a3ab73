//! Inline SVG charts, no scripts and no external resources: a plotting frame with data
//! coordinates ([`Plot`]), axes with titles and nice ticks, lines, markers, rectangles, text
//! and a legend. The figures of the report are drawn with these.

use std::fmt::Write;

use super::doc::esc;

/// Colour-blind-safe colours (Okabe & Ito).
pub const PALETTE: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

/// A chart: its pixel size, margins and data ranges, and the SVG drawn so far.
pub struct Plot {
    w: f64,
    h: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x: (f64, f64),
    y: (f64, f64),
    body: String,
    label: String,
}

/// A legend entry's mark.
#[derive(Clone, Copy, PartialEq)]
pub enum Mark {
    /// A line.
    Line,
    /// A dashed line.
    Dashed,
    /// A filled box.
    Box,
}

impl Plot {
    /// A `w × h` chart of `x` by `y` data ranges; `label` is its accessible name.
    pub fn new(w: f64, h: f64, x: (f64, f64), y: (f64, f64), label: &str) -> Self {
        let widen = |(a, b): (f64, f64)| if b > a { (a, b) } else { (a - 0.5, a + 0.5) };
        Self {
            w,
            h,
            left: 64.0,
            right: 16.0,
            top: 14.0,
            bottom: 50.0,
            x: widen(x),
            y: widen(y),
            body: String::new(),
            label: label.to_string(),
        }
    }

    /// Sets the margins (left, right, top, bottom) in pixels.
    pub fn margins(mut self, left: f64, right: f64, top: f64, bottom: f64) -> Self {
        (self.left, self.right, self.top, self.bottom) = (left, right, top, bottom);
        self
    }

    /// Pixel x of data x.
    pub fn px(&self, x: f64) -> f64 {
        self.left + (x - self.x.0) / (self.x.1 - self.x.0) * (self.w - self.left - self.right)
    }

    /// Pixel y of data y.
    pub fn py(&self, y: f64) -> f64 {
        self.h
            - self.bottom
            - (y - self.y.0) / (self.y.1 - self.y.0) * (self.h - self.top - self.bottom)
    }

    /// The plotting area's pixel box: `(x0, y0, x1, y1)`.
    pub fn area(&self) -> (f64, f64, f64, f64) {
        (
            self.left,
            self.top,
            self.w - self.right,
            self.h - self.bottom,
        )
    }

    /// Axes, grid lines at the ticks, tick labels and the axis titles.
    pub fn axes(
        &mut self,
        x_title: &str,
        y_title: &str,
        x_ticks: &[(f64, String)],
        y_ticks: &[(f64, String)],
    ) {
        let (x0, y0, x1, y1) = self.area();
        let mut s = String::new();
        for (v, label) in y_ticks {
            let y = self.py(*v);
            let _ = write!(
                s,
                "<line x1=\"{x0:.1}\" y1=\"{y:.1}\" x2=\"{x1:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
                x0 - 6.0,
                y + 4.0,
                esc(label)
            );
        }
        for (v, label) in x_ticks {
            let x = self.px(*v);
            let _ = write!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{y1:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" class=\"axis\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
                y1 + 5.0,
                y1 + 18.0,
                esc(label)
            );
        }
        let _ = write!(
            s,
            "<path d=\"M{x0:.1},{y0:.1}V{y1:.1}H{x1:.1}\" class=\"axis\" fill=\"none\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"title\" text-anchor=\"middle\">{}</text>\
             <text transform=\"translate({:.1},{:.1}) rotate(-90)\" class=\"title\" text-anchor=\"middle\">{}</text>",
            (x0 + x1) / 2.0,
            self.h - 10.0,
            esc(x_title),
            16.0,
            (y0 + y1) / 2.0,
            esc(y_title)
        );
        self.body.insert_str(0, &s);
    }

    /// A polyline through data points.
    pub fn line(&mut self, points: &[(f64, f64)], color: &str, width: f64, dashed: bool) {
        if points.is_empty() {
            return;
        }
        let d: Vec<String> = points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", self.px(x), self.py(y)))
            .collect();
        let dash = if dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = write!(
            self.body,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\"{dash}/>",
            d.join(" ")
        );
    }

    /// Circles at data points.
    pub fn dots(&mut self, points: &[(f64, f64)], color: &str, r: f64) {
        for &(x, y) in points {
            let _ = write!(
                self.body,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\" fill=\"{color}\"/>",
                self.px(x),
                self.py(y)
            );
        }
    }

    /// A rectangle between data corners; `style` is extra SVG attributes.
    pub fn rect(&mut self, (xa, xb): (f64, f64), (ya, yb): (f64, f64), style: &str) {
        let (x0, x1) = (self.px(xa.min(xb)), self.px(xa.max(xb)));
        let (y0, y1) = (self.py(ya.max(yb)), self.py(ya.min(yb)));
        let _ = write!(
            self.body,
            "<rect x=\"{x0:.1}\" y=\"{y0:.1}\" width=\"{:.1}\" height=\"{:.1}\" {style}/>",
            (x1 - x0).max(0.0),
            (y1 - y0).max(0.0)
        );
    }

    /// Raw SVG appended to the chart.
    pub fn raw(&mut self, svg: &str) {
        self.body.push_str(svg);
    }

    /// A legend box in a corner of the plotting area: `(top, right)`.
    pub fn legend(&mut self, items: &[(String, String, Mark)], (top, right): (bool, bool)) {
        let (x0, y0, x1, y1) = self.area();
        let width =
            34.0 + 7.0 * items.iter().map(|i| i.0.chars().count()).max().unwrap_or(0) as f64;
        let height = 8.0 + 18.0 * items.len() as f64;
        let lx = if right { x1 - width - 6.0 } else { x0 + 6.0 };
        let ly = if top { y0 + 6.0 } else { y1 - height - 6.0 };
        let _ = write!(
            self.body,
            "<rect x=\"{lx:.1}\" y=\"{ly:.1}\" width=\"{width:.1}\" height=\"{height:.1}\" class=\"legend\"/>"
        );
        for (i, (name, color, mark)) in items.iter().enumerate() {
            let y = ly + 14.0 + 18.0 * i as f64;
            let m = match mark {
                Mark::Box => format!(
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"16\" height=\"10\" fill=\"{color}\"/>",
                    lx + 8.0,
                    y - 9.0
                ),
                _ => format!(
                    "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{color}\" stroke-width=\"3\"{}/>",
                    lx + 6.0,
                    y - 4.0,
                    lx + 26.0,
                    y - 4.0,
                    if *mark == Mark::Dashed {
                        " stroke-dasharray=\"5 3\""
                    } else {
                        ""
                    }
                ),
            };
            let _ = write!(
                self.body,
                "{m}<text x=\"{:.1}\" y=\"{y:.1}\" class=\"tick\">{}</text>",
                lx + 30.0,
                esc(name)
            );
        }
    }

    /// A legend in one row above the plotting area (give the plot a top margin of 28 px).
    pub fn legend_above(&mut self, items: &[(String, String)]) {
        let mut x = self.left;
        for (name, color) in items {
            let _ = write!(
                self.body,
                "<rect x=\"{x:.1}\" y=\"8\" width=\"16\" height=\"10\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"17\" class=\"tick\">{}</text>",
                x + 20.0,
                esc(name)
            );
            x += 34.0 + 6.5 * name.chars().count() as f64;
        }
    }

    /// The finished `<svg>` element.
    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{l}\"><title>{l}</title>{b}</svg>",
            w = self.w,
            h = self.h,
            l = esc(&self.label),
            b = self.body
        )
    }
}

/// About `n` round tick values covering `[lo, hi]`.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(hi > lo) || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    // Rounded to 12 decimals so ticks read 0.6, not 0.6000000000000001.
    (first..=last)
        .map(|k| format!("{:.12}", k as f64 * step).parse().unwrap_or(0.0))
        .collect()
}

/// Tick labels: each value written by `f`.
pub fn labelled(values: &[f64], f: impl Fn(f64) -> String) -> Vec<(f64, String)> {
    values.iter().map(|&v| (v, f(v))).collect()
}

/// A tick value without float noise (`0.30000000000000004` → `0.3`).
pub fn tick_text(v: f64) -> String {
    let r = (v * 1e6).round() / 1e6;
    format!("{}", r + 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(ticks(0.0, 0.3, 3), vec![0.0, 0.1, 0.2, 0.3]);
        assert_eq!(tick_text(0.1 + 0.2), "0.3");
    }

    #[test]
    fn a_plot_maps_data_to_pixels_and_closes_its_svg() {
        let mut p = Plot::new(200.0, 100.0, (0.0, 1.0), (0.0, 1.0), "t");
        let (x0, y0, x1, y1) = p.area();
        assert_eq!((p.px(0.0), p.px(1.0)), (x0, x1));
        assert_eq!((p.py(1.0), p.py(0.0)), (y0, y1));
        p.line(&[(0.0, 0.0), (1.0, 1.0)], PALETTE[0], 2.0, false);
        let s = p.finish();
        assert!(s.starts_with("<svg") && s.ends_with("</svg>") && s.contains("<polyline"));
    }
}
