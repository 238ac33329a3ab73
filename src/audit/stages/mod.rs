//! The audit's stages, one file each, bottom layer of the audit: each reads the
//! [`StageContext`], calls the member crates' library functions (writing their own JSON and
//! PNG files into the stage's folder) and returns a serialisable result, which the runner
//! caches and puts into `audit.json`.
//!
//! - `accuracy.rs`: accuracy, per-class accuracy, confusion matrix;
//! - `robustness.rs`: the adversarial evaluation suite against ε, in shards;
//! - `certified.rs`: bound propagation (CROWN) at the headline ε, the interval's lower end;
//! - `calibration.rs`: temperature scaling, ECE / adaptive ECE / NLL / Brier, reliability bins;
//! - `conformal.rs`: split-conformal coverage and set sizes per α;
//! - `ood.rs`: OOD detection AUROC per noise or shifted set and score (any image; tables: noise);
//! - `explain.rs`: IG and SmoothGrad of chosen rows, deletion curves, randomisation test;
//! - `deferral.rs`: the SGR threshold, its coverage and the risk–coverage curve;
//! - `context.rs`: what they all read.

pub mod accuracy;
pub mod calibration;
pub mod certified;
pub mod conformal;
mod context;
pub mod deferral;
pub mod explain;
pub mod ood;
pub mod robustness;

pub use accuracy::{AccuracyResult, ClassAccuracy};
pub use calibration::{CalibrationMetrics, CalibrationResult};
pub use certified::CertifiedResult;
pub use conformal::{ConformalLevel, ConformalResult};
pub use context::{StageContext, class_names};
pub use deferral::{CurvePoint, DeferralResult};
pub use explain::{
    DeletionCurve, ExplainCheck, ExplainResult, ExplainedItem, FeatureAttribution, RandomizationRow,
};
pub use ood::{OodResult, OodSet};
pub use robustness::{EpsAccuracy, RobustnessResult};
