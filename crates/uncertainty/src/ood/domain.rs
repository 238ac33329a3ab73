//! Where the OOD and shift sets live: the run's valid input box (one range for every pixel, or
//! one per tabular feature) and the centre and spread of the Gaussian noise set; the two noise
//! sets are drawn here, in the input's own shape and domain.
//!
//! - pixels in `[lo, hi]`: Gaussian noise `N((lo + hi)/2, hi − lo)` clipped to the box, i.e.
//!   Hendrycks & Gimpel's `N(0.5, 1)` on `[0, 1]`; uniform noise `U(lo, hi)`;
//! - tabular features: Gaussian noise per feature with the training split's mean and standard
//!   deviation, clipped to the feature's `[min, max]` (each feature keeps its marginal centre
//!   and spread, the rows lose the features' joint structure: a near-OOD set); uniform noise
//!   in the per-feature box (far OOD).

use aegis_model::{Dataset, InputDomain};
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::error::{Result, UncertaintyError};

/// Valid box of a run's inputs and the parameters of its Gaussian noise set. Each vector holds
/// one value for every input value (pixels) or one per flat feature (tables).
#[derive(Debug, Clone, PartialEq)]
pub struct SetDomain {
    /// Smallest valid value (one, or one per feature).
    pub lower: Vec<f32>,
    /// Largest valid value, like `lower`.
    pub upper: Vec<f32>,
    /// Mean of the Gaussian noise set, like `lower`.
    pub noise_mean: Vec<f32>,
    /// Standard deviation of the Gaussian noise set, like `lower`.
    pub noise_std: Vec<f32>,
}

impl SetDomain {
    /// Pixels in `[lo, hi]`; Gaussian noise `N((lo + hi)/2, hi − lo)`. An error when the range
    /// is not finite or `lo > hi`.
    pub fn pixels(lo: f32, hi: f32) -> Result<Self> {
        Self::checked(Self {
            lower: vec![lo],
            upper: vec![hi],
            noise_mean: vec![(lo + hi) / 2.0],
            noise_std: vec![hi - lo],
        })
    }

    /// The sets' domain of a run: its recorded input `domain` (`RunConfig::input_domain`),
    /// with the training split `train` giving the per-feature means of tabular data (their
    /// standard deviations are the domain's). An error naming the fault when the domain has
    /// no finite bounds (an empty training split) or does not fit the data.
    pub fn of(domain: &InputDomain, train: &Dataset) -> Result<Self> {
        if !domain.is_tabular() {
            let (lo, hi) = (domain.lower_of(0), domain.upper_of(0));
            return Self::pixels(lo, hi);
        }
        let (mean, std) = train.feature_stats();
        let std = if domain.std.len() == domain.lower.len() {
            domain.std.clone()
        } else {
            std
        };
        if mean.len() != domain.lower.len() {
            return Err(UncertaintyError::Shape(format!(
                "the input domain has {} features, the training split {}",
                domain.lower.len(),
                mean.len()
            )));
        }
        Self::checked(Self {
            lower: domain.lower.clone(),
            upper: domain.upper.clone(),
            noise_mean: mean,
            noise_std: std,
        })
    }

    fn checked(self) -> Result<Self> {
        let n = self.lower.len();
        let fits = n > 0
            && [&self.upper, &self.noise_mean, &self.noise_std]
                .iter()
                .all(|v| v.len() == n);
        if !fits {
            return Err(UncertaintyError::Shape(format!(
                "domain vectors of lengths {}, {}, {}, {}",
                n,
                self.upper.len(),
                self.noise_mean.len(),
                self.noise_std.len()
            )));
        }
        for j in 0..n {
            let (lo, hi, m, s) = (
                self.lower[j],
                self.upper[j],
                self.noise_mean[j],
                self.noise_std[j],
            );
            let finite = [lo, hi, m, s].iter().all(|v| v.is_finite());
            if !(finite && lo <= hi && s >= 0.0) {
                return Err(UncertaintyError::invalid(
                    "input domain",
                    format!(
                        "feature {j} has range [{lo}, {hi}], mean {m}, std {s}: the OOD sets need finite bounds (is the training split empty?)"
                    ),
                ));
            }
        }
        Ok(self)
    }

    /// Values per domain entry: 1 for pixels, the number of features for tables.
    pub fn len(&self) -> usize {
        self.lower.len()
    }

    /// Always false (a domain has at least one entry).
    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// The entry that bounds flat feature `j`.
    fn at(&self, j: usize) -> usize {
        if self.lower.len() == 1 { 0 } else { j }
    }

    /// Bounds `(lo, hi)` of flat feature `j`.
    pub fn bounds(&self, j: usize) -> (f32, f32) {
        let k = self.at(j);
        (self.lower[k], self.upper[k])
    }

    /// `v` clipped to the bounds of flat feature `j`.
    pub fn clip(&self, j: usize, v: f32) -> f32 {
        let (lo, hi) = self.bounds(j);
        v.clamp(lo, hi)
    }

