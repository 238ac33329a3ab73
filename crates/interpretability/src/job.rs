//! The binary's commands as library calls: explain one test row, global importances, partial
//! dependence, and the quality report. Each writes its JSON (and PNGs) plus `config.json` with
//! the settings used, atomically, into an output folder.
//!
//! Data: explained rows come from the run's **test split** (`RunConfig::test_split`, rebuilt
//! with the run's split seed). Background and reference statistics come from the run's
//! **training split**: KernelSHAP's background is a seeded sample of `background` training rows
//! (default 100), LIME's discretiser is fitted on all training rows, PDP/ICE curves are computed
//! over (the first `rows` of) the training rows, and tabular baselines (IG, occlusion, deletion)
//! are the training means. Image baselines are 0 (black).

use std::path::{Path, PathBuf};
use std::time::Instant;

use aegis_model::burn::tensor::Device;
use aegis_model::io::write_json;
use aegis_model::{Classifier, Dataset, LoadedRun, predict};
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::attribution::{Attribution, Attributions};
use crate::error::{InterpretError, Result};
use crate::gradient_x_input::{GradientXInput, GradientXInputConfig};
use crate::integrated_gradients::{Baseline, IgConfig, IntegratedGradients};
use crate::kernel_shap::{KernelShap, KernelShapConfig, mean_abs};
use crate::lime::{LimeConfig, LimeTabular};
use crate::occlusion::{Occlusion, OcclusionConfig};
use crate::pdp::{PdpConfig, partial_dependence};
use crate::permutation::{PermutationConfig, permutation_importance};
use crate::plots::{heatmap_overlay, importance_bars, pdp_plot, value_distribution};
use crate::saliency::{Saliency, SaliencyConfig};
use crate::smoothgrad::{SmoothGrad, SmoothGradConfig};

/// The baseline of perturbation methods: 0 for images, the training means for tabular data.
pub fn perturbation_baseline(run: &LoadedRun) -> Vec<f32> {
    if run.is_image() {
        vec![0.0]
    } else {
        run.train.feature_stats().0
    }
}

/// The `explain` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ExplainMethod {
    /// |gradient| of the target logit.
    Saliency,
    /// Gradient × input.
    #[value(name = "grad-input")]
    GradInput,
    /// Integrated gradients (Gauss–Legendre).
    Ig,
    /// SmoothGrad.
    Smoothgrad,
    /// Sliding-window occlusion (4×4 windows, stride 2, for images; single features for tables).
    Occlusion,
}

/// `explanation.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Explanation {
    /// Method name.
    pub method: String,
    /// Test-row index.
    pub index: usize,
    /// The row's label.
    pub label: usize,
    /// The model's predicted class.
    pub predicted: usize,
    /// The explained class (the prediction unless chosen).
    pub target: usize,
    /// Sample shape.
    pub shape: Vec<usize>,
    /// Attributions (flat, row-major in `shape`).
    pub attributions: Vec<f32>,
    /// IG only: `Σ attributions − (f(x) − f(x′))`.
    pub convergence_delta: Option<f32>,
    /// IG only: `f(x) − f(x′)` of the target logit.
    pub output_difference: Option<f32>,
    /// Heatmap file name (images only).
    pub heatmap: Option<String>,
    /// Wall-clock seconds of the attribution.
    pub seconds: f64,
}

fn run_method<A: Attribution>(
    method: &A,
    run: &LoadedRun,
    x: &[f32],
    t: &[usize],
    device: &Device,
) -> Result<(String, Attributions)> {
    Ok((method.name(), method.attribute(&run.model, x, t, device)?))
}

