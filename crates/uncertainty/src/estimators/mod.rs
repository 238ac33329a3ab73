//! Estimators: each file implements [`UncertaintyEstimator`] for one way of turning a trained
//! run into predictive samples `[S, N, C]`.
//!
//! - `base.rs`: the [`UncertaintyEstimator`] trait, [`PredictiveSamples`] and the host helpers
//!   every estimator shares ([`batched_logits`], [`softmax`], [`logsumexp`], [`gather_rows`]);
//! - `deterministic.rs`: [`Deterministic`], the run's model in one pass (optionally
//!   temperature-scaled);
//! - `mc_dropout.rs`: [`McDropout`], `T` passes with dropout active;
//! - `ensemble.rs`: [`DeepEnsemble`] and [`train_ensemble`] (members trained once, cached).

mod base;
mod deterministic;
mod ensemble;
mod mc_dropout;

pub use base::{
    PredictiveSamples, UncertaintyEstimator, batched_logits, gather_rows, logsumexp, softmax,
};
pub use deterministic::Deterministic;
pub use ensemble::{DeepEnsemble, train_ensemble};
pub use mc_dropout::{McDropout, McDropoutConfig};
