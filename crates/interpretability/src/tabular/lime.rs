//! LIME for tabular data (Ribeiro, Singh & Guestrin 2016, "Why Should I Trust You?"),
//! reproducing the `lime` package's `LimeTabularExplainer` (lime 0.2) with its defaults
//! `discretize_continuous=True, discretizer='quartile', kernel_width=0.75·√d`:
//!
//! - **Quartile discretisation** fitted on the training rows: bin edges are the 25th/50th/75th
//!   percentiles (numpy's linear interpolation, duplicates removed); a value falls in bin
//!   `searchsorted(edges, v)`. Per bin, the mean, standard deviation (+1e-11), and bounds (the
//!   neighbouring edges, or the training min/max) of the training values are kept.
//! - **Sampling**: `num_samples` neighbours; for each feature a bin is drawn with the training
//!   frequencies of the bins; the binary representation is `1[bin = the instance's bin]`; the
//!   first sample is the instance itself. Bins are turned back into values by a normal of the
//!   bin's mean and std truncated to the bin's bounds (lime uses `scipy.stats.truncnorm`; here
//!   rejection sampling, falling back to uniform in the bounds after 100 rejections).
//! - **Weights**: Euclidean distance of the binary vector to the all-ones instance,
//!   kernel `√exp(−d² / w²)` with `w = 0.75·√d` by default.
//! - **Surrogate**: weighted ridge regression (`sklearn.linear_model.Ridge(alpha=1)`, with
//!   intercept) of the model's probability of the target class on the binary features.
//!
//! Differences from lime: every feature is kept (lime's default `num_features=10` with
//! `feature_selection='auto'` selects a subset; here the equivalent of
//! `num_features = d, feature_selection='none'`), and random numbers come from
//! `ChaCha8Rng(seed)`, so a seed reproduces an explanation exactly on every device (lime's
//! numpy stream cannot be matched). All neighbours of a row go through the model as one batch set.

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::linalg::weighted_least_squares;
use crate::attribution::{ModelOutput, check_positive, model_outputs, progress_bar};
use crate::error::{InterpretError, Result};

/// LIME hyper-parameters.
#[derive(Config, Debug)]
pub struct LimeConfig {
    /// Neighbours per explanation (lime's default 5000).
    #[config(default = 5000)]
    pub num_samples: usize,
    /// Kernel width; `None`: `0.75·√d`.
    #[config(default = "None")]
    pub kernel_width: Option<f64>,
    /// Ridge penalty of the surrogate (sklearn's `Ridge(alpha=1.0)`, lime's default).
    #[config(default = 1.0)]
    pub ridge_alpha: f64,
    /// Seed of the neighbourhood.
    #[config(default = 0)]
    pub seed: u64,
    /// Explained output of the target class.
    #[config(default = "ModelOutput::Probability")]
    pub output: ModelOutput,
    /// Rows per forward pass.
    #[config(default = 65536)]
    pub batch_size: usize,
}

/// Quartile discretiser of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureBins {
    /// Distinct quartile edges (at most 3).
    pub edges: Vec<f32>,
    /// Training frequency of each bin (`edges.len() + 1` bins).
    pub frequency: Vec<f64>,
    /// Mean of the training values per bin.
    pub mean: Vec<f64>,
    /// Standard deviation (+1e-11) per bin.
    pub std: Vec<f64>,
    /// Lower bound per bin.
    pub min: Vec<f64>,
    /// Upper bound per bin.
    pub max: Vec<f64>,
}

impl FeatureBins {
    /// Bin index of `v` (numpy `searchsorted(edges, v, side='left')`).
    pub fn bin(&self, v: f32) -> usize {
        self.edges.iter().take_while(|&&e| e < v).count()
    }
}

