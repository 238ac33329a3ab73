//! Evaluation: running [`Attack`](crate::attacks::Attack)s over a data set and summarising
//! what they achieved.
//!
//! - `attack_report.rs`: one attack over the rows in batches ([`run_attack`] →
//!   [`AttackReport`], the `attack.json` of the binary).
//! - `robustness.rs`: [`evaluate_robustness`], several attacks per ε, the per-sample worst
//!   case over an ensemble; `sanity.rs`: its checks against gradient masking;
//!   `robustness_report.rs`: its settings and report types, and `report.json/csv/png`.
//!
//! A fixed attack suite (e.g. AutoAttack's standard and plus versions) is one more file here
//! that builds on the same per-attack runs.

mod attack_report;
mod robustness;
mod robustness_report;
mod sanity;

pub use attack_report::{AttackReport, GoalKind, run_attack};
pub use robustness::evaluate_robustness;
pub use robustness_report::{
    EvalAttack, EvalResult, EvaluateConfig, RobustnessReport, SanityCheck, WorstCase,
};
