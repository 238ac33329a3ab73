//! One file per command of the `aegis-interpretability` binary: its arguments, its request, its
//! report and the library function that runs it.
//!
//! - `explain.rs`: [`ExplainArgs`], [`explain_run`] → [`Explanation`] (`explanation.json`);
//! - `importance.rs`: [`ImportanceArgs`], [`importance_run`] → [`ImportanceReport`]
//!   (`importance.json`);
//! - `pdp.rs`: [`PdpArgs`], [`pdp_run`] → [`PdpReport`] (`pdp.json`);
//! - `evaluate.rs`: [`EvaluateArgs`], [`EvaluateConfig`], [`evaluate_quality`] →
//!   [`QualityReport`] (`evaluation.json`);
//! - `args.rs`: what they share ([`default_out`]).
//!
//! Each command writes its JSON (and PNGs) plus `config.json` with the settings used,
//! atomically, into an output folder.

mod args;
pub mod evaluate;
pub mod explain;
pub mod importance;
pub mod pdp;

pub use args::default_out;
pub use evaluate::{
    EvaluateArgs, EvaluateConfig, MethodQuality, QualityCheck, QualityReport, RandomizationResult,
    evaluate_quality,
};
pub use explain::{ExplainArgs, ExplainMethod, Explanation, explain_run};
pub use importance::{
    ImportanceArgs, ImportanceMethod, ImportanceReport, background_sample, importance_run,
};
pub use pdp::{PdpArgs, PdpReport, pdp_run, resolve_feature};
