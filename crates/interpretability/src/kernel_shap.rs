//! KernelSHAP (Lundberg & Lee 2017, "A Unified Approach to Interpreting Model Predictions"),
//! following shap's `KernelExplainer` (shap 0.4x, `_kernel.py`):
//!
//! - features whose value in `x` equals every background row's are not varying and get 0;
//!   the others (`M` of them) form coalitions `z ∈ {0,1}^M`;
//! - the sample budget defaults to shap's `"auto"`, `2M + 2048`, capped at `2^M − 2`;
//! - coalition sizes `s = 1, 2, …` (paired with their complements `M − s`) are enumerated
//!   completely while the budget allows, each coalition weighted by the Shapley kernel
//!   `(M − 1) / (C(M, s) · s · (M − s))` (normalised as shap does); the rest of the budget is
//!   drawn at random from the remaining sizes with **paired sampling** (each coalition with its
//!   complement; repeats add weight), from `ChaCha8Rng(seed)`;
//! - `f(z)` is the mean model output over the background rows with the features in `z` taken
//!   from `x` (the interventional expectation, shap's default);
//! - the attributions solve the weighted least-squares problem with the **efficiency constraint
//!   exact**: the last varying feature is eliminated (`φ_M = f(x) − E f(background) − Σ others`),
//!   so `Σ φ = f(x) − E f(background)` holds to float precision whatever the sample budget.
//!
//! Not reproduced: shap's optional L1 feature selection (`l1_reg`), link functions other than
//! the identity. The explained output is the target class's **probability** by default (what
//! shap explains for `predict_proba`), or its logit ([`ModelOutput`]).
//!
//! Speed: the coalitions of a chunk are expanded against all background rows **on the device**
//! (`background ⊙ (1 − z) + x ⊙ z` by broadcasting, so only the `K × F` masks are uploaded), the
//! stacked `coalitions × background` rows go through the model as one tensor batch of up to
//! `batch_size` rows, and the mean over the background is taken on the device too (only `K × C`
//! values come back).

use std::collections::HashMap;

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::{Device, Tensor, TensorData, activation};
use rand::SeedableRng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::attribution::{ModelOutput, check_positive, model_outputs, progress_bar, to_host};
use crate::error::{InterpretError, Result};
use crate::linalg::solve;

/// KernelSHAP hyper-parameters.
#[derive(Config, Debug)]
pub struct KernelShapConfig {
    /// Coalition budget per explained row; `None`: shap's `"auto"`, `2M + 2048`. Capped at
    /// `2^M − 2` (all coalitions).
    #[config(default = "None")]
    pub n_samples: Option<usize>,
    /// Explained output of the target class.
    #[config(default = "ModelOutput::Probability")]
    pub output: ModelOutput,
    /// Seed of the random coalitions.
    #[config(default = 0)]
    pub seed: u64,
    /// Model rows (coalitions × background) per forward pass.
    #[config(default = 16384)]
    pub batch_size: usize,
}

/// SHAP values of a batch of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapValues {
    /// `φ`, row-major `[rows, features]`.
    pub values: Vec<f32>,
    /// Rows explained.
    pub rows: usize,
    /// Features per row.
    pub features: usize,
    /// Explained class per row.
    pub targets: Vec<usize>,
    /// `E f(background)` of the row's target (shap's `expected_value`).
    pub base_values: Vec<f32>,
    /// `f(x)` per row.
    pub outputs: Vec<f32>,
    /// Distinct coalitions evaluated per row.
    pub coalitions: Vec<usize>,
}

/// KernelSHAP explainer.
#[derive(Debug, Clone)]
pub struct KernelShap {
    config: KernelShapConfig,
}

/// A coalition plan: masks over the `M` varying features and their kernel weights.
#[derive(Debug, Clone, PartialEq)]
pub struct CoalitionPlan {
    /// Masks, row-major `[K, M]`, 1 = feature taken from `x`.
    pub masks: Vec<u8>,
    /// Kernel weight per mask.
    pub weights: Vec<f64>,
    /// Number of varying features `M`.
    pub m: usize,
}

