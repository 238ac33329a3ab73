//! The [`Attribution`] trait, its result type [`Attributions`], and the model-evaluation helpers
//! every method shares (batched forward passes, input gradients of target logits).
//!
//! Conventions (Captum's for a model that returns logits): inputs are flat `[N, F]` in the
//! model's raw input space (pixels in `[0, 1]`, un-standardised tabular features); gradient
//! methods attribute the **logit** of the target class `targets[i]` of row `i`; the model is
//! always run in inference mode on a copy (`Module::valid()`: dropout off), and only the input
//! lives on the autodiff device, so the weights are constants and the caller's model is untouched.

use aegis_model::Classifier;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::{Device, Tensor, TensorData, activation};
use serde::{Deserialize, Serialize};

use crate::error::{InterpretError, Result};

/// Attributions of a batch, row-major `[rows, features]` on the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attributions {
    /// Row-major values `[rows, features]`.
    pub values: Vec<f32>,
    /// Number of rows `N`.
    pub rows: usize,
    /// Flat features per row `F`.
    pub features: usize,
    /// Integrated gradients only: per row, `Σ_j attribution_j − (f(x) − f(x′))`.
    pub convergence_delta: Option<Vec<f32>>,
    /// Integrated gradients only: per row, `f(x) − f(x′)` (target logit at the input minus at
    /// the baseline).
    pub output_difference: Option<Vec<f32>>,
}

impl Attributions {
    /// Plain attributions without IG diagnostics.
    pub fn new(values: Vec<f32>, rows: usize, features: usize) -> Self {
        Self {
            values,
            rows,
            features,
            convergence_delta: None,
            output_difference: None,
        }
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.features..(i + 1) * self.features]
    }
}

/// A feature-attribution method for one input at a time (batched over rows).
///
/// # Example
///
/// Integrated gradients of a tiny MLP toward class 0: one attribution per input feature, and
/// per row the convergence delta `Σ attributions − (f(x) − f(x′))` of the path integral.
///
/// ```
/// use aegis_interpretability::{Attribution, IgConfig, IntegratedGradients};
/// use aegis_model::{Architecture, DeviceSpec, ModelConfig};
///
/// let device = DeviceSpec::Flex.open()?;
/// let model = ModelConfig::new(Architecture::Mlp, vec![4], 3)
///     .with_hidden(vec![8])
///     .init(&device, 1)?;
/// let rows: Vec<f32> = (0..8).map(|i| (i as f32 * 0.37).sin()).collect(); // 2 rows of 4
///
/// let ig = IntegratedGradients::new(IgConfig::new())?;
/// let map = ig.attribute(&model, &rows, &[0, 0], &device)?;
/// assert_eq!((map.rows, map.features, map.values.len()), (2, 4, 8));
/// assert_eq!(map.convergence_delta.map(|d| d.len()), Some(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Attribution {
    /// Short name for reports, e.g. `"integrated-gradients"`.
    fn name(&self) -> String;
    /// Attributions `[N, F]` (row-major host values) for the rows of `x` (`[N, F]` row-major,
    /// raw input space, `N = targets.len()`) toward the logit of class `targets[i]`.
    fn attribute<M: Classifier + Module>(
        &self,
        model: &M,
        x: &[f32],
        targets: &[usize],
        device: &Device,
    ) -> Result<Attributions>;
}

/// What a model-agnostic method explains: the target class's logit or its softmax probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelOutput {
    /// The raw logit of the class.
    Logit,
    /// The softmax probability of the class (what `predict_proba` gives; shap's and lime's
    /// usual target).
    Probability,
}

/// Checks that `x` holds `targets.len()` rows of the model's width and every target is a class.
/// Returns `(N, F)`.
pub fn check_batch<M: Classifier>(
    model: &M,
    x: &[f32],
    targets: &[usize],
) -> Result<(usize, usize)> {
    let f = model.input_dim();
    let n = targets.len();
    if x.len() != n * f {
        return Err(InterpretError::Shape(format!(
            "{} input values for {n} targets of {f} features",
            x.len()
        )));
    }
    if let Some(&t) = targets.iter().find(|&&t| t >= model.num_classes()) {
        return Err(InterpretError::Shape(format!(
            "target class {t} out of range (the model has {} classes)",
            model.num_classes()
        )));
    }
    Ok((n, f))
}

