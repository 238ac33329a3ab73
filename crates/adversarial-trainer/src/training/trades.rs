//! TRADES (Zhang et al. 2019, "Theoretically Principled Trade-off between Robustness and
//! Accuracy"): cross-entropy on clean inputs plus β · KL(f(x) ‖ f(x')) where x' maximises that
//! KL inside the ε-ball.

use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Tensor;
use aegis_model::burn::tensor::activation::log_softmax;
use aegis_model::train::{Batch, LossOutput, cross_entropy};
use aegis_model::{Classifier, Model};

use super::schedule::AdvSchedule;
use crate::attacks::{Bounds, project_linf, random_tensor};

/// Σ over the batch of KL(p ‖ q) where `p_log`, `q_log` are log-probabilities `[N, C]`.
fn kl_sum(p_log: Tensor<2>, q_log: Tensor<2>) -> Tensor<1> {
    (p_log.clone().exp() * (p_log - q_log)).sum()
}

/// The TRADES objective with weight `beta`: inner maximisation as in the reference code
/// (start `x + 0.001·N(0, 1)`, `steps` sign-gradient steps on KL(f(x) ‖ f(x')), projection onto
/// the ε-ball and the bounds, model in inference mode), outer loss
/// `CE(f(x), y) + β · KL(f(x) ‖ f(x')) / N` with the training-mode model.
pub fn trades_loss(schedule: AdvSchedule, beta: f64) -> impl FnMut(&Model, Batch) -> LossOutput {
    move |model: &Model, batch: Batch| {
        let (eps, step) = schedule.at(batch.progress_epochs());
        let x = batch.x.clone().inner();
        let [n, f] = x.dims();
        let x_adv = if eps > 0.0 {
            let eval = model.valid();
            let p_nat = log_softmax(eval.logits(x.clone()), 1);
            let mut x_adv = x.clone()
                + random_tensor(n, f, 0.0, true, schedule.batch_seed(&batch), &x.device()) * 0.001;
            for _ in 0..schedule.steps {
                let xa = x_adv.clone().autodiff().require_grad();
                let kl = kl_sum(p_nat.clone(), log_softmax(eval.logits(xa.clone()), 1));
                let g = xa.grad(&kl.backward()).expect("input takes part in the KL");
                x_adv = project_linf(
                    x_adv + g.sign() * step as f32,
                    &x,
                    eps as f32,
                    Bounds::default(),
                );
            }
            x_adv
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
