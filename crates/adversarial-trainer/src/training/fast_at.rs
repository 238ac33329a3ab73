//! Fast adversarial training (Wong, Rice & Kolter 2020, "Fast is better than free"): FGSM from
//! a uniform random start with step α = 1.25 ε (or the configuration's `step_size`).

use aegis_model::train::{Batch, LossOutput, cross_entropy};
use aegis_model::{Classifier, Model};

use super::schedule::AdvSchedule;
use crate::attacks::{ThreatSpace, objective_gradient, project_linf, random_tensor};

/// The Fast-AT objective: `δ ~ U(−ε, ε)`, `δ ← clamp(δ + α·sign(∇), −ε, ε)` with `α` the
/// schedule's fixed step size or `1.25ε` without one, train on
/// `clip(x + δ)`, in `space`'s units and box. The gradient is taken on the model in inference
/// mode. `space` must fit the data's width.
pub fn fast_at_loss(
    schedule: AdvSchedule,
    space: ThreatSpace,
) -> impl FnMut(&Model, Batch) -> LossOutput {
    let bounds = space.attack_bounds();
    move |model: &Model, batch: Batch| {
        let (eps, _) = schedule.at(batch.progress_epochs());
        let x = batch.x.clone().inner();
        let x_adv = if eps > 0.0 {
            let labels = batch.y.clone().inner();
            let seed = schedule.batch_seed(&batch);
            space
                .in_space(model, &x, |m, z| {
                    let [n, f] = z.dims();
                    let eps32 = eps as f32;
                    let noise = random_tensor(n, f, eps32, false, seed, &z.device());
                    let start = project_linf(z.clone() + noise, &z, eps32, &bounds);
                    let g = objective_gradient(m, &start, &labels, false);
                    let alpha = schedule.step_size.map_or(1.25 * eps32, |a| a as f32);
                    Ok(project_linf(start + g.sign() * alpha, &z, eps32, &bounds))
                })
                .expect("the threat space fits the batch")
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
