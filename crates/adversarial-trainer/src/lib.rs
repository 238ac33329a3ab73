//! # aegis-adversarial-trainer
//!
//! Adversarial attacks on any [`aegis_model::Classifier`], on any device.
//!
//! - [`Attack`]: one trait; every attack is batched, untargeted or targeted ([`Goal`]),
//!   respects input [`Bounds`] (default `[0, 1]`), acts in the model's raw input space and runs
//!   the model in inference mode on a copy (the caller's model and mode are untouched).
//! - [`Fgsm`] (Goodfellow et al. 2015), [`Pgd`] in L∞ and L2 with random start and restarts
//!   (Madry et al. 2018), [`MiFgsm`] (Dong et al. 2018), [`Apgd`] with the CE or DLR loss
//!   (Croce & Hein 2020), [`CwL2`] (Carlini & Wagner 2017), and the gradient-free [`Square`] attack (Andriushchenko et al.
//!   2020).
//! - Adversarial training ([`train_adversarial`]): PGD-AT (Madry et al. 2018), TRADES (Zhang
//!   et al. 2019), Fast-AT (Wong et al. 2020), with a linear ε warm-up; writes the same run
//!   directory as `aegis-model train`.
//! - [`evaluate_robustness`]: accuracy against ε per attack, the per-sample worst case over
//!   APGD-CE + targeted APGD-DLR + Square, and six sanity checks against gradient masking.
//! - [`run_attack`]: attack a data set in batches and summarise it ([`AttackReport`], the
//!   `attack.json` of the binary).
//!
//! Random starts are drawn on the host from `ChaCha8Rng(seed)`, so an attack with a seed gives
//! the same adversarial examples on every device.
#![warn(missing_docs)]

mod adversarial_training;
mod apgd;
mod attack;
mod cw;
mod error;
mod evaluate;
mod fast_at;
mod fgsm;
mod mifgsm;
mod pgd;
mod pgd_at;
mod report;
mod square;
mod trades;

pub use adversarial_training::{
    AdvMethod, AdvSchedule, AdvTrainConfig, best_recipe_train_config, train_adversarial,
};
pub use apgd::{Apgd, ApgdConfig, ApgdLoss, apgd_checkpoints};
pub use attack::{
    Attack, Bounds, Goal, check_goal, goal_tensor, objective_gradient, predictions, project_l2,
    project_linf, random_tensor, row_l1, row_l2,
};
pub use cw::{CwConfig, CwL2};
pub use error::{AdversarialError, Result};
pub use evaluate::{
    EvalAttack, EvalResult, EvaluateConfig, RobustnessReport, SanityCheck, WorstCase,
    evaluate_robustness,
};
pub use fast_at::fast_at_loss;
pub use fgsm::{Fgsm, FgsmConfig};
pub use mifgsm::{MiFgsm, MiFgsmConfig};
pub use pgd::{Norm, Pgd, PgdConfig};
pub use pgd_at::pgd_at_loss;
pub use report::{AttackReport, GoalKind, run_attack};
pub use square::{Square, SquareConfig, square_fraction};
pub use trades::trades_loss;