fn binom(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Calls `visit` with every `k`-subset of `0..m` (lexicographic order).
fn for_each_combination(m: usize, k: usize, mut visit: impl FnMut(&[usize])) {
    if k > m {
        return;
    }
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        visit(&idx);
        let mut i = k;
        while i > 0 && idx[i - 1] == i - 1 + m - k {
            i -= 1;
        }
        if i == 0 {
            return;
        }
        idx[i - 1] += 1;
        for j in i..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// shap's sampling plan for `m` varying features and a budget of `n_samples` coalitions.
pub fn coalition_plan(m: usize, n_samples: usize, rng: &mut ChaCha8Rng) -> CoalitionPlan {
    let mut plan = CoalitionPlan {
        masks: Vec::new(),
        weights: Vec::new(),
        m,
    };
    if m < 2 {
        return plan;
    }
    let max_samples = if m <= 30 {
        (1usize << m) - 2
    } else {
        usize::MAX
    };
    let n_samples = n_samples.min(max_samples);
    let num_subset_sizes = (m - 1).div_ceil(2);
    let num_paired = (m - 1) / 2;
    let mut weight_vector: Vec<f64> = (1..=num_subset_sizes)
        .map(|i| (m as f64 - 1.0) / (i as f64 * (m - i) as f64))
        .collect();
    weight_vector[..num_paired]
        .iter_mut()
        .for_each(|w| *w *= 2.0);
    let total: f64 = weight_vector.iter().sum();
    weight_vector.iter_mut().for_each(|w| *w /= total);
    let mut remaining = weight_vector.clone();
    let mut num_full = 0;
    let mut samples_left = n_samples as f64;
    let add = |plan: &mut CoalitionPlan, mask: &[u8], w: f64| {
        plan.masks.extend_from_slice(mask);
        plan.weights.push(w);
    };
    for s in 1..=num_subset_sizes {
        let paired = s <= num_paired;
        let nsubsets = binom(m, s) * if paired { 2.0 } else { 1.0 };
        if samples_left * remaining[s - 1] / nsubsets < 1.0 - 1e-8 {
            break;
        }
        num_full += 1;
        samples_left -= nsubsets;
        if remaining[s - 1] < 1.0 {
            let r = 1.0 - remaining[s - 1];
            remaining.iter_mut().for_each(|w| *w /= r);
        }
        let w = weight_vector[s - 1] / binom(m, s) / if paired { 2.0 } else { 1.0 };
        for_each_combination(m, s, |inds| {
            let mut mask = vec![0u8; m];
            inds.iter().for_each(|&i| mask[i] = 1);
            add(&mut plan, &mask, w);
            if paired {
                mask.iter_mut().for_each(|v| *v = 1 - *v);
                add(&mut plan, &mask, w);
            }
        });
    }
    let n_fixed = plan.weights.len();
    let mut left = n_samples.saturating_sub(n_fixed);
    if num_full != num_subset_sizes && left > 0 {
        let mut rw = weight_vector.clone();
        rw[..num_paired].iter_mut().for_each(|w| *w /= 2.0);
        let rw = &rw[num_full..];
        let dist = WeightedIndex::new(rw).expect("positive kernel weights");
        let mut used: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut draws = 4 * left;
        while left > 0 && draws > 0 {
            draws -= 1;
            let s = dist.sample(rng) + num_full + 1;
            let mut mask = vec![0u8; m];
            for i in rand::seq::index::sample(rng, m, s).iter() {
                mask[i] = 1;
            }
            let known = used.get(&mask).copied();
            match known {
                None => {
                    used.insert(mask.clone(), plan.weights.len());
                    left -= 1;
                    add(&mut plan, &mask, 1.0);
                }
                Some(at) => plan.weights[at] += 1.0,
            }
            if left > 0 && s <= num_paired {
                mask.iter_mut().for_each(|v| *v = 1 - *v);
                match known {
                    None => {
                        left -= 1;
                        add(&mut plan, &mask, 1.0);
                    }
                    Some(at) => plan.weights[at + 1] += 1.0,
                }
            }
        }
        let weight_left: f64 = weight_vector[num_full..].iter().sum();
        let sum: f64 = plan.weights[n_fixed..].iter().sum();
        if sum > 0.0 {
            plan.weights[n_fixed..]
                .iter_mut()
                .for_each(|w| *w *= weight_left / sum);
        }
    }
    plan
}

impl KernelShap {
    /// Validates the configuration.
    pub fn new(config: KernelShapConfig) -> Result<Self> {
        check_positive("batch_size", config.batch_size)?;
        if config.n_samples == Some(0) {
            return Err(InterpretError::invalid("n_samples", "must be at least 1"));
        }
        Ok(Self { config })
    }

    /// SHAP values of the rows of `x` (`[R, F]`) for class `targets[i]` (or `targets[0]` for
    /// every row when one target is given), against `background` (`[B, F]`).
    pub fn explain<M: Classifier + Module>(
        &self,
        model: &M,
        x: &[f32],
        targets: &[usize],
        background: &[f32],
        device: &Device,
    ) -> Result<ShapValues> {
        self.explain_with_progress(model, x, targets, background, device, false)
    }

    /// [`KernelShap::explain`] with a progress bar over the rows when `progress` is true.
    pub fn explain_with_progress<M: Classifier + Module>(
        &self,
        model: &M,
        x: &[f32],
        targets: &[usize],
        background: &[f32],
        device: &Device,
        progress: bool,
    ) -> Result<ShapValues> {
        let f = model.input_dim();
        let c = model.num_classes();
        if x.is_empty()
            || !x.len().is_multiple_of(f)
            || background.is_empty()
            || !background.len().is_multiple_of(f)
        {
            return Err(InterpretError::Shape(format!(
                "x has {} values and the background {}, both must be non-empty multiples of {f}",
                x.len(),
                background.len()
            )));
        }
        let r = x.len() / f;
        let b = background.len() / f;
        if targets.len() != 1 && targets.len() != r {
            return Err(InterpretError::Shape(format!(
                "{} targets for {r} rows",
                targets.len()
            )));
        }
        if let Some(&t) = targets.iter().find(|&&t| t >= c) {
            return Err(InterpretError::Shape(format!(
                "target class {t} out of range ({c} classes)"
            )));
        }
        let model = model.valid();
        let out = self.config.output;
        let bs = self.config.batch_size;
        let bg_out = model_outputs(&model, background, out, bs, device);
        let fnull: Vec<f64> = (0..c)
            .map(|k| bg_out.chunks(c).map(|row| row[k] as f64).sum::<f64>() / b as f64)
            .collect();
        let x_out = model_outputs(&model, x, out, bs, device);
        let bg_t = Tensor::<2>::from_data(TensorData::new(background.to_vec(), [b, f]), device)
            .unsqueeze_dim::<3>(0);
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed);
        let mut result = ShapValues {
            values: vec![0.0; r * f],
            rows: r,
            features: f,
            targets: Vec::with_capacity(r),
            base_values: Vec::with_capacity(r),
            outputs: Vec::with_capacity(r),
            coalitions: Vec::with_capacity(r),
        };
        let bar = progress_bar(progress, r as u64, "rows (KernelSHAP)");
        for i in 0..r {
            bar.inc(1);
            let t = if targets.len() == 1 {
                targets[0]
            } else {
                targets[i]
            };
            let xi = &x[i * f..(i + 1) * f];
            let fx = x_out[i * c + t] as f64;
            let f0 = fnull[t];
            result.targets.push(t);
            result.base_values.push(f0 as f32);
            result.outputs.push(fx as f32);
            let varying: Vec<usize> = (0..f)
                .filter(|&j| (0..b).any(|k| background[k * f + j] != xi[j]))
                .collect();
            let m = varying.len();
            let phi = &mut result.values[i * f..(i + 1) * f];
            if m == 0 {
                result.coalitions.push(0);
                continue;
            }
            if m == 1 {
                phi[varying[0]] = (fx - f0) as f32;
                result.coalitions.push(0);
                continue;
            }
            let budget = self.config.n_samples.unwrap_or(2 * m + 2048);
            let plan = coalition_plan(m, budget, &mut rng);
            let k = plan.weights.len();
            result.coalitions.push(k);
            // f(z) for every coalition: mean over the background with z's features from x,
            // built on the device by broadcasting: rows = bg ⊙ (1 − z) + x ⊙ z, [K·B, F].
            let x_t = Tensor::<2>::from_data(TensorData::new(xi.to_vec(), [1, f]), device)
                .unsqueeze_dim::<3>(0);
            let per_chunk = (bs / b).max(1);
            let mut ey = Vec::with_capacity(k);
            for chunk in plan.masks.chunks(per_chunk * m) {
                let kc = chunk.len() / m;
                let mut full = vec![0f32; kc * f];
                for (q, mask) in chunk.chunks(m).enumerate() {
                    for (&on, &j) in mask.iter().zip(&varying) {
                        full[q * f + j] = f32::from(on);
                    }
                }
                let z = Tensor::<2>::from_data(TensorData::new(full, [kc, f]), device)
                    .unsqueeze_dim::<3>(1);
                let rows = bg_t.clone() * (z.clone().neg() + 1.0) + x_t.clone() * z;
                let logits = model.logits(rows.reshape([kc * b, f]));
                let y = match out {
                    ModelOutput::Logit => logits,
                    ModelOutput::Probability => activation::softmax(logits, 1),
                };
                let mean = y.reshape([kc, b, c]).mean_dim(1).reshape([kc, c]);
                ey.extend(to_host(mean).chunks(c).map(|row| row[t] as f64));
            }
            // Constrained WLS: eliminate the last varying feature.
            let p = m - 1;
            let total = fx - f0;
            let mut a = vec![0.0; p * p];
            let mut rhs = vec![0.0; p];
            let mut row = vec![0.0; p];
            for ((mask, &w), &e) in plan.masks.chunks(m).zip(&plan.weights).zip(&ey) {
                let last = mask[p] as f64;
                for q in 0..p {
                    row[q] = mask[q] as f64 - last;
                }
                let y = e - f0 - last * total;
                for q in 0..p {
                    let wr = w * row[q];
                    if wr == 0.0 {
                        continue;
                    }
                    rhs[q] += wr * y;
                    for s in 0..p {
                        a[q * p + s] += wr * row[s];
                    }
                }
            }
            let w = solve(a, rhs, p);
            let sum_w: f64 = w.iter().sum();
            for (q, &j) in varying[..p].iter().enumerate() {
                phi[j] = w[q] as f32;
            }
            phi[varying[p]] = (total - sum_w) as f32;
        }
        bar.finish_and_clear();
        Ok(result)
    }
}

/// Mean `|φ|` per feature over the rows (the usual global SHAP importance).
pub fn mean_abs(values: &[f32], features: usize) -> Vec<f64> {
    let rows = (values.len() / features.max(1)).max(1);
    let mut m = vec![0f64; features];
    for row in values.chunks(features.max(1)) {
        for (a, v) in m.iter_mut().zip(row) {
            *a += v.abs() as f64;
        }
    }
    m.iter_mut().for_each(|v| *v /= rows as f64);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::target_outputs;
    use crate::attribution::tests::linear_model;
    use crate::permutation::{ranking, tests::informative_model};
    use rand::Rng;

    #[test]
    fn plan_enumerates_everything_when_the_budget_allows() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let plan = coalition_plan(5, 1000, &mut rng);
        // 2^5 − 2 = 30 coalitions, all distinct, weights summing to 1.
        assert_eq!(plan.weights.len(), 30);
        let mut masks: Vec<&[u8]> = plan.masks.chunks(5).collect();
        masks.sort();
        masks.dedup();
        assert_eq!(masks.len(), 30);
        assert!((plan.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Shapley kernel: weight ∝ (M−1)/(C(M,s) s (M−s)): size 1 vs size 2 = (4/5/4)/(4/10/6).
        let w1 = plan.weights[0];
        let w2 = plan.weights[plan
            .masks
            .chunks(5)
            .position(|m| m.iter().sum::<u8>() == 2)
            .unwrap()];
        assert!(
            (w1 / w2 - (4.0 / 20.0) / (4.0 / 60.0)).abs() < 1e-9,
            "{w1} {w2}"
        );
        // A small budget samples in complementary pairs (M = 11: every size ≤ 5 is paired; by
        // hand, 60·w₁/22 = 1.02 ≥ 1 so the 22 size-1 pairs are enumerated, the rest sampled).
        let plan = coalition_plan(11, 60, &mut rng);
        assert_eq!(plan.weights.len(), 60);
        assert!((plan.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let complement = |m: &[u8]| m.iter().map(|v| 1 - v).collect::<Vec<u8>>();
        let all: Vec<&[u8]> = plan.masks.chunks(11).collect();
        assert!(
            all[..22]
                .iter()
                .all(|m| m.iter().sum::<u8>() == 1 || m.iter().sum::<u8>() == 10)
        );
        for m in &all {
            assert!(all.contains(&complement(m).as_slice()));
        }
    }

    #[test]
    fn combinations_are_complete() {
        let mut n = 0;
        for_each_combination(6, 3, |_| n += 1);
        assert_eq!(n, 20);
        let mut v = Vec::new();
        for_each_combination(3, 1, |c| v.push(c.to_vec()));
        assert_eq!(v, vec![vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn linear_model_gives_w_times_centered_input_exactly() {
        let dev = Device::flex();
        let f = 5;
        let m = linear_model(f, 2, 9);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let bg: Vec<f32> = (0..40 * f).map(|_| rng.random_range(-1.0..1.0)).collect();
        let x: Vec<f32> = (0..3 * f).map(|_| rng.random_range(-2.0..2.0)).collect();
        let shap = KernelShap::new(
            KernelShapConfig::new()
                .with_output(ModelOutput::Logit)
                .with_batch_size(100),
        )
        .unwrap();
        let s = shap.explain(&m, &x, &[1], &bg, &dev).unwrap();
        assert_eq!(s.coalitions, vec![30; 3]);
        // Reference: w_j = f(e_j) − f(0) (linear logit), E[x_j] = background mean.
        let f0 = target_outputs(&m, &vec![0.0; f], &[1], ModelOutput::Logit, 8, &dev)[0];
        for i in 0..3 {
            for j in 0..f {
                let mut e = vec![0.0; f];
                e[j] = 1.0;
                let w = target_outputs(&m, &e, &[1], ModelOutput::Logit, 8, &dev)[0] - f0;
                let mean = (0..40).map(|k| bg[k * f + j]).sum::<f32>() / 40.0;
                let expect = w * (x[i * f + j] - mean);
                let got = s.values[i * f + j];
                assert!(
                    (got - expect).abs() < 1e-4,
                    "row {i} feature {j}: {got} vs {expect}"
                );
            }
        }
    }

    #[test]
    fn efficiency_holds_with_sampled_coalitions_and_the_seed_reproduces() {
        let dev = Device::flex();
        let (model, test, _) = informative_model();
        let f = test.dim();
        let bg = &test.features[..30 * f];
        let x = &test.features[30 * f..35 * f];
        let cfg = KernelShapConfig::new()
            .with_n_samples(Some(40))
            .with_seed(5)
            .with_batch_size(500);
        let s = KernelShap::new(cfg.clone())
            .unwrap()
            .explain(model, x, &[1], bg, &dev)
            .unwrap();
        for i in 0..5 {
            let sum: f32 = s.values[i * f..(i + 1) * f].iter().sum();
            let gap = s.outputs[i] - s.base_values[i];
            assert!((sum - gap).abs() < 1e-5, "row {i}: Σφ {sum} vs {gap}");
            assert!(s.coalitions[i] <= 40);
        }
        let again = KernelShap::new(cfg)
            .unwrap()
            .explain(model, x, &[1], bg, &dev)
            .unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn informative_features_have_the_largest_mean_abs_shap() {
        let dev = Device::flex();
        let (model, test, informative) = informative_model();
        let f = test.dim();
        let bg = &test.features[..50 * f];
        let x = &test.features[50 * f..90 * f];
        let s = KernelShap::new(KernelShapConfig::new())
            .unwrap()
            .explain(model, x, &[1], bg, &dev)
            .unwrap();
        let imp = mean_abs(&s.values, f);
        let mut top = ranking(&imp)[..informative.len()].to_vec();
        top.sort();
        assert_eq!(&top, informative, "{imp:?}");
        assert!(
            KernelShap::new(KernelShapConfig::new())
                .unwrap()
                .explain(model, x, &[5], bg, &dev)
                .is_err()
        );
    }
}
