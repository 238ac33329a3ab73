//! A run opened for a command that works on its test rows (`evaluate`, `certify`): the model on
//! its device, the run's config and the first `--limit` rows of its test split.

use std::path::{Path, PathBuf};

use aegis_model::burn::tensor::Device;
use aegis_model::{Dataset, DeviceSpec, Model, RunConfig, RunDir};

use crate::error::Result;

/// A run directory opened on a device, with the test rows a command works on.
pub struct OpenedRun {
    /// The run directory as given on the command line.
    pub run: PathBuf,
    /// The run directory, for reading its weights' hash.
    pub run_dir: RunDir,
    /// The model, loaded on `device`.
    pub model: Model,
    /// The run's `config.json`.
    pub config: RunConfig,
    /// The first `limit` rows of the run's test split (all of them without a limit).
    pub data: Dataset,
    /// The device the model lives on.
    pub device: Device,
}

/// Opens the run at `run` on `device`: its model, config and the first `limit` test rows.
pub fn open_test_rows(run: &Path, limit: Option<usize>, device: DeviceSpec) -> Result<OpenedRun> {
    let device = device.open()?;
    let run_dir = RunDir::new(run);
    let (model, config) = run_dir.load_model(&device)?;
    let data = config.test_split(None)?.head(limit);
    Ok(OpenedRun {
        run: run.to_path_buf(),
        run_dir,
        model,
        config,
        data,
        device,
    })
}