    /// Checks that the domain fits samples of `dim` flat values (one entry, or `dim`).
    pub fn check_dim(&self, dim: usize) -> Result<()> {
        if self.lower.len() == 1 || self.lower.len() == dim {
            Ok(())
        } else {
            Err(UncertaintyError::Shape(format!(
                "an input domain of {} features for samples of {dim} values",
                self.lower.len()
            )))
        }
    }

    /// `len` values of Gaussian noise for samples of `dim` values: value `i` is drawn from the
    /// noise Gaussian of feature `i mod dim` and clipped to its bounds.
    pub fn gaussian_noise(&self, len: usize, dim: usize, rng: &mut impl Rng) -> Vec<f32> {
        let normals: Vec<Normal<f32>> = (0..self.len())
            .map(|k| Normal::new(self.noise_mean[k], self.noise_std[k]).expect("checked std"))
            .collect();
        (0..len)
            .map(|i| {
                let j = i % dim.max(1);
                self.clip(j, normals[self.at(j)].sample(rng))
            })
            .collect()
    }

    /// `len` values of uniform noise in the box, for samples of `dim` values (a feature whose
    /// range is one value keeps it).
    pub fn uniform_noise(&self, len: usize, dim: usize, rng: &mut impl Rng) -> Vec<f32> {
        let uniforms: Vec<Option<Uniform<f32>>> = (0..self.len())
            .map(|k| Uniform::new(self.lower[k], self.upper[k]).ok())
            .collect();
        (0..len)
            .map(|i| {
                let j = i % dim.max(1);
                match &uniforms[self.at(j)] {
                    Some(u) => u.sample(rng),
                    None => self.bounds(j).0,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_model::DomainKind;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn table() -> Dataset {
        Dataset {
            features: vec![1.0, 100.0, 5.0, 3.0, 300.0, 5.0],
            labels: vec![0, 1],
            sample_shape: vec![3],
            num_classes: 2,
            feature_names: vec![],
            class_names: vec![],
        }
    }

    #[test]
    fn tabular_noise_is_in_the_per_feature_box_and_seeded() {
        let train = table();
        let d = SetDomain::of(&InputDomain::of(&train), &train).unwrap();
        assert_eq!(d.noise_mean, vec![2.0, 200.0, 5.0]);
        assert_eq!(d.noise_std, vec![1.0, 100.0, 0.0]);
        let n = 3 * 400;
        for draw in [SetDomain::gaussian_noise, SetDomain::uniform_noise] {
            let a = draw(&d, n, 3, &mut ChaCha8Rng::seed_from_u64(7));
            assert_eq!(a, draw(&d, n, 3, &mut ChaCha8Rng::seed_from_u64(7)));
            assert_ne!(a, draw(&d, n, 3, &mut ChaCha8Rng::seed_from_u64(8)));
            for (i, v) in a.iter().enumerate() {
                let (lo, hi) = d.bounds(i % 3);
                assert!(
                    (lo..=hi).contains(v),
                    "value {i} = {v} outside [{lo}, {hi}]"
                );
            }
            // The constant feature stays constant; the others fill their box.
            assert!(a.chunks(3).all(|r| r[2] == 5.0));
            let col = |j: usize| a.chunks(3).map(move |r| r[j]);
            assert!(col(1).any(|v| v < 150.0) && col(1).any(|v| v > 250.0));
        }
    }

    #[test]
    fn pixel_noise_uses_the_domain_not_the_unit_interval() {
        let d = SetDomain::pixels(0.0, 255.0).unwrap();
        assert_eq!((d.noise_mean[0], d.noise_std[0]), (127.5, 255.0));
        let g = d.gaussian_noise(2000, 12, &mut ChaCha8Rng::seed_from_u64(1));
        assert!(g.iter().all(|v| (0.0..=255.0).contains(v)));
        assert!(g.iter().filter(|&&v| v > 1.0 && v < 254.0).count() > 500);
        let u = d.uniform_noise(2000, 12, &mut ChaCha8Rng::seed_from_u64(1));
        assert!(u.iter().all(|v| (0.0..255.0).contains(v)));
        assert!(u.iter().any(|&v| v > 200.0));
    }

    #[test]
    fn unbounded_or_inverted_domains_are_errors() {
        let empty = InputDomain {
            kind: DomainKind::Features,
            lower: vec![f32::NEG_INFINITY],
            upper: vec![f32::INFINITY],
            std: vec![0.0],
        };
        let mut train = table();
        train.features.clear();
        train.labels.clear();
        train.sample_shape = vec![1];
        let e = SetDomain::of(&empty, &train).unwrap_err().to_string();
        assert!(e.contains("finite bounds"), "{e}");
        assert!(SetDomain::pixels(1.0, 0.0).is_err());
        assert!(SetDomain::pixels(0.0, 1.0).unwrap().check_dim(5).is_ok());
        let t = table();
        let d = SetDomain::of(&InputDomain::of(&t), &t).unwrap();
        assert!(d.check_dim(4).is_err() && d.check_dim(3).is_ok());
    }
}
