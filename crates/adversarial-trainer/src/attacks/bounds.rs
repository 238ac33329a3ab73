//! [`Bounds`]: the box valid inputs live in, one range for every feature (pixels, default
//! `[0, 1]`) or one range per feature (tabular data, from the run's input domain). Every
//! attack clips each iterate to it.

use aegis_model::burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::{AdversarialError, Result};

/// The valid input box, applied after every step: one `[lower, upper]` for every feature, or
/// one per feature. Infinite ends are allowed (`Bounds::unbounded`); `lower ≤ upper`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    lower: Vec<f32>,
    upper: Vec<f32>,
}

impl Default for Bounds {
    /// Pixels: `[0, 1]`.
    fn default() -> Self {
        Self::uniform(0.0, 1.0)
    }
}

impl Bounds {
    /// One range for every feature.
    pub fn uniform(lower: f32, upper: f32) -> Self {
        Self {
            lower: vec![lower],
            upper: vec![upper],
        }
    }

    /// The `[lower, upper]` of an attack's configuration, checked (`lower ≤ upper`).
    pub fn from_config(lower: f64, upper: f64) -> Result<Self> {
        Self::per_feature(vec![lower as f32], vec![upper as f32])
    }

    /// No bounds: `(−∞, ∞)`.
    pub fn unbounded() -> Self {
        Self::uniform(f32::NEG_INFINITY, f32::INFINITY)
    }

    /// One range per feature (or one for all when both have length 1). Errors when the
    /// lengths differ or are zero, an end is NaN, or a lower end exceeds its upper end.
    pub fn per_feature(lower: Vec<f32>, upper: Vec<f32>) -> Result<Self> {
        if lower.is_empty() || lower.len() != upper.len() {
            return Err(AdversarialError::invalid(
                "bounds",
                format!(
                    "{} lower and {} upper ends (need the same number, at least 1)",
                    lower.len(),
                    upper.len()
                ),
            ));
        }
        if let Some(j) = (0..lower.len()).find(|&j| !(lower[j] <= upper[j])) {
            return Err(AdversarialError::invalid(
                "bounds",
                format!(
                    "feature {j}: lower end {} is not ≤ upper end {}",
                    lower[j], upper[j]
                ),
            ));
        }
        Ok(Self { lower, upper })
    }

    /// True when one range holds for every feature.
    pub fn is_uniform(&self) -> bool {
        self.lower.len() == 1
    }

    /// Lower end for feature `j`.
    pub fn lower_of(&self, j: usize) -> f32 {
        self.lower[if self.is_uniform() { 0 } else { j }]
    }

    /// Upper end for feature `j`.
    pub fn upper_of(&self, j: usize) -> f32 {
        self.upper[if self.is_uniform() { 0 } else { j }]
    }

    /// The lower ends (length 1 or `F`).
    pub fn lower(&self) -> &[f32] {
        &self.lower
    }

    /// The upper ends (length 1 or `F`).
    pub fn upper(&self) -> &[f32] {
        &self.upper
    }

    /// Checks that per-feature bounds have `f` features.
    pub fn check_width(&self, f: usize) -> Result<()> {
        if self.is_uniform() || self.lower.len() == f {
            Ok(())
        } else {
            Err(AdversarialError::invalid(
                "bounds",
                format!("{} per-feature ranges for {f} features", self.lower.len()),
            ))
        }
    }

    /// Whether every end is finite (attacks that change variables, such as C&W's tanh, need
    /// a finite box).
    pub fn is_finite(&self) -> bool {
        self.lower.iter().chain(&self.upper).all(|v| v.is_finite())
    }

    /// Clips one value of feature `j`.
    pub fn clip_value(&self, j: usize, v: f32) -> f32 {
        v.max(self.lower_of(j)).min(self.upper_of(j))
    }

    /// Clips `x` `[N, F]` to the box. Per-feature ends are materialised at `[N, F]` (not
    /// broadcast), which avoids the GPU fusion fault with broadcast `max_pair` / `min_pair`
    /// inputs (see the Burn notes).
    pub fn clip(&self, x: Tensor<2>) -> Tensor<2> {
        if self.is_uniform() {
            let (lo, hi) = (self.lower[0], self.upper[0]);
            if lo == f32::NEG_INFINITY && hi == f32::INFINITY {
                return x;
            }
            return x.clamp(lo, hi);
        }
        let [n, f] = x.dims();
        let device = x.device();
        let rows = |v: &[f32]| {
            Tensor::<2>::from_data(TensorData::new(v.to_vec(), [1, f]), &device).repeat_dim(0, n)
        };
        x.max_pair(rows(&self.lower)).min_pair(rows(&self.upper))
    }

    /// The box in coordinates `z = x / scale` (per feature; `scale > 0`): each end divided by
    /// its feature's scale. Always per-feature when `scale` has more than one entry.
    pub fn scaled(&self, scale: &[f32]) -> Self {
        let f = scale.len();
        Self {
            lower: (0..f).map(|j| self.lower_of(j) / scale[j]).collect(),
            upper: (0..f).map(|j| self.upper_of(j) / scale[j]).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_model::burn::tensor::Device;

    fn v(x: Tensor<2>) -> Vec<f32> {
        x.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn per_feature_clip_uses_each_features_range() {
        let b = Bounds::per_feature(vec![0.0, 10.0], vec![1.0, 20.0]).unwrap();
        let x = Tensor::<2>::from_data(
            TensorData::new(vec![-1.0f32, 25.0, 0.5, 5.0], [2, 2]),
            &Device::flex(),
        );
        assert_eq!(v(b.clip(x)), vec![0.0, 20.0, 0.5, 10.0]);
        assert_eq!(b.clip_value(1, 9.0), 10.0);
        assert!(b.check_width(2).is_ok() && b.check_width(3).is_err());
    }

    #[test]
    fn bad_bounds_are_errors_and_unbounded_clips_nothing() {
        assert!(Bounds::per_feature(vec![1.0], vec![0.0]).is_err());
        assert!(Bounds::per_feature(vec![0.0, 0.0], vec![1.0]).is_err());
        assert!(Bounds::per_feature(vec![f32::NAN], vec![1.0]).is_err());
        let x =
            Tensor::<2>::from_data(TensorData::new(vec![-7.0f32, 9.0], [1, 2]), &Device::flex());
        assert_eq!(v(Bounds::unbounded().clip(x)), vec![-7.0, 9.0]);
        assert!(!Bounds::unbounded().is_finite() && Bounds::default().is_finite());
    }

    #[test]
    fn scaled_bounds_divide_by_the_scale() {
        let b = Bounds::uniform(0.0, 10.0).scaled(&[2.0, 5.0]);
        assert_eq!((b.lower(), b.upper()), (&[0.0, 0.0][..], &[5.0, 2.0][..]));
    }
}
