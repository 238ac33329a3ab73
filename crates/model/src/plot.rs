//! PNG plots for reports: line charts (accuracy against ε, learning curves), bar charts
//! (feature importances), and [`render_png`], the canvas every crate draws its own plots on
//! (reliability diagrams, heatmaps).
//!
//! Text is drawn with the DejaVu Sans font compiled into the binary (`assets/fonts`) under the
//! family name `"sans-serif"`, so plots render the same on a machine with no system fonts.
//! Files are written atomically.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{ModelError, Result};
use crate::io::write_atomic;

const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// Registers the bundled font as `"sans-serif"` (once per process). [`render_png`] calls it.
pub fn register_font() {
    REGISTER.call_once(|| {
        // The bundled font is valid; a failure here would only mean text is not drawn.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// One named series of `(x, y)` points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Points, drawn in order.
    pub points: Vec<(f64, f64)>,
}

/// Draws `series` as lines with markers and writes a `width × height` PNG to `path`.
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    y_range: Option<(f64, f64)>,
) -> Result<()> {
    render_png(path, (900, 600), |root| {
        let all = series.iter().flat_map(|s| s.points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for &(x, y) in all {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if !x0.is_finite() {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        let (y0, y1) = y_range.unwrap_or(if y1 > y0 {
            (y0, y1)
        } else {
            (y0 - 0.5, y0 + 0.5)
        });
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 26))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, s) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(s.points.clone(), color.stroke_width(3)))
                .map_err(|e| e.to_string())?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                });
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(|e| e.to_string())?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Horizontal bar chart: one bar per label (drawn top to bottom in the given order), with an
/// optional ± error whisker per bar (e.g. the std of permutation importance). Height grows
/// with the number of bars.
pub fn bar_chart(
    path: &Path,
    title: &str,
    value_label: &str,
    labels: &[String],
    values: &[f64],
    errors: Option<&[f64]>,
) -> Result<()> {
    if labels.len() != values.len() || errors.is_some_and(|e| e.len() != values.len()) {
        return Err(ModelError::format(
            path,
            "bar chart: labels, values and errors differ in length",
        ));
    }
    let n = values.len().max(1);
    let h = (120 + 28 * n as u32).clamp(300, 2400);
    render_png(path, (900, h), |root| {
        let err = |i: usize| errors.map_or(0.0, |e| e[i].abs());
        let lo = (0..values.len())
            .map(|i| values[i] - err(i))
            .fold(0.0f64, f64::min);
        let hi = (0..values.len())
            .map(|i| values[i] + err(i))
            .fold(0.0f64, f64::max);
        let pad = ((hi - lo) * 0.05).max(1e-9);
        let (lo, hi) = (lo - if lo < 0.0 { pad } else { 0.0 }, hi + pad);
        let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1) as u32;
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 24))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size((label_width * 9 + 20).clamp(60, 400))
            .build_cartesian_2d(lo..hi, (0..n).into_segmented())
            .map_err(|e| e.to_string())?;
        let names: Vec<String> = labels.to_vec();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(value_label)
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if *i < n => {
                    names.get(n - 1 - *i).cloned().unwrap_or_default()
                }
                _ => String::new(),
            })
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()
            .map_err(|e| e.to_string())?;
        let color = Palette99::pick(0).to_rgba();
        chart
            .draw_series(values.iter().enumerate().map(|(i, &v)| {
                let row = n - 1 - i;
                let (a, b) = if v >= 0.0 { (0.0, v) } else { (v, 0.0) };
                let mut bar = Rectangle::new(
                    [
                        (a, SegmentValue::Exact(row)),
                        (b, SegmentValue::Exact(row + 1)),
                    ],
                    color.filled(),
                );
                bar.set_margin(4, 4, 0, 0);
                bar
            }))
            .map_err(|e| e.to_string())?;
        if errors.is_some() {
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    let row = SegmentValue::CenterOf(n - 1 - i);
                    PathElement::new(
                        vec![(v - err(i), row.clone()), (v + err(i), row)],
                        BLACK.stroke_width(2),
                    )
                }))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// Draws on a white `w × h` canvas with `draw`, then encodes it as PNG and writes it to `path`
/// atomically. The bundled font is registered first, so `("sans-serif", size)` text works.
/// `draw` reports plotters' errors as strings; they become a [`ModelError`] naming `path`.
pub fn render_png(
    path: &Path,
    (w, h): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> std::result::Result<(), String>,
) -> Result<()> {
    register_font();
    let mut buf = vec![255u8; (w * h * 3) as usize];
    let fail = |e: String| ModelError::format(path, format!("cannot draw the plot: {e}"));
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    save_rgb_png(path, w, h, buf)
}

/// Encodes a row-major RGB buffer (`w·h·3` bytes) as PNG and writes it to `path` atomically.
pub fn save_rgb_png(path: &Path, w: u32, h: u32, rgb: Vec<u8>) -> Result<()> {
    let fail = |e: String| ModelError::format(path, format!("cannot encode the PNG: {e}"));
    let img = image::RgbImage::from_raw(w, h, rgb).ok_or_else(|| fail("buffer size".into()))?;
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| fail(e.to_string()))?;
    write_atomic(path, &png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_with_drawn_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("acc.png");
        let s = vec![
            Series {
                name: "pgd".into(),
                points: vec![(0.0, 0.97), (0.1, 0.6), (0.3, 0.01)],
            },
            Series {
                name: "fgsm".into(),
                points: vec![(0.0, 0.97), (0.1, 0.7), (0.3, 0.04)],
            },
        ];
        line_chart(&p, "accuracy vs ε", "ε", "accuracy", &s, Some((0.0, 1.0))).unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (900, 600));
        let non_white = img.pixels().filter(|px| px.0 != [255, 255, 255]).count();
        assert!(
            non_white > 5_000,
            "plot looks empty: {non_white} drawn pixels"
        );
    }

    #[test]
    fn bar_chart_draws_bars_and_rejects_mismatched_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bars.png");
        let labels: Vec<String> = ["x0", "x1", "x2"].iter().map(|s| s.to_string()).collect();
        bar_chart(
            &p,
            "importance",
            "drop in accuracy",
            &labels,
            &[0.3, -0.05, 0.1],
            Some(&[0.02, 0.01, 0.03]),
        )
        .unwrap();
        let img = image::open(&p).unwrap().to_rgb8();
        let non_white = img.pixels().filter(|px| px.0 != [255, 255, 255]).count();
        assert!(non_white > 5_000, "{non_white}");
        let e = bar_chart(&p, "t", "v", &labels, &[1.0], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bars.png") && e.contains("length"), "{e}");
    }
}
