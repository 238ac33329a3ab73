//! Certified training: IBP (Gowal et al. 2018) and CROWN-IBP (Zhang et al. 2020). Each batch's
//! loss is `κ·CE(f(x), y) + (1 − κ)·CE(−m, y)`, `m` the lower bounds of the margins
//! `z_y − z_j` over the L∞ box of radius ε_t around `x` (clipped to the training domain, ε in
//! the threat space's units) — an upper bound of the worst-case cross-entropy — with the
//! ramps of both papers over the warm-up epochs: ε_t grows to ε as the other methods' warm-up
//! does, `κ` falls linearly from 1 to 0.5, and CROWN-IBP's weight `β` on its bound falls from 1
//! to 0 (the bound then is IBP's, as in Zhang et al.'s MNIST runs). Models with batch norm are
//! refused (the bounds use running statistics, training the batch's).

use aegis_model::to_host;
use aegis_model::train::{Batch, LossOutput, cross_entropy};
use aegis_model::{Classifier, Model};

use super::schedule::AdvSchedule;
use crate::attacks::ThreatSpace;
use crate::certified::bounds::{TrainingBox, worst_case_logits};

/// `(κ, β)` after `progress` epochs of a warm-up of `warmup` epochs: κ from 1 to 0.5, β (the
/// CROWN-IBP weight, when `crown_ibp`) from 1 to 0, linearly; held after the warm-up.
pub fn certified_ramps(progress: f64, warmup: usize, crown_ibp: bool) -> (f64, f64) {
    let t = if warmup == 0 {
        1.0
    } else {
        (progress / warmup as f64).clamp(0.0, 1.0)
    };
    (1.0 - 0.5 * t, if crown_ibp { 1.0 - t } else { 0.0 })
}

/// The certified-training objective for [`aegis_model::train::fit_with`]; `crown_ibp` picks
/// CROWN-IBP over IBP. Panics (the training stops with the message) on a model the bounds
/// cannot train, checked before training by
/// [`train_adversarial`](super::train_adversarial).
pub fn certified_loss(
    schedule: AdvSchedule,
    space: ThreatSpace,
    crown_ibp: bool,
) -> impl FnMut(&Model, Batch) -> LossOutput {
    move |model: &Model, batch: Batch| {
        let progress = batch.progress_epochs();
        let (eps, _) = schedule.at(progress);
        let (kappa, beta) = certified_ramps(progress, schedule.warmup_epochs, crown_ibp);
        let x = batch.x.clone().inner();
        let logits = model.logits(x.clone().autodiff());
        let clean = cross_entropy(logits.clone(), batch.y.clone());
        if eps == 0.0 {
            return LossOutput {
                loss: clean,
                logits,
            };
        }
        let xs = to_host(x);
        let labels: Vec<usize> = to_host(batch.y.clone().inner().float())
            .iter()
            .map(|&v| v as usize)
            .collect();
        let bounds = TrainingBox {
            x: &xs,
            labels: &labels,
            lo: space.bounds.lower(),
            hi: space.bounds.upper(),
            scale: &space.scale,
            eps,
            crown_weight: beta,
        };
        let worst = worst_case_logits(model, &bounds, &logits.device())
            .unwrap_or_else(|e| panic!("certified training: {e}"));
        let robust = cross_entropy(worst, batch.y);
        LossOutput {
            loss: clean * kappa + robust * (1.0 - kappa),
            logits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::certified_ramps;

    #[test]
    fn kappa_falls_to_a_half_and_beta_to_zero_over_the_warmup() {
        assert_eq!(certified_ramps(0.0, 4, true), (1.0, 1.0));
        assert_eq!(certified_ramps(2.0, 4, true), (0.75, 0.5));
        assert_eq!(certified_ramps(9.0, 4, true), (0.5, 0.0));
        assert_eq!(certified_ramps(2.0, 4, false), (0.75, 0.0));
        assert_eq!(certified_ramps(0.0, 0, false), (0.5, 0.0));
    }
}
