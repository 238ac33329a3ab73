//! Out-of-distribution and shifted image sets built from in-distribution images, as in
//! Hendrycks & Gimpel 2017 (Gaussian and uniform noise) plus simple covariate shifts.
//!
//! Images are flat `[N, H·W]` single-channel rows in `[0, 1]` (MNIST: 28 × 28).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};
use serde::{Deserialize, Serialize};

use crate::error::{Result, UncertaintyError};

/// A shifted or OOD set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShiftKind {
    /// i.i.d. pixels `N(0.5, 1)` clipped to `[0, 1]` (Hendrycks & Gimpel's "Gaussian").
    GaussianNoise,
    /// i.i.d. pixels `U(0, 1)`.
    UniformNoise,
    /// `1 − x`.
    Inverted,
    /// Rotated 45° about the centre (bilinear, zero fill).
    Rotated45,
    /// Rotated 90° about the centre.
    Rotated90,
}

impl ShiftKind {
    /// Every kind, in report order.
    pub const ALL: [ShiftKind; 5] = [
        Self::GaussianNoise,
        Self::UniformNoise,
        Self::Inverted,
        Self::Rotated45,
        Self::Rotated90,
    ];

    /// The kebab-case key used in reports.
    pub fn key(self) -> &'static str {
        match self {
            Self::GaussianNoise => "gaussian-noise",
            Self::UniformNoise => "uniform-noise",
            Self::Inverted => "inverted",
            Self::Rotated45 => "rotated-45",
            Self::Rotated90 => "rotated-90",
        }
    }
}

/// Builds the shifted version of `images` (`n` rows of `height × width`); noise sets have the
/// same number of rows, drawn with `seed`.
pub fn shifted_images(
    kind: ShiftKind,
    images: &[f32],
    height: usize,
    width: usize,
    seed: u64,
) -> Result<Vec<f32>> {
    let d = height * width;
    if d == 0 || !images.len().is_multiple_of(d) {
        return Err(UncertaintyError::Shape(format!(
            "{} values are not images of {height}×{width}",
            images.len()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok(match kind {
        ShiftKind::GaussianNoise => {
            let normal = Normal::new(0.5f32, 1.0).expect("valid normal");
            (0..images.len())
                .map(|_| normal.sample(&mut rng).clamp(0.0, 1.0))
                .collect()
        }
        ShiftKind::UniformNoise => {
            let u = Uniform::new(0.0f32, 1.0).expect("valid range");
            (0..images.len()).map(|_| u.sample(&mut rng)).collect()
        }
        ShiftKind::Inverted => images.iter().map(|v| 1.0 - v).collect(),
        ShiftKind::Rotated45 => rotate(images, height, width, 45.0),
        ShiftKind::Rotated90 => rotate(images, height, width, 90.0),
    })
}

/// Rotates each image counter-clockwise by `degrees` about its centre with bilinear
/// interpolation; pixels that come from outside the image are 0.
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn noise_sets_are_seeded_and_in_range() {
        let img = vec![0.2f32; 2 * 16];
        for kind in ShiftKind::ALL {
            let a = shifted_images(kind, &img, 4, 4, 3).unwrap();
            assert_eq!(a.len(), img.len());
            assert!(a.iter().all(|v| (0.0..=1.0).contains(v)), "{kind:?}");
            assert_eq!(a, shifted_images(kind, &img, 4, 4, 3).unwrap());
        }
        let g = shifted_images(ShiftKind::GaussianNoise, &img, 4, 4, 3).unwrap();
        assert_ne!(
            g,
            shifted_images(ShiftKind::GaussianNoise, &img, 4, 4, 4).unwrap()
        );
        assert_eq!(
            shifted_images(ShiftKind::Inverted, &img, 4, 4, 0).unwrap()[0],
            0.8
        );
        assert!(shifted_images(ShiftKind::Inverted, &img[..5], 4, 4, 0).is_err());
    }
}
