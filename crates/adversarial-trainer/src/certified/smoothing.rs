//! Randomized smoothing (Cohen, Rosenfeld & Kolter 2019, "Certified Adversarial Robustness via
//! Randomized Smoothing"): the smoothed classifier `g(x) = argmax_c P(f(x + δ) = c)`,
//! `δ ~ N(0, σ²I)`, with their PREDICT and CERTIFY exactly. CERTIFY draws `n0` selection
//! samples to guess the top class `ĉ_A`, `n` estimation samples to count it, takes the
//! Clopper–Pearson lower bound `p̲_A` at level `1 − α`, and returns `ĉ_A` with the L2 radius
//! `σ·Φ⁻¹(p̲_A)`, or abstains when `p̲_A < 1/2`.
//!
//! Noise is drawn on the host from one ChaCha8 stream per row, keyed by the row's global index
//! (as the attacks' random starts), first the `n0` selection draws, then the `n` estimation
//! draws, in order; each batch of noisy copies of one row goes to the model's device. A row's
//! certificate therefore depends only on the model, the settings and its index: not on the
//! device's random generator, the shard it falls in or the rows around it.

use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use aegis_model::{Classifier, Dataset, batch_tensor};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::clopper_pearson::{
    binomial_test_half, check_alpha, lower_confidence_bound, normal_quantile,
};
use crate::attacks::{predictions, row_rng};
use crate::error::{AdversarialError, MAX_STEPS, Result, check_count, check_sigma};

/// The most noise samples (`n0`, `n`) one row may take: a bound on the loop, 100× Cohen et
/// al.'s n = 100,000.
pub const MAX_SAMPLES: usize = 10_000_000;

/// Randomized smoothing's settings (Cohen et al. 2019, their CERTIFY), saved in
/// `certify.json`. Defaults are the paper's ImageNet / CIFAR-10 certification: σ = 0.25,
/// `n0` = 100, `n` = 100,000, α = 0.001.
#[derive(Config, Debug, PartialEq)]
pub struct SmoothingConfig {
    /// Noise standard deviation σ, in the model's raw input units (pixels in `[0, 1]`): the
    /// noise is not clipped to the input box, as in the paper.
    #[config(default = 0.25)]
    pub sigma: f64,
    /// Selection samples `n0`: the top class among them is the candidate `ĉ_A`.
    #[config(default = 100)]
    pub n0: usize,
    /// Estimation samples `n`: how often `ĉ_A` wins among them bounds `p_A`.
    #[config(default = 100_000)]
    pub n: usize,
    /// Failure probability α: each certificate holds with probability at least `1 − α`.
    #[config(default = 0.001)]
    pub alpha: f64,
    /// Noisy copies of a row per forward batch (a batch never mixes rows).
    #[config(default = 1000)]
    pub batch_size: usize,
    /// Seed of the per-row noise streams.
    #[config(default = 0)]
    pub seed: u64,
}

impl SmoothingConfig {
    /// Checks ranges: σ in `[1e-6, 1e6]`, `n0` and `n` in `[1, 10,000,000]`, α in
    /// `[1e-12, 0.5]`, `batch_size` in `[1, 1,000,000]`.
    pub fn validate(&self) -> Result<()> {
        check_sigma(self.sigma)?;
        check_count("n0", self.n0, 1, MAX_SAMPLES)?;
        check_count("n", self.n, 1, MAX_SAMPLES)?;
        check_alpha(self.alpha)?;
        check_count("batch-size", self.batch_size, 1, MAX_STEPS)
    }

    /// The largest radius `n` samples can certify: `σ·Φ⁻¹(α^(1/n))`, the radius of a row
    /// whose every estimation sample lands on `ĉ_A` (computed as CERTIFY computes it, from
    /// the Clopper–Pearson bound of `n` of `n`); 0 for settings [`validate`](Self::validate)
    /// refuses.
    pub fn max_radius(&self) -> f64 {
        let all = lower_confidence_bound(self.n as u64, self.n as u64, self.alpha);
        all.map_or(0.0, |p| self.sigma * normal_quantile(p).max(0.0))
    }
}

