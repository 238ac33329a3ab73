//! The [`Classifier`] trait: the one interface every other Aegis crate uses to talk to a model.

use burn::tensor::{Device, Int, Tensor, TensorData, activation};

/// A model that maps a batch of inputs to class logits.
///
/// Inputs are always **flat**: `[N, F]` with `F = input_shape().iter().product()`, in the
/// model's raw input space (pixels in `[0, 1]`, un-standardised tabular features). Models that
/// need another layout (a CNN's `[N, C, H, W]`) or normalisation do it inside `logits`, so
/// attacks and attributions always act on the same space the user's data lives in.
///
/// # Example
///
/// A tiny MLP on made-up rows: [`Classifier::logits`] gives `[N, C]`, and [`predict`] /
/// [`accuracy`] work on host rows in batches.
///
/// ```
/// use aegis_model::{Architecture, Classifier, DeviceSpec, ModelConfig, batch_tensor, predict};
///
/// let device = DeviceSpec::Flex.open()?;
/// let model = ModelConfig::new(Architecture::Mlp, vec![4], 3)
///     .with_hidden(vec![8])
///     .init(&device, 1)?;
/// assert_eq!((model.input_dim(), model.num_classes()), (4, 3));
///
/// let rows: Vec<f32> = (0..20).map(|i| (i as f32 * 0.37).sin()).collect(); // 5 rows of 4
/// let logits = model.logits(batch_tensor(rows.clone(), 5, 4, &device));
/// assert_eq!(logits.dims(), [5, 3]);
/// assert!(predict(&model, &rows, 100, &device).iter().all(|&class| class < 3));
/// # Ok::<(), aegis_model::ModelError>(())
/// ```
pub trait Classifier {
    /// Logits `[N, num_classes]` for a flat input batch `[N, F]`.
    fn logits(&self, x: Tensor<2>) -> Tensor<2>;
    /// Shape of one sample, e.g. `[1, 28, 28]` for MNIST or `[30]` for a tabular set.
    fn input_shape(&self) -> &[usize];
    /// Number of classes (width of the logits).
    fn num_classes(&self) -> usize;
    /// Flat input width `F`.
    fn input_dim(&self) -> usize {
        self.input_shape().iter().product()
    }
}

/// Rows per forward batch that Aegis's attacks and analysis commands use by default. On flex,
/// batches of about 100 rows keep both cores busy while much larger ones wait on memory
/// (PGD-10 on 1,000 MNIST images: 1.5 s in batches of 100, 3.9 s as one batch, on 2 cores);
/// GPUs prefer larger batches, which every command accepts as a flag or setting.
pub const DEFAULT_BATCH_ROWS: usize = 100;

/// Builds a flat `[n, f]` float tensor from row-major values.
pub fn batch_tensor(values: Vec<f32>, n: usize, f: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [n, f]), device)
}

/// Builds an `[n]` label tensor.
pub fn label_tensor(labels: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    Tensor::from_data(TensorData::new(v, [labels.len()]), device)
}

/// Reads a float tensor back to the host as row-major `f32` values (empty if the device
/// cannot return them).
pub fn to_host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

/// Class probabilities (softmax over logits) for `x`, `[N, C]`, read back to the host row-major.
pub fn predict_proba<M: Classifier>(
    model: &M,
    features: &[f32],
    batch_size: usize,
    device: &Device,
) -> Vec<f32> {
    let f = model.input_dim();
    let n = features.len() / f;
    let mut out = Vec::with_capacity(n * model.num_classes());
    for start in (0..n).step_by(batch_size.max(1)) {
        let end = (start + batch_size).min(n);
        let x = batch_tensor(
            features[start * f..end * f].to_vec(),
            end - start,
            f,
            device,
        );
        let p = activation::softmax(model.logits(x), 1);
        out.extend(to_host(p));
    }
    out
}

/// Predicted class per sample (arg-max of the logits).
pub fn predict<M: Classifier>(
    model: &M,
    features: &[f32],
    batch_size: usize,
    device: &Device,
) -> Vec<usize> {
    let c = model.num_classes();
    predict_proba(model, features, batch_size, device)
        .chunks(c)
        .map(argmax)
        .collect()
}

/// Fraction of samples whose predicted class equals the label.
pub fn accuracy<M: Classifier>(
    model: &M,
    features: &[f32],
    labels: &[usize],
    batch_size: usize,
    device: &Device,
) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let pred = predict(model, features, batch_size, device);
    let correct = pred.iter().zip(labels).filter(|(p, l)| p == l).count();
    correct as f64 / labels.len() as f64
}

/// Index of the largest value (the first on ties); 0 for an empty slice.
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}
