//! PNG plots of explanations: heatmap overlays for images, bar charts of global importances,
//! per-feature distribution (strip) plots of per-row SHAP/LIME values, PDP/ICE curves. Every
//! file is written atomically through `aegis_model::plot`.

use std::path::Path;

use aegis_model::plot::{bar_chart, render_png, save_rgb_png};
use plotters::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{InterpretError, Result};
use crate::tabular::{PartialDependence, mean_abs, ranking};

/// Writes the image (left: in colour when it has 3 channels, else grey) and the attribution
/// overlay (right) side by side, each upscaled by `scale`. `image` and `attributions` are one
/// sample of shape `shape` (`[C, H, W]` or `[H, W]`, any size); for the overlay, channels are
/// averaged (image) and summed (attributions). The
/// overlay tints positive attributions red and negative ones blue, with opacity
/// `|a| / max|a|` (the 99.5th percentile of `|a|`, so one outlier does not wash out the map).
pub fn heatmap_overlay(
    path: &Path,
    image: &[f32],
    attributions: &[f32],
    shape: &[usize],
    scale: u32,
) -> Result<()> {
    let (h, w) = match shape {
        [.., h, w] if shape.len() >= 2 => (*h, *w),
        _ => {
            return Err(InterpretError::Shape(format!(
                "a heatmap needs an image shape, got {shape:?}"
            )));
        }
    };
    let plane = h * w;
    if image.len() != attributions.len() || image.is_empty() || !image.len().is_multiple_of(plane) {
        return Err(InterpretError::Shape(format!(
            "image ({}) and attributions ({}) must both have shape {shape:?}",
            image.len(),
            attributions.len()
        )));
    }
    let c = image.len() / plane;
    let gray: Vec<f32> = (0..plane)
        .map(|p| (0..c).map(|k| image[k * plane + p]).sum::<f32>() / c as f32)
        .collect();
    let attr: Vec<f32> = (0..plane)
        .map(|p| (0..c).map(|k| attributions[k * plane + p]).sum())
        .collect();
    let mut mags: Vec<f32> = attr.iter().map(|a| a.abs()).collect();
    mags.sort_by(f32::total_cmp);
    let top = mags[((mags.len() - 1) as f64 * 0.995) as usize].max(1e-12);
    let s = scale.max(1) as usize;
    let (wp, hp) = (2 * w * s, h * s);
    let mut rgb = vec![0u8; wp * hp * 3];
    for y in 0..hp {
        for x in 0..wp {
            let (half, xx) = (x / (w * s), x % (w * s));
            let p = (y / s) * w + xx / s;
            let g = gray[p].clamp(0.0, 1.0);
            let px = if half == 0 && c == 3 {
                [0, 1, 2].map(|k| image[k * plane + p].clamp(0.0, 1.0))
            } else if half == 0 {
                [g, g, g]
            } else {
                let a = (attr[p].abs() / top).min(1.0);
                let base = 0.35 * g + 0.65 * 0.5;
                let tint = if attr[p] >= 0.0 {
                    [1.0, 0.0, 0.0]
                } else {
                    [0.0, 0.3, 1.0]
                };
                [0, 1, 2].map(|k| (1.0 - a) * base + a * tint[k])
            };
            let o = (y * wp + x) * 3;
            for k in 0..3 {
                rgb[o + k] = (px[k] * 255.0).round() as u8;
            }
        }
    }
    Ok(save_rgb_png(path, wp as u32, hp as u32, rgb)?)
}

/// Horizontal bar chart of per-feature importances (sorted, at most `max_features` bars), with
/// `± std` whiskers when given.
pub fn importance_bars(
    path: &Path,
    title: &str,
    value_label: &str,
    names: &[String],
    mean: &[f64],
    std: Option<&[f64]>,
    max_features: usize,
) -> Result<()> {
    let order = ranking(mean);
    let keep = &order[..order.len().min(max_features.max(1))];
    let labels: Vec<String> = keep.iter().map(|&j| names[j].clone()).collect();
    let values: Vec<f64> = keep.iter().map(|&j| mean[j]).collect();
    let errs: Option<Vec<f64>> = std.map(|s| keep.iter().map(|&j| s[j]).collect());
    Ok(bar_chart(
        path,
        title,
        value_label,
        &labels,
        &values,
        errs.as_deref(),
    )?)
}

