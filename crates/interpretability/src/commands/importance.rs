//! The `importance` command: global feature importance on the run's test rows by permutation
//! importance, KernelSHAP or LIME; writes `importance.json`, `config.json` with the settings
//! used, `importance.png` and, for SHAP/LIME, `values.png`, atomically.
//!
//! Data: explained rows come from the run's **test split**. Background and reference statistics
//! come from the run's **training split**: KernelSHAP's background is a seeded sample of 100
//! training rows ([`background_sample`]), LIME's discretiser is fitted on all training rows.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aegis_model::burn::tensor::Device;
use aegis_model::io::write_json;
use aegis_model::{Dataset, DeviceSpec, LoadedRun, predict};
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::args::default_out;
use crate::error::{InterpretError, Result};
use crate::plots::{importance_bars, value_distribution};
use crate::tabular::{
    KernelShap, KernelShapConfig, LimeConfig, LimeTabular, PermutationConfig, mean_abs,
    permutation_importance, ranking,
};

/// The flags of `importance`.
#[derive(clap::Args, Debug)]
pub struct ImportanceArgs {
    /// Run directory.
    #[arg(long)]
    pub run: PathBuf,
    /// permutation | kernel-shap | lime.
    #[arg(long)]
    pub method: ImportanceMethod,
    /// Test rows [default: all for permutation, 20 for SHAP/LIME].
    #[arg(long)]
    pub rows: Option<usize>,
    /// Explained class for SHAP/LIME [default: each row's predicted class].
    #[arg(long)]
    pub target: Option<usize>,
    /// Seed of shuffles, coalitions, neighbourhoods and the background sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    // `--help` shows this line as written; rustdoc would read `<run>` as an HTML tag.
    #[allow(rustdoc::invalid_html_tags)]
    /// Output folder [default: runs/<run>-importance].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl ImportanceArgs {
    /// Opens the run on `device`, computes the importances with [`importance_run`] (with a
    /// progress bar) and prints the top five features.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let ImportanceArgs {
            run,
            method,
            rows,
            target,
            seed,
            out,
        } = self;
        let out = out.unwrap_or_else(|| default_out(&run, "importance"));
        let loaded = LoadedRun::open(&run, device)?;
        let device = loaded.device.clone();
        let r = importance_run(&loaded, method, rows, target, seed, &out, true, &device)?;
        println!(
            "{} on {} test rows in {:.2}s; top features:",
            r.method, r.rows, r.seconds
        );
        for j in ranking(&r.mean).into_iter().take(5) {
            println!("  {:<28} {:.4} ± {:.4}", r.features[j], r.mean[j], r.std[j]);
        }
        println!("written to {}", out.display());
        Ok(())
    }
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

/// A report of one method and its settings as JSON (serialised by the caller).
type MethodReport = (ImportanceReport, serde_json::Result<serde_json::Value>);

/// Test rows SHAP and LIME explain when `--rows` is not given (each row is a local fit).
pub const LOCAL_METHOD_ROWS: usize = 20;

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
    let names = run.feature_names();
    let started = Instant::now();
    let default_rows = if method == ImportanceMethod::Permutation {
        run.test.len()
    } else {
        LOCAL_METHOD_ROWS
    };
    let test = run.test.clone().head(Some(rows.unwrap_or(default_rows)));
    let targets: Vec<usize> = match target {
        Some(t) => vec![t; test.len()],
        None => predict(&run.model, &test.features, 1024, device),
    };
    let (report, config) = match method {
        ImportanceMethod::Permutation => permutation_report(run, &test, &names, seed, device)?,
        ImportanceMethod::KernelShap => {
            kernel_shap_report(run, &test, &names, &targets, seed, progress, device)?
        }
        ImportanceMethod::Lime => {
            lime_report(run, &test, &names, &targets, seed, progress, device)?
        }
    };
    let mut report = report;
    report.seconds = started.elapsed().as_secs_f64();
    let config =
        config.map_err(|e| InterpretError::Shape(format!("cannot serialise the config: {e}")))?;
    plot_importance(&report, method, &names, &test.features, out)?;
    write_json(
        &out.join("config.json"),
        &serde_json::json!({"method": method, "rows": test.len(), "seed": seed, "target": target, "settings": config}),
    )?;
    write_json(&out.join("importance.json"), &report)?;
    Ok(report)
}

