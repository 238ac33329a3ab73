//! Commands: one file per command of the `aegis-oversight` binary: its arguments, its request,
//! its report and the library function that runs it. No trait: each command file has clap
//! `<Cmd>Args` with `run`, then its request (a `#[derive(Config)]`), report and function.
//! Command files never import each other; what several share lies below them.
//!
//! - `calibrate_threshold.rs`: SGR over random splits → `sgr.json`.
//! - `queue.rs`: the review queue → `queue.jsonl`, `queue.json`.
//! - `review.rs`: scripted or terminal review into the audit log ([`crate::review()`]).
//! - `report.rs`: team metrics and deferral policies → `report.json`, `policies.csv/png`.
//! - `serve.rs`: review in the browser on the same audit log ([`crate::serve::Server`]).
//! - `sgr_report.rs`: `sgr.json` ([`SgrReport`]), written by `calibrate-threshold` and read by
//!   `queue --sgr`.
//! - `shared.rs`: [`default_out`], [`model_hash`], [`split_rows`], [`rows_for_calibration`]
//!   and the κ of a split.

pub mod calibrate_threshold;
pub mod queue;
pub mod report;
pub mod review;
pub mod serve;
mod sgr_report;
mod shared;
#[cfg(test)]
mod tests;

pub use calibrate_threshold::{CalibrateThresholdArgs, SgrConfig, calibrate_threshold};
pub use queue::{AttributionChoice, QueueArgs, QueueConfig, ThresholdSource, build_queue};
pub use report::{
    OversightReport, PolicyCurve, ReportArgs, ReportConfig, TeamMetrics, policy_means, report,
};
pub use review::ReviewArgs;
pub use serve::ServeArgs;
pub use sgr_report::{Deployment, SgrReport, SgrSplit};
pub use shared::{default_out, model_hash, rows_for_calibration, split_rows};
