//! What the commands share: the `--run` / `--out` flags ([`CommonArgs`]), the default output
//! directory, the seeded halves of the test split and the reliability diagram (bars per
//! confidence bin with the gap to the diagonal, over the items per bin).

use std::path::{Path, PathBuf};

use aegis_model::data::shuffled_split;
use aegis_model::plot::render_png;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::Result;
use crate::metrics::ReliabilityBin;

/// The flags every command takes: the run to analyse and where to write.
#[derive(clap::Args, Debug)]
// `<command>` is help text for the terminal (kept as it was in main.rs), not HTML.
#[allow(rustdoc::invalid_html_tags)]
pub struct CommonArgs {
    /// Run directory written by `aegis-model train` (or adversarial `train`).
    #[arg(long)]
    pub run: PathBuf,
    /// Output directory [default: RUN/uncertainty/<command>].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl CommonArgs {
    /// `--out`, or [`default_out`] of `--run` for `command`.
    pub fn out_dir(&self, command: &str) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| default_out(&self.run, command))
    }
}

/// Default output directory of a command: `<run>/uncertainty/<command>`.
pub fn default_out(run: &Path, command: &str) -> PathBuf {
    run.join("uncertainty").join(command)
}

/// Seeded split of `0..n` into two halves (the first `⌊n/2⌋` shuffled indices, the rest).
pub fn halves(n: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    shuffled_split(n, n / 2, seed)
}

/// A reliability diagram in the convention of Guo et al. (2017) and netcal, one panel per
/// curve side by side: bars of the accuracy in each confidence bin, the gap between that
/// accuracy and the bin's mean confidence shaded red, the diagonal of perfect
/// calibration, and under it a histogram of how many items fall in each bin (so a bar resting
/// on one or two items reads as such). Titles name the curve and the item count.
pub fn reliability_plot(path: &Path, curves: &[(String, &Vec<ReliabilityBin>)]) -> Result<()> {
    let panel = 460u32;
    let width = panel * curves.len().max(1) as u32;
    render_png(path, (width, 720), |root| {
        let panels = root.split_evenly((1, curves.len().max(1)));
        for ((name, bins), area) in curves.iter().zip(panels) {
            reliability_panel(&area, name, bins)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// One panel of [`reliability_plot`]: the bars over the count histogram.
fn reliability_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    name: &str,
    bins: &[ReliabilityBin],
) -> std::result::Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let n: usize = bins.iter().map(|b| b.count).sum();
    let (top, bottom) = area.split_vertically(500);
    let mut chart = ChartBuilder::on(&top)
        .caption(format!("{name} ({n} items)"), ("sans-serif", 22))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc("confidence (top-class probability)")
        .y_desc("accuracy in bin")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|x| e(&x))?;
    let blue = RGBColor(0, 114, 178);
    let red = RGBColor(213, 94, 0);
    let filled: Vec<&ReliabilityBin> = bins.iter().filter(|b| b.count > 0).collect();
    chart
        .draw_series(
            filled
                .iter()
                .map(|b| Rectangle::new([(b.lo, 0.0), (b.hi, b.accuracy)], blue.filled())),
        )
        .map_err(|x| e(&x))?
        .label("accuracy in bin")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], blue.filled()));
    chart
        .draw_series(filled.iter().map(|b| {
            let (lo, hi) = (b.accuracy.min(b.confidence), b.accuracy.max(b.confidence));
            Rectangle::new([(b.lo, lo), (b.hi, hi)], red.mix(0.35).filled())
        }))
        .map_err(|x| e(&x))?
        .label("gap to the bin's mean confidence")
        .legend(move |(x, y)| {
            Rectangle::new([(x, y - 5), (x + 16, y + 5)], red.mix(0.35).filled())
        });
    chart
        .draw_series(filled.iter().map(|b| {
            let (lo, hi) = (b.accuracy.min(b.confidence), b.accuracy.max(b.confidence));
            Rectangle::new([(b.lo, lo), (b.hi, hi)], red.stroke_width(2))
        }))
        .map_err(|x| e(&x))?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            BLACK.stroke_width(2),
        ))
        .map_err(|x| e(&x))?
        .label("perfect calibration")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(&x))?;
    let max = bins.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let mut hist = ChartBuilder::on(&bottom)
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..1f64, 0f64..max * 1.1)
        .map_err(|x| e(&x))?;
    hist.configure_mesh()
        .x_desc("confidence (top-class probability)")
        .y_desc("items in bin")
        .y_labels(4)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|x| e(&x))?;
    hist.draw_series(bins.iter().map(|b| {
        Rectangle::new(
            [(b.lo, 0.0), (b.hi, b.count as f64)],
            RGBColor(130, 130, 130).filled(),
        )
    }))
    .map_err(|x| e(&x))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_are_seeded_disjoint_and_complete() {
        let (a, b) = halves(11, 3);
        assert_eq!((a.len(), b.len()), (5, 6));
        let mut all: Vec<usize> = a.iter().chain(&b).cloned().collect();
        all.sort();
        assert_eq!(all, (0..11).collect::<Vec<_>>());
        assert_eq!(halves(11, 3), (a, b));
        assert_ne!(halves(11, 4).0, halves(11, 3).0);
    }

    #[test]
    fn reliability_plot_draws_a_panel_per_curve() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.png");
        let bins: Vec<ReliabilityBin> = (0..10)
            .map(|k| ReliabilityBin {
                lo: k as f64 / 10.0,
                hi: (k + 1) as f64 / 10.0,
                count: k * 3,
                accuracy: (k as f64 / 10.0 + 0.02).min(1.0),
                confidence: k as f64 / 10.0 + 0.05,
            })
            .collect();
        reliability_plot(&p, &[("T = 1".into(), &bins), ("T = 2".into(), &bins)]).unwrap();
        let png = std::fs::read(&p).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((w, h), (920, 720));
        assert!(png.len() > 20_000, "{} bytes", png.len());
    }
}
