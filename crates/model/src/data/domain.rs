//! The input domain of a run: where valid inputs live and the natural unit of each feature,
//! measured on the training split. Attacks clip to it and express ε in its units.
//!
//! Images: one range for every value, `[0, 1]` (widened when the data leave it, e.g. `.npy`
//! pixels in `[0, 255]`), ε in raw units. Tables: per feature the minimum and maximum of the
//! training split, and its (population) standard deviation, the unit of ε that makes a
//! radius comparable across features measured in millimetres and in square millimetres (as
//! ART's per-feature `clip_values` and the tabular-robustness literature do).

use serde::{Deserialize, Serialize};

use super::Dataset;

/// Images or tabular features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainKind {
    /// Pixels: one range for every value.
    Pixels,
    /// Tabular features: one range and one standard deviation per feature.
    Features,
}

/// Valid input box and feature scales of a run, from its training split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputDomain {
    /// Images or tabular features.
    pub kind: DomainKind,
    /// Smallest valid value: one for every feature (`pixels`) or one per feature.
    pub lower: Vec<f32>,
    /// Largest valid value, like `lower`.
    pub upper: Vec<f32>,
    /// Per-feature standard deviation of the training split (`features`; empty for pixels).
    /// Zero for a constant feature.
    #[serde(default)]
    pub std: Vec<f32>,
}

impl InputDomain {
    /// The domain of `train`: `[0, 1]` pixels (widened to the data's range when it leaves it)
    /// for images (samples of rank ≥ 2), per-feature min / max / std for tables.
    pub fn of(train: &Dataset) -> Self {
        if train.sample_shape.len() >= 2 {
            let (lo, hi) = train
                .features
                .iter()
                .filter(|v| v.is_finite())
                .fold((0f32, 1f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            return Self {
                kind: DomainKind::Pixels,
                lower: vec![lo],
                upper: vec![hi],
                std: Vec::new(),
            };
        }
        let f = train.dim();
        let (mut lower, mut upper) = (vec![f32::INFINITY; f], vec![f32::NEG_INFINITY; f]);
        for row in train.features.chunks(f.max(1)) {
            for (j, &v) in row.iter().enumerate() {
                lower[j] = lower[j].min(v);
                upper[j] = upper[j].max(v);
            }
        }
        // An empty split has no range: leave the features unbounded rather than inverted.
        for (lo, hi) in lower.iter_mut().zip(upper.iter_mut()) {
            if lo > hi {
                (*lo, *hi) = (f32::NEG_INFINITY, f32::INFINITY);
            }
        }
        let (_, std) = train.feature_stats();
        Self {
            kind: DomainKind::Features,
            lower,
            upper,
            std,
        }
    }

    /// The domain widened to hold every row of `data` as well (rows outside the training
    /// range, e.g. a test row with a larger value than any training row, must not be moved
    /// by clipping before an attack starts).
    pub fn covering(&self, data: &Dataset) -> Self {
        let mut d = self.clone();
        let f = data.dim().max(1);
        for row in data.features.chunks(f) {
            for (j, &v) in row.iter().enumerate().filter(|(_, v)| v.is_finite()) {
                let k = if d.lower.len() == 1 { 0 } else { j };
                if k < d.lower.len() {
                    d.lower[k] = d.lower[k].min(v);
                    d.upper[k] = d.upper[k].max(v);
                }
            }
        }
        d
    }

    /// True for tabular features.
    pub fn is_tabular(&self) -> bool {
        self.kind == DomainKind::Features
    }

    /// Lower bound of feature `j`.
    pub fn lower_of(&self, j: usize) -> f32 {
        self.lower[if self.lower.len() == 1 { 0 } else { j }]
    }

    /// Upper bound of feature `j`.
    pub fn upper_of(&self, j: usize) -> f32 {
        self.upper[if self.upper.len() == 1 { 0 } else { j }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[[f32; 2]]) -> Dataset {
        Dataset {
            features: rows.iter().flatten().copied().collect(),
            labels: vec![0; rows.len()],
            sample_shape: vec![2],
            num_classes: 1,
            feature_names: vec![],
            class_names: vec![],
        }
    }

    #[test]
    fn tabular_domain_is_per_feature_min_max_and_std() {
        let d = InputDomain::of(&table(&[[1.0, 500.0], [3.0, 700.0]]));
        assert_eq!(d.kind, DomainKind::Features);
        assert_eq!(d.lower, vec![1.0, 500.0]);
        assert_eq!(d.upper, vec![3.0, 700.0]);
        assert_eq!(d.std, vec![1.0, 100.0]);
        assert_eq!((d.lower_of(1), d.upper_of(1)), (500.0, 700.0));
        let wide = d.covering(&table(&[[0.0, 600.0]]));
        assert_eq!(
            (wide.lower, wide.upper),
            (vec![0.0, 500.0], vec![3.0, 700.0])
        );
    }

    #[test]
    fn image_domain_is_unit_interval_widened_to_the_data() {
        let mut img = table(&[[0.2, 0.9]]);
        img.sample_shape = vec![1, 1, 2];
        let d = InputDomain::of(&img);
        assert_eq!((d.lower.clone(), d.upper.clone()), (vec![0.0], vec![1.0]));
        assert_eq!(d.upper_of(1), 1.0);
        let test = Dataset {
            features: vec![-0.5, 2.0],
            ..img.clone()
        };
        assert_eq!(d.covering(&test).lower, vec![-0.5]);
        assert_eq!(d.covering(&test).upper, vec![2.0]);
        img.features = vec![0.0, 255.0];
        assert_eq!(InputDomain::of(&img).upper, vec![255.0]);
    }
}
