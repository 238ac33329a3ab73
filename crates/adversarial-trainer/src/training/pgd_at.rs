//! PGD adversarial training (Madry et al. 2018): minimise the cross-entropy on PGD adversarial
//! examples generated against the current model.

use aegis_model::burn::module::Module;
use aegis_model::train::{Batch, LossOutput, cross_entropy};
use aegis_model::{Classifier, Model};

use super::schedule::AdvSchedule;
use crate::attacks::{Pgd, PgdConfig};

/// The PGD-AT objective for [`aegis_model::train::fit_with`]: for each batch, PGD (L∞, random
/// start, `schedule`'s ε and step size at this point of training) on the model in inference
/// mode, then cross-entropy of the training-mode model on the adversarial batch.
pub fn pgd_at_loss(schedule: AdvSchedule) -> impl FnMut(&Model, Batch) -> LossOutput {
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
            .expect("schedule gives a valid PGD");
            pgd.run(
                &model.valid(),
                &x,
                &batch.y.clone().inner(),
                false,
                schedule.batch_seed(&batch),
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
