//! Out-of-distribution and shifted sets built from in-distribution inputs, as in Hendrycks &
//! Gimpel 2017 (Gaussian and uniform noise) plus label-preserving covariate shifts.
//!
//! Rows are flat samples of any shape: images `[C, H, W]` (any channels, any height and width;
//! `[H, W]` is one channel) or tabular `[F]`. Noise sets are drawn in the input's own shape and
//! domain ([`SetDomain`]); the image shifts act on each channel plane and are clipped to the
//! domain. [`ShiftKind::applies_to`] says which kinds fit which samples.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::domain::SetDomain;
use super::transform::{self, ImageLayout};
use crate::error::{Result, UncertaintyError};

/// A shifted or OOD set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShiftKind {
    /// i.i.d. values from the domain's Gaussian, clipped to it (pixels in `[0, 1]`:
    /// `N(0.5, 1)`, Hendrycks & Gimpel's "Gaussian"; tables: each feature's training mean and
    /// standard deviation).
    GaussianNoise,
    /// i.i.d. values uniform in the domain's box (pixels in `[0, 1]`: `U(0, 1)`).
    UniformNoise,
    /// `lo + hi − x` (`1 − x` on `[0, 1]`), per channel.
    Inverted,
    /// Each channel plane rotated 45° about the centre (bilinear, zero fill).
    Rotated45,
    /// Each channel plane rotated 90° about the centre (same shape; non-square images are
    /// cropped and filled with zeros, see `transform::rotate`).
    Rotated90,
    /// Separable Gaussian blur of each plane, σ = `ImageLayout::blur_sigma` (1 pixel up to
    /// 32 × 32 images), edges replicated.
    GaussianBlur,
    /// Seeded per-image, per-channel gain and offset (`transform::colour_jitter`); on one
    /// channel a contrast and brightness change.
    ColourJitter,
}

impl ShiftKind {
    /// Every kind, in report order. Set `k` is drawn with seed `seed + k`, so the first five
    /// keep the values they had before blur and colour jitter were added.
    pub const ALL: [ShiftKind; 7] = [
        Self::GaussianNoise,
        Self::UniformNoise,
        Self::Inverted,
        Self::Rotated45,
        Self::Rotated90,
        Self::GaussianBlur,
        Self::ColourJitter,
    ];

    /// The kebab-case key used in reports.
    pub fn key(self) -> &'static str {
        match self {
            Self::GaussianNoise => "gaussian-noise",
            Self::UniformNoise => "uniform-noise",
            Self::Inverted => "inverted",
            Self::Rotated45 => "rotated-45",
            Self::Rotated90 => "rotated-90",
            Self::GaussianBlur => "gaussian-blur",
            Self::ColourJitter => "colour-jitter",
        }
    }

    /// A noise set (fresh random inputs, no label) rather than a shift of the test inputs.
    pub fn is_noise(self) -> bool {
        matches!(self, Self::GaussianNoise | Self::UniformNoise)
    }

    /// Whether the kind applies to samples of `shape`: noise to every non-empty shape; the
    /// inversion and colour jitter to images (`[C, H, W]` or `[H, W]`); rotations and blur to
    /// images at least 2 × 2. Tabular `[F]` rows get the noise sets only: turning or blurring
    /// a feature vector has no meaning.
    pub fn applies_to(self, shape: &[usize]) -> bool {
        let values = !shape.is_empty() && shape.iter().all(|&d| d > 0);
        let image = ImageLayout::of(shape);
        match self {
            Self::GaussianNoise | Self::UniformNoise => values,
            Self::Inverted | Self::ColourJitter => image.is_some(),
            Self::Rotated45 | Self::Rotated90 | Self::GaussianBlur => {
                image.is_some_and(|l| l.height >= 2 && l.width >= 2)
            }
        }
    }

    /// The kinds of [`ShiftKind::ALL`] that apply to samples of `shape`, in report order,
    /// each with its index (its seed offset).
    pub fn applicable(shape: &[usize]) -> Vec<(usize, ShiftKind)> {
        Self::ALL
            .into_iter()
            .enumerate()
            .filter(|(_, k)| k.applies_to(shape))
            .collect()
    }

    /// What the set is, for reports, for samples of `shape` (e.g. the blur's σ).
    pub fn describe(self, shape: &[usize]) -> String {
        let tabular = shape.len() == 1;
        match self {
            Self::GaussianNoise if tabular => {
                "Gaussian noise: each feature N(training mean, training std), clipped to its range"
                    .into()
            }
            Self::GaussianNoise => {
                "Gaussian noise: N(mid-range, range width) per value, clipped to the range".into()
            }
            Self::UniformNoise if tabular => "uniform noise in each feature's range".into(),
            Self::UniformNoise => "uniform noise in the pixel range".into(),
            Self::Inverted => "inverted: lo + hi − x per channel".into(),
            Self::Rotated45 => "rotated 45° (bilinear, zero fill)".into(),
            Self::Rotated90 => "rotated 90° (same shape, zero fill)".into(),
            Self::GaussianBlur => {
                let sigma = ImageLayout::of(shape).map_or(1.0, |l| l.blur_sigma());
                format!("Gaussian blur, σ = {sigma} px")
            }
            Self::ColourJitter => format!(
                "colour jitter: per-channel gain U({}, {}) and offset ±{}·range",
                1.0 - transform::JITTER_GAIN,
                1.0 + transform::JITTER_GAIN,
                transform::JITTER_OFFSET
            ),
        }
    }
}

