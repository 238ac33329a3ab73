//! Gradient attributions: each file implements [`Attribution`](crate::Attribution) for one
//! method built on the input gradient of the target logit
//! ([`target_gradient_batched`](crate::target_gradient_batched)).
//!
//! - `saliency.rs`: `|∇ₓ logit_t|` (Simonyan et al. 2014);
//! - `gradient_x_input.rs`: `x ⊙ ∇ₓ logit_t` (Shrikumar et al. 2016);
//! - `integrated_gradients.rs`: path integral from a baseline, Gauss–Legendre or Riemann
//!   quadrature, convergence delta (Sundararajan et al. 2017);
//! - `smoothgrad.rs`: SmoothGrad, SmoothGrad², VarGrad over seeded noisy copies
//!   (Smilkov et al. 2017).

mod gradient_x_input;
mod integrated_gradients;
mod saliency;
mod smoothgrad;

pub use gradient_x_input::{GradientXInput, GradientXInputConfig};
pub use integrated_gradients::{
    Baseline, IgConfig, IgMethod, IntegratedGradients, convergence_fraction, gauss_legendre,
    quadrature,
};
pub use saliency::{Saliency, SaliencyConfig};
pub use smoothgrad::{SmoothGrad, SmoothGradConfig, SmoothGradVariant};