/// Checks `value > 0`.
pub(crate) fn check_positive(name: &str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(InterpretError::invalid(name, "must be at least 1"));
    }
    Ok(())
}

/// The most IG quadrature points or SmoothGrad samples: far past convergence (IG's
/// completeness gap is below 1e-6 well before), and each one is a forward and backward pass.
pub(crate) const MAX_PATH_SAMPLES: usize = 10_000;

/// Checks `1 ≤ value ≤ max`, naming `name` and the range in the error.
pub(crate) fn check_count(name: &str, value: usize, max: usize) -> Result<()> {
    if (1..=max).contains(&value) {
        return Ok(());
    }
    Err(InterpretError::invalid(
        name,
        format!("{value} is not in [1, {max}]"),
    ))
}

pub use aegis_model::cli::progress_bar;

pub use aegis_model::to_host;

fn one_hot(targets: &[usize], classes: usize, device: &Device) -> Tensor<2> {
    let mut v = vec![0f32; targets.len() * classes];
    for (i, &t) in targets.iter().enumerate() {
        v[i * classes + t] = 1.0;
    }
    Tensor::from_data(TensorData::new(v, [targets.len(), classes]), device)
}

/// Gradient of the target logits with respect to the input, and the target logits, for one
/// batch: returns `(∇ₓ logit_{targets[i]}(x_i) [N, F], logit_{targets[i]}(x_i) [N])`.
/// `model` must already be in inference mode. One forward and one backward pass.
pub fn target_gradient<M: Classifier>(
    model: &M,
    x: &[f32],
    targets: &[usize],
    device: &Device,
) -> (Vec<f32>, Vec<f32>) {
    let n = targets.len();
    let f = x.len() / n.max(1);
    let xt = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [n, f]), device);
    let xa = xt.autodiff().require_grad();
    let logits = model.logits(xa.clone());
    let mask = one_hot(targets, model.num_classes(), device).autodiff();
    let selected = (logits * mask).sum_dim(1);
    let values = to_host(selected.clone().inner());
    let grads = selected.sum().backward();
    let g = xa
        .grad(&grads)
        .map(to_host)
        .unwrap_or_else(|| vec![0.0; n * f]);
    (g, values)
}

/// [`target_gradient`] in chunks of `batch_size` rows (inference-mode `model`).
pub fn target_gradient_batched<M: Classifier>(
    model: &M,
    x: &[f32],
    targets: &[usize],
    batch_size: usize,
    device: &Device,
) -> (Vec<f32>, Vec<f32>) {
    let n = targets.len();
    let f = x.len().checked_div(n).unwrap_or(0);
    let mut grads = Vec::with_capacity(x.len());
    let mut values = Vec::with_capacity(n);
    for start in (0..n).step_by(batch_size.max(1)) {
        let end = (start + batch_size.max(1)).min(n);
        let (g, v) = target_gradient(model, &x[start * f..end * f], &targets[start..end], device);
        grads.extend(g);
        values.extend(v);
    }
    (grads, values)
}

/// Logits (`ModelOutput::Logit`) or probabilities `[N, C]` of `x` (`[N, F]`), evaluated in
/// chunks of `batch_size` rows on `device` (inference-mode `model`), read back row-major.
pub fn model_outputs<M: Classifier>(
    model: &M,
    x: &[f32],
    output: ModelOutput,
    batch_size: usize,
    device: &Device,
) -> Vec<f32> {
    let f = model.input_dim();
    let n = x.len() / f;
    let mut out = Vec::with_capacity(n * model.num_classes());
    for start in (0..n).step_by(batch_size.max(1)) {
        let end = (start + batch_size.max(1)).min(n);
        let xt = Tensor::<2>::from_data(
            TensorData::new(x[start * f..end * f].to_vec(), [end - start, f]),
            device,
        );
        let logits = model.logits(xt);
        let y = match output {
            ModelOutput::Logit => logits,
            ModelOutput::Probability => activation::softmax(logits, 1),
        };
        out.extend(to_host(y));
    }
    out
}