/// numpy's `percentile` with linear interpolation on sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Fits the quartile discretiser on training rows `train` (`[N, F]`).
pub fn quartile_bins(train: &[f32], f: usize) -> Vec<FeatureBins> {
    let n = train.len() / f;
    (0..f)
        .map(|j| {
            let col: Vec<f64> = (0..n).map(|i| train[i * f + j] as f64).collect();
            let mut sorted = col.clone();
            sorted.sort_by(f64::total_cmp);
            let mut edges: Vec<f32> = [0.25, 0.5, 0.75]
                .iter()
                .map(|&q| percentile(&sorted, q) as f32)
                .collect();
            edges.dedup();
            let k = edges.len() + 1;
            let mut fb = FeatureBins {
                edges,
                frequency: vec![0.0; k],
                mean: vec![0.0; k],
                std: vec![0.0; k],
                min: Vec::with_capacity(k),
                max: Vec::with_capacity(k),
            };
            let mut members: Vec<Vec<f64>> = vec![Vec::new(); k];
            for &v in &col {
                members[fb.bin(v as f32)].push(v);
            }
            for (b, m) in members.iter().enumerate() {
                fb.frequency[b] = m.len() as f64 / n as f64;
                if !m.is_empty() {
                    let mean = m.iter().sum::<f64>() / m.len() as f64;
                    fb.mean[b] = mean;
                    fb.std[b] =
                        (m.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m.len() as f64).sqrt();
                }
                fb.std[b] += 1e-11;
            }
            fb.min.push(sorted[0]);
            fb.min.extend(fb.edges.iter().map(|&e| e as f64));
            fb.max.extend(fb.edges.iter().map(|&e| e as f64));
            fb.max.push(sorted[n - 1]);
            fb
        })
        .collect()
}

/// One LIME explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimeExplanation {
    /// Surrogate coefficient per feature (effect of "the feature is in the instance's bin").
    pub coefficients: Vec<f32>,
    /// Surrogate intercept.
    pub intercept: f32,
    /// Weighted R² of the surrogate on the neighbourhood (lime's `score`).
    pub score: f32,
    /// Surrogate prediction at the instance (lime's `local_pred`).
    pub local_prediction: f32,
    /// Model output at the instance.
    pub model_output: f32,
    /// Explained class.
    pub target: usize,
}

/// A LIME explainer fitted on training rows.
#[derive(Debug, Clone)]
pub struct LimeTabular {
    config: LimeConfig,
    bins: Vec<FeatureBins>,
}

impl LimeTabular {
    /// Validates the configuration and fits the discretiser on `train` (`[N, F]`, `F = features`).
    pub fn new(config: LimeConfig, train: &[f32], features: usize) -> Result<Self> {
        check_positive("batch_size", config.batch_size)?;
        if config.num_samples < 2 {
            return Err(InterpretError::invalid("num_samples", "must be at least 2"));
        }
        if let Some(w) = config.kernel_width
            && !(w.is_finite() && w > 0.0)
        {
            return Err(InterpretError::invalid(
                "kernel_width",
                format!("{w} must be > 0"),
            ));
        }
        if !(config.ridge_alpha.is_finite() && config.ridge_alpha >= 0.0) {
            return Err(InterpretError::invalid("ridge_alpha", "must be ≥ 0"));
        }
        if features == 0 || train.is_empty() || !train.len().is_multiple_of(features) {
            return Err(InterpretError::Shape(format!(
                "{} training values are not rows of {features} features",
                train.len()
            )));
        }
        Ok(Self {
            config,
            bins: quartile_bins(train, features),
        })
    }

    /// The fitted discretiser.
    pub fn bins(&self) -> &[FeatureBins] {
        &self.bins
    }

    /// Explains each row of `x` (`[R, F]`) for class `targets[i]` (or `targets[0]` for all).
    /// Row `i` uses the stream `ChaCha8Rng(seed + i)`.
    pub fn explain<M: Classifier + Module>(
        &self,
        model: &M,
        x: &[f32],
        targets: &[usize],
        device: &Device,
    ) -> Result<Vec<LimeExplanation>> {
        self.explain_with_progress(model, x, targets, device, false)
    }

