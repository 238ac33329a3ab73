//! # Aegis
//!
//! A pure-Rust toolkit for AI safety on [Burn](https://burn.dev): train a model, attack and
//! harden it, measure its uncertainty, explain it, and defer its doubtful cases to a human.
//! The user's guide is the book in `docs/book/` (its commands, what they write, what was
//! measured); this is the API, re-exporting one crate per concern.
//!
//! ## A tour
//!
//! 1. **A model and its run directory.** [`model::train_run`] trains (the built-in MLP,
//!    SmallCnn, MadryCnn, or any [`model::SequentialSpec`]) and [`model::import_run`] loads
//!    PyTorch weights; both write a [`model::RunDir`] (`model.bpk`, `config.json`,
//!    `metrics.json`) that every other part reads, usually through [`model::LoadedRun`].
//!    Every model is a [`model::Classifier`]: flat rows `[N, F]` in raw input space in,
//!    logits `[N, C]` out, on any [`model::DeviceSpec`].
//! 2. **Attack it.** Each attack is an [`adversarial::Attack`] ([`adversarial::Fgsm`],
//!    [`adversarial::Pgd`], [`adversarial::Apgd`], [`adversarial::Square`], …);
//!    [`adversarial::evaluate_robustness`] runs AutoAttack's suite with its sanity checks, and
//!    [`adversarial::train_adversarial`] hardens the model (PGD-AT, TRADES, Fast-AT).
//! 3. **Measure its uncertainty.** An [`uncertainty::UncertaintyEstimator`] (deterministic, MC
//!    dropout, deep ensemble) gives predictive distributions; [`uncertainty::estimate_temperature`]
//!    recalibrates them and [`uncertainty::SplitConformal`] turns them into prediction sets
//!    with a coverage guarantee.
//! 4. **Explain it.** Each method is an [`interpretability::Attribution`]
//!    ([`interpretability::IntegratedGradients`], [`interpretability::Saliency`], …), with
//!    [`interpretability::KernelShap`] and its kin for tables.
//! 5. **Decide what it may decide alone.** [`oversight::sgr`] finds a confidence threshold
//!    with a guaranteed risk, [`oversight::build_queue`] queues the rest with their
//!    explanations, and [`oversight::serve::Server`] serves them to reviewers, every answer in
//!    an append-only [`oversight::AuditLog`].
//! 6. **All of it on one model**: [`audit::run_audit`], one HTML report (`aegis audit`).
//!
//! [`alignment`] (tabular MDPs, reward shaping, inverse RL, preference learning) and
//! [`kernels`] (Aegis's own flex kernels for convolution and max-pool) complete the set.
//!
//! Train, then attack, in a few lines (the programs of `examples/` go further):
//!
//! ```no_run
//! use aegis::adversarial::{Attack, Goal, Pgd, PgdConfig};
//! use aegis::model::{DataSource, TrainRequest, accuracy, batch_tensor, to_host, train_run};
//!
//! aegis::model::keep_freed_memory(); // as every Aegis binary does first
//! let trained = train_run(&TrainRequest::new(DataSource::Mnist))?; // SmallCnn, 10 epochs
//! let test = trained.config.test_split(None)?;
//! let device = aegis::model::DeviceSpec::Flex.open()?;
//! let (n, f) = (test.labels.len(), test.features.len() / test.labels.len());
//! let pgd = Pgd::new(PgdConfig::new(0.3))?;
//! let x = batch_tensor(test.features.clone(), n, f, &device);
//! let adv = to_host(pgd.perturb(&trained.model, x, &Goal::Untargeted(test.labels.clone()))?);
//! println!("PGD-40 accuracy: {}", accuracy(&trained.model, &adv, &test.labels, 100, &device));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The member crates, as re-exported here:
//! - [`model`]: devices, models, data, training, run directories.
//! - [`kernels`]: Aegis's own flex kernels for convolution and 2×2 max-pool (with autodiff),
//!   which the models run on CPU.
//! - [`adversarial`]: attacks (FGSM, PGD L∞/L2, MI-FGSM, APGD-CE/DLR, CW-L2, Square),
//!   robustness reports, adversarial training (PGD-AT, TRADES, Fast-AT).
//! - [`uncertainty`]: MC dropout, deep ensembles, temperature scaling, calibration metrics,
//!   conformal prediction sets, OOD detection.
//! - [`interpretability`]: gradient and perturbation attributions, global explanations
//!   (permutation importance, PDP/ICE, LIME, KernelSHAP) and explanation-quality metrics.
//! - [`oversight`]: selective prediction with a risk guarantee, a human review queue and an
//!   append-only audit log.
//! - [`alignment`]: tabular MDPs, reward shaping, inverse RL, reward learning from
//!   preferences.
//!
//! And its own layer on top of them: [`audit`], one self-contained HTML safety report of a
//! run across all of the above (`aegis audit`, the binary of this package), with
//! [`commands`] holding the binary's flags.
#![warn(missing_docs)]

pub mod audit;
pub mod commands;
mod error;

pub use error::{AuditError, Result};

pub use aegis_adversarial_trainer as adversarial;
pub use aegis_alignment as alignment;
pub use aegis_interpretability as interpretability;
pub use aegis_kernels as kernels;
pub use aegis_model as model;
pub use aegis_oversight as oversight;
pub use aegis_uncertainty as uncertainty;