/// Permutation importance (drop of accuracy) of the `test` rows.
fn permutation_report(
    run: &LoadedRun,
    test: &Dataset,
    names: &[String],
    seed: u64,
    device: &Device,
) -> Result<MethodReport> {
    let c = PermutationConfig::new().with_seed(seed);
    let p = permutation_importance(&run.model, &test.features, &test.labels, &c, device)?;
    Ok((
        ImportanceReport {
            method: "permutation".into(),
            features: names.to_vec(),
            mean: p.mean,
            std: p.std,
            values: None,
            row_indices: None,
            targets: None,
            base_values: None,
            baseline_score: Some(p.baseline_score),
            rows: test.len(),
            seconds: 0.0,
        },
        serde_json::to_value(&c),
    ))
}

/// KernelSHAP values of the `test` rows against a seeded background of 100 training rows.
fn kernel_shap_report(
    run: &LoadedRun,
    test: &Dataset,
    names: &[String],
    targets: &[usize],
    seed: u64,
    progress: bool,
    device: &Device,
) -> Result<MethodReport> {
    let (n, f) = (test.len(), run.test.dim());
    let c = KernelShapConfig::new().with_seed(seed);
    let bg = background_sample(&run.train, 100, seed);
    let s = KernelShap::new(c.clone())?.explain_with_progress(
        &run.model,
        &test.features,
        targets,
        &bg,
        device,
        progress,
    )?;
    let mean = mean_abs(&s.values, f);
    Ok((
        ImportanceReport {
            method: "kernel-shap".into(),
            features: names.to_vec(),
            std: abs_spread(&s.values, &mean, f, n),
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
    ))
}

/// LIME coefficients of the `test` rows, the discretiser fitted on all training rows.
fn lime_report(
    run: &LoadedRun,
    test: &Dataset,
    names: &[String],
    targets: &[usize],
    seed: u64,
    progress: bool,
    device: &Device,
) -> Result<MethodReport> {
    let (n, f) = (test.len(), run.test.dim());
    let c = LimeConfig::new().with_seed(seed);
    let lime = LimeTabular::new(c.clone(), &run.train.features, f)?;
    let e = lime.explain_with_progress(&run.model, &test.features, targets, device, progress)?;
    let values: Vec<f32> = e.iter().flat_map(|e| e.coefficients.clone()).collect();
    let mean = mean_abs(&values, f);
    Ok((
        ImportanceReport {
            method: "lime".into(),
            features: names.to_vec(),
            std: abs_spread(&values, &mean, f, n),
            mean,
            values: Some(e.iter().map(|e| e.coefficients.clone()).collect()),
            row_indices: Some((0..n).collect()),
            targets: Some(targets.to_vec()),
            base_values: Some(e.iter().map(|e| e.intercept).collect()),
            baseline_score: None,
            rows: n,
            seconds: 0.0,
        },
        serde_json::to_value(&c),
    ))
}

/// Per feature, the (population) standard deviation of `|value|` over the `n` rows of `values`
/// (`[n, f]`) around `mean`.
fn abs_spread(values: &[f32], mean: &[f64], f: usize, n: usize) -> Vec<f64> {
    (0..f)
        .map(|j| {
            let s: f64 = values
                .chunks(f)
                .map(|r| (r[j].abs() as f64 - mean[j]).powi(2))
                .sum();
            (s / n as f64).sqrt()
        })
        .collect()
}

/// `importance.png` (the top 20 features with their spread) and, for SHAP/LIME, `values.png`
/// (per-row values against the feature values `x`).
fn plot_importance(
    report: &ImportanceReport,
    method: ImportanceMethod,
    names: &[String],
    x: &[f32],
    out: &Path,
) -> Result<()> {
    let label = match method {
        ImportanceMethod::Permutation => "drop in accuracy",
        _ => "mean |value|",
    };
    importance_bars(
        &out.join("importance.png"),
        &format!("{} importance", report.method),
        label,
        names,
        &report.mean,
        Some(&report.std),
        20,
    )?;
    if let Some(v) = &report.values {
        let flat: Vec<f32> = v.iter().flatten().copied().collect();
        value_distribution(
            &out.join("values.png"),
            &format!("{} values per row", report.method),
            names,
            &flat,
            x,
            20,
        )?;
    }
    Ok(())
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
