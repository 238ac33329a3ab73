//! PGD adversarial training (Madry et al. 2018): minimise the cross-entropy on PGD adversarial
//! examples generated against the current model.

use aegis_model::train::{Batch, LossOutput, cross_entropy};
use aegis_model::{Classifier, Model};

use super::schedule::AdvSchedule;
use crate::attacks::{Attack, Pgd, PgdConfig, ThreatSpace};

/// The PGD-AT objective for [`aegis_model::train::fit_with`]: for each batch, PGD (L∞, random
/// start, `schedule`'s ε and step size at this point of training, in `space`'s units and
/// box) on the model in inference mode, then cross-entropy of the training-mode model on the
/// adversarial batch. `space` must fit the data's width (checked by
/// [`train_adversarial`](super::train_adversarial)).
pub fn pgd_at_loss(
    schedule: AdvSchedule,
    space: ThreatSpace,
) -> impl FnMut(&Model, Batch) -> LossOutput {
    move |model: &Model, batch: Batch| {
        let (eps, step) = schedule.at(batch.progress_epochs());
        let x = batch.x.clone().inner();
        let x_adv = if eps > 0.0 {
            let pgd = Pgd::new(
                PgdConfig::new(eps)
                    .with_steps(schedule.steps)
                    .with_step_size(step)
                    .with_seed(schedule.batch_seed(&batch)),
            )
            .expect("schedule gives a valid PGD")
            .with_bounds(space.attack_bounds());
            let labels = batch.y.clone().inner();
            let seed = schedule.batch_seed(&batch);
            space
                .in_space(model, &x, |m, z| Ok(pgd.run(m, &z, &labels, false, seed)))
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
