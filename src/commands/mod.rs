//! One file per subcommand of the `aegis` binary: its clap `Args` and what it runs.
//!
//! - `audit.rs`: [`AuditArgs`] → [`run_audit`](crate::audit::run_audit) (`report.html`,
//!   `audit.json`) or, with `--compare A B`, [`compare_audits`](crate::audit::compare_audits).

pub mod audit;

pub use audit::{AuditArgs, EXIT_STAGE_FAILED};
