//! Recalibration: each file fits one post-hoc map of the logits that minimises the NLL of a
//! held-out set (exact Newton methods on convex objectives).
//!
//! - `temperature.rs`: temperature scaling ([`fit_temperature`], [`nll_at_temperature`]) and
//!   its 2-fold cross-fitted use ([`cross_fit_temperature`]);
//! - `vector_scaling.rs`: per-class affine scaling ([`fit_vector_scaling`], [`VectorScaling`]).

mod temperature;
mod vector_scaling;

pub use temperature::{TemperatureFit, cross_fit_temperature, fit_temperature, nll_at_temperature};
pub use vector_scaling::{VectorScaling, fit_vector_scaling};
