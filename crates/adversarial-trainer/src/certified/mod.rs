//! Certified robustness: rows whose prediction provably holds within a perturbation radius.
//!
//! - [`bounds`]: bound propagation (IBP, CROWN) for L∞ balls clipped to the input domain.

pub mod bounds;
