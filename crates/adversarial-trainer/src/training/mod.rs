//! Adversarial training: each objective file returns a [`aegis_model::train::LossFn`] for
//! [`aegis_model::train::fit_with`] (PGD-AT, TRADES, Fast-AT, the Gaussian noise
//! augmentation of randomized smoothing, and certified training with IBP or CROWN-IBP bounds
//! from `certified::bounds`); `schedule.rs` holds the ε
//! warm-up ([`AdvSchedule`]) they share; `train.rs` picks the objective from an
//! [`AdvTrainConfig`] and writes an ordinary run directory ([`train_adversarial`]).

mod certified;
mod fast_at;
mod gaussian;
mod pgd_at;
mod schedule;
mod trades;
mod train;

pub use certified::{certified_loss, certified_ramps};
pub use fast_at::fast_at_loss;
pub use gaussian::gaussian_noise_loss;
pub use pgd_at::pgd_at_loss;
pub use schedule::AdvSchedule;
pub use trades::trades_loss;
pub use train::{AdvMethod, AdvTrainConfig, best_recipe_train_config, train_adversarial};
