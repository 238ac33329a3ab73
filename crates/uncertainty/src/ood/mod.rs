//! Out-of-distribution detection: the scores that rank inputs ("higher = in-distribution")
//! and the shifted / OOD image sets they are tested on.
//!
//! - `scores.rs`: [`OodScore`] (MSP, max logit, energy, entropy, mutual information) computed
//!   from [`PredictiveSamples`](crate::PredictiveSamples);
//! - `shift.rs`: [`ShiftKind`] and [`shifted_images`] (noise, inverted, rotated images).

mod scores;
pub mod shift;

pub use scores::OodScore;
pub use shift::{ShiftKind, shifted_images};
