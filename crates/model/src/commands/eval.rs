//! `aegis-model eval`: accuracy of a run on a test split, written to `RUN/eval.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::classifier::{Classifier, accuracy};
use crate::data::{DataSource, Dataset};
use crate::device::DeviceSpec;
use crate::error::{ModelError, Result};
use crate::io::write_json;
use crate::models::Model;
use crate::run::RunDir;

/// Flags of `aegis-model eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Run directory written by `train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Data to evaluate on (default: the run's own data and split).
    #[arg(long)]
    pub data: Option<DataSource>,
    /// Evaluate the weights even when training did not finish (the last completed epoch's
    /// checkpoint of a killed run); the report says so.
    #[arg(long)]
    pub checkpoint: bool,
}

impl EvalArgs {
    /// Evaluates and prints the accuracy and where `eval.json` went.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let r = evaluate_run_with(&self.run, self.data, device, self.checkpoint)?;
        let what = if r.incomplete {
            "checkpoint of an unfinished run: "
        } else {
            ""
        };
        println!(
            "{what}test accuracy {:.2}% on {} rows of {} ({}); written to {}",
            100.0 * r.test_accuracy,
            r.n,
            r.data,
            r.device,
            self.run.join("eval.json").display()
        );
        Ok(())
    }
}

/// `eval.json`: accuracy of a run on a data set's test split.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalReport {
    /// Accuracy (fraction).
    pub test_accuracy: f64,
    /// Rows evaluated.
    pub n: usize,
    /// Data source.
    pub data: String,
    /// Device.
    pub device: String,
    /// Seconds spent in inference.
    pub seconds: f64,
    /// The run's training did not finish: these are its last completed epoch's weights.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
}

/// Evaluates a run on the test split of `data` (default: the run's own data and split) and
/// writes `DIR/eval.json`.
pub fn evaluate_run(
    dir: &Path,
    data: Option<DataSource>,
    device_spec: DeviceSpec,
) -> Result<EvalReport> {
    evaluate_run_with(dir, data, device_spec, false)
}

/// [`evaluate_run`]; with `checkpoint`, also the last completed epoch of an unfinished run
/// (an incomplete run is otherwise an error).
pub fn evaluate_run_with(
    dir: &Path,
    data: Option<DataSource>,
    device_spec: DeviceSpec,
    checkpoint: bool,
) -> Result<EvalReport> {
    let device = device_spec.open()?;
    let run = RunDir::new(dir);
    let incomplete = run.check_complete().is_err();
    let (model, config) = if checkpoint {
        run.load_checkpoint(&device)?
    } else {
        run.load_model(&device)?
    };
    let source = data.unwrap_or_else(|| config.data.source.clone());
    let test = config.test_split(Some(&source))?;
    check_fits(&model, &test)?;
    let start = Instant::now();
    let acc = accuracy(
        &model,
        &test.features,
        &test.labels,
        config.train.eval_batch_size,
        &device,
    );
    let report = EvalReport {
        test_accuracy: acc,
        n: test.len(),
        data: source.to_string(),
        device: device_spec.to_string(),
        seconds: start.elapsed().as_secs_f64(),
        incomplete,
    };
    write_json(&dir.join("eval.json"), &report)?;
    Ok(report)
}

fn check_fits(model: &Model, data: &Dataset) -> Result<()> {
    if data.dim() != model.input_dim() {
        return Err(ModelError::Incompatible(format!(
            "the model takes {} features per sample, the data has {}",
            model.input_dim(),
            data.dim()
        )));
    }
    Ok(())
}
