//! In-memory labelled data and the seeded splits every Aegis command uses.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// A labelled data set held in memory, features flat and row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Row-major features, `len() == n * sample_shape.product()`.
    pub features: Vec<f32>,
    /// Class index per row.
    pub labels: Vec<usize>,
    /// Shape of one sample, e.g. `[1, 28, 28]` or `[30]`.
    pub sample_shape: Vec<usize>,
    /// Number of classes (labels are `< num_classes`).
    pub num_classes: usize,
    /// One name per flat feature (tabular data) or empty (images).
    pub feature_names: Vec<String>,
    /// One name per class.
    pub class_names: Vec<String>,
}

impl Dataset {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Flat width of one row.
    pub fn dim(&self) -> usize {
        self.sample_shape.iter().product()
    }
    /// Row `i`'s features.
    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.dim();
        &self.features[i * d..(i + 1) * d]
    }
    /// A new data set holding the rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let mut features = Vec::with_capacity(indices.len() * self.dim());
        for &i in indices {
            features.extend_from_slice(self.row(i));
        }
        Dataset {
            features,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            sample_shape: self.sample_shape.clone(),
            num_classes: self.num_classes,
            feature_names: self.feature_names.clone(),
            class_names: self.class_names.clone(),
        }
    }
    /// The first `n` rows (all of them when `n` is `None` or larger than the set).
    pub fn head(self, n: Option<usize>) -> Dataset {
        match n {
            Some(n) if n < self.len() => self.select(&(0..n).collect::<Vec<_>>()),
            _ => self,
        }
    }
    /// Rows per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.num_classes];
        for &l in &self.labels {
            c[l] += 1;
        }
        c
    }
    /// Per-feature mean and (population) standard deviation, for standardisation.
    pub fn feature_stats(&self) -> (Vec<f32>, Vec<f32>) {
        let d = self.dim();
        let n = self.len().max(1) as f64;
        let mut mean = vec![0f64; d];
        for i in 0..self.len() {
            for (m, &x) in mean.iter_mut().zip(self.row(i)) {
                *m += x as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0f64; d];
        for i in 0..self.len() {
            for ((v, &x), m) in var.iter_mut().zip(self.row(i)).zip(&mean) {
                *v += (x as f64 - m).powi(2);
            }
        }
        (
            mean.iter().map(|&m| m as f32).collect(),
            var.iter().map(|&v| (v / n).sqrt() as f32).collect(),
        )
    }
}

/// Labels as class indices: each a non-negative integer below [`MAX_CLASSES`]; anything else
/// (NaN, −1, 2.5, 2,000,000,000) is an error naming the file, the row and the value, never a
/// silent class 0 or a huge allocation sized by a corrupt label.
pub fn class_indices(path: &Path, values: &[f32]) -> Result<Vec<usize>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v >= 0.0 && v.fract() == 0.0 && (v as f64) < MAX_CLASSES as f64 {
                Ok(v as usize)
            } else {
                Err(ModelError::format(
                    path,
                    format!(
                        "label {v} of row {i} is not a class index (an integer in [0, {MAX_CLASSES}))"
                    ),
                ))
            }
        })
        .collect()
}

/// The largest number of classes a label file may imply.
pub const MAX_CLASSES: usize = 100_000;

/// A train/test pair and how it was made.
#[derive(Debug, Clone)]
pub struct Split {
    /// Training rows.
    pub train: Dataset,
    /// Held-out test rows.
    pub test: Dataset,
}

/// How a data set was split, recorded in `config.json` so the same split can be rebuilt.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SplitInfo {
    /// Seed of the shuffle (ChaCha8).
    pub seed: u64,
    /// Fraction of rows (per class) in the test part.
    pub test_fraction: f64,
    /// Rows in the training part.
    pub n_train: usize,
    /// Rows in the test part.
    pub n_test: usize,
}

/// Seeded **stratified** split: each class is shuffled with `ChaCha8Rng(seed)` and its first
/// `round(count · test_fraction)` rows go to the test part; both parts are then shuffled so
/// classes are interleaved. Deterministic for a given seed on every platform.
pub fn stratified_split(data: &Dataset, test_fraction: f64, seed: u64) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); data.num_classes];
    for (i, &l) in data.labels.iter().enumerate() {
        by_class[l].push(i);
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for mut idx in by_class {
        idx.shuffle(&mut rng);
        let k = ((idx.len() as f64) * test_fraction).round() as usize;
        test.extend_from_slice(&idx[..k]);
        train.extend_from_slice(&idx[k..]);
    }
    train.shuffle(&mut rng);
    test.shuffle(&mut rng);
    Split {
        train: data.select(&train),
        test: data.select(&test),
    }
}

/// Seeded split of the row indices `0..n`: `0..n` shuffled with `ChaCha8Rng(seed)`, the first
/// `first` of them (clamped to `n`) and the rest. The calibration / test splits of the
/// uncertainty and oversight crates all come from it.
pub fn shuffled_split(n: usize, first: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let rest = order.split_off(first.min(n));
    (order, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_toy() -> Dataset {
        // 3 classes, 10 rows each, sorted by label like mnist_5k.
        let labels: Vec<usize> = (0..30).map(|i| i / 10).collect();
        Dataset {
            features: (0..30).map(|i| i as f32).collect(),
            labels,
            sample_shape: vec![1],
            num_classes: 3,
            feature_names: vec!["x".into()],
            class_names: vec!["a".into(), "b".into(), "c".into()],
        }
    }

    #[test]
    fn split_is_stratified_disjoint_and_seeded() {
        let d = sorted_toy();
        let s = stratified_split(&d, 0.2, 7);
        assert_eq!(s.train.class_counts(), vec![8, 8, 8]);
        assert_eq!(s.test.class_counts(), vec![2, 2, 2]);
        let mut all: Vec<f32> = s
            .train
            .features
            .iter()
            .chain(&s.test.features)
            .copied()
            .collect();
        all.sort_by(f32::total_cmp);
        assert_eq!(all, d.features, "rows lost or duplicated");
        let again = stratified_split(&d, 0.2, 7);
        assert_eq!(again.test.features, s.test.features);
        let other = stratified_split(&d, 0.2, 8);
        assert_ne!(other.test.features, s.test.features);
        // Interleaved, not sorted by class.
        assert_ne!(s.train.labels, {
            let mut l = s.train.labels.clone();
            l.sort();
            l
        });
    }

    #[test]
    fn feature_stats_are_population_mean_and_std() {
        let d = Dataset {
            features: vec![1.0, 10.0, 3.0, 10.0],
            labels: vec![0, 1],
            sample_shape: vec![2],
            num_classes: 2,
            feature_names: vec![],
            class_names: vec![],
        };
        let (m, s) = d.feature_stats();
        assert_eq!(m, vec![2.0, 10.0]);
        assert_eq!(s, vec![1.0, 0.0]);
    }
}
