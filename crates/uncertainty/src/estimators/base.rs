//! The [`UncertaintyEstimator`] trait and the [`PredictiveSamples`] it returns.

use aegis_model::{Classifier, batch_tensor, to_host};
use burn::tensor::Device;

use crate::error::{Result, UncertaintyError};

/// Logits of `S` stochastic forward passes (MC-dropout masks or ensemble members; `S = 1` for a
/// deterministic model) for `N` inputs: `[S, N, C]`, row-major, on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictiveSamples {
    /// Logits `[S, N, C]`.
    pub logits: Vec<f32>,
    /// `S`.
    pub samples: usize,
    /// `N`.
    pub rows: usize,
    /// `C`.
    pub classes: usize,
}

impl PredictiveSamples {
    /// Wraps logits `[S, N, C]`, checking the length.
    pub fn new(logits: Vec<f32>, samples: usize, rows: usize, classes: usize) -> Result<Self> {
        if samples == 0 || classes == 0 || logits.len() != samples * rows * classes {
            return Err(UncertaintyError::Shape(format!(
                "{} logits are not [S = {samples}, N = {rows}, C = {classes}]",
                logits.len()
            )));
        }
        Ok(Self {
            logits,
            samples,
            rows,
            classes,
        })
    }

    /// Softmax of every pass, `[S, N, C]` in `f64`.
    pub fn sample_probs(&self) -> Vec<f64> {
        self.logits
            .chunks(self.classes)
            .flat_map(|row| softmax(&row.iter().map(|&v| v as f64).collect::<Vec<_>>()))
            .collect()
    }

    /// The predictive distribution: the mean over passes of the softmax, `[N, C]`.
    pub fn mean_probs(&self) -> Vec<f64> {
        mean_over_samples(&self.sample_probs(), self.samples)
    }

    /// Mean logits over passes `[N, C]` (what max-logit and energy scores use for S > 1).
    pub fn mean_logits(&self) -> Vec<f64> {
        let l: Vec<f64> = self.logits.iter().map(|&v| v as f64).collect();
        mean_over_samples(&l, self.samples)
    }

    /// The rows `idx` (in that order) of every pass, `[S, idx.len(), C]`. Indices must be
    /// below `rows`.
    pub fn select_rows(&self, idx: &[usize]) -> PredictiveSamples {
        let c = self.classes;
        let mut logits = Vec::with_capacity(self.samples * idx.len() * c);
        for pass in self.logits.chunks(self.rows * c) {
            logits.extend(gather_rows(pass, c, idx));
        }
        PredictiveSamples {
            logits,
            samples: self.samples,
            rows: idx.len(),
            classes: c,
        }
    }

    /// Concatenates two sets of samples of the same `S` and `C` along the rows.
    pub fn concat_rows(&self, other: &PredictiveSamples) -> Result<PredictiveSamples> {
        if self.samples != other.samples || self.classes != other.classes {
            return Err(UncertaintyError::Shape(
                "concatenated samples differ in S or C".into(),
            ));
        }
        let (s, c) = (self.samples, self.classes);
        let mut logits = Vec::with_capacity(self.logits.len() + other.logits.len());
        for k in 0..s {
            logits.extend_from_slice(&self.logits[k * self.rows * c..(k + 1) * self.rows * c]);
            logits.extend_from_slice(&other.logits[k * other.rows * c..(k + 1) * other.rows * c]);
        }
        PredictiveSamples::new(logits, s, self.rows + other.rows, c)
    }
}

/// The rows `idx` (in that order) of a row-major `[N, width]` array.
pub fn gather_rows<T: Copy>(values: &[T], width: usize, idx: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(idx.len() * width);
    for &i in idx {
        out.extend_from_slice(&values[i * width..(i + 1) * width]);
    }
    out
}

/// Mean over the leading `S` axis of `[S, N·C]` values.
pub(crate) fn mean_over_samples(values: &[f64], s: usize) -> Vec<f64> {
    let per = values.len() / s.max(1);
    let mut mean = vec![0.0; per];
    for chunk in values.chunks(per.max(1)) {
        for (m, v) in mean.iter_mut().zip(chunk) {
            *m += v / s as f64;
        }
    }
    mean
}