    /// [`LimeTabular::explain`] with a progress bar over the rows when `progress` is true.
    pub fn explain_with_progress<M: Classifier + Module>(
        &self,
        model: &M,
        x: &[f32],
        targets: &[usize],
        device: &Device,
        progress: bool,
    ) -> Result<Vec<LimeExplanation>> {
        let f = self.bins.len();
        if f != model.input_dim() || x.is_empty() || !x.len().is_multiple_of(f) {
            return Err(InterpretError::Shape(format!(
                "rows of {f} features expected (the model takes {}), got {} values",
                model.input_dim(),
                x.len()
            )));
        }
        let r = x.len() / f;
        if targets.len() != 1 && targets.len() != r {
            return Err(InterpretError::Shape(format!(
                "{} targets for {r} rows",
                targets.len()
            )));
        }
        let c = model.num_classes();
        if let Some(&t) = targets.iter().find(|&&t| t >= c) {
            return Err(InterpretError::Shape(format!(
                "target class {t} out of range ({c} classes)"
            )));
        }
        let model = model.valid();
        let width = self.config.kernel_width.unwrap_or(0.75 * (f as f64).sqrt());
        let s = self.config.num_samples;
        let mut out = Vec::with_capacity(r);
        let bar = progress_bar(progress, r as u64, "rows (LIME)");
        for i in 0..r {
            bar.inc(1);
            let t = if targets.len() == 1 {
                targets[0]
            } else {
                targets[i]
            };
            let row = &x[i * f..(i + 1) * f];
            let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed.wrapping_add(i as u64));
            let mut binary = vec![0f64; s * f];
            let mut inverse = vec![0f32; s * f];
            for (j, fb) in self.bins.iter().enumerate() {
                let own = fb.bin(row[j]);
                let dist = WeightedIndex::new(&fb.frequency).map_err(|e| {
                    InterpretError::Shape(format!("feature {j}: no training values ({e})"))
                })?;
                for k in 0..s {
                    let (bin, value) = if k == 0 {
                        (own, row[j])
                    } else {
                        let b = dist.sample(&mut rng);
                        (b, sample_in_bin(fb, b, &mut rng))
                    };
                    binary[k * f + j] = f64::from(u8::from(bin == own));
                    inverse[k * f + j] = value;
                }
            }
            let weights: Vec<f64> = binary
                .chunks(f)
                .map(|b| {
                    let d2: f64 = b.iter().map(|v| (1.0 - v).powi(2)).sum();
                    (-d2 / (width * width)).exp().sqrt()
                })
                .collect();
            let y: Vec<f64> = model_outputs(
                &model,
                &inverse,
                self.config.output,
                self.config.batch_size,
                device,
            )
            .chunks(c)
            .map(|p| p[t] as f64)
            .collect();
            out.push(weighted_ridge(
                &binary,
                &y,
                &weights,
                f,
                self.config.ridge_alpha,
                t,
            ));
        }
        Ok(out)
    }
}

fn sample_in_bin(fb: &FeatureBins, b: usize, rng: &mut ChaCha8Rng) -> f32 {
    let (lo, hi, mean, std) = (fb.min[b], fb.max[b], fb.mean[b], fb.std[b]);
    if hi <= lo {
        return lo as f32;
    }
    for _ in 0..100 {
        let z: f64 = StandardNormal.sample(rng);
        let v = mean + std * z;
        if (lo..=hi).contains(&v) {
            return v as f32;
        }
    }
    rng.random_range(lo..=hi) as f32
}