/// Why no set applies to samples of `shape`; `None` when some do.
pub fn why_no_set(shape: &[usize]) -> Option<String> {
    ShiftKind::applicable(shape).is_empty().then(|| {
        format!("samples of shape {shape:?} hold no values to build OOD or shift sets from")
    })
}

/// Builds set `kind` from `inputs` (rows of samples of `shape`) in `domain`: noise sets have
/// as many rows in the same shape, drawn with `seed`; shifts transform each row. An error
/// when the kind does not apply to `shape` or the rows do not fit it.
pub fn shifted_set(
    kind: ShiftKind,
    inputs: &[f32],
    shape: &[usize],
    domain: &SetDomain,
    seed: u64,
) -> Result<Vec<f32>> {
    let dim: usize = shape.iter().product();
    if !kind.applies_to(shape) {
        return Err(UncertaintyError::invalid(
            "OOD set",
            format!(
                "{} does not apply to samples of shape {shape:?}",
                kind.key()
            ),
        ));
    }
    if !inputs.len().is_multiple_of(dim) {
        return Err(UncertaintyError::Shape(format!(
            "{} values are not samples of shape {shape:?}",
            inputs.len()
        )));
    }
    domain.check_dim(dim)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let image = || ImageLayout::of(shape).expect("applies_to checked the image shape");
    Ok(match kind {
        ShiftKind::GaussianNoise => domain.gaussian_noise(inputs.len(), dim, &mut rng),
        ShiftKind::UniformNoise => domain.uniform_noise(inputs.len(), dim, &mut rng),
        ShiftKind::Inverted => transform::invert(inputs, dim, domain),
        ShiftKind::Rotated45 => transform::rotate_in_domain(inputs, image(), 45.0, domain),
        ShiftKind::Rotated90 => transform::rotate_in_domain(inputs, image(), 90.0, domain),
        ShiftKind::GaussianBlur => transform::blur(inputs, image(), domain),
        ShiftKind::ColourJitter => transform::colour_jitter(inputs, image(), domain, &mut rng),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_model::{Dataset, InputDomain};
    use rand_distr::{Distribution, Normal, Uniform};

    /// The sets as they were built before any-shape inputs (1-channel `[0, 1]` images only),
    /// kept verbatim to show the new code reproduces them bit for bit.
    fn legacy(kind: ShiftKind, images: &[f32], h: usize, w: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        match kind {
            ShiftKind::GaussianNoise => {
                let normal = Normal::new(0.5f32, 1.0).unwrap();
                (0..images.len())
                    .map(|_| normal.sample(&mut rng).clamp(0.0, 1.0))
                    .collect()
            }
            ShiftKind::UniformNoise => {
                let u = Uniform::new(0.0f32, 1.0).unwrap();
                (0..images.len()).map(|_| u.sample(&mut rng)).collect()
            }
            ShiftKind::Inverted => images.iter().map(|v| 1.0 - v).collect(),
            ShiftKind::Rotated45 => transform::rotate(images, h, w, 45.0),
            ShiftKind::Rotated90 => transform::rotate(images, h, w, 90.0),
            _ => unreachable!("new kinds"),
        }
    }

    fn pseudo_image(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i * 7919) % 1000) as f32 / 999.0).collect()
    }

    #[test]
    fn single_channel_unit_images_keep_their_old_sets_bit_for_bit() {
        let img = pseudo_image(3 * 28 * 28);
        let unit = SetDomain::pixels(0.0, 1.0).unwrap();
        for (k, kind) in ShiftKind::ALL[..5].iter().enumerate() {
            let seed = 10 + k as u64;
            let new = shifted_set(*kind, &img, &[1, 28, 28], &unit, seed).unwrap();
            assert_eq!(new, legacy(*kind, &img, 28, 28, seed), "{kind:?}");
        }
    }

    #[test]
    fn kinds_apply_by_shape() {
        let keys = |shape: &[usize]| -> Vec<&str> {
            ShiftKind::applicable(shape)
                .iter()
                .map(|(_, k)| k.key())
                .collect()
        };
        assert_eq!(keys(&[3, 32, 32]).len(), 7);
        assert_eq!(keys(&[1, 28, 28]).len(), 7);
        assert_eq!(keys(&[28, 28]).len(), 7);
        assert_eq!(keys(&[30]), vec!["gaussian-noise", "uniform-noise"]);
        assert_eq!(
            keys(&[3, 1, 8]),
            vec![
                "gaussian-noise",
                "uniform-noise",
                "inverted",
                "colour-jitter"
            ]
        );
        assert_eq!(keys(&[2, 3, 4, 5]).len(), 2);
        assert!(keys(&[3, 0, 4]).is_empty() && why_no_set(&[3, 0, 4]).is_some());
        assert!(why_no_set(&[30]).is_none());
        // Seed offsets are the kinds' places in ALL, whatever else applies.
        assert_eq!(ShiftKind::applicable(&[30])[1].0, 1);
        assert_eq!(ShiftKind::applicable(&[3, 1, 8])[3].0, 6);
        assert!(
            ShiftKind::GaussianBlur
                .describe(&[3, 64, 96])
                .contains("σ = 2 px")
        );
    }

    #[test]
    fn every_set_of_a_colour_image_is_seeded_in_shape_and_in_domain() {
        let shape = [3, 6, 10];
        let d = SetDomain::pixels(0.0, 255.0).unwrap();
        let img: Vec<f32> = pseudo_image(4 * 180).iter().map(|v| v * 255.0).collect();
        for (k, kind) in ShiftKind::applicable(&shape) {
            let a = shifted_set(kind, &img, &shape, &d, k as u64).unwrap();
            assert_eq!(a.len(), img.len(), "{kind:?}");
            assert!(a.iter().all(|v| (0.0..=255.0).contains(v)), "{kind:?}");
            assert_eq!(a, shifted_set(kind, &img, &shape, &d, k as u64).unwrap());
            assert_ne!(a, img, "{kind:?} changed nothing");
        }
        let g = |seed| shifted_set(ShiftKind::GaussianNoise, &img, &shape, &d, seed).unwrap();
        assert_ne!(g(3), g(4));
        // Noise on [0, 255] pixels fills the range, not [0, 1].
        assert!(g(3).iter().filter(|&&v| v > 200.0).count() > 100);
        assert!(shifted_set(ShiftKind::Inverted, &img[..7], &shape, &d, 0).is_err());
    }

    #[test]
    fn tabular_rows_get_noise_in_their_box_and_no_image_shift() {
        let train = Dataset {
            features: vec![0.0, 10.0, 2.0, 30.0, 4.0, 20.0],
            labels: vec![0, 1, 0],
            sample_shape: vec![2],
            num_classes: 2,
            feature_names: vec![],
            class_names: vec![],
        };
        let d = SetDomain::of(&InputDomain::of(&train), &train).unwrap();
        for kind in [ShiftKind::GaussianNoise, ShiftKind::UniformNoise] {
            let a = shifted_set(kind, &train.features, &[2], &d, 1).unwrap();
            assert_eq!(a.len(), 6);
            assert!(
                a.chunks(2)
                    .all(|r| (0.0..=4.0).contains(&r[0]) && (10.0..=30.0).contains(&r[1]))
            );
        }
        let e = shifted_set(ShiftKind::Rotated90, &train.features, &[2], &d, 1).unwrap_err();
        assert!(e.to_string().contains("rotated-90"), "{e}");
    }
}