/// Numerically stable softmax of one row.
pub fn softmax(row: &[f64]) -> Vec<f64> {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
    let z: f64 = e.iter().sum();
    e.into_iter().map(|v| v / z).collect()
}

/// `ln Σ exp(row)`, stable.
pub fn logsumexp(row: &[f64]) -> f64 {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// Logits `[N, C]` of `model` for flat inputs `x` `[N, F]`, evaluated in batches of
/// `batch_size` rows.
pub fn batched_logits<M: Classifier>(
    model: &M,
    x: &[f32],
    batch_size: usize,
    device: &Device,
) -> Result<Vec<f32>> {
    let f = model.input_dim();
    if f == 0 || !x.len().is_multiple_of(f) {
        return Err(UncertaintyError::Shape(format!(
            "{} input values are not rows of the model's {f} features",
            x.len()
        )));
    }
    let n = x.len() / f;
    let mut out = Vec::with_capacity(n * model.num_classes());
    for start in (0..n).step_by(batch_size.max(1)) {
        let end = (start + batch_size.max(1)).min(n);
        let t = batch_tensor(x[start * f..end * f].to_vec(), end - start, f, device);
        out.extend(to_host(model.logits(t)));
    }
    Ok(out)
}

/// Anything that turns inputs into a predictive distribution with a notion of spread.
///
/// # Example
///
/// MC dropout on a tiny MLP with dropout: 20 stochastic passes `[S, N, C]`, averaged into a
/// predictive distribution whose rows sum to 1.
///
/// ```
/// use aegis_model::{Architecture, DeviceSpec, ModelConfig};
/// use aegis_uncertainty::{McDropout, McDropoutConfig, UncertaintyEstimator};
///
/// let device = DeviceSpec::Flex.open()?;
/// let model = ModelConfig::new(Architecture::Mlp, vec![4], 3)
///     .with_hidden(vec![8])
///     .with_dropout(0.5)
///     .init(&device, 1)?;
/// let rows: Vec<f32> = (0..20).map(|i| (i as f32 * 0.37).sin()).collect(); // 5 rows of 4
///
/// let mc = McDropout::new(&model, McDropoutConfig::new())?;
/// let samples = mc.predict_samples(&rows, &device)?;
/// assert_eq!((samples.samples, samples.rows, samples.classes), (20, 5, 3));
/// for row in mc.predict_proba(&rows, &device)?.chunks(3) {
///     assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-6);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait UncertaintyEstimator {
    /// Short name for reports (`deterministic`, `mc-dropout`, `ensemble`).
    fn name(&self) -> String;

    /// Logits of every stochastic pass for flat inputs `x` (`[N, F]` row-major, raw input
    /// space): `[S, N, C]`. Deterministic for a fixed estimator seed.
    fn predict_samples(&self, x: &[f32], device: &Device) -> Result<PredictiveSamples>;

    /// The predictive distribution `[N, C]`: mean softmax over passes.
    fn predict_proba(&self, x: &[f32], device: &Device) -> Result<Vec<f64>> {
        Ok(self.predict_samples(x, device)?.mean_probs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_probs_average_the_softmax_of_each_pass() {
        // Two passes of one row with logits (0, 0) and (ln 3, 0): softmaxes (.5, .5) and
        // (.75, .25); mean (.625, .375). Mean logits (ln 3 / 2, 0).
        let s = PredictiveSamples::new(vec![0.0, 0.0, 3f32.ln(), 0.0], 2, 1, 2).unwrap();
        let p = s.mean_probs();
        assert!((p[0] - 0.625).abs() < 1e-6 && (p[1] - 0.375).abs() < 1e-6);
        assert!((s.mean_logits()[0] - 3f64.ln() / 2.0).abs() < 1e-6);
        assert!(PredictiveSamples::new(vec![0.0; 3], 2, 1, 2).is_err());
        assert!((logsumexp(&[0.0, 0.0]) - 2f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn concat_rows_keeps_samples_apart() {
        let a = PredictiveSamples::new(vec![1.0, 2.0], 2, 1, 1).unwrap();
        let b = PredictiveSamples::new(vec![3.0, 4.0], 2, 1, 1).unwrap();
        let c = a.concat_rows(&b).unwrap();
        assert_eq!(c.logits, vec![1.0, 3.0, 2.0, 4.0]);
        assert_eq!(c.rows, 2);
    }
}
