//! Fast adversarial training (Wong, Rice & Kolter 2020, "Fast is better than free"): FGSM from
//! a uniform random start with step α = 1.25 ε.

use aegis_model::burn::module::Module;
use aegis_model::train::{Batch, LossOutput, cross_entropy};
use aegis_model::{Classifier, Model};

use super::schedule::AdvSchedule;
use crate::attacks::{Bounds, objective_gradient, project_linf, random_tensor};

/// The Fast-AT objective: `δ ~ U(−ε, ε)`, `δ ← clamp(δ + 1.25ε·sign(∇), −ε, ε)`, train on
/// `clip(x + δ)`. The gradient is taken on the model in inference mode.
pub fn fast_at_loss(schedule: AdvSchedule) -> impl FnMut(&Model, Batch) -> LossOutput {
    move |model: &Model, batch: Batch| {
        let (eps, _) = schedule.at(batch.progress_epochs());
        let x = batch.x.clone().inner();
        let x_adv = if eps > 0.0 {
            let [n, f] = x.dims();
            let eps32 = eps as f32;
            let start = project_linf(
                x.clone()
                    + random_tensor(n, f, eps32, false, schedule.batch_seed(&batch), &x.device()),
                &x,
                eps32,
                Bounds::default(),
            );
            let g = objective_gradient(&model.valid(), &start, &batch.y.clone().inner(), false);
            project_linf(
                start + g.sign() * (1.25 * eps32),
                &x,
                eps32,
                Bounds::default(),
            )
        } else {
            x
        };
        let logits = model.logits(x_adv.autodiff());
        LossOutput {
            loss: cross_entropy(logits.clone(), batch.y),
            logits,
        }
    }
}