/// sklearn `Ridge(alpha, fit_intercept=True).fit(z, y, sample_weight=w)`: weighted centring,
/// then `(Z_cᵀ W Z_c + α I) β = Z_cᵀ W y_c`; plus lime's weighted R² and local prediction
/// (row 0 is the instance).
fn weighted_ridge(
    z: &[f64],
    y: &[f64],
    w: &[f64],
    p: usize,
    alpha: f64,
    target: usize,
) -> LimeExplanation {
    let sw: f64 = w.iter().sum();
    let zm: Vec<f64> = (0..p)
        .map(|j| z.chunks(p).zip(w).map(|(r, wi)| r[j] * wi).sum::<f64>() / sw)
        .collect();
    let ym = y.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / sw;
    let zc: Vec<f64> = z
        .chunks(p)
        .flat_map(|r| r.iter().zip(&zm).map(|(a, m)| a - m).collect::<Vec<_>>())
        .collect();
    let yc: Vec<f64> = y.iter().map(|v| v - ym).collect();
    let beta = weighted_least_squares(&zc, &yc, w, p, alpha);
    let intercept = ym - zm.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>();
    let pred = |r: &[f64]| intercept + r.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>();
    let ss_res: f64 = z
        .chunks(p)
        .zip(y)
        .zip(w)
        .map(|((r, yi), wi)| wi * (yi - pred(r)).powi(2))
        .sum();
    let ss_tot: f64 = y.iter().zip(w).map(|(yi, wi)| wi * (yi - ym).powi(2)).sum();
    LimeExplanation {
        coefficients: beta.iter().map(|&b| b as f32).collect(),
        intercept: intercept as f32,
        score: if ss_tot > 0.0 {
            (1.0 - ss_res / ss_tot) as f32
        } else {
            1.0
        },
        local_prediction: pred(&z[..p]) as f32,
        model_output: y[0] as f32,
        target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabular::permutation::tests::{informative_model, informative_on_top};

    #[test]
    fn quartile_bins_follow_numpy_percentiles() {
        // Column 1..=8: numpy.percentile([1..8], [25, 50, 75]) = [2.75, 4.5, 6.25].
        let train: Vec<f32> = (1..=8).map(|v| v as f32).collect();
        let b = &quartile_bins(&train, 1)[0];
        assert_eq!(b.edges, vec![2.75, 4.5, 6.25]);
        assert_eq!(b.frequency, vec![0.25; 4]);
        assert_eq!(b.bin(2.75), 0);
        assert_eq!(b.bin(2.8), 1);
        assert_eq!(b.min, vec![1.0, 2.75, 4.5, 6.25]);
        assert_eq!(b.max, vec![2.75, 4.5, 6.25, 8.0]);
        assert!((b.mean[0] - 1.5).abs() < 1e-12);
        // A constant column has one edge and two bins.
        assert_eq!(quartile_bins(&[3.0; 5], 1)[0].edges, vec![3.0]);
    }

    #[test]
    fn ridge_recovers_an_exact_linear_target() {
        // y = 0.5 + 2 z0 − z1 exactly, α = 0: coefficients and intercept come back, R² = 1.
        let z: Vec<f64> = [[0., 0.], [1., 0.], [0., 1.], [1., 1.], [1., 0.]].concat();
        let y: Vec<f64> = z.chunks(2).map(|r| 0.5 + 2.0 * r[0] - r[1]).collect();
        let e = weighted_ridge(&z, &y, &[1.0, 0.5, 2.0, 1.0, 1.0], 2, 0.0, 0);
        assert!((e.coefficients[0] - 2.0).abs() < 1e-6 && (e.coefficients[1] + 1.0).abs() < 1e-6);
        assert!((e.intercept - 0.5).abs() < 1e-6 && (e.score - 1.0).abs() < 1e-6);
    }

    #[test]
    fn lime_is_seeded_and_finds_the_informative_features() {
        let dev = Device::flex();
        let (model, test, informative) = informative_model();
        let f = test.dim();
        let lime = LimeTabular::new(
            LimeConfig::new().with_num_samples(1000).with_seed(2),
            &test.features,
            f,
        )
        .unwrap();
        let x = &test.features[..20 * f];
        let a = lime.explain(model, x, &[1], &dev).unwrap();
        assert_eq!(a, lime.explain(model, x, &[1], &dev).unwrap());
        let mut imp = vec![0f64; f];
        for e in &a {
            for (m, c) in imp.iter_mut().zip(&e.coefficients) {
                *m += c.abs() as f64;
            }
        }
        println!("mean |coefficient| {imp:?}");
        informative_on_top("lime", &imp, informative);
        assert!(
            LimeTabular::new(
                LimeConfig::new().with_kernel_width(Some(0.0)),
                &test.features,
                f
            )
            .is_err()
        );
    }
}
