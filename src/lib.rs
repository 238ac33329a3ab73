//! # Aegis
//!
//! A pure-Rust toolkit for AI safety on [Burn](https://burn.dev): train a model, attack and
//! harden it, measure its uncertainty, explain it, and defer its doubtful cases to a human.
//!
//! This facade re-exports the member crates:
//! - [`model`]: devices, models, data, training, run directories.
//! - [`adversarial`]: attacks (FGSM, PGD L∞/L2, MI-FGSM, APGD-CE/DLR, CW-L2, Square),
//!   robustness reports, adversarial training
//!   (PGD-AT, TRADES, Fast-AT) and attack reports.
#![warn(missing_docs)]

pub use aegis_adversarial_trainer as adversarial;
pub use aegis_model as model;