/// The output of class `targets[i]` for each row `i` of `x` (or of `targets[0]` for every row
/// when `targets` has one entry), in chunks of `batch_size` rows.
pub fn target_outputs<M: Classifier>(
    model: &M,
    x: &[f32],
    targets: &[usize],
    output: ModelOutput,
    batch_size: usize,
    device: &Device,
) -> Vec<f32> {
    let c = model.num_classes();
    let all = model_outputs(model, x, output, batch_size, device);
    all.chunks(c)
        .enumerate()
        .map(|(i, row)| {
            row[if targets.len() == 1 {
                targets[0]
            } else {
                targets[i]
            }]
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aegis_model::{Architecture, Model, ModelConfig};

    /// A linear model: an MLP with no hidden layer (logits = x·W + b).
    pub(crate) fn linear_model(f: usize, classes: usize, seed: u64) -> Model {
        ModelConfig::new(Architecture::Mlp, vec![f], classes)
            .with_hidden(vec![])
            .init(&Device::flex(), seed)
            .unwrap()
    }

    /// A SmallCnn (no dropout) trained for 3 epochs on the first 2,000 training images of the
    /// bundled MNIST, and the bundled test split; shared by the tests that need a real model.
    pub(crate) fn trained_cnn() -> &'static (Model, aegis_model::Dataset) {
        static CELL: std::sync::OnceLock<(Model, aegis_model::Dataset)> =
            std::sync::OnceLock::new();
        CELL.get_or_init(|| {
            let dev = Device::flex();
            let (split, _) = aegis_model::DataSource::Mnist.load_split(0, 0.2).unwrap();
            let split = aegis_model::Split {
                train: split.train.head(Some(2000)),
                test: split.test.head(Some(200)),
            };
            let model = ModelConfig::new(Architecture::SmallCnn, vec![1, 28, 28], 10)
                .with_dropout(0.0)
                .init(&dev, crate::figures::seed(1))
                .unwrap();
            let train = aegis_model::TrainConfig::new()
                .with_epochs(3)
                .with_seed(crate::figures::seed(1));
            let opts = aegis_model::train::TrainOptions {
                progress: false,
                run_dir: None,
                device_name: "flex".into(),
                resume: false,
            };
            let (model, metrics) =
                aegis_model::train::fit(model, &train, &split, &dev, &opts).unwrap();
            // Spread: 0.9 to 0.935 in 13 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
            crate::figures::at_least(
                "interpretability/trained_cnn_accuracy",
                metrics.test_accuracy,
                0.85,
            );
            (model, split.test)
        })
    }

    #[test]
    fn gradient_of_a_linear_model_is_its_weight_column() {
        let dev = Device::flex();
        let m = linear_model(3, 2, 1);
        let f0 = target_outputs(&m, &[0.0; 3], &[1], ModelOutput::Logit, 8, &dev)[0];
        // w_j = f(e_j) − f(0) for a linear logit.
        let mut w = Vec::new();
        for j in 0..3 {
            let mut e = vec![0.0; 3];
            e[j] = 1.0;
            w.push(target_outputs(&m, &e, &[1], ModelOutput::Logit, 8, &dev)[0] - f0);
        }
        let (g, v) = target_gradient(&m, &[0.5, -1.0, 2.0, 0.0, 0.0, 0.0], &[1, 1], &dev);
        for j in 0..3 {
            assert!((g[j] - w[j]).abs() < 1e-5 && (g[3 + j] - w[j]).abs() < 1e-5);
        }
        assert!((v[1] - f0).abs() < 1e-6);
    }

    #[test]
    fn check_batch_rejects_bad_shapes_and_classes() {
        let m = linear_model(3, 2, 1);
        assert!(check_batch(&m, &[0.0; 6], &[0, 1]).is_ok());
        let e = check_batch(&m, &[0.0; 5], &[0, 1]).unwrap_err().to_string();
        assert!(e.contains("5 input values"), "{e}");
        let e = check_batch(&m, &[0.0; 3], &[2]).unwrap_err().to_string();
        assert!(e.contains("class 2"), "{e}");
    }
}
