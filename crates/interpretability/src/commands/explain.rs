//! The `explain` command: attribute one test row's prediction to its input features with a
//! gradient or perturbation method; writes `explanation.json`, `config.json` with the settings
//! used and a figure (`heatmap.png` for images, `attributions.png` for tables), atomically.
//!
//! Data: the explained row comes from the run's **test split** (`RunConfig::test_split`,
//! rebuilt with the run's split seed). Tabular baselines (IG, occlusion) are the training means;
//! image baselines are 0 (black) ([`perturbation_baseline`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use aegis_model::burn::tensor::Device;
use aegis_model::io::write_json;
use aegis_model::{DeviceSpec, LoadedRun, predict};
use serde::{Deserialize, Serialize};

use super::args::default_out;
use crate::attribution::{Attribution, Attributions, MAX_PATH_SAMPLES, check_count};
use crate::error::{InterpretError, Result};
use crate::gradient::{
    Baseline, GradientXInput, GradientXInputConfig, IgConfig, IntegratedGradients, Saliency,
    SaliencyConfig, SmoothGrad, SmoothGradConfig,
};
use crate::perturbation::{Occlusion, OcclusionConfig, perturbation_baseline};
use crate::plots::{heatmap_overlay, importance_bars};

/// The flags of `explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// Run directory (from `aegis-model train`).
    #[arg(long)]
    pub run: PathBuf,
    /// saliency | grad-input | ig | smoothgrad | occlusion.
    #[arg(long)]
    pub method: ExplainMethod,
    /// Index of the row in the run's test split.
    #[arg(long)]
    pub index: usize,
    /// IG quadrature points [default: 50] or SmoothGrad samples [default: 50].
    #[arg(long)]
    pub steps: Option<usize>,
    /// Explained class [default: the predicted class].
    #[arg(long)]
    pub target: Option<usize>,
    // `--help` shows this line as written; rustdoc would read `<run>` as an HTML tag.
    #[allow(rustdoc::invalid_html_tags)]
    /// Output folder [default: runs/<run>-explain].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl ExplainArgs {
    /// Opens the run on `device`, explains the row with [`explain_run`] and prints a summary.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let ExplainArgs {
            run,
            method,
            index,
            steps,
            target,
            out,
        } = self;
        let out = out.unwrap_or_else(|| default_out(&run, "explain"));
        let loaded = LoadedRun::open(&run, device)?;
        let device = loaded.device.clone();
        let e = explain_run(&loaded, method, index, steps, target, &out, &device)?;
        println!(
            "{} of test row {} (label {}, predicted {}, target {}) in {:.2}s",
            e.method, e.index, e.label, e.predicted, e.target, e.seconds
        );
        if let (Some(d), Some(o)) = (e.convergence_delta, e.output_difference) {
            println!(
                "convergence delta {d:.3e} for f(x) − f(x′) = {o:.4} ({:.3}%)",
                100.0 * d.abs() / o.abs().max(1e-12)
            );
        }
        println!("written to {}", out.display());
        Ok(())
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
    if let Some(k) = steps {
        // Checked whichever method runs: a nonsensical flag is refused even where it is unused.
        check_count("steps", k, MAX_PATH_SAMPLES)?;
    }
    let x = run.test.row(index).to_vec();
    let predicted = predict(&run.model, &x, 1, device)[0];
    let t = [target.unwrap_or(predicted)];
    let baseline = perturbation_baseline(run);
    let started = Instant::now();
    let (name, attr, config) = attribute_row(run, method, steps, baseline, &x, &t, device)?;
    let seconds = started.elapsed().as_secs_f64();
    let config =
        config.map_err(|e| InterpretError::Shape(format!("cannot serialise the config: {e}")))?;
    let heatmap = plot_explanation(run, &name, index, t[0], &x, &attr, out)?;
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

/// Builds `method` for the run's data (`baseline`: IG's and occlusion's on tables) and
/// attributes row `x` toward `t`: the method's name, its attributions and its settings as JSON.
fn attribute_row(
    run: &LoadedRun,
    method: ExplainMethod,
    steps: Option<usize>,
    baseline: Vec<f32>,
    x: &[f32],
    t: &[usize],
    device: &Device,
) -> Result<(String, Attributions, serde_json::Result<serde_json::Value>)> {
    Ok(match method {
        ExplainMethod::Saliency => {
            let c = SaliencyConfig::new();
            let (n, a) = run_method(&Saliency::new(c.clone())?, run, x, t, device)?;
            (n, a, serde_json::to_value(&c))
        }
        ExplainMethod::GradInput => {
            let c = GradientXInputConfig::new();
            let (n, a) = run_method(&GradientXInput::new(c.clone())?, run, x, t, device)?;
            (n, a, serde_json::to_value(&c))
        }
        ExplainMethod::Ig => {
            let mut c = IgConfig::new();
            c.steps = steps.unwrap_or(c.steps);
            if !run.is_image() {
                c = c.with_baseline(Baseline::Custom {
                    values: baseline.clone(),
                });
            }
            let (n, a) = run_method(&IntegratedGradients::new(c.clone())?, run, x, t, device)?;
            (n, a, serde_json::to_value(&c))
        }
        ExplainMethod::Smoothgrad => {
            let mut c = SmoothGradConfig::new();
            c.samples = steps.unwrap_or(c.samples);
            let (n, a) = run_method(&SmoothGrad::new(c.clone())?, run, x, t, device)?;
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
            let (n, a) = run_method(&Occlusion::new(c.clone())?, run, x, t, device)?;
            (n, a, serde_json::to_value(&c))
        }
    })
}

/// Draws the attributions of row `x` (method `name`, test row `index`, class `target`):
/// `heatmap.png` for images (its file name is returned), `attributions.png` (the top 20
/// features) for tables.
fn plot_explanation(
    run: &LoadedRun,
    name: &str,
    index: usize,
    target: usize,
    x: &[f32],
    attr: &Attributions,
    out: &Path,
) -> Result<Option<String>> {
    Ok(if run.is_image() {
        heatmap_overlay(
            &out.join("heatmap.png"),
            x,
            &attr.values,
            &run.test.sample_shape,
            10,
        )?;
        Some("heatmap.png".to_string())
    } else {
        importance_bars(
            &out.join("attributions.png"),
            &format!("{name}: test row {index}, class {target}"),
            "attribution",
            &run.feature_names(),
            &attr.values.iter().map(|&v| v as f64).collect::<Vec<_>>(),
            None,
            20,
        )?;
        None
    })
}
