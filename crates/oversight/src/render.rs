//! Terminal rendering of a queue item for the human reviewer: images as Unicode half blocks
//! (`▀`, the top pixel as the foreground colour and the bottom one as the background, 24-bit
//! ANSI colour, so a 28 × 28 image takes 28 columns × 14 lines), next to the attribution map
//! (red: evidence for the predicted class, blue: against); tabular rows as a table of feature
//! names, values and attributions.

use crate::queue::{QueueItem, QueueMeta};

const RESET: &str = "\x1b[0m";

/// The image `[H, W]` (values in `[0, 1]`) and, when given, its attribution map, side by side.
pub fn render_image(
    pixels: &[f32],
    attribution: Option<&[f32]>,
    height: usize,
    width: usize,
) -> String {
    let gray = |v: f32| {
        let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        (g, g, g)
    };
    let scale = attribution
        .map(|a| a.iter().fold(0f32, |m, v| m.max(v.abs())))
        .filter(|m| *m > 0.0)
        .unwrap_or(1.0);
    let heat = |v: f32| {
        let t = (v / scale).clamp(-1.0, 1.0);
        let k = (255.0 * (1.0 - t.abs())).round() as u8;
        if t >= 0.0 { (255, k, k) } else { (k, k, 255) }
    };
    let mut out = String::new();
    for y in (0..height).step_by(2) {
        let panel = |out: &mut String, colour: &dyn Fn(f32) -> (u8, u8, u8), values: &[f32]| {
            for x in 0..width {
                let top = colour(values[y * width + x]);
                let bottom = if y + 1 < height {
                    colour(values[(y + 1) * width + x])
                } else {
                    (0, 0, 0)
                };
                out.push_str(&format!(
                    "\x1b[38;2;{};{};{}m\x1b[48;2;{};{};{}m▀",
                    top.0, top.1, top.2, bottom.0, bottom.1, bottom.2
                ));
            }
            out.push_str(RESET);
        };
        panel(&mut out, &gray, pixels);
        if let Some(a) = attribution {
            out.push_str("  ");
            panel(&mut out, &heat, a);
        }
        out.push('\n');
    }
    out
}

/// A tabular row: one line per feature with its value and attribution, features with the
/// largest |attribution| marked.
pub fn render_tabular(item: &QueueItem, names: &[String]) -> String {
    let top: Vec<usize> = item.top_attribution.iter().map(|t| t.feature).collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = format!(
        "{:width$}  {:>12}  {:>12}\n",
        "feature", "value", "attribution"
    );
    for (j, v) in item.features.iter().enumerate() {
        let name = names.get(j).cloned().unwrap_or_else(|| format!("x{j}"));
        let attr = item
            .attribution
            .get(j)
            .map(|a| format!("{a:12.4}"))
            .unwrap_or_else(|| format!("{:>12}", "-"));
        let mark = if top.contains(&j) { " *" } else { "" };
        out.push_str(&format!("{name:width$}  {v:12.4}  {attr}{mark}\n"));
    }
    out
}

/// Everything the reviewer sees for one item.
pub fn render_item(item: &QueueItem, meta: &QueueMeta, position: usize, total: usize) -> String {
    let class = |c: usize| {
        meta.class_names
            .get(c)
            .map(|n| format!("{c} ({n})"))
            .unwrap_or_else(|| c.to_string())
    };
    let mut out = format!(
        "── item {position}/{total}: {} (test row {}) ──\n",
        item.id, item.index
    );
    let shape = &meta.sample_shape;
    if shape.len() == 3 && item.features.len() == shape.iter().product::<usize>() {
        // Colour images are shown by their mean over channels, attributions summed over them.
        let (c, plane) = (shape[0], shape[1] * shape[2]);
        let fold = |v: &[f32], mean: bool| -> Vec<f32> {
            (0..plane)
                .map(|p| {
                    let s: f32 = (0..c).map(|k| v[k * plane + p]).sum();
                    if mean { s / c as f32 } else { s }
                })
                .collect()
        };
        let grey = fold(&item.features, true);
        let attr =
            (item.attribution.len() == item.features.len()).then(|| fold(&item.attribution, false));
        out.push_str(&render_image(&grey, attr.as_deref(), shape[1], shape[2]));
        if attr.is_some() {
            out.push_str(&format!(
                "left: input; right: {} attribution (red supports the prediction)\n",
                meta.attribution_method
            ));
        }
    } else {
        out.push_str(&render_tabular(item, &meta.feature_names));
    }
    let set: Vec<String> = item.conformal_set.iter().map(|&c| class(c)).collect();
    out.push_str(&format!(
        "model says {} with probability {:.3} (confidence {:.4} < threshold {:.4})\n",
        class(item.prediction),
        item.probability,
        item.confidence,
        meta.threshold
    ));
    out.push_str(&format!("conformal set: {{{}}}\n", set.join(", ")));
    if !item.top_attribution.is_empty() {
        let top: Vec<String> = item
            .top_attribution
            .iter()
            .take(5)
            .map(|t| format!("{} {:+.3}", t.name, t.attribution))
            .collect();
        out.push_str(&format!("top attributions: {}\n", top.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_blocks_pack_two_rows_per_line() {
        // 4×2 image: 2 lines of 2 half blocks; the first cell is white over black.
        let img = [1.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5];
        let s = render_image(&img, None, 4, 2);
        assert_eq!(s.lines().count(), 2);
        assert_eq!(s.matches('▀').count(), 4);
        assert!(s.starts_with("\x1b[38;2;255;255;255m\x1b[48;2;0;0;0m▀"));
        let with = render_image(&img, Some(&[1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]), 4, 2);
        assert_eq!(with.matches('▀').count(), 8);
        assert!(
            with.contains("\x1b[38;2;255;0;0m"),
            "positive attribution is red"
        );
    }
}