/// What CERTIFY says about one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Certificate {
    /// `ĉ_A`, or `None` for an abstention (`p̲_A < 1/2`).
    pub prediction: Option<usize>,
    /// The top class among the `n0` selection samples (lowest index on ties).
    pub candidate: usize,
    /// Estimation samples that landed on `candidate`, of `n`.
    pub count: u64,
    /// `p̲_A`, the Clopper–Pearson lower bound of `count` of `n` at level `1 − α`.
    pub p_lower: f64,
    /// `σ·Φ⁻¹(p̲_A)` (L2, raw input units), 0 for an abstention.
    pub radius: f64,
}

/// Counts, per class, the base classifier's predictions on `samples` noisy copies
/// `x + σ·ε` of one row `x` (`[F]`), `ε` drawn from `rng` in batches of `batch_size`.
pub fn sample_counts<M: Classifier>(
    model: &M,
    x: &[f32],
    samples: usize,
    cfg: &SmoothingConfig,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Vec<u64> {
    let f = x.len();
    let sigma = cfg.sigma as f32;
    let mut counts = vec![0u64; model.num_classes()];
    let mut left = samples;
    let mut noisy = Vec::with_capacity(cfg.batch_size.min(samples) * f);
    while left > 0 {
        let b = left.min(cfg.batch_size);
        noisy.clear();
        for _ in 0..b {
            noisy.extend(x.iter().map(|&v| {
                let e: f32 = StandardNormal.sample(rng);
                v + sigma * e
            }));
        }
        let batch = batch_tensor(noisy.clone(), b, f, device);
        for p in predictions(model, batch) {
            if let Some(c) = counts.get_mut(p) {
                *c += 1;
            }
        }
        left -= b;
    }
    counts
}

/// The index of the largest count, the lowest index on ties.
fn top(counts: &[u64]) -> usize {
    let mut best = 0;
    for (i, &c) in counts.iter().enumerate() {
        if c > counts[best] {
            best = i;
        }
    }
    best
}

/// CERTIFY (Cohen et al. 2019, Algorithm 1, right) for one row `x` (`[F]`) of global index
/// `key`, on a model already in inference mode.
pub fn certify_row<M: Classifier>(
    model: &M,
    x: &[f32],
    key: u64,
    cfg: &SmoothingConfig,
    device: &Device,
) -> Result<Certificate> {
    let mut rng = row_rng(cfg.seed, key);
    let selection = sample_counts(model, x, cfg.n0, cfg, &mut rng, device);
    let candidate = top(&selection);
    let estimation = sample_counts(model, x, cfg.n, cfg, &mut rng, device);
    let count = estimation[candidate];
    let p_lower = lower_confidence_bound(count, cfg.n as u64, cfg.alpha)?;
    Ok(if p_lower < 0.5 {
        Certificate {
            prediction: None,
            candidate,
            count,
            p_lower,
            radius: 0.0,
        }
    } else {
        Certificate {
            prediction: Some(candidate),
            candidate,
            count,
            p_lower,
            radius: cfg.sigma * normal_quantile(p_lower),
        }
    })
}

/// PREDICT (Cohen et al. 2019, Algorithm 1, left) for one row: `n` samples, the two most
/// frequent classes `ĉ_A`, `ĉ_B` (lowest index first on ties), and `ĉ_A` when the two-sided
/// binomial test of `n_A` of `n_A + n_B` against 1/2 gives a p-value ≤ α, else `None`
/// (abstain). Its noise stream is the row's CERTIFY stream under `seed + 1`.
pub fn predict_row<M: Classifier>(
    model: &M,
    x: &[f32],
    key: u64,
    cfg: &SmoothingConfig,
    device: &Device,
) -> Option<usize> {
    let mut rng = row_rng(cfg.seed.wrapping_add(1), key);
    let mut counts = sample_counts(model, x, cfg.n, cfg, &mut rng, device);
    let a = top(&counts);
    let n_a = counts[a];
    counts[a] = 0;
    let n_b = if counts.len() > 1 {
        counts[top(&counts)]
    } else {
        0
    };
    (binomial_test_half(n_a, n_a + n_b) <= cfg.alpha).then_some(a)
}

/// One row of `certify.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertifiedRow {
    /// Global row index (0-based, in the evaluated rows; also the noise stream's key).
    pub index: usize,
    /// True label.
    pub label: usize,
    /// The smoothed classifier's class, or `null` for an abstention.
    pub prediction: Option<usize>,
    /// Estimation samples on the selected class, of `n`.
    pub count: u64,
    /// `p̲_A`.
    pub p_lower: f64,
    /// Certified L2 radius (0 when abstaining).
    pub radius: f64,
    /// `prediction == label`.
    pub correct: bool,
    /// Wall time of the row.
    pub seconds: f64,
}

