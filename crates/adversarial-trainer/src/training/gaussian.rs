//! Gaussian data augmentation, the training of Cohen, Rosenfeld & Kolter 2019 for randomized
//! smoothing: every batch is trained on `x + δ`, `δ ~ N(0, σ²I)`, with the σ the smoothed
//! classifier will be certified at. The noise is not clipped to the input box, as the
//! certification's noise is not.

use aegis_model::train::{Batch, LossOutput, cross_entropy};
use aegis_model::{Classifier, Model};

use super::schedule::AdvSchedule;
use crate::attacks::random_tensor;

/// The noise-augmented objective: cross-entropy on `x + σ·ε`, `ε ~ N(0, I)` drawn on the host
/// from the batch's seed ([`AdvSchedule::batch_seed`]), so a seed reproduces the training on
/// every device.
pub fn gaussian_noise_loss(
    schedule: AdvSchedule,
    sigma: f64,
) -> impl FnMut(&Model, Batch) -> LossOutput {
    move |model: &Model, batch: Batch| {
        let x = batch.x.clone().inner();
        let [n, f] = x.dims();
        let noise = random_tensor(n, f, 1.0, true, schedule.batch_seed(&batch), &x.device());
        let noisy = x + noise * (sigma as f32);
        let logits = model.logits(noisy.autodiff());
        LossOutput {
            loss: cross_entropy(logits.clone(), batch.y),
            logits,
        }
    }
}
