//! The ε warm-up schedule shared by the adversarial-training objectives
//! ([`pgd_at_loss`](super::pgd_at_loss), [`trades_loss`](super::trades_loss),
//! [`fast_at_loss`](super::fast_at_loss)): ε and the inner step size as functions of training
//! progress, and a per-batch random-start seed. It sits below the objectives and
//! [`train_adversarial`](super::train_adversarial), which all import it.

use aegis_model::train::Batch;

/// ε and step size as functions of training progress.
#[derive(Debug, Clone, Copy)]
pub struct AdvSchedule {
    /// Final ε.
    pub eps: f64,
    /// Inner steps.
    pub steps: usize,
    /// Fixed step size, or `None` for 2.5·ε_t/steps.
    pub step_size: Option<f64>,
    /// Warm-up length in epochs.
    pub warmup_epochs: usize,
    /// Base seed of the per-batch random starts.
    pub seed: u64,
}

impl AdvSchedule {
    /// `(ε_t, α_t)` after `progress` epochs: during the warm-up, epoch `e` (0-based) uses
    /// `ε·(e+1)/W`, so ε grows in equal steps and the last warm-up epoch already trains at the
    /// full ε; afterwards ε stays.
    pub fn at(&self, progress: f64) -> (f64, f64) {
        let eps = if self.warmup_epochs == 0 {
            self.eps
        } else {
            self.eps * ((progress.floor() + 1.0) / self.warmup_epochs as f64).min(1.0)
        };
        (eps, self.step_size.unwrap_or(2.5 * eps / self.steps as f64))
    }

    /// A random-start seed unique to this batch.
    pub fn batch_seed(&self, batch: &Batch) -> u64 {
        self.seed
            ^ ((batch.epoch as u64) << 32 | batch.batch_index as u64)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_grows_linearly_then_holds() {
        let s = AdvSchedule {
            eps: 0.3,
            steps: 10,
            step_size: None,
            warmup_epochs: 5,
            seed: 0,
        };
        assert!((s.at(0.0).0 - 0.06).abs() < 1e-12);
        assert!((s.at(0.9).0 - 0.06).abs() < 1e-12);
        assert!((s.at(2.5).0 - 0.18).abs() < 1e-12);
        assert!((s.at(4.0).0 - 0.3).abs() < 1e-12);
        assert!((s.at(7.0).0 - 0.3).abs() < 1e-12);
        assert!((s.at(7.0).1 - 0.075).abs() < 1e-12, "2.5·ε/10");
        let fixed = AdvSchedule {
            step_size: Some(0.01),
            warmup_epochs: 0,
            ..s
        };
        assert_eq!(fixed.at(0.0), (0.3, 0.01));
    }
}
