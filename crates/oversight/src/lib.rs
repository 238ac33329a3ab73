//! # aegis-oversight
//!
//! Human–AI collaboration: the model decides what it is sure of, hands the rest to a person
//! with an explanation, and every human decision is recorded in an audit log that loses
//! nothing.
//!
//! - [`confidence()`]: confidence functions κ (MSP, margin, entropy, MC-dropout/ensemble
//!   variance, conformal set size) from [`aegis_uncertainty`] estimators.
//! - [`sgr()`]: Selection with Guaranteed Risk (Geifman & El-Yaniv 2017): the threshold whose
//!   binomial upper bound on selective risk is below `r*` with probability `1 − δ`.
//! - [`Queue`]: the review queue (JSONL), most uncertain first, each item with its prediction,
//!   confidence, conformal set and top attributions (from [`aegis_interpretability`]).
//! - [`review()`]: interactive terminal review ([`TerminalReviewer`], images as Unicode half
//!   blocks) or scripted ([`ScriptedDecisions`]); each decision is appended to the
//!   [`AuditLog`] and synced to disk before the next item; sessions resume.
//! - [`metrics`]: coverage, selective risk, system accuracy, override rate, Cohen's κ, a
//!   [`SimulatedExpert`] for offline comparison of deferral policies.
//! - [`job`]: the binary's commands (`calibrate-threshold`, `queue`, `report`).
#![warn(missing_docs)]

mod audit;
mod confidence;
mod error;
pub mod job;
pub mod metrics;
mod queue;
mod render;
mod review;
mod sgr;

pub use audit::{AuditLog, AuditRecord, Decision, now_rfc3339, read_audit_log, rfc3339};
pub use confidence::{ConfidenceKind, confidence};
pub use error::{OversightError, Result};
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
pub use sgr::{SgrResult, binomial_cdf, binomial_upper_bound, sgr};
