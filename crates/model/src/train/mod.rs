//! Supervised training: hyper-parameters and the training loop.

mod config;
mod fit;

pub use config::{LrSchedule, OptimizerKind, TrainConfig};
pub use fit::{
    Batch, LossFn, LossOutput, TrainOptions, cross_entropy, cross_entropy_loss, fit, fit_with,
    seed_device,
};
