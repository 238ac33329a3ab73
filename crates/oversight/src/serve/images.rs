//! The pictures of an item, as PNG `data:` URIs embedded in the page (no request for an image
//! ever names a file): the input of any `[C, H, W]` sample (three channels as colour, one or
//! any other number as grey by their mean; values outside `[0, 1]` stretched to it), and its
//! attribution map (summed over channels) in a diverging scale, red for evidence for the
//! predicted class and blue against, opaque where the attribution is large and transparent
//! where it is zero, so the same picture lies over the input as an overlay. Pixels stay pixels:
//! the page enlarges them with `image-rendering: pixelated`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};

/// `(channels, height, width)` of an image sample shape (`[C, H, W]` or `[H, W]`); `None` for
/// tabular rows.
pub fn image_dims(shape: &[usize]) -> Option<(usize, usize, usize)> {
    match *shape {
        [c, h, w] if c > 0 && h > 1 && w > 1 => Some((c, h, w)),
        [h, w] if h > 1 && w > 1 => Some((1, h, w)),
        _ => None,
    }
}

fn png(rgba: &[u8], w: usize, h: usize) -> Option<String> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(rgba, w as u32, h as u32, ExtendedColorType::Rgba8)
        .ok()?;
    Some(format!("data:image/png;base64,{}", STANDARD.encode(out)))
}

/// The input's pixels as RGB bytes (see [`input_png`] for the colour rules).
fn input_rgb(features: &[f32], c: usize, plane: usize) -> Vec<[u8; 3]> {
    let (lo, hi) = features
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let (lo, span) = if lo >= 0.0 && hi <= 1.0 {
        (0.0, 1.0)
    } else {
        (lo, (hi - lo).max(f32::EPSILON))
    };
    let byte = |v: f32| (((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8;
    (0..plane)
        .map(|p| {
            if c == 3 {
                [
                    byte(features[p]),
                    byte(features[plane + p]),
                    byte(features[2 * plane + p]),
                ]
            } else {
                let g = byte((0..c).map(|k| features[k * plane + p]).sum::<f32>() / c as f32);
                [g, g, g]
            }
        })
        .collect()
}

/// The input as a PNG data URI.
pub fn input_png(features: &[f32], shape: &[usize]) -> Option<String> {
    let (c, h, w) = image_dims(shape)?;
    if features.len() != c * h * w {
        return None;
    }
    let rgba: Vec<u8> = input_rgb(features, c, h * w)
        .into_iter()
        .flat_map(|[r, g, b]| [r, g, b, 255])
        .collect();
    png(&rgba, w, h)
}

/// The attribution summed over channels, as colour and opacity per pixel: red for, blue
/// against; opacity grows like the square root of |a| / scale, the scale being the 99th
/// percentile of the non-zero |a| (one extreme pixel does not wash out the rest).
fn heat_rgba(attribution: &[f32], c: usize, plane: usize) -> Vec<[u8; 4]> {
    let summed: Vec<f32> = (0..plane)
        .map(|p| (0..c).map(|k| attribution[k * plane + p]).sum())
        .collect();
    let mut mags: Vec<f32> = summed
        .iter()
        .map(|v| v.abs())
        .filter(|v| *v > 0.0)
        .collect();
    mags.sort_by(f32::total_cmp);
    let scale = mags
        .get((mags.len() as f64 * 0.99) as usize)
        .or(mags.last())
        .copied()
        .unwrap_or(1.0);
    summed
        .iter()
        .map(|&v| {
            let t = (v / scale).clamp(-1.0, 1.0);
            let a = (t.abs().sqrt() * 255.0).round() as u8;
            if t >= 0.0 {
                [214, 39, 40, a]
            } else {
                [31, 119, 180, a]
            }
        })
        .collect()
}

/// The attribution map alone (transparent where zero), to lie over the input: a PNG data URI,
/// `None` without a full map.
pub fn heat_png(attribution: &[f32], shape: &[usize]) -> Option<String> {
    let (c, h, w) = image_dims(shape)?;
    if attribution.len() != c * h * w {
        return None;
    }
    let rgba: Vec<u8> = heat_rgba(attribution, c, h * w).concat();
    png(&rgba, w, h)
}

/// The attribution map over a faint copy of the input (so the evidence is seen in place): a
/// PNG data URI, `None` without a full map.
pub fn heat_panel_png(attribution: &[f32], features: &[f32], shape: &[usize]) -> Option<String> {
    let (c, h, w) = image_dims(shape)?;
    if attribution.len() != c * h * w || features.len() != c * h * w {
        return None;
    }
    let base = input_rgb(features, c, h * w);
    let heat = heat_rgba(attribution, c, h * w);
    let mut rgba = Vec::with_capacity(h * w * 4);
    for (b, hp) in base.iter().zip(&heat) {
        let alpha = hp[3] as f32 / 255.0;
        for k in 0..3 {
            // The input at a quarter strength on white, then the heat on top.
            let under = 255.0 - 0.25 * (255.0 - b[k] as f32);
            let under = if c == 3 {
                under
            } else {
                255.0 - 0.25 * b[k] as f32
            };
            rgba.push((under * (1.0 - alpha) + hp[k] as f32 * alpha).round() as u8);
        }
        rgba.push(255);
    }
    png(&rgba, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(uri: &str) -> image::RgbaImage {
        let b64 = uri.strip_prefix("data:image/png;base64,").unwrap();
        let bytes = STANDARD.decode(b64).unwrap();
        image::load_from_memory(&bytes).unwrap().to_rgba8()
    }

    #[test]
    fn colour_grey_and_out_of_range_inputs_become_pngs() {
        // 3 × 2 × 2 colour: the first pixel pure red.
        let mut x = vec![0.0; 12];
        x[0] = 1.0;
        let img = decode(&input_png(&x, &[3, 2, 2]).unwrap());
        assert_eq!(img.dimensions(), (2, 2));
        assert_eq!(img.get_pixel(0, 0).0, [255, 0, 0, 255]);
        // Grey in [0, 255] is stretched to [0, 1].
        let img = decode(&input_png(&[0.0, 255.0, 127.5, 255.0], &[1, 2, 2]).unwrap());
        assert_eq!(img.get_pixel(1, 0).0, [255, 255, 255, 255]);
        assert_eq!(img.get_pixel(0, 1).0[0], 128);
        assert!(input_png(&[0.0; 5], &[5]).is_none(), "tabular");
        assert!(input_png(&[0.0; 3], &[1, 2, 2]).is_none(), "wrong length");
    }

    #[test]
    fn heat_is_red_for_blue_against_and_clear_at_zero() {
        let img = decode(&heat_png(&[2.0, -1.0, 0.0, 0.5], &[1, 2, 2]).unwrap());
        assert_eq!(img.get_pixel(0, 0).0, [214, 39, 40, 255]);
        let panel = decode(
            &heat_panel_png(&[2.0, 0.0, 0.0, 0.0], &[0.0, 0.0, 1.0, 0.0], &[1, 2, 2]).unwrap(),
        );
        assert_eq!(panel.get_pixel(0, 0).0, [214, 39, 40, 255], "opaque heat");
        assert_eq!(
            panel.get_pixel(1, 0).0,
            [255, 255, 255, 255],
            "white background"
        );
        assert_eq!(panel.get_pixel(0, 1).0[0], 191, "the input, faint");
        let against = img.get_pixel(1, 0).0;
        assert_eq!(&against[..3], &[31, 119, 180]);
        assert!(against[3] > 100 && against[3] < 255);
        assert_eq!(img.get_pixel(0, 1).0[3], 0);
    }
}
