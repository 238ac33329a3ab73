//! Training layer: hyper-parameters ([`TrainConfig`]) and the seeded, checkpointed loop
//! ([`fit_with`]), resumable after a crash ([`resume`]); a training objective implements [`LossFn`] (plain cross-entropy here,
//! adversarial objectives in `aegis-adversarial-trainer`).

mod config;
mod fit;
pub mod resume;

pub use config::{LrSchedule, OptimizerKind, TrainConfig};
pub use fit::{
    Batch, LossFn, LossOutput, TrainOptions, cross_entropy, cross_entropy_loss, fit, fit_with,
    seed_device,
};
