//! The `pdp` command: partial dependence and ICE curves of one feature over the run's
//! **training** rows (the first `rows` of them); writes `pdp.json`, `pdp.png` and `config.json`
//! with the settings used, atomically.

use std::path::{Path, PathBuf};

use aegis_model::burn::tensor::Device;
use aegis_model::io::write_json;
use aegis_model::{Classifier, DeviceSpec, LoadedRun};
use serde::{Deserialize, Serialize};

use super::args::default_out;
use crate::error::{InterpretError, Result};
use crate::plots::pdp_plot;
use crate::tabular::{PdpConfig, partial_dependence};

/// The flags of `pdp`.
#[derive(clap::Args, Debug)]
pub struct PdpArgs {
    /// Run directory.
    #[arg(long)]
    pub run: PathBuf,
    /// Feature index or name.
    #[arg(long)]
    pub feature: String,
    /// Training rows [default: 500].
    #[arg(long)]
    pub rows: Option<usize>,
    /// Class whose probability is averaged [default: 1 for binary tasks, else 0].
    #[arg(long)]
    pub target: Option<usize>,
    // `--help` shows this line as written; rustdoc would read `<run>` as an HTML tag.
    #[allow(rustdoc::invalid_html_tags)]
    /// Output folder [default: runs/<run>-pdp].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl PdpArgs {
    /// Opens the run on `device`, computes the curves with [`pdp_run`] and prints their range.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let PdpArgs {
            run,
            feature,
            rows,
            target,
            out,
        } = self;
        let out = out.unwrap_or_else(|| default_out(&run, "pdp"));
        let loaded = LoadedRun::open(&run, device)?;
        let device = loaded.device.clone();
        let p = pdp_run(&loaded, &feature, rows, target, &out, &device)?;
        println!(
            "partial dependence of P(class {}) on {} over {} rows: {} grid points, {:.4} .. {:.4}",
            p.target,
            p.feature_name,
            p.rows,
            p.grid.len(),
            p.average.first().copied().unwrap_or(f32::NAN),
            p.average.last().copied().unwrap_or(f32::NAN)
        );
        println!("written to {}", out.display());
        Ok(())
    }
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

/// Training rows `pdp` averages over when `--rows` is not given.
pub const DEFAULT_ROWS: usize = 500;

/// The class whose probability `pdp` averages when `--target` is not given: class 1 of a
/// binary task (the "positive" class), else class 0.
pub fn default_target(classes: usize) -> usize {
    if classes == 2 { 1 } else { 0 }
}

/// Partial dependence and ICE of `feature` (index or name) over the first `rows` training rows
/// (default [`DEFAULT_ROWS`]) for the probability of `target` (default: [`default_target`]).
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
    let data = run.train.clone().head(Some(rows.unwrap_or(DEFAULT_ROWS)));
    let t = target.unwrap_or(default_target(run.model.num_classes()));
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
