//! Evaluation: running [`Attack`](crate::attacks::Attack)s over a data set and summarising
//! what they achieved.
//!
//! - `attack_report.rs`: one attack over the rows in batches ([`run_attack`] →
//!   [`AttackReport`], the `attack.json` of the binary).
//! - `robustness.rs`: [`evaluate_robustness`], several attacks per ε, the per-sample worst
//!   case over an ensemble; `sanity.rs`: its checks against gradient masking;
//!   `robustness_report.rs`: its settings and report types, and `report.json/csv/png`.
//!
//! - `suite.rs`: attack suites in stages, each on the rows still robust (AutoAttack's
//!   composition; `evaluate --suite autoattack|cheap`).

mod attack_report;
mod robustness;
mod robustness_report;
mod sanity;
mod suite;

pub use attack_report::{AttackReport, GoalKind, run_attack};
pub use robustness::evaluate_robustness;
pub use robustness_report::{
    EvalAttack, EvalResult, EvaluateConfig, RobustnessReport, SanityCheck, StageResult, Suite,
    WorstCase,
};
