//! One file per command of the `aegis-adversarial-trainer` binary: its arguments (`clap::Args`),
//! how they become a request (an attack, an [`EvaluateConfig`](crate::EvaluateConfig), an
//! [`AdvTrainConfig`](crate::AdvTrainConfig) with a `TrainRequest`), the library function that
//! runs it ([`run_attack`](crate::run_attack), [`evaluate_robustness`](crate::evaluate_robustness),
//! [`train_adversarial`](crate::train_adversarial),
//! [`certify_rows`](crate::certified::certify_rows)), and what it writes and prints.
//!
//! A command file imports from the layers below (`training`, `evaluation`, `attacks`), never
//! from another command file; `threat.rs` holds the threat-space flags that three of them share, `opened.rs` the
//! opening of a run's test rows that `evaluate` and `certify` share.

// The flags' doc comments are their `--help` texts, shown as written: placeholders such as
// `DIR/attack-<name>-eps<E>` are not HTML.
#![allow(rustdoc::invalid_html_tags)]

pub mod attack;
pub mod certify;
pub mod certify_bounds;
pub mod evaluate;
pub mod opened;
pub mod threat;
pub mod train;

pub use attack::{AttackArgs, AttackName};
pub use certify::{CertifyArgs, CertifyMethod};
pub use evaluate::EvaluateArgs;
pub use threat::{BoundsArg, ThreatArgs};
pub use train::TrainArgs;
