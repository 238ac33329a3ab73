//! One file per command of the `aegis-uncertainty` binary: its arguments, its request, its
//! report and the library function that runs it.
//!
//! - `calibrate.rs`: [`CalibrateArgs`], [`CalibrateConfig`] → [`calibrate()`] →
//!   [`CalibrationReport`] (`calibration.json`);
//! - `conformal.rs`: [`ConformalArgs`], [`ConformalRunConfig`] → [`conformal()`] →
//!   [`ConformalReport`](crate::ConformalReport) (`conformal.json`);
//! - `ood.rs`: [`OodArgs`], [`EstimatorConfig`] → [`ood()`] → [`OodReport`] (`ood.json`);
//! - `evaluate.rs`: [`EvaluateArgs`], [`EvaluateConfig`] → [`evaluate()`] →
//!   [`UncertaintyReport`] (`report.json`);
//! - `common.rs` (below the commands): the `--run` / `--out` flags, default output directory,
//!   seeded halves and the reliability diagram.
//!
//! The estimator flags and [`estimator()`] live in the crate-level `args.rs` (the oversight
//! crate uses them too) and are re-exported here, as they were from the former `job` module.

pub mod calibrate;
mod common;
pub mod conformal;
pub mod evaluate;
pub mod ood;
#[cfg(test)]
mod tests;

pub use crate::args::{EstimatorArgs, EstimatorConfig, EstimatorKind, ensemble_cache, estimator};
pub use crate::recalibration::cross_fit_temperature;
pub use calibrate::{CalibrateArgs, CalibrateConfig, CalibrationReport, calibrate};
pub use common::{CommonArgs, default_out, halves, reliability_plot};
pub use conformal::{ConformalArgs, ConformalRunConfig, conformal};
pub use evaluate::{
    EstimatorMetrics, EvaluateArgs, EvaluateConfig, UncertaintyReport, estimator_metrics, evaluate,
};
pub use ood::{OodArgs, OodReport, OodSetInfo, ood};
