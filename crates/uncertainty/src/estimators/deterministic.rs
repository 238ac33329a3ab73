//! The single deterministic model (optionally temperature-scaled): the baseline estimator.

use aegis_model::Model;
use burn::module::Module;
use burn::tensor::Device;

use super::base::{PredictiveSamples, UncertaintyEstimator, batched_logits};
use crate::error::{Result, UncertaintyError};

/// One forward pass in inference mode (dropout off), logits divided by `temperature`
/// (1 = unscaled). `S = 1`.
#[derive(Debug, Clone)]
pub struct Deterministic {
    model: Model,
    temperature: f64,
    batch_size: usize,
}

impl Deterministic {
    /// Wraps an inference copy of `model` (temperature 1, batches of
    /// [`aegis_model::DEFAULT_BATCH_ROWS`] rows).
    pub fn new(model: &Model) -> Self {
        Self {
            model: model.valid(),
            temperature: 1.0,
            batch_size: aegis_model::DEFAULT_BATCH_ROWS,
        }
    }

    /// Divides the logits by `t` (> 0), as fitted by [`crate::fit_temperature`].
    pub fn with_temperature(mut self, t: f64) -> Result<Self> {
        if !(t.is_finite() && t > 0.0) {
            return Err(UncertaintyError::invalid(
                "temperature",
                format!("{t} must be > 0"),
            ));
        }
        self.temperature = t;
        Ok(self)
    }

    /// Rows per forward batch.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }
}

impl UncertaintyEstimator for Deterministic {
    fn name(&self) -> String {
        if self.temperature == 1.0 {
            "deterministic".into()
        } else {
            "temperature-scaled".into()
        }
    }

    fn predict_samples(&self, x: &[f32], device: &Device) -> Result<PredictiveSamples> {
        let c = aegis_model::Classifier::num_classes(&self.model);
        let mut logits = batched_logits(&self.model, x, self.batch_size, device)?;
        if self.temperature != 1.0 {
            let inv = (1.0 / self.temperature) as f32;
            logits.iter_mut().for_each(|v| *v *= inv);
        }
        let n = logits.len() / c;
        PredictiveSamples::new(logits, 1, n, c)
    }
}
