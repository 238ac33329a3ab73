//! # aegis-interpretability
//!
//! Explanations of any [`aegis_model::Classifier`] on any device, and checks that they are
//! faithful. Anchors: Captum, SHAP, LIME, scikit-learn's inspection module, Quantus.
//!
//! ## Layers
//!
//! Each layer uses only the ones listed before it:
//!
//! - `attribution.rs`: the [`Attribution`] trait (rows `[N, F]` in raw input space →
//!   [`Attributions`] `[N, F]`), [`ModelOutput`] and the gradient and batching helpers; with
//!   `error.rs` ([`InterpretError`]) it is the base every layer builds on.
//! - `gradient/`: attributions toward the **logit** of a target class per row, as Captum does
//!   for a model that returns logits (the model runs in inference mode on a copy):
//!   [`Saliency`] (Simonyan et al. 2014), [`GradientXInput`] (Shrikumar et al. 2016),
//!   [`IntegratedGradients`] (Sundararajan et al. 2017; Gauss–Legendre `n = 50` by default or
//!   Riemann rules, zero / blurred / custom baselines, interpolated inputs in chunks of
//!   `internal_batch_size`, per-row convergence delta and output difference),
//!   [`SmoothGrad`] / SmoothGrad² / VarGrad (Smilkov et al. 2017; Adebayo et al. 2018; seeded).
//! - `perturbation/`: [`Occlusion`] (Zeiler & Fergus 2014) and [`FeatureAblation`], and the
//!   baseline a run's data calls for ([`perturbation_baseline`]).
//! - `tabular/`: global and model-agnostic tabular methods, explaining the target class's
//!   **probability** by default ([`ModelOutput`]): [`permutation_importance`] (Breiman 2001,
//!   scikit-learn), [`partial_dependence`] with ICE (Friedman 2001; scikit-learn's grid),
//!   [`LimeTabular`] (Ribeiro et al. 2016; the `lime` package's quartile discretisation),
//!   [`KernelShap`] (Lundberg & Lee 2017; shap's `KernelExplainer` sampling plan, exact
//!   efficiency), and the small dense solvers they share.
//! - `quality/`: explanation-quality metrics: deletion / insertion curves and AUC with a
//!   random-order reference ([`perturbation_curve`], Petsiuk et al. 2018), [`infidelity`] and
//!   [`sensitivity_max`] (Yeh et al. 2019), cascading [`parameter_randomization`] (Adebayo et
//!   al. 2018).
//! - `plots.rs`: heatmap overlays, importance bars, per-feature value strips and PDP/ICE plots
//!   ([`heatmap_overlay`], [`importance_bars`], [`value_distribution`], [`pdp_plot`]).
//! - [`commands`]: the binary's commands as library calls, one file each with its flags, its
//!   report and its function: [`explain_run`], [`importance_run`], [`pdp_run`] and
//!   [`evaluate_quality`] (which gathers the quality metrics into one report).
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
pub mod commands;
mod error;
mod gradient;
mod perturbation;
mod plots;
mod quality;
mod tabular;

#[cfg(test)]
#[path = "../../../tests/support/figures.rs"]
pub(crate) mod figures;

/// Former name of [`commands`], kept so code written against 0.1 compiles.
pub use commands as job;

pub use attribution::{
    Attribution, Attributions, ModelOutput, check_batch, model_outputs, progress_bar,
    target_gradient, target_gradient_batched, target_outputs, to_host,
};
pub use commands::{
    EvaluateConfig, ExplainMethod, Explanation, ImportanceMethod, ImportanceReport, MethodQuality,
    PdpReport, QualityCheck, QualityReport, RandomizationResult, background_sample, default_out,
    evaluate_quality, explain_run, importance_run, pdp_run, resolve_feature,
};
pub use error::{InterpretError, Result};
pub use gradient::{
    Baseline, GradientXInput, GradientXInputConfig, IgConfig, IgMethod, IntegratedGradients,
    Saliency, SaliencyConfig, SmoothGrad, SmoothGradConfig, SmoothGradVariant,
    convergence_fraction, gauss_legendre, quadrature,
};
pub use perturbation::{
    FeatureAblation, FeatureAblationConfig, Occlusion, OcclusionConfig, perturbation_baseline,
};
pub use plots::{heatmap_overlay, importance_bars, pdp_plot, value_distribution};
pub use quality::{
    Curve, CurveConfig, CurveKind, Infidelity, InfidelityConfig, RandomizationStage, Sensitivity,
    SensitivityConfig, infidelity, model_layers, parameter_randomization, perturbation_curve,
    random_scores, randomize_top_layers, sensitivity_max, spearman,
};
pub use tabular::{
    CoalitionPlan, FeatureBins, KernelShap, KernelShapConfig, LimeConfig, LimeExplanation,
    LimeTabular, Metric, PartialDependence, PdpConfig, PermutationConfig, PermutationImportance,
    ShapValues, coalition_plan, grid_for, mean_abs, mquantile, partial_dependence,
    permutation_importance, permutation_importance_with, quartile_bins, ranking,
};