/// CERTIFY on every row of `rows`, whose first row has global index `first` (a shard's
/// offset), in inference mode; `progress` draws a bar on a terminal.
pub fn certify_rows<M: Classifier + Module>(
    model: &M,
    rows: &Dataset,
    first: usize,
    cfg: &SmoothingConfig,
    device: &Device,
    progress: bool,
) -> Result<Vec<CertifiedRow>> {
    cfg.validate()?;
    if rows.dim() != model.input_dim() {
        return Err(AdversarialError::invalid(
            "data",
            format!(
                "rows of {} features for a model of {}",
                rows.dim(),
                model.input_dim()
            ),
        ));
    }
    let model = model.valid();
    let bar = aegis_model::cli::progress_bar(progress, rows.len() as u64, "rows");
    let mut out = Vec::with_capacity(rows.len());
    for i in 0..rows.len() {
        let start = std::time::Instant::now();
        let index = first + i;
        let c = certify_row(&model, rows.row(i), index as u64, cfg, device)?;
        let label = rows.labels[i];
        out.push(CertifiedRow {
            index,
            label,
            prediction: c.prediction,
            count: c.count,
            p_lower: c.p_lower,
            radius: c.radius,
            correct: c.prediction == Some(label),
            seconds: start.elapsed().as_secs_f64(),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use aegis_model::burn::module::Param;
    use aegis_model::burn::nn::{Linear, LinearConfig};
    use aegis_model::burn::tensor::{Tensor, TensorData};
    use burn::module::Module;

    use super::*;
    use crate::certified::clopper_pearson::normal_cdf;

    /// Two classes, `logits = [0, w·x + b]`: class 1 exactly where `w·x + b > 0`. Under
    /// `x + N(0, σ²I)` the margin is `N(w·x + b, σ²‖w‖²)`, so the smoothed classifier's
    /// `p_A = Φ(|w·x + b| / (σ‖w‖))` and its true radius `σ·Φ⁻¹(p_A)` is the distance to
    /// the hyperplane, `|w·x + b| / ‖w‖`.
    #[derive(Module, Debug)]
    struct Halfspace {
        lin: Linear,
    }

    impl Classifier for Halfspace {
        fn logits(&self, x: Tensor<2>) -> Tensor<2> {
            self.lin.forward(x)
        }
        fn input_shape(&self) -> &[usize] {
            &[4]
        }
        fn num_classes(&self) -> usize {
            2
        }
    }

    const W: [f32; 4] = [0.6, -0.8, 0.0, 0.0]; // ‖w‖ = 1
    const B: f32 = 0.1;

    fn halfspace(d: &Device, w: [f32; 4], b: f32) -> Halfspace {
        let mut lin = LinearConfig::new(4, 2).init(d);
        let weights: Vec<f32> = w.iter().flat_map(|&v| [0.0, v]).collect();
        lin.weight = Param::from_tensor(Tensor::from_data(TensorData::new(weights, [4, 2]), d));
        lin.bias = Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![0.0, b], [2]),
            d,
        )));
        Halfspace { lin }
    }

    /// A point at signed distance `dist` from the hyperplane `w·x + b = 0`.
    fn at_distance(dist: f32) -> Vec<f32> {
        // w·x + b = dist with ‖w‖ = 1: x = (dist − b)·w.
        W.iter().map(|&w| (dist - B) * w).collect()
    }

    fn cfg(n: usize) -> SmoothingConfig {
        SmoothingConfig::new().with_n(n).with_batch_size(4096)
    }

    #[test]
    fn linear_model_radius_approaches_the_distance_to_the_hyperplane() {
        let d = Device::flex();
        let model = halfspace(&d, W, B);
        let sigma = 0.25;
        let mut gaps = Vec::new();
        for (dist, class) in [(0.3f32, 1usize), (-0.45, 0)] {
            let x = at_distance(dist);
            let truth = dist.abs() as f64;
            let p_a = normal_cdf(truth / sigma);
            for n in [1000, 100_000] {
                let c = certify_row(&model, &x, 7, &cfg(n), &d).unwrap();
                assert_eq!(c.prediction, Some(class), "dist {dist}, n {n}");
                // The count is Binomial(n, p_A): within 5 standard deviations of n·p_A.
                let sd = (n as f64 * p_a * (1.0 - p_a)).sqrt();
                let k = c.count as f64;
                assert!(
                    (k - n as f64 * p_a).abs() < 5.0 * sd,
                    "{k} vs {}",
                    n as f64 * p_a
                );
                assert!(c.p_lower <= k / n as f64);
                // Sound: never past the true radius (with probability 1 − α; seeded here).
                assert!(c.radius <= truth, "n {n}: {} > {truth}", c.radius);
                assert!(c.radius > 0.0);
                gaps.push(truth - c.radius);
            }
        }
        // More samples, a tighter certificate: the gap at n = 100,000 is below the one at
        // n = 1,000 and within what the Clopper–Pearson width allows (≈ 4σ√(p(1−p)/n) in p).
        for pair in gaps.chunks(2) {
            assert!(pair[1] < pair[0], "{gaps:?}");
            assert!(pair[1] < 0.02, "{gaps:?}");
        }
    }

    #[test]
    fn a_constant_classifier_gets_the_largest_radius() {
        let d = Device::flex();
        let model = halfspace(&d, [0.0; 4], 2.0); // always class 1
        let cfg = cfg(10_000).with_sigma(0.5);
        let c = certify_row(&model, &[0.1, 0.2, 0.3, 0.4], 0, &cfg, &d).unwrap();
        assert_eq!(c.prediction, Some(1));
        assert_eq!(c.count, 10_000);
        assert!((c.p_lower - 0.001f64.powf(1e-4)).abs() < 1e-12);
        assert_eq!(c.radius, cfg.max_radius());
        assert!((c.radius - 0.5 * normal_quantile(0.001f64.powf(1e-4))).abs() < 1e-12);
        assert_eq!(predict_row(&model, &[0.0; 4], 0, &cfg, &d), Some(1));
    }

    #[test]
    fn a_point_on_the_boundary_abstains() {
        let d = Device::flex();
        let model = halfspace(&d, W, B);
        let x = at_distance(0.0);
        let c = certify_row(&model, &x, 3, &cfg(10_000), &d).unwrap();
        assert_eq!(c.prediction, None);
        assert_eq!(c.radius, 0.0);
        assert!(c.p_lower < 0.5);
        let n = c.count as f64;
        assert!((n - 5000.0).abs() < 5.0 * 50.0, "{n}");
        assert_eq!(predict_row(&model, &x, 3, &cfg(10_000), &d), None);
        // Far from it PREDICT answers.
        assert_eq!(
            predict_row(&model, &at_distance(1.0), 3, &cfg(1000), &d),
            Some(1)
        );
    }

    #[test]
    fn rows_depend_on_their_index_and_seed_only() {
        let d = Device::flex();
        let model = halfspace(&d, W, B);
        let xs: Vec<f32> = [0.02f32, -0.03, 0.05, 0.01]
            .iter()
            .flat_map(|&t| at_distance(t))
            .collect();
        let data = Dataset {
            features: xs.clone(),
            labels: vec![1, 0, 1, 1],
            sample_shape: vec![4],
            num_classes: 2,
            feature_names: vec![],
            class_names: vec!["a".into(), "b".into()],
        };
        let cfg = cfg(2000).with_batch_size(300);
        let strip = |mut rows: Vec<CertifiedRow>| {
            rows.iter_mut().for_each(|r| r.seconds = 0.0);
            rows
        };
        let all = strip(certify_rows(&model, &data, 0, &cfg, &d, false).unwrap());
        let again = strip(certify_rows(&model, &data, 0, &cfg, &d, false).unwrap());
        assert_eq!(all, again);
        let tail = strip(certify_rows(&model, &data.select(&[2, 3]), 2, &cfg, &d, false).unwrap());
        assert_eq!(&all[2..], &tail[..]);
        // Another seed draws other noise: near the boundary the counts move.
        let other =
            strip(certify_rows(&model, &data, 0, &cfg.clone().with_seed(9), &d, false).unwrap());
        assert_ne!(
            all.iter().map(|r| r.count).collect::<Vec<_>>(),
            other.iter().map(|r| r.count).collect::<Vec<_>>()
        );
        assert!(certify_rows(&model, &data, 0, &cfg.clone().with_sigma(0.0), &d, false).is_err());
        assert!(certify_rows(&model, &data, 0, &cfg.clone().with_n(0), &d, false).is_err());
    }
}
