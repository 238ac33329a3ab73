//! TRADES (Zhang et al. 2019, "Theoretically Principled Trade-off between Robustness and
//! Accuracy"): cross-entropy on clean inputs plus β · KL(f(x) ‖ f(x')) where x' maximises that
//! KL inside the ε-ball.

use aegis_model::burn::tensor::Tensor;
use aegis_model::burn::tensor::activation::log_softmax;
use aegis_model::train::{Batch, LossOutput, cross_entropy};
use aegis_model::{Classifier, Model};

use super::schedule::AdvSchedule;
use crate::attacks::{ThreatSpace, project_linf, random_tensor};

/// Σ over the batch of KL(p ‖ q) where `p_log`, `q_log` are log-probabilities `[N, C]`.
fn kl_sum(p_log: Tensor<2>, q_log: Tensor<2>) -> Tensor<1> {
    (p_log.clone().exp() * (p_log - q_log)).sum()
}

/// The TRADES objective with weight `beta`: inner maximisation as in the reference code
/// (start `x + 0.001·N(0, 1)`, `steps` sign-gradient steps on KL(f(x) ‖ f(x')), projection onto
/// the ε-ball and the bounds, model in inference mode), outer loss
/// `CE(f(x), y) + β · KL(f(x) ‖ f(x')) / N` with the training-mode model. The inner search
/// runs in `space`'s units and box (`space` must fit the data's width).
pub fn trades_loss(
    schedule: AdvSchedule,
    beta: f64,
    space: ThreatSpace,
) -> impl FnMut(&Model, Batch) -> LossOutput {
    let bounds = space.attack_bounds();
    move |model: &Model, batch: Batch| {
        let (eps, step) = schedule.at(batch.progress_epochs());
        let x = batch.x.clone().inner();
        let n = x.dims()[0];
        let x_adv = if eps > 0.0 {
            let seed = schedule.batch_seed(&batch);
            space
                .in_space(model, &x, |eval, z| {
                    let [n, f] = z.dims();
                    let p_nat = log_softmax(eval.logits(z.clone()), 1);
                    let mut z_adv =
                        z.clone() + random_tensor(n, f, 0.0, true, seed, &z.device()) * 0.001;
                    for _ in 0..schedule.steps {
                        let za = z_adv.clone().autodiff().require_grad();
                        let kl = kl_sum(p_nat.clone(), log_softmax(eval.logits(za.clone()), 1));
                        let g = za.grad(&kl.backward()).expect("input takes part in the KL");
                        z_adv =
                            project_linf(z_adv + g.sign() * step as f32, &z, eps as f32, &bounds);
                    }
                    Ok(z_adv)
                })
                .expect("the threat space fits the batch")
        } else {
            x.clone()
        };
        let logits = model.logits(batch.x);
        let adv_logits = model.logits(x_adv.autodiff());
        let robust = kl_sum(log_softmax(logits.clone(), 1), log_softmax(adv_logits, 1))
            * (beta as f32 / n as f32);
        let loss = cross_entropy(logits.clone(), batch.y) + robust;
        LossOutput { loss, logits }
    }
}