/// A strip plot of per-row values (SHAP values, LIME coefficients) for the `max_features`
/// features of largest mean |value|: one row per feature, one dot per explained row at its
/// value (vertical jitter from a fixed seed), coloured by the feature's value in that row from
/// blue (low) to red (high), as shap's summary plot, with that colour scale as a key on the
/// right and the number of rows in the axis title.
pub fn value_distribution(
    path: &Path,
    title: &str,
    names: &[String],
    values: &[f32],
    inputs: &[f32],
    max_features: usize,
) -> Result<()> {
    let f = names.len();
    if f == 0 || !values.len().is_multiple_of(f) || inputs.len() != values.len() {
        return Err(InterpretError::Shape(format!(
            "{} values and {} inputs for {f} features",
            values.len(),
            inputs.len()
        )));
    }
    let rows = values.len() / f;
    let imp = mean_abs(values, f);
    let order = ranking(&imp);
    let keep: Vec<usize> = order[..f.min(max_features.max(1))].to_vec();
    let lim = values.iter().fold(1e-9f32, |m, v| m.max(v.abs())) as f64 * 1.05;
    let k = keep.len();
    let height = (120 + 40 * k) as u32;
    render_png(path, (900, height.max(260)), |root| {
        let (plot_area, key_area) = root.split_horizontally(800);
        colour_key(&key_area)?;
        let mut chart = ChartBuilder::on(&plot_area)
            .caption(title, ("sans-serif", 24))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(180)
            .build_cartesian_2d(-lim..lim, -0.5f64..(k as f64 - 0.5))
            .map_err(|e| e.to_string())?;
        let labels: Vec<String> = keep.iter().map(|&j| names[j].clone()).collect();
        chart
            .configure_mesh()
            .y_labels(k)
            .y_label_formatter(&|y| {
                let i = y.round();
                if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < k {
                    labels[k - 1 - i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc(format!(
                "value (impact on the explained output), {rows} rows"
            ))
            .label_style(("sans-serif", 14))
            .disable_y_mesh()
            .draw()
            .map_err(|e| e.to_string())?;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for (pos, &j) in keep.iter().enumerate() {
            let col: Vec<f32> = (0..rows).map(|i| inputs[i * f + j]).collect();
            let (lo, hi) = col
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                    (l.min(v), h.max(v))
                });
            let y0 = (k - 1 - pos) as f64;
            let dots: Vec<Circle<(f64, f64), i32>> = (0..rows)
                .map(|i| {
                    let t = if hi > lo {
                        ((col[i] - lo) / (hi - lo)) as f64
                    } else {
                        0.5
                    };
                    let color = RGBColor((255.0 * t) as u8, 40, (255.0 * (1.0 - t)) as u8);
                    let jitter: f64 = rng.random_range(-0.3..0.3);
                    Circle::new((values[i * f + j] as f64, y0 + jitter), 3, color.filled())
                })
                .collect();
            chart.draw_series(dots).map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The colour key of [`value_distribution`]: the feature value from low (blue) to high (red).
fn colour_key(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
) -> std::result::Result<(), String> {
    let (_, h) = area.dim_in_pixel();
    let (top, bottom) = (50i32, h as i32 - 50);
    let steps = 50;
    for k in 0..steps {
        let t = 1.0 - k as f64 / (steps - 1) as f64;
        let y0 = top + (bottom - top) * k / steps;
        let y1 = top + (bottom - top) * (k + 1) / steps;
        let color = RGBColor((255.0 * t) as u8, 40, (255.0 * (1.0 - t)) as u8);
        area.draw(&Rectangle::new([(20, y0), (38, y1)], color.filled()))
            .map_err(|e| e.to_string())?;
    }
    let style = ("sans-serif", 14).into_font().color(&BLACK);
    area.draw(&Text::new("high", (14, top - 20), style.clone()))
        .map_err(|e| e.to_string())?;
    area.draw(&Text::new("low", (18, bottom + 6), style.clone()))
        .map_err(|e| e.to_string())?;
    area.draw(&Text::new(
        "feature value",
        (62, (top + bottom) / 2 + 45),
        style.transform(FontTransform::Rotate270),
    ))
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// PDP (thick line) over at most `max_ice` ICE curves (thin grey lines).
pub fn pdp_plot(
    path: &Path,
    pd: &PartialDependence,
    feature_name: &str,
    y_label: &str,
    max_ice: usize,
) -> Result<()> {
    let (x0, x1) = (
        pd.grid.first().copied().unwrap_or(0.0) as f64,
        pd.grid.last().copied().unwrap_or(1.0) as f64,
    );
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let all = pd.individual.iter().flatten().chain(&pd.average);
    let (mut y0, mut y1) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
        (l.min(v as f64), h.max(v as f64))
    });
    if !y0.is_finite() || y1 <= y0 {
        (y0, y1) = (y0.min(0.0), y0.max(0.0) + 1.0);
    }
    let pad = 0.05 * (y1 - y0);
    render_png(path, (900, 600), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("partial dependence on {feature_name}"),
                ("sans-serif", 24),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(feature_name)
            .y_desc(y_label)
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(|e| e.to_string())?;
        let grey = RGBColor(170, 170, 170);
        for curve in pd.individual.iter().take(max_ice) {
            chart
                .draw_series(LineSeries::new(
                    pd.grid
                        .iter()
                        .zip(curve)
                        .map(|(&x, &y)| (x as f64, y as f64)),
                    grey.stroke_width(1),
                ))
                .map_err(|e| e.to_string())?;
        }
        chart
            .draw_series(LineSeries::new(
                pd.grid
                    .iter()
                    .zip(&pd.average)
                    .map(|(&x, &y)| (x as f64, y as f64)),
                RED.stroke_width(4),
            ))
            .map_err(|e| e.to_string())?
            .label("average (PDP)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(4)));
        chart
            .configure_series_labels()
            .label_font(("sans-serif", 16))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(path: &Path) -> (u32, u32, usize) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        // IHDR width/height at bytes 16..24.
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        (w, h, bytes.len())
    }

    #[test]
    fn every_plot_writes_a_png_of_the_expected_size() {
        let dir = tempfile::tempdir().unwrap();
        let img: Vec<f32> = (0..16).map(|i| i as f32 / 16.0).collect();
        let attr: Vec<f32> = (0..16).map(|i| i as f32 - 8.0).collect();
        let p = dir.path().join("h.png");
        heatmap_overlay(&p, &img, &attr, &[1, 4, 4], 10).unwrap();
        assert_eq!(drawn(&p).0, 80);
        assert!(heatmap_overlay(&p, &img, &attr, &[16], 10).is_err());
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let p = dir.path().join("b.png");
        importance_bars(
            &p,
            "t",
            "v",
            &names,
            &[0.1, 0.3, 0.2],
            Some(&[0.01, 0.02, 0.0]),
            10,
        )
        .unwrap();
        assert!(drawn(&p).2 > 1000);
        let p = dir.path().join("s.png");
        let vals: Vec<f32> = (0..30).map(|i| (i as f32 * 0.7).sin()).collect();
        value_distribution(&p, "shap", &names, &vals, &vals, 10).unwrap();
        assert_eq!(drawn(&p).0, 900);
        let pd = PartialDependence {
            feature: 0,
            grid: vec![0.0, 1.0, 2.0],
            average: vec![0.2, 0.5, 0.7],
            individual: vec![vec![0.1, 0.4, 0.6], vec![0.3, 0.6, 0.8]],
        };
        let p = dir.path().join("p.png");
        pdp_plot(&p, &pd, "x0", "P(class 1)", 50).unwrap();
        assert_eq!(drawn(&p).1, 600);
    }
}
