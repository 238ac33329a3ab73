//! `aegis audit`: one command, one self-contained HTML safety report of a run.
//!
//! Layers, one folder or file each; imports point down:
//!
//! - `runner.rs` ([`run_audit`]) and `compare.rs` ([`compare_audits`]): what the command
//!   calls; `guard.rs`: a stage's error or panic as its failed record's one-line message;
//! - `html/`: `report.html` and `compare.html` from `audit.json`;
//! - `verdict.rs`: the summary's verdicts with their evidence;
//! - `stages/`: one stage per file, each calling the member crates' library functions;
//! - `report.rs` (`audit.json`), `cache.rs` (per-stage results keyed by the model's SHA-256
//!   and the settings), `config.rs` (stages, profiles, settings).

mod cache;
mod compare;
mod config;
mod guard;
pub mod html;
mod report;
mod runner;
pub mod stages;
mod verdict;

pub use cache::{RESULT_FILE, StageCache, StageStatus};
pub use compare::compare_audits;
pub use config::{
    AuditSettings, CalibrationSettings, ConformalSettings, DeferralSettings, ExplainSettings,
    OodSettings, Profile, RobustnessSettings, Stage, parse_skip,
};
pub use report::{
    AuditReport, BURN_VERSION, Evidence, FORMAT, Fmt, ModelInfo, StageRecord, Verdict,
    VerdictStatus, Versions, rfc3339,
};
pub use runner::{AuditOutcome, AuditRequest, run_audit};
pub use verdict::verdicts;
