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
//! - `outcomes.rs`: what an evaluation measured row by row; `summary.rs`: the report those
//!   rows add up to; `shard.rs`: evaluating a slice of the rows and merging slices into the
//!   unsharded report (`evaluate --shard K/N`, `--merge`).

mod attack_report;
mod outcomes;
mod robustness;
mod robustness_report;
mod sanity;
mod shard;
mod suite;
mod summary;

pub use attack_report::{AttackPlan, AttackReport, GoalKind, run_attack, run_attack_in};
pub use outcomes::{BoxRows, RowOutcomes, RunRows};
pub use robustness::evaluate_robustness;
pub use robustness_report::{
    EvalAttack, EvalResult, EvaluateConfig, RobustnessReport, SanityCheck, StageResult, Suite,
    WorstCase, write_report,
};
pub use shard::{
    PARTIAL_FILE, PartialReport, Shard, check_tiling, evaluate_shard, merge_partials,
    merged_out_dir, partial_path, read_partial, write_partial,
};
