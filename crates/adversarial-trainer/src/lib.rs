//! # aegis-adversarial-trainer
//!
//! Adversarial attacks on any [`aegis_model::Classifier`], on any device.
//!
//! - [`Attack`]: one trait; every attack is batched, untargeted or targeted ([`Goal`]),
//!   respects input [`Bounds`] (default `[0, 1]`; one range per feature for tables), acts in
//!   the model's raw input space and runs the model in inference mode on a copy (the caller's
//!   model and mode are untouched).
//! - [`ThreatSpace`]: the unit of ε ([`EpsUnits`]: raw, or each feature's training standard
//!   deviation for tabular runs) and the input box (a run's recorded
//!   [`aegis_model::InputDomain`] or user bounds); every attack runs in it unchanged.
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
//! - Certified robustness ([`certified`]): randomized smoothing's PREDICT and CERTIFY (Cohen,
//!   Rosenfeld & Kolter 2019; [`certify_rows`]) with the Clopper–Pearson bound from `statrs`,
//!   certified accuracy against the L2 radius, shards that merge exactly; Gaussian noise
//!   training for it is the `gaussian` method of [`train_adversarial`].
//!
//! Layers, one folder each; imports go one way, commands → training / evaluation / certified
//! → attacks → `error.rs` (certified also reads the shard type of evaluation):
//!
//! - [`attacks`]: the [`Attack`] trait and what attacks share (`base.rs`), then one file per
//!   attack;
//! - [`training`]: the ε warm-up schedule, one file per adversarial-training objective, and
//!   [`train_adversarial`];
//! - [`evaluation`]: [`run_attack`] over a data set and the robustness report with its sanity
//!   checks;
//! - [`certified`]: certificates (randomized smoothing), their report, curve and shards;
//! - [`commands`]: one file per subcommand of the `aegis-adversarial-trainer` binary (its
//!   flags, what it runs and what it prints).
//!
//! Random starts are drawn on the host from `ChaCha8Rng(seed)`, so an attack with a seed gives
//! the same adversarial examples on every device.
#![warn(missing_docs)]

pub mod attacks;
pub mod certified;
pub mod commands;
mod error;
pub mod evaluation;
pub mod training;

pub use attacks::{
    Apgd, ApgdConfig, ApgdLoss, Attack, Bounds, CwConfig, CwL2, EpsUnits, Fab, FabConfig, Fgsm,
    FgsmConfig, Goal, MiFgsm, MiFgsmConfig, Norm, Pgd, PgdConfig, Scaled, Square, SquareConfig,
    ThreatSpace, apgd_checkpoints, check_goal, goal_tensor, objective_gradient, predictions,
    project_l2, project_linf, random_tensor, row_l1, row_l2, square_fraction,
};
pub use certified::{
    CertifiedRow, CertifyReport, SmoothingConfig, certify_row, certify_rows, predict_row,
};
pub use error::{AdversarialError, Result};
pub use evaluation::{
    AttackPlan, AttackReport, EvalAttack, EvalResult, EvaluateConfig, GoalKind, PartialReport,
    RobustnessReport, RowOutcomes, SanityCheck, Shard, StageResult, Suite, WorstCase,
    evaluate_robustness, evaluate_shard, merge_partials, run_attack, run_attack_in,
};
pub use training::{
    AdvMethod, AdvSchedule, AdvTrainConfig, best_recipe_train_config, certified_loss, fast_at_loss,
    gaussian_noise_loss, pgd_at_loss, trades_loss, train_adversarial,
};
