//! # aegis-uncertainty
//!
//! Predictive uncertainty for Aegis models: estimators, calibration, conformal prediction
//! sets, OOD detection, and metrics whose conventions are stated and tested (the top complaint
//! about torchmetrics / netcal / TorchUncertainty is metrics that silently disagree).
//!
//! - Estimators ([`UncertaintyEstimator`], returning [`PredictiveSamples`] `[S, N, C]`):
//!   [`Deterministic`] (optionally temperature-scaled), [`McDropout`] (Gal & Ghahramani 2016),
//!   [`DeepEnsemble`] (Lakshminarayanan et al. 2017; members via [`train_ensemble`]).
//! - Recalibration: [`fit_temperature`] (exact 1-D Newton on the convex NLL in 1/T),
//!   [`fit_vector_scaling`] (Guo et al. 2017).
//! - [`metrics`]: ECE (equal-width / equal-mass, L1 / L2 / max), Brier, NLL, entropy,
//!   expected entropy, mutual information, AUROC, AUPR in/out, FPR@95%TPR, risk–coverage, AURC.
//! - [`conformal`]: split conformal with LAC, APS and RAPS scores.
//! - [`OodScore`] (MSP, max logit, energy, entropy, mutual information) and [`shift`] sets
//!   (Gaussian / uniform noise, inverted, rotated images).
//! - [`job`]: the binary's commands (`calibrate`, `conformal`, `ood`, `evaluate`).
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

pub mod conformal;
mod deterministic;
mod ensemble;
mod error;
mod estimator;
pub mod job;
mod mc_dropout;
pub mod metrics;
mod ood_scores;
pub mod shift;
mod temperature;
mod vector_scaling;

pub use conformal::{
    ConformalConfig, ConformalReport, ConformalScore, SplitConformal, evaluate_conformal,
};
pub use deterministic::Deterministic;
pub use ensemble::{DeepEnsemble, train_ensemble};
pub use error::{Result, UncertaintyError};
pub use estimator::{
    PredictiveSamples, UncertaintyEstimator, batched_logits, gather_rows, logsumexp, softmax,
};
pub use job::{EstimatorArgs, EstimatorConfig, estimator};
pub use mc_dropout::{McDropout, McDropoutConfig};
pub use ood_scores::OodScore;
pub use shift::ShiftKind;
pub use temperature::{TemperatureFit, fit_temperature, nll_at_temperature};
pub use vector_scaling::{VectorScaling, fit_vector_scaling};
