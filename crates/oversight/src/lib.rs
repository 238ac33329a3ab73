//! # aegis-oversight
//!
//! Human–AI collaboration: the model decides what it is sure of, hands the rest to a person
//! with an explanation, and every human decision is recorded in an audit log that loses
//! nothing.
//!
//! Layers, from the bottom up (each uses only those above it in this list):
//!
//! - `error.rs`: [`OversightError`], the one error enum.
//! - Selection: [`confidence()`]: confidence functions κ (MSP, margin, entropy,
//!   MC-dropout/ensemble variance, conformal set size) from [`aegis_uncertainty`] estimators;
//!   [`sgr()`]: Selection with Guaranteed Risk (Geifman & El-Yaniv 2017): the threshold whose
//!   binomial upper bound on selective risk is below `r*` with probability `1 − δ`, and
//!   [`min_certifiable_rows`], the fewest calibration rows with which it can certify anything;
//!   [`metrics`]: coverage, selective risk, system accuracy, override rate, Cohen's κ, a
//!   [`SimulatedExpert`] for offline comparison of deferral policies.
//! - Review: [`Queue`]: the review queue (JSONL), most uncertain first, each item with its
//!   prediction, confidence, conformal set and top attributions (from
//!   [`aegis_interpretability`]); [`AuditLog`]: append-only, one synced write per decision;
//!   [`Ledger`]: the decisions that stand once undo's revoke lines are applied;
//!   [`render_item`]: images as Unicode half blocks; [`review()`]: interactive terminal review
//!   ([`TerminalReviewer`]) or scripted ([`ScriptedDecisions`]), each decision appended to the
//!   audit log and synced to disk before the next item; sessions resume. [`team_metrics`]:
//!   what the team decided and how well, with agreement between reviewers.
//! - [`serve`]: review in the browser: a local HTTP server on the same queue and audit log
//!   (tokens per reviewer, leases, double review, first decision wins).
//! - [`commands`] (formerly `job`, still reachable under that name): one file per command of
//!   the binary (`calibrate-threshold`, `queue`, `review`, `report`, `serve`): its clap
//!   arguments, its request, its report and the library function that runs it.
#![warn(missing_docs)]

mod audit;
pub mod commands;
mod confidence;
mod error;
mod ledger;
pub mod metrics;
mod queue;
mod render;
mod review;
pub mod serve;
mod sgr;
mod team;

#[cfg(test)]
#[path = "../../../tests/support/figures.rs"]
pub(crate) mod figures;

/// Former name of [`commands`], kept so code written against 0.1 compiles.
pub use commands as job;

pub use audit::{AuditLog, AuditRecord, Decision, now_rfc3339, read_audit_log, rfc3339};
pub use commands::{
    AttributionChoice, Deployment, OversightReport, PolicyCurve, QueueConfig, ReportConfig,
    SgrConfig, SgrReport, SgrSplit, ThresholdSource, build_queue, calibrate_threshold, default_out,
    model_hash, policy_means, report, rows_for_calibration, split_rows,
};
pub use confidence::{ConfidenceKind, confidence};
pub use error::{OversightError, Result};
pub use ledger::{Ledger, Standing};
pub use metrics::{
    SelectiveMetrics, SimulatedExpert, cohens_kappa, expected_system_accuracy, selective_metrics,
    threshold_for_coverage,
};
pub use queue::{FeatureAttribution, Queue, QueueItem, QueueMeta, top_attributions};
pub use render::{render_image, render_item, render_tabular};
pub use review::{
    Action, DecisionSource, ReviewOutcome, ScriptedDecisions, TerminalReviewer, parse_answer,
    review,
};
pub use sgr::{SgrResult, binomial_cdf, binomial_upper_bound, min_certifiable_rows, sgr};
pub use team::{
    ReviewAgreement, ReviewerPair, ReviewerSummary, TeamMetrics, review_agreement, team_metrics,
};
