//! The label-preserving image shifts, applied to each channel plane of `[N, C, H, W]` rows
//! (channel first, as the model crate's convolutions take them) and clipped to the run's
//! input domain: inversion, rotation about the centre, separable Gaussian blur and seeded
//! per-channel colour jitter.

use rand::Rng;
use rand_distr::{Distribution, Uniform};

use super::domain::SetDomain;

/// Gaussian blur's σ in pixels per 32 pixels of the image's shorter side (at least one
/// pixel): σ = 1 on MNIST (28 × 28) and CIFAR (32 × 32), 7 on 224 × 224, so the blur removes
/// the same share of detail at any resolution (ImageNet-C's blur at severity 5 has σ = 6).
pub const BLUR_SIGMA_PER_32_PIXELS: f64 = 1.0;

/// Colour jitter's per-channel gain (contrast about the domain's mid-point) is drawn from
/// `U(1 − g, 1 + g)` with this `g`.
pub const JITTER_GAIN: f32 = 0.5;

/// Colour jitter's per-channel offset (brightness) is drawn from `U(−o, o)` times the domain's
/// width with this `o`.
pub const JITTER_OFFSET: f32 = 0.25;

/// Channels, height and width of image samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLayout {
    /// Channels `C`.
    pub channels: usize,
    /// Height `H`.
    pub height: usize,
    /// Width `W`.
    pub width: usize,
}

impl ImageLayout {
    /// The layout of samples of shape `[C, H, W]` or `[H, W]` (one channel); `None` for any
    /// other rank or an empty dimension.
    pub fn of(shape: &[usize]) -> Option<Self> {
        let (channels, height, width) = match *shape {
            [c, h, w] => (c, h, w),
            [h, w] => (1, h, w),
            _ => return None,
        };
        (channels > 0 && height > 0 && width > 0).then_some(Self {
            channels,
            height,
            width,
        })
    }

    /// Values of one plane, `H·W`.
    pub fn plane(&self) -> usize {
        self.height * self.width
    }

    /// Values of one sample, `C·H·W`.
    pub fn dim(&self) -> usize {
        self.channels * self.plane()
    }

    /// The blur's σ in pixels: [`BLUR_SIGMA_PER_32_PIXELS`] per 32 pixels of the shorter
    /// side, at least 1.
    pub fn blur_sigma(&self) -> f64 {
        (BLUR_SIGMA_PER_32_PIXELS * self.height.min(self.width) as f64 / 32.0).max(1.0)
    }
}

/// `lo + hi − x` per value, clipped to the domain.
pub fn invert(images: &[f32], dim: usize, domain: &SetDomain) -> Vec<f32> {
    images
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let j = i % dim;
            let (lo, hi) = domain.bounds(j);
            domain.clip(j, (lo + hi) - v)
        })
        .collect()
}

/// Rotates each `height × width` plane counter-clockwise by `degrees` about its centre with
/// bilinear interpolation; pixels that come from outside the plane are 0. The output keeps
/// the shape: a non-square plane turned by 90° loses its parts that leave the canvas and
/// fills the uncovered corners with 0; when `H − W` is odd its turned grid falls halfway
/// between source pixels, so the turn also averages neighbours (a half-pixel blur).
pub fn rotate(images: &[f32], height: usize, width: usize, degrees: f64) -> Vec<f32> {
    let d = height * width;
    let (s, c) = degrees.to_radians().sin_cos();
    // Snap to exact values so 90° is an exact permutation of pixels.
    let snap = |v: f64| if v.abs() < 1e-12 { 0.0 } else { v };
    let (s, c) = (snap(s), snap(c));
    let (cy, cx) = ((height as f64 - 1.0) / 2.0, (width as f64 - 1.0) / 2.0);
    let mut out = vec![0f32; images.len()];
    for (img, dst) in images.chunks(d).zip(out.chunks_mut(d)) {
        let at = |y: isize, x: isize| -> f64 {
            if y < 0 || x < 0 || y >= height as isize || x >= width as isize {
                0.0
            } else {
                img[y as usize * width + x as usize] as f64
            }
        };
        for y in 0..height {
            for x in 0..width {
                // Inverse map: source = R(−θ) · (target − centre) + centre (y axis down).
                let (dy, dx) = (y as f64 - cy, x as f64 - cx);
                let sx = c * dx - s * dy + cx;
                let sy = s * dx + c * dy + cy;
                let (x0, y0) = (sx.floor(), sy.floor());
                let (fx, fy) = (sx - x0, sy - y0);
                let (x0, y0) = (x0 as isize, y0 as isize);
                let v = at(y0, x0) * (1.0 - fx) * (1.0 - fy)
                    + at(y0, x0 + 1) * fx * (1.0 - fy)
                    + at(y0 + 1, x0) * (1.0 - fx) * fy
                    + at(y0 + 1, x0 + 1) * fx * fy;
                dst[y * width + x] = v as f32;
            }
        }
    }
    out
}

