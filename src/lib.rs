//! # Aegis
//!
//! A pure-Rust toolkit for AI safety on [Burn](https://burn.dev): train a model, attack and
//! harden it, measure its uncertainty, explain it, and defer its doubtful cases to a human.
//!
//! This facade re-exports the member crates:
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
