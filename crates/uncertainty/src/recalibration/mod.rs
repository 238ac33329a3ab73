//! Recalibration: each file fits one post-hoc map of the logits that minimises the NLL of a
//! held-out set (exact Newton methods on convex objectives).
//!
//! - `temperature.rs`: temperature scaling ([`fit_temperature`], [`nll_at_temperature`]),
//!   whether a fit set can estimate it at all ([`estimate_temperature`]: enough misclassified
//!   and correctly classified rows, an optimum inside the bounds) and its 2-fold cross-fitted
//!   use ([`cross_fit_temperature`]);
//! - `vector_scaling.rs`: per-class affine scaling ([`fit_vector_scaling`], [`VectorScaling`]).

mod temperature;
mod vector_scaling;

pub use temperature::{
    MIN_FIT_EVENTS, TemperatureEstimate, TemperatureFit, cross_fit_temperature,
    estimate_temperature, fit_temperature, nll_at_temperature,
};
pub use vector_scaling::{VectorScaling, fit_vector_scaling};
