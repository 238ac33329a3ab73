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
//!   complement; repeats add weight), from `ChaCha8Rng(seed)` ([`coalition_plan`]);
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

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::{Device, Tensor, TensorData, activation};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::coalitions::{CoalitionPlan, coalition_plan};
use super::linalg::solve;
use crate::attribution::{ModelOutput, check_positive, model_outputs, progress_bar, to_host};
use crate::error::{InterpretError, Result};

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
    ///
    /// Per row: the varying features, the [`coalition_plan`], the model's mean output over the
    /// background for every coalition, then the weighted least-squares fit with the efficiency
    /// constraint exact.
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
        let (r, b) = check_inputs(x, targets, background, f, c)?;
        let model = model.valid();
        let out = self.config.output;
        let bs = self.config.batch_size;
        let bg_out = model_outputs(&model, background, out, bs, device);
        let fnull: Vec<f64> = (0..c)
            .map(|k| bg_out.chunks(c).map(|row| row[k] as f64).sum::<f64>() / b as f64)
            .collect();
        let x_out = model_outputs(&model, x, out, bs, device);
        let masked = MaskedOutputs {
            model: &model,
            background: Tensor::<2>::from_data(
                TensorData::new(background.to_vec(), [b, f]),
                device,
            )
            .unsqueeze_dim::<3>(0),
            rows: b,
            output: out,
            batch_size: bs,
            device,
        };
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
            let varying = varying_features(xi, background, b);
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
            result.coalitions.push(plan.weights.len());
            let ey = masked.coalition_means(&plan, &varying, xi, t);
            // Constrained WLS: eliminate the last varying feature.
            let p = m - 1;
            let total = fx - f0;
            let w = constrained_least_squares(&plan, &ey, f0, total);
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

/// Checks that `x` and `background` are non-empty `[R, F]` and `[B, F]`, and that there is one
/// target (or one per row) below `c`; returns `(R, B)`.
fn check_inputs(
    x: &[f32],
    targets: &[usize],
    background: &[f32],
    f: usize,
    c: usize,
) -> Result<(usize, usize)> {
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
    Ok((r, b))
}

/// The features of `xi` whose value differs from at least one of the `b` background rows.
fn varying_features(xi: &[f32], background: &[f32], b: usize) -> Vec<usize> {
    let f = xi.len();
    (0..f)
        .filter(|&j| (0..b).any(|k| background[k * f + j] != xi[j]))
        .collect()
}

/// Evaluates coalitions: the model's output averaged over the background rows with the
/// coalition's features taken from the explained row.
struct MaskedOutputs<'a, M> {
    /// The model in inference mode.
    model: &'a M,
    /// The background rows on the device, `[1, B, F]`.
    background: Tensor<3>,
    /// `B`.
    rows: usize,
    output: ModelOutput,
    /// Model rows (coalitions × background) per forward pass.
    batch_size: usize,
    device: &'a Device,
}

impl<M: Classifier> MaskedOutputs<'_, M> {
    /// `f(z)` of class `t` for every coalition of `plan` over the `varying` features of row
    /// `xi`: the mean over the background with z's features from `xi`, built on the device by
    /// broadcasting (rows = bg ⊙ (1 − z) + x ⊙ z, `[K·B, F]`), in chunks of `batch_size` rows.
    fn coalition_means(
        &self,
        plan: &CoalitionPlan,
        varying: &[usize],
        xi: &[f32],
        t: usize,
    ) -> Vec<f64> {
        let (f, m, b) = (xi.len(), plan.m, self.rows);
        let c = self.model.num_classes();
        let device = self.device;
        let x_t = Tensor::<2>::from_data(TensorData::new(xi.to_vec(), [1, f]), device)
            .unsqueeze_dim::<3>(0);
        let per_chunk = (self.batch_size / b).max(1);
        let mut ey = Vec::with_capacity(plan.weights.len());
        for chunk in plan.masks.chunks(per_chunk * m) {
            let kc = chunk.len() / m;
            let mut full = vec![0f32; kc * f];
            for (q, mask) in chunk.chunks(m).enumerate() {
                for (&on, &j) in mask.iter().zip(varying) {
                    full[q * f + j] = f32::from(on);
                }
            }
            let z = Tensor::<2>::from_data(TensorData::new(full, [kc, f]), device)
                .unsqueeze_dim::<3>(1);
            let rows = self.background.clone() * (z.clone().neg() + 1.0) + x_t.clone() * z;
            let logits = self.model.logits(rows.reshape([kc * b, f]));
            let y = match self.output {
                ModelOutput::Logit => logits,
                ModelOutput::Probability => activation::softmax(logits, 1),
            };
            let mean = y.reshape([kc, b, c]).mean_dim(1).reshape([kc, c]);
            ey.extend(to_host(mean).chunks(c).map(|row| row[t] as f64));
        }
        ey
    }
}

/// The weighted least-squares fit of the coalition values `ey` (base value `f0`) with the
/// efficiency constraint `Σ φ = total` exact: the last varying feature is eliminated
/// (`φ_M = total − Σ others`). Returns `φ` of the first `M − 1` varying features.
fn constrained_least_squares(plan: &CoalitionPlan, ey: &[f64], f0: f64, total: f64) -> Vec<f64> {
    let m = plan.m;
    let p = m - 1;
    let mut a = vec![0.0; p * p];
    let mut rhs = vec![0.0; p];
    let mut row = vec![0.0; p];
    for ((mask, &w), &e) in plan.masks.chunks(m).zip(&plan.weights).zip(ey) {
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
    solve(a, rhs, p)
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
    use crate::tabular::permutation::tests::{informative_model, informative_on_top};
    use rand::Rng;

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
        println!("mean |SHAP| {imp:?}");
        informative_on_top("kernel_shap", &imp, informative);
        assert!(
            KernelShap::new(KernelShapConfig::new())
                .unwrap()
                .explain(model, x, &[5], bg, &dev)
                .is_err()
        );
    }
}
