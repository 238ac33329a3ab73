//! # aegis-interpretability
//!
//! Explanations of any [`aegis_model::Classifier`] on any device, and checks that they are
//! faithful. Anchors: Captum, SHAP, LIME, scikit-learn's inspection module, Quantus.
//!
//! **Attributions** ([`Attribution`]: rows `[N, F]` in raw input space → [`Attributions`]
//! `[N, F]`, toward the **logit** of a target class per row, as Captum does for a model that
//! returns logits; the model runs in inference mode on a copy):
//! [`Saliency`] (Simonyan et al. 2014), [`GradientXInput`] (Shrikumar et al. 2016),
//! [`IntegratedGradients`] (Sundararajan et al. 2017; Gauss–Legendre `n = 50` by default or
//! Riemann rules, zero / blurred / custom baselines, interpolated inputs in chunks of
//! `internal_batch_size`, per-row convergence delta and output difference),
//! [`SmoothGrad`] / SmoothGrad² / VarGrad (Smilkov et al. 2017; Adebayo et al. 2018; seeded),
//! [`Occlusion`] (Zeiler & Fergus 2014) and [`FeatureAblation`].
//!
//! **Global and model-agnostic tabular methods**, explaining the target class's **probability**
//! by default ([`ModelOutput`]): [`permutation_importance`] (Breiman 2001, scikit-learn),
//! [`partial_dependence`] with ICE (Friedman 2001; scikit-learn's grid), [`LimeTabular`]
//! (Ribeiro et al. 2016; the `lime` package's quartile discretisation), [`KernelShap`]
//! (Lundberg & Lee 2017; shap's `KernelExplainer` sampling plan, exact efficiency).
//!
//! **Quality metrics**: deletion / insertion curves and AUC with a random-order reference
//! ([`perturbation_curve`], Petsiuk et al. 2018), [`infidelity`] and [`sensitivity_max`]
//! (Yeh et al. 2019), cascading [`parameter_randomization`] (Adebayo et al. 2018), gathered by
//! [`evaluate_quality`].
//!
//! **Outputs**: heatmap overlays, importance bars, per-feature value strips and PDP/ICE plots
//! ([`heatmap_overlay`], [`importance_bars`], [`value_distribution`], [`pdp_plot`]); the
//! binary's commands as library calls in [`explain_run`], [`importance_run`], [`pdp_run`].
//!
//! Every sampler draws from `ChaCha8Rng(seed)` on the host, so a seed gives the same
//! explanation on every device, and every method evaluates the model in batches.
//!
//! ```no_run
//! use aegis_interpretability::{Attribution, IgConfig, IntegratedGradients, convergence_fraction};
//! use aegis_model::{RunDir, burn::tensor::Device};
//! let device = Device::flex();
//! let (model, config) = RunDir::new("runs/mnist-seed1").load_model(&device)?;
//! let test = config.test_split(None)?.head(Some(10));
//! let ig = IntegratedGradients::new(IgConfig::new())?;
//! let a = ig.attribute(&model, &test.features, &test.labels, &device)?;
//! println!("converged: {:?}", convergence_fraction(&a, 0.01));
//! # Ok::<(), aegis_interpretability::InterpretError>(())
//! ```
#![warn(missing_docs)]

mod attribution;
mod deletion;
mod error;
mod evaluate;
mod feature_ablation;
mod gradient_x_input;
mod infidelity;
mod integrated_gradients;
mod job;
mod kernel_shap;
mod lime;
mod linalg;
mod occlusion;
mod pdp;
mod permutation;
mod plots;
mod randomization;
mod saliency;
mod sensitivity;
mod smoothgrad;

pub use attribution::{
    Attribution, Attributions, ModelOutput, check_batch, model_outputs, progress_bar,
    target_gradient, target_gradient_batched, target_outputs, to_host,
};
pub use deletion::{Curve, CurveConfig, CurveKind, perturbation_curve, random_scores};
pub use error::{InterpretError, Result};
pub use evaluate::{
    EvaluateConfig, MethodQuality, QualityCheck, QualityReport, RandomizationResult,
    evaluate_quality,
};
pub use feature_ablation::{FeatureAblation, FeatureAblationConfig};
pub use gradient_x_input::{GradientXInput, GradientXInputConfig};
pub use infidelity::{Infidelity, InfidelityConfig, infidelity};
pub use integrated_gradients::{
    Baseline, IgConfig, IgMethod, IntegratedGradients, convergence_fraction, gauss_legendre,
    quadrature,
};
pub use job::{
    ExplainMethod, Explanation, ImportanceMethod, ImportanceReport, PdpReport, background_sample,
    default_out, explain_run, importance_run, pdp_run, perturbation_baseline, resolve_feature,
};
pub use kernel_shap::{
    CoalitionPlan, KernelShap, KernelShapConfig, ShapValues, coalition_plan, mean_abs,
};
pub use lime::{FeatureBins, LimeConfig, LimeExplanation, LimeTabular, quartile_bins};
pub use occlusion::{Occlusion, OcclusionConfig};
pub use pdp::{PartialDependence, PdpConfig, grid_for, mquantile, partial_dependence};
pub use permutation::{
    Metric, PermutationConfig, PermutationImportance, permutation_importance,
    permutation_importance_with, ranking,
};
pub use plots::{heatmap_overlay, importance_bars, pdp_plot, value_distribution};
pub use randomization::{
    RandomizationStage, model_layers, parameter_randomization, randomize_top_layers, spearman,
};
pub use saliency::{Saliency, SaliencyConfig};
pub use sensitivity::{Sensitivity, SensitivityConfig, sensitivity_max};
pub use smoothgrad::{SmoothGrad, SmoothGradConfig, SmoothGradVariant};