/// Explains test row `index` of the run with `method` (`steps`: IG steps or SmoothGrad samples)
/// toward `target` (default: the predicted class); writes `out/explanation.json`,
/// `out/config.json` and, for images, `out/heatmap.png`.
pub fn explain_run(
    run: &LoadedRun,
    method: ExplainMethod,
    index: usize,
    steps: Option<usize>,
    target: Option<usize>,
    out: &Path,
    device: &Device,
) -> Result<Explanation> {
    if index >= run.test.len() {
        return Err(InterpretError::invalid(
            "index",
            format!(
                "{index} out of range (the test split has {} rows)",
                run.test.len()
            ),
        ));
    }
    run.check_class(target)?;
    let x = run.test.row(index).to_vec();
    let predicted = predict(&run.model, &x, 1, device)[0];
    let t = [target.unwrap_or(predicted)];
    let baseline = perturbation_baseline(run);
    let started = Instant::now();
    let (name, attr, config) = match method {
        ExplainMethod::Saliency => {
            let c = SaliencyConfig::new();
            let (n, a) = run_method(&Saliency::new(c.clone())?, run, &x, &t, device)?;
            (n, a, serde_json::to_value(&c))
        }
        ExplainMethod::GradInput => {
            let c = GradientXInputConfig::new();
            let (n, a) = run_method(&GradientXInput::new(c.clone())?, run, &x, &t, device)?;
            (n, a, serde_json::to_value(&c))
        }
        ExplainMethod::Ig => {
            let mut c = IgConfig::new().with_steps(steps.unwrap_or(50));
            if !run.is_image() {
                c = c.with_baseline(Baseline::Custom {
                    values: baseline.clone(),
                });
            }
            let (n, a) = run_method(&IntegratedGradients::new(c.clone())?, run, &x, &t, device)?;
            (n, a, serde_json::to_value(&c))
        }
        ExplainMethod::Smoothgrad => {
            let c = SmoothGradConfig::new().with_samples(steps.unwrap_or(50));
            let (n, a) = run_method(&SmoothGrad::new(c.clone())?, run, &x, &t, device)?;
            (n, a, serde_json::to_value(&c))
        }
        ExplainMethod::Occlusion => {
            let c = if run.is_image() {
                OcclusionConfig::new()
            } else {
                OcclusionConfig::new()
                    .with_window(vec![1])
                    .with_stride(vec![1])
                    .with_baseline(baseline.clone())
            };
            let (n, a) = run_method(&Occlusion::new(c.clone())?, run, &x, &t, device)?;
            (n, a, serde_json::to_value(&c))
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let config =
        config.map_err(|e| InterpretError::Shape(format!("cannot serialise the config: {e}")))?;
    let heatmap = if run.is_image() {
        heatmap_overlay(
            &out.join("heatmap.png"),
            &x,
            &attr.values,
            &run.test.sample_shape,
            10,
        )?;
        Some("heatmap.png".to_string())
    } else {
        importance_bars(
            &out.join("attributions.png"),
            &format!("{name}: test row {index}, class {}", t[0]),
            "attribution",
            &run.feature_names(),
            &attr.values.iter().map(|&v| v as f64).collect::<Vec<_>>(),
            None,
            20,
        )?;
        None
    };
    let e = Explanation {
        method: name,
        index,
        label: run.test.labels[index],
        predicted,
        target: t[0],
        shape: run.test.sample_shape.clone(),
        attributions: attr.values,
        convergence_delta: attr.convergence_delta.map(|d| d[0]),
        output_difference: attr.output_difference.map(|d| d[0]),
        heatmap,
        seconds,
    };
    write_json(
        &out.join("config.json"),
        &serde_json::json!({"method": method, "index": index, "target": t[0], "settings": config}),
    )?;
    write_json(&out.join("explanation.json"), &e)?;
    Ok(e)
}

/// The `importance` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ImportanceMethod {
    /// Permutation importance (drop of accuracy).
    Permutation,
    /// KernelSHAP of the target probability.
    #[value(name = "kernel-shap")]
    KernelShap,
    /// LIME (quartile-discretised) of the target probability.
    Lime,
}

/// `importance.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportanceReport {
    /// Method name.
    pub method: String,
    /// Feature names.
    pub features: Vec<String>,
    /// Per feature: mean importance (permutation) or mean |value| over the rows (SHAP/LIME).
    pub mean: Vec<f64>,
    /// Per feature: std over the repeats (permutation) or of |value| over the rows (SHAP/LIME).
    pub std: Vec<f64>,
    /// SHAP/LIME: per-row values `[rows][features]`.
    pub values: Option<Vec<Vec<f32>>>,
    /// SHAP/LIME: test-row indices explained.
    pub row_indices: Option<Vec<usize>>,
    /// SHAP/LIME: explained class per row.
    pub targets: Option<Vec<usize>>,
    /// SHAP: `E f(background)` per row; LIME: surrogate intercept per row.
    pub base_values: Option<Vec<f32>>,
    /// Permutation: accuracy on the unshuffled test rows.
    pub baseline_score: Option<f64>,
    /// Rows used.
    pub rows: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Global importances of the run's features on its test rows (the first `rows` of them;
/// default: all for permutation, 20 for SHAP/LIME), toward `target` (default: each row's
/// predicted class). Writes `importance.json`, `config.json`, `importance.png` and, for
/// SHAP/LIME, `values.png`. `progress` shows a bar over the explained rows.
#[allow(clippy::too_many_arguments)]
pub fn importance_run(
    run: &LoadedRun,
    method: ImportanceMethod,
    rows: Option<usize>,
    target: Option<usize>,
    seed: u64,
    out: &Path,
    progress: bool,
    device: &Device,
) -> Result<ImportanceReport> {
    run.check_class(target)?;
    if rows == Some(0) {
        return Err(InterpretError::invalid("rows", "must be at least 1"));
    }
    let f = run.test.dim();
    let names = run.feature_names();
    let started = Instant::now();
    let default_rows = if method == ImportanceMethod::Permutation {
        run.test.len()
    } else {
        20
    };
    let test = run.test.clone().head(Some(rows.unwrap_or(default_rows)));
    let n = test.len();
    let x = &test.features;
    let targets: Vec<usize> = match target {
        Some(t) => vec![t; n],
        None => predict(&run.model, x, 1024, device),
    };
    let spread = |values: &[f32], mean: &[f64]| -> Vec<f64> {
        (0..f)
            .map(|j| {
                let s: f64 = values
                    .chunks(f)
                    .map(|r| (r[j].abs() as f64 - mean[j]).powi(2))
                    .sum();
                (s / n as f64).sqrt()
            })
            .collect()
    };
    let (report, config) = match method {
        ImportanceMethod::Permutation => {
            let c = PermutationConfig::new().with_seed(seed);
            let p = permutation_importance(&run.model, x, &test.labels, &c, device)?;
            (
                ImportanceReport {
                    method: "permutation".into(),
                    features: names.clone(),
                    mean: p.mean,
                    std: p.std,
                    values: None,
                    row_indices: None,
                    targets: None,
                    base_values: None,
                    baseline_score: Some(p.baseline_score),
                    rows: n,
                    seconds: 0.0,
                },
                serde_json::to_value(&c),
            )
        }
        ImportanceMethod::KernelShap => {
            let c = KernelShapConfig::new().with_seed(seed);
            let bg = background_sample(&run.train, 100, seed);
            let s = KernelShap::new(c.clone())?
                .explain_with_progress(&run.model, x, &targets, &bg, device, progress)?;
            let mean = mean_abs(&s.values, f);
            (
                ImportanceReport {
                    method: "kernel-shap".into(),
                    features: names.clone(),
                    std: spread(&s.values, &mean),
                    mean,
                    values: Some(s.values.chunks(f).map(<[f32]>::to_vec).collect()),
                    row_indices: Some((0..n).collect()),
                    targets: Some(s.targets),
                    base_values: Some(s.base_values),
                    baseline_score: None,
                    rows: n,
                    seconds: 0.0,
                },
                serde_json::to_value(
                    serde_json::json!({"kernel_shap": c, "background_rows": 100, "background": "seeded sample of training rows"}),
                ),
            )
        }
        ImportanceMethod::Lime => {
            let c = LimeConfig::new().with_seed(seed);
            let lime = LimeTabular::new(c.clone(), &run.train.features, f)?;
            let e = lime.explain_with_progress(&run.model, x, &targets, device, progress)?;
            let values: Vec<f32> = e.iter().flat_map(|e| e.coefficients.clone()).collect();
            let mean = mean_abs(&values, f);
            (
                ImportanceReport {
                    method: "lime".into(),
                    features: names.clone(),
                    std: spread(&values, &mean),
                    mean,
                    values: Some(e.iter().map(|e| e.coefficients.clone()).collect()),
                    row_indices: Some((0..n).collect()),
                    targets: Some(targets.clone()),
                    base_values: Some(e.iter().map(|e| e.intercept).collect()),
                    baseline_score: None,
                    rows: n,
                    seconds: 0.0,
                },
                serde_json::to_value(&c),
            )
        }
    };
    let mut report = report;
    report.seconds = started.elapsed().as_secs_f64();
    let config =
        config.map_err(|e| InterpretError::Shape(format!("cannot serialise the config: {e}")))?;
    let label = match method {
        ImportanceMethod::Permutation => "drop in accuracy",
        _ => "mean |value|",
    };
    importance_bars(
        &out.join("importance.png"),
        &format!("{} importance", report.method),
        label,
        &names,
        &report.mean,
        Some(&report.std),
        20,
    )?;
    if let Some(v) = &report.values {
        let flat: Vec<f32> = v.iter().flatten().copied().collect();
        value_distribution(
            &out.join("values.png"),
            &format!("{} values per row", report.method),
            &names,
            &flat,
            x,
            20,
        )?;
    }
    write_json(
        &out.join("config.json"),
        &serde_json::json!({"method": method, "rows": n, "seed": seed, "target": target, "settings": config}),
    )?;
    write_json(&out.join("importance.json"), &report)?;
    Ok(report)
}

/// A seeded sample of `k` rows of `data` (all rows when it has at most `k`), row-major.
pub fn background_sample(data: &Dataset, k: usize, seed: u64) -> Vec<f32> {
    if data.len() <= k {
        return data.features.clone();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut idx = sample(&mut rng, data.len(), k).into_vec();
    idx.sort_unstable();
    data.select(&idx).features
}

/// Resolves a feature given as an index or a name.
pub fn resolve_feature(names: &[String], feature: &str) -> Result<usize> {
    if let Ok(i) = feature.parse::<usize>() {
        if i < names.len() {
            return Ok(i);
        }
        return Err(InterpretError::invalid(
            "feature",
            format!("{i} out of range ({} features)", names.len()),
        ));
    }
    names
        .iter()
        .position(|n| n == feature)
        .ok_or_else(|| InterpretError::invalid("feature", format!("no feature named `{feature}`")))
}

/// `pdp.json`: partial dependence with its feature name and class.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PdpReport {
    /// Feature index.
    pub feature: usize,
    /// Feature name.
    pub feature_name: String,
    /// Class whose probability is averaged.
    pub target: usize,
    /// Grid values.
    pub grid: Vec<f32>,
    /// Partial dependence per grid value.
    pub average: Vec<f32>,
    /// ICE curves `[rows][grid]`.
    pub individual: Vec<Vec<f32>>,
    /// Training rows used.
    pub rows: usize,
}

/// Partial dependence and ICE of `feature` (index or name) over the first `rows` training rows
/// (default 500) for the probability of `target` (default: class 1 of a binary task, else 0).
/// Writes `pdp.json`, `pdp.png`, `config.json`.
pub fn pdp_run(
    run: &LoadedRun,
    feature: &str,
    rows: Option<usize>,
    target: Option<usize>,
    out: &Path,
    device: &Device,
) -> Result<PdpReport> {
    run.check_class(target)?;
    if rows == Some(0) {
        return Err(InterpretError::invalid("rows", "must be at least 1"));
    }
    let names = run.feature_names();
    let j = resolve_feature(&names, feature)?;
    let data = run.train.clone().head(Some(rows.unwrap_or(500)));
    let c = run.model.num_classes();
    let t = target.unwrap_or(if c == 2 { 1 } else { 0 });
    let f = data.dim();
    let config = PdpConfig::new()
        .with_target(t)
        .with_batch_size((4_000_000 / f).max(data.len()));
    let pd = partial_dependence(&run.model, &data.features, j, &config, device)?;
    pdp_plot(
        &out.join("pdp.png"),
        &pd,
        &names[j],
        &format!("P(class {t})"),
        50,
    )?;
    let report = PdpReport {
        feature: j,
        feature_name: names[j].clone(),
        target: t,
        grid: pd.grid,
        average: pd.average,
        individual: pd.individual,
        rows: data.len(),
    };
    write_json(
        &out.join("config.json"),
        &serde_json::json!({"feature": j, "rows": data.len(), "data": "training rows", "settings": config}),
    )?;
    write_json(&out.join("pdp.json"), &report)?;
    Ok(report)
}

/// Default output folder `runs/<run name>-<what>`.
pub fn default_out(run: &Path, what: &str) -> PathBuf {
    let name = run
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    PathBuf::from("runs").join(format!("{name}-{what}"))
}
