//! Explanation-quality metrics: each file scores the attributions of any
//! [`Attribution`](crate::Attribution) against the model they explain.
//!
//! - `deletion.rs`: deletion / insertion curves and their AUC, with the random-order reference
//!   (Petsiuk et al. 2018);
//! - `infidelity.rs`: infidelity under Gaussian perturbations (Yeh et al. 2019);
//! - `sensitivity.rs`: max-sensitivity in an L∞ ball (Yeh et al. 2019);
//! - `randomization.rs`: cascading model-parameter randomisation (Adebayo et al. 2018).

mod deletion;
mod infidelity;
mod randomization;
mod sensitivity;

pub use deletion::{Curve, CurveConfig, CurveKind, perturbation_curve, random_scores};
pub use infidelity::{Infidelity, InfidelityConfig, infidelity};
pub use randomization::{
    RandomizationStage, model_layers, parameter_randomization, randomize_top_layers, spearman,
};
pub use sensitivity::{Sensitivity, SensitivityConfig, sensitivity_max};
