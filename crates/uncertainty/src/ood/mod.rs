//! Out-of-distribution detection: the scores that rank inputs ("higher = in-distribution")
//! and the shifted / OOD sets they are tested on, for inputs of any shape.
//!
//! - `scores.rs`: [`OodScore`] (MSP, max logit, energy, entropy, mutual information) computed
//!   from [`PredictiveSamples`](crate::PredictiveSamples);
//! - `shift.rs`: [`ShiftKind`] (which kinds apply to which sample shape) and [`shifted_set`];
//! - `domain.rs`: [`SetDomain`], the input box the sets live in, and the two noise draws;
//! - `transform.rs`: the per-channel image shifts (inversion, rotation, blur, colour jitter).

mod domain;
mod scores;
pub mod shift;
mod transform;

pub use domain::SetDomain;
pub use scores::OodScore;
pub use shift::{ShiftKind, shifted_set, why_no_set};
