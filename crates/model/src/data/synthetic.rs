//! Seeded synthetic data sets: two moons, Gaussian blobs, and a tabular set whose label
//! depends only on a known subset of features (the ground truth for feature-importance checks).
//!
//! All generators use `ChaCha8Rng::seed_from_u64(seed)`, so a seed gives the same data on every
//! platform and run.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::dataset::Dataset;

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Two interleaving half circles (as scikit-learn's `make_moons`): `n` rows, 2 features,
/// 2 classes (half each), Gaussian noise of standard deviation `noise` added to both features.
pub fn two_moons(n: usize, noise: f32, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0f32, noise.max(0.0)).expect("finite noise");
    let n_out = n / 2;
    let mut features = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let (x, y, label) = if i < n_out {
            let t = std::f32::consts::PI * i as f32 / (n_out.max(2) - 1) as f32;
            (t.cos(), t.sin(), 0)
        } else {
            let j = i - n_out;
            let t = std::f32::consts::PI * j as f32 / ((n - n_out).max(2) - 1) as f32;
            (1.0 - t.cos(), 0.5 - t.sin(), 1)
        };
        features.push(x + normal.sample(&mut rng));
        features.push(y + normal.sample(&mut rng));
        labels.push(label);
    }
    Dataset {
        features,
        labels,
        sample_shape: vec![2],
        num_classes: 2,
        feature_names: names("x", 2),
        class_names: names("moon", 2),
    }
}

/// Isotropic Gaussian blobs: `centers` classes in `dim` dimensions, centres uniform in
/// `[-10, 10]^dim`, each point drawn with standard deviation `std` around its class centre;
/// `n` rows assigned round-robin to classes.
pub fn gaussian_blobs(n: usize, centers: usize, dim: usize, std: f32, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0f32, std.max(0.0)).expect("finite std");
    let mids: Vec<Vec<f32>> = (0..centers)
        .map(|_| (0..dim).map(|_| rng.random_range(-10.0..10.0)).collect())
        .collect();
    let mut features = Vec::with_capacity(n * dim);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % centers;
        features.extend(mids[c].iter().map(|m| m + normal.sample(&mut rng)));
        labels.push(c);
    }
    Dataset {
        features,
        labels,
        sample_shape: vec![dim],
        num_classes: centers,
        feature_names: names("x", dim),
        class_names: names("blob", centers),
    }
}

/// A tabular set with known informative features.
#[derive(Debug, Clone)]
pub struct InformativeData {
    /// The data (2 classes).
    pub data: Dataset,
    /// Indices of the features the label depends on; all others are pure noise.
    pub informative: Vec<usize>,
}

/// `n` rows of `n_features` i.i.d. N(0, 1) features; the label is
/// `1[Σ_k w_k · x_{i_k} > 0]` over `n_informative` features at seeded random positions with
/// weights `w_k` drawn uniformly from ±[1, 2]. Every other feature is independent of the label.
pub fn informative_features(
    n: usize,
    n_features: usize,
    n_informative: usize,
    seed: u64,
) -> InformativeData {
    assert!(n_informative <= n_features && n_informative > 0);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut positions: Vec<usize> = (0..n_features).collect();
    rand::seq::SliceRandom::shuffle(positions.as_mut_slice(), &mut rng);
    let mut informative: Vec<usize> = positions[..n_informative].to_vec();
    informative.sort();
    let weights: Vec<f32> = (0..n_informative)
        .map(|_| {
            let m: f32 = rng.random_range(1.0..2.0);
            if rng.random_bool(0.5) { m } else { -m }
        })
        .collect();
    let normal = Normal::new(0.0f32, 1.0).unwrap();
    let mut features = Vec::with_capacity(n * n_features);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f32> = (0..n_features).map(|_| normal.sample(&mut rng)).collect();
        let score: f32 = informative
            .iter()
            .zip(&weights)
            .map(|(&i, w)| w * row[i])
            .sum();
        labels.push(usize::from(score > 0.0));
        features.extend(row);
    }
    InformativeData {
        data: Dataset {
            features,
            labels,
            sample_shape: vec![n_features],
            num_classes: 2,
            feature_names: names("f", n_features),
            class_names: names("class", 2),
        },
        informative,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_seeded_and_shaped() {
        let a = two_moons(200, 0.1, 3);
        assert_eq!(a, two_moons(200, 0.1, 3));
        assert_ne!(a.features, two_moons(200, 0.1, 4).features);
        assert_eq!(a.features.len(), 400);
        assert_eq!(a.class_counts(), vec![100, 100]);
        let b = gaussian_blobs(90, 3, 4, 1.0, 1);
        assert_eq!(b.class_counts(), vec![30, 30, 30]);
        assert_eq!(b.dim(), 4);
    }

    #[test]
    fn noiseless_moons_lie_on_their_circles() {
        let m = two_moons(100, 0.0, 0);
        for i in 0..50 {
            let r = m.row(i);
            assert!((r[0].hypot(r[1]) - 1.0).abs() < 1e-5);
        }
        for i in 50..100 {
            let r = m.row(i);
            assert!(((r[0] - 1.0).hypot(r[1] - 0.5) - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn informative_label_ignores_noise_features() {
        let s = informative_features(500, 10, 3, 5);
        assert_eq!(s.informative.len(), 3);
        // Changing a noise feature never changes the label rule: recompute from informative only.
        let d = &s.data;
        let balance = d.labels.iter().sum::<usize>() as f64 / d.len() as f64;
        assert!((0.3..0.7).contains(&balance), "labels balanced: {balance}");
        // Each noise feature is nearly uncorrelated with the label, each informative one is not.
        let corr = |j: usize| {
            let xs: Vec<f64> = (0..d.len()).map(|i| d.row(i)[j] as f64).collect();
            let ys: Vec<f64> = d.labels.iter().map(|&l| l as f64).collect();
            let (mx, my) = (
                xs.iter().sum::<f64>() / 500.0,
                ys.iter().sum::<f64>() / 500.0,
            );
            let cov: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
            let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
            let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
            (cov / (vx * vy).sqrt()).abs()
        };
        for j in 0..10 {
            if s.informative.contains(&j) {
                assert!(corr(j) > 0.2, "informative {j}: {}", corr(j));
            } else {
                assert!(corr(j) < 0.15, "noise {j}: {}", corr(j));
            }
        }
    }
}
