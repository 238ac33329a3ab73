//! Global and model-agnostic tabular explanations: each file explains a
//! [`Classifier`](aegis_model::Classifier) through its outputs only
//! ([`ModelOutput`](crate::ModelOutput): the target class's probability by default), never its
//! gradients.
//!
//! - `permutation.rs`: permutation importance (Breiman 2001, scikit-learn) and [`ranking`];
//! - `pdp.rs`: partial dependence and ICE curves (Friedman 2001; scikit-learn's grid);
//! - `lime.rs`: LIME with quartile discretisation (Ribeiro et al. 2016, the `lime` package);
//! - `kernel_shap.rs`: KernelSHAP with exact efficiency (Lundberg & Lee 2017);
//! - `coalitions.rs`: shap's coalition sampling plan for KernelSHAP;
//! - `linalg.rs`: the small dense solvers LIME and KernelSHAP share.

mod coalitions;
mod kernel_shap;
mod lime;
mod linalg;
mod pdp;
mod permutation;

pub use coalitions::{CoalitionPlan, coalition_plan};
pub use kernel_shap::{KernelShap, KernelShapConfig, ShapValues, mean_abs};
pub use lime::{FeatureBins, LimeConfig, LimeExplanation, LimeTabular, quartile_bins};
pub use pdp::{PartialDependence, PdpConfig, grid_for, mquantile, partial_dependence};
pub use permutation::{
    Metric, PermutationConfig, PermutationImportance, permutation_importance,
    permutation_importance_with, ranking,
};
