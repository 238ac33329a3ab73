//! # aegis-uncertainty
//!
//! Predictive uncertainty for Aegis models: estimators, calibration, conformal prediction
//! sets, OOD detection, and metrics whose conventions are stated and tested (the top complaint
//! about torchmetrics / netcal / TorchUncertainty is metrics that silently disagree).
//!
//! Layers (folders), lowest first; each imports only from the ones above it in this list:
//! - `metrics/` ([`metrics`]): ECE (equal-width / equal-mass, L1 / L2 / max), Brier, NLL,
//!   entropy, expected entropy, mutual information, AUROC, AUPR in/out, FPR@95%TPR,
//!   risk–coverage, AURC — pure functions on host arrays.
//! - `estimators/`: the [`UncertaintyEstimator`] trait, returning [`PredictiveSamples`]
//!   `[S, N, C]`, and one estimator per file: [`Deterministic`] (optionally
//!   temperature-scaled), [`McDropout`] (Gal & Ghahramani 2016), [`DeepEnsemble`]
//!   (Lakshminarayanan et al. 2017; members via [`train_ensemble`]).
//! - `recalibration/`: [`fit_temperature`] (exact 1-D Newton on the convex NLL in 1/T),
//!   [`estimate_temperature`] (whether the fit set holds enough errors to estimate one),
//!   [`fit_vector_scaling`] (Guo et al. 2017).
//! - `conformal/` ([`conformal`](mod@conformal)): split conformal with LAC, APS and RAPS
//!   scores.
//! - `ood/`: [`OodScore`] (MSP, max logit, energy, entropy, mutual information) and [`shift`]
//!   sets for inputs of any shape (Gaussian / uniform noise in the input's domain; inverted,
//!   rotated, blurred and colour-jittered images, per channel).
//! - `args.rs`: [`EstimatorArgs`] / [`EstimatorConfig`] and [`estimator()`], the estimator
//!   choice shared with `aegis-oversight`.
//! - `commands/` ([`commands`], formerly `job`): the binary's commands (`calibrate`,
//!   `conformal`, `ood`, `evaluate`), each with its flags, request, report and library call.
//!
//! ```no_run
//! use aegis_uncertainty::{Deterministic, UncertaintyEstimator, metrics};
//! use aegis_model::{DeviceSpec, RunDir};
//! let device = DeviceSpec::Flex.open()?;
//! let (model, config) = RunDir::new("runs/mnist").load_model(&device)?;
//! let test = config.test_split(None)?;
//! let p = Deterministic::new(&model).predict_proba(&test.features, &device)?;
//! println!("NLL {:.4}", metrics::nll(&p, &test.labels, test.num_classes)?);
//! # Ok::<(), aegis_uncertainty::UncertaintyError>(())
//! ```
#![warn(missing_docs)]

mod args;
pub mod commands;
pub mod conformal;
mod error;
mod estimators;
pub mod metrics;
mod ood;
mod recalibration;

#[cfg(test)]
#[path = "../../../tests/support/figures.rs"]
pub(crate) mod figures;

/// Former name of [`commands`], kept so code written against 0.1 compiles.
pub use commands as job;

pub use args::{EstimatorArgs, EstimatorConfig, EstimatorKind, estimator};
pub use commands::calibrate::calibrate;
pub use commands::conformal::conformal;
pub use commands::evaluate::evaluate;
pub use commands::ood::ood;
pub use commands::{
    CalibrateConfig, CalibrationReport, ConformalRunConfig, EstimatorMetrics, EvaluateConfig,
    OodReport, OodSetInfo, UncertaintyReport,
};
pub use conformal::{
    ConformalConfig, ConformalReport, ConformalScore, SplitConformal, evaluate_conformal,
};
pub use error::{Result, UncertaintyError};
pub use estimators::{
    DeepEnsemble, Deterministic, McDropout, McDropoutConfig, PredictiveSamples,
    UncertaintyEstimator, batched_logits, gather_rows, logsumexp, softmax, train_ensemble,
};
pub use ood::{OodScore, SetDomain, ShiftKind, shift};
pub use recalibration::{
    MIN_FIT_EVENTS, TemperatureEstimate, TemperatureFit, VectorScaling, estimate_temperature,
    fit_temperature, fit_vector_scaling, nll_at_temperature,
};