/// [`rotate`] every plane, then clip to the domain (the 0 fill is inside every pixel domain
/// the model crate records, which always holds `[0, 1]`).
pub fn rotate_in_domain(
    images: &[f32],
    layout: ImageLayout,
    degrees: f64,
    domain: &SetDomain,
) -> Vec<f32> {
    let mut out = rotate(images, layout.height, layout.width, degrees);
    clip_all(&mut out, layout.dim(), domain);
    out
}

/// The normalised 1-D Gaussian kernel of `sigma` with radius `⌈3σ⌉`.
pub fn gaussian_kernel(sigma: f64) -> Vec<f64> {
    let r = (3.0 * sigma).ceil() as isize;
    let k: Vec<f64> = (-r..=r)
        .map(|i| (-((i * i) as f64) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = k.iter().sum();
    k.into_iter().map(|v| v / sum).collect()
}

/// Separable Gaussian blur of every plane with σ = [`ImageLayout::blur_sigma`], edges
/// replicated (a constant plane stays constant), clipped to the domain.
pub fn blur(images: &[f32], layout: ImageLayout, domain: &SetDomain) -> Vec<f32> {
    let (h, w) = (layout.height, layout.width);
    let k = gaussian_kernel(layout.blur_sigma());
    let r = (k.len() / 2) as isize;
    let tap = |i: usize, o: isize, n: usize| (i as isize + o).clamp(0, n as isize - 1) as usize;
    let mut out = vec![0f32; images.len()];
    let mut rows = vec![0f64; layout.plane()];
    for (src, dst) in images
        .chunks(layout.plane())
        .zip(out.chunks_mut(layout.plane()))
    {
        for y in 0..h {
            for x in 0..w {
                rows[y * w + x] = (-r..=r)
                    .map(|o| k[(o + r) as usize] * src[y * w + tap(x, o, w)] as f64)
                    .sum();
            }
        }
        for y in 0..h {
            for x in 0..w {
                let v: f64 = (-r..=r)
                    .map(|o| k[(o + r) as usize] * rows[tap(y, o, h) * w + x])
                    .sum();
                dst[y * w + x] = v as f32;
            }
        }
    }
    clip_all(&mut out, layout.dim(), domain);
    out
}

/// Per-channel colour jitter: for each image and channel (in that order) a gain
/// `g ~ U(1 − JITTER_GAIN, 1 + JITTER_GAIN)` and an offset `o ~ U(−JITTER_OFFSET,
/// JITTER_OFFSET)` are drawn from `rng`, and each value becomes `m + g·(x − m) + o·(hi − lo)`
/// with `m` the mid-point of its range, clipped to the domain. On one channel it is a
/// contrast and brightness change; on colour images it also shifts the colour balance.
pub fn colour_jitter(
    images: &[f32],
    layout: ImageLayout,
    domain: &SetDomain,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let gain = Uniform::new(1.0 - JITTER_GAIN, 1.0 + JITTER_GAIN).expect("valid range");
    let offset = Uniform::new(-JITTER_OFFSET, JITTER_OFFSET).expect("valid range");
    let mut out = images.to_vec();
    for img in out.chunks_mut(layout.dim()) {
        for (c, plane) in img.chunks_mut(layout.plane()).enumerate() {
            let (g, o) = (gain.sample(rng), offset.sample(rng));
            for (p, v) in plane.iter_mut().enumerate() {
                let j = c * layout.plane() + p;
                let (lo, hi) = domain.bounds(j);
                let m = (lo + hi) / 2.0;
                *v = domain.clip(j, m + g * (*v - m) + o * (hi - lo));
            }
        }
    }
    out
}

fn clip_all(values: &mut [f32], dim: usize, domain: &SetDomain) {
    for (i, v) in values.iter_mut().enumerate() {
        *v = domain.clip(i % dim, *v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn unit() -> SetDomain {
        SetDomain::pixels(0.0, 1.0).unwrap()
    }

    #[test]
    fn rotation_by_90_permutes_pixels_and_four_turns_are_identity() {
        // 3×3 image 0..9; a 90° counter-clockwise turn puts the top-right pixel (2) top-left.
        let img: Vec<f32> = (0..9).map(|v| v as f32).collect();
        let r = rotate(&img, 3, 3, 90.0);
        assert_eq!(r, vec![2.0, 5.0, 8.0, 1.0, 4.0, 7.0, 0.0, 3.0, 6.0]);
        let mut back = img.clone();
        for _ in 0..4 {
            back = rotate(&back, 3, 3, 90.0);
        }
        assert_eq!(back, img);
        // 45° keeps the centre pixel and stays in range.
        let r45 = rotate(&img, 3, 3, 45.0);
        assert_eq!(r45[4], 4.0);
        assert!(r45.iter().all(|v| (0.0..=8.0).contains(v)));
    }

    #[test]
    fn rotation_of_a_non_square_colour_image_keeps_its_shape() {
        // [2, 3, 5]: two planes of 3×5; H − W = −2 is even, so 90° moves whole pixels.
        let l = ImageLayout::of(&[2, 3, 5]).unwrap();
        let img: Vec<f32> = (0..2 * l.dim()).map(|v| v as f32 / 60.0).collect();
        let r = rotate_in_domain(&img, l, 90.0, &unit());
        assert_eq!(r.len(), img.len());
        // The centre row (y = 1) turns into the centre column (x = 2): target (y, 2) takes
        // source (1, 3 − y).
        for (y, sx) in [(0, 3), (1, 2), (2, 1)] {
            assert_eq!(r[y * 5 + 2], img[5 + sx]);
            assert_eq!(r[15 + y * 5 + 2], img[15 + 5 + sx], "second plane");
        }
        // Columns 0 and 4 come from rows −1 and 5 (off the canvas): filled with 0.
        assert!((0..3).all(|y| r[y * 5] == 0.0 && r[y * 5 + 4] == 0.0));
        assert!(r.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn blur_keeps_constant_planes_and_spreads_a_point() {
        let l = ImageLayout::of(&[3, 9, 11]).unwrap();
        assert_eq!(l.blur_sigma(), 1.0);
        assert_eq!(ImageLayout::of(&[3, 224, 300]).unwrap().blur_sigma(), 7.0);
        let k = gaussian_kernel(1.0);
        assert_eq!(k.len(), 7);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-12 && k[3] > k[2] && k[2] == k[4]);
        // Constant planes (a different value per channel) stay constant, edges included.
        let img: Vec<f32> = (0..3).flat_map(|c| vec![0.25 * c as f32; 99]).collect();
        let b = blur(&img, l, &unit());
        for (c, plane) in b.chunks(99).enumerate() {
            assert!(
                plane.iter().all(|v| (v - 0.25 * c as f32).abs() < 1e-6),
                "{c}"
            );
        }
        // A bright pixel at (4, 5), 3σ from every edge, becomes the outer product of the
        // kernel with its mass kept.
        let mut point = vec![0f32; 3 * 99];
        point[4 * 11 + 5] = 1.0;
        let b = blur(&point, l, &unit());
        assert!((b[4 * 11 + 5] as f64 - k[3] * k[3]).abs() < 1e-6);
        assert!((b[3 * 11 + 6] as f64 - k[2] * k[4]).abs() < 1e-6);
        assert!((b[..99].iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(b[99..].iter().all(|&v| v == 0.0), "planes do not mix");
    }

    #[test]
    fn inversion_twice_is_identity_within_the_domain() {
        let d = SetDomain::pixels(-1.0, 3.0).unwrap();
        let img = vec![-1.0f32, 0.0, 0.5, 2.75, 3.0, 1.0];
        let once = invert(&img, 6, &d);
        assert_eq!(once, vec![3.0, 2.0, 1.5, -0.75, -1.0, 1.0]);
        assert_eq!(invert(&once, 6, &d), img);
        // Out-of-domain inputs are clipped.
        assert_eq!(invert(&[5.0], 1, &d), vec![-1.0]);
    }

    #[test]
    fn colour_jitter_is_seeded_per_channel_and_stays_in_domain() {
        let l = ImageLayout::of(&[3, 4, 4]).unwrap();
        let d = SetDomain::pixels(0.0, 255.0).unwrap();
        // Values near mid-grey: no gain and offset can push them out of [0, 255].
        let img: Vec<f32> = (0..2 * l.dim())
            .map(|i| 100.0 + (i * 37 % 56) as f32)
            .collect();
        let j = |seed| colour_jitter(&img, l, &d, &mut ChaCha8Rng::seed_from_u64(seed));
        let a = j(5);
        assert_eq!(a, j(5));
        assert_ne!(a, j(6));
        assert!(a.iter().all(|v| (0.0..=255.0).contains(v)));
        // Each plane is one affine map of its input, the maps differ between channels.
        let slope = |c: usize| {
            let (p, q) = (c * 16, c * 16 + 1);
            (a[q] - a[p]) / (img[q] - img[p])
        };
        for c in 0..3 {
            let s = slope(c);
            assert!((0.49..=1.51).contains(&s), "gain {s}");
            let (p, q) = (c * 16 + 2, c * 16 + 3);
            assert!(
                ((a[q] - a[p]) / (img[q] - img[p]) - s).abs() < 1e-3,
                "one map"
            );
        }
        assert!(slope(0) != slope(1) || slope(1) != slope(2));
        // A constant mid-grey plane moves only by the offset: within ±25% of the width.
        let grey = vec![127.5f32; l.dim()];
        let g = colour_jitter(&grey, l, &d, &mut ChaCha8Rng::seed_from_u64(1));
        assert!(g.iter().all(|v| (v - 127.5).abs() <= 0.25 * 255.0 + 1e-3));
    }
}
