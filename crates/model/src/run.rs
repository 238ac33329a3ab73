//! Run directories: what `train` writes and every other Aegis command reads.
//!
//! ```text
//! DIR/model.bpk     weights (burnpack, burn's native format)
//! DIR/config.json   RunConfig: model, training and data settings, to rebuild and reproduce
//! DIR/metrics.json  Metrics: test accuracy, per-epoch loss/accuracy, seed, device, wall time
//! ```
//! All three are written atomically (temp file + rename). `config.json` is read strictly:
//! unknown fields and wrong types are errors naming the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::classifier::Classifier;
use crate::data::{DataSource, Dataset, InputDomain, ModelClasses, Split, SplitInfo};
use crate::device::DeviceSpec;
use crate::error::{ModelError, Result};
use crate::io::{read_json_strict, write_atomic_with, write_json};
use crate::models::{Architecture, Model, ModelConfig, load_onnx};
use crate::train::TrainConfig;

/// Weights file name inside a run directory.
pub const WEIGHTS_FILE: &str = "model.bpk";
/// Configuration file name inside a run directory.
pub const CONFIG_FILE: &str = "config.json";
/// Metrics file name inside a run directory.
pub const METRICS_FILE: &str = "metrics.json";

/// Where the data came from and how it was split.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// The `--data` source.
    pub source: DataSource,
    /// The split.
    pub split: SplitInfo,
    /// Feature names of tabular data, in model input order (empty for images).
    #[serde(default)]
    pub feature_names: Vec<String>,
    /// Class names, by class index.
    #[serde(default)]
    pub class_names: Vec<String>,
    /// The input domain measured on the training split (runs written before it was recorded
    /// rebuild it from their split: [`RunConfig::input_domain`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<InputDomain>,
}

/// Everything needed to rebuild a run's model and reproduce its training: `config.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Architecture and shapes.
    pub model: ModelConfig,
    /// Training hyper-parameters.
    pub train: TrainConfig,
    /// Data source and split.
    pub data: DataConfig,
    /// Device the run trained on (`flex`, `wgpu:0`, …).
    pub device: String,
    /// Version of Aegis that wrote it.
    pub aegis_version: String,
    /// Settings of other crates that trained this run (e.g. the adversarial-training recipe),
    /// keyed by crate. Empty for plain training.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, serde_json::Value>,
}

impl RunConfig {
    /// The test split of `source` (default: the run's own data), rebuilt with the run's split
    /// seed and fraction, so every command evaluates on the rows the run never trained on.
    pub fn test_split(&self, source: Option<&DataSource>) -> Result<crate::data::Dataset> {
        Ok(self.split(source)?.test)
    }

    /// The run's input domain: the recorded one, or (older runs) the one of its rebuilt
    /// training split.
    pub fn input_domain(&self) -> Result<InputDomain> {
        match &self.data.domain {
            Some(d) => Ok(d.clone()),
            None => Ok(InputDomain::of(&self.split(None)?.train)),
        }
    }

    /// The run's train and test split of `source` (default: the run's own data), rebuilt with
    /// the run's split seed and fraction, labelled in the model's classes: both parts carry
    /// the model's class count and names ([`RunConfig::classes`]) whichever classes their rows
    /// use, and a label the model cannot output is an error naming the data and the row.
    pub fn split(&self, source: Option<&DataSource>) -> Result<Split> {
        let source = source.unwrap_or(&self.data.source);
        let (split, _) = source.load_split_for(
            self.data.split.seed,
            self.data.split.test_fraction.clamp(0.01, 0.99),
            &self.classes(),
        )?;
        Ok(split)
    }

    /// The model's classes: its output width and the class names `config.json` records.
    pub fn classes(&self) -> ModelClasses<'_> {
        ModelClasses {
            count: self.model.num_classes,
            names: &self.data.class_names,
        }
    }
}

/// Loss and accuracy of one epoch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub loss: f64,
    /// Training accuracy over the epoch's batches (as trained, dropout on).
    pub train_accuracy: f64,
    /// Accuracy on the test split after the epoch.
    pub test_accuracy: f64,
    /// Learning rate used in the epoch.
    pub learning_rate: f64,
    /// Wall-clock seconds of the epoch (training and evaluation).
    pub seconds: f64,
}

/// `metrics.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Metrics {
    /// Final test accuracy (fraction in [0, 1]).
    pub test_accuracy: f64,
    /// Per-epoch history.
    pub epochs: Vec<EpochMetrics>,
    /// Training seed.
    pub seed: u64,
    /// Device.
    pub device: String,
    /// Wall-clock seconds of the whole training.
    pub wall_seconds: f64,
    /// Training rows.
    pub n_train: usize,
    /// Test rows.
    pub n_test: usize,
}

/// A run directory on disk.
///
/// # Example
///
/// Train a small MLP for one epoch into a folder, then open it as every command does: a run
/// is complete once `metrics.json` is written, and its weights load into the model its
/// `config.json` describes.
///
/// ```
/// use aegis_model::{Architecture, DataSource, RunDir, TrainConfig, TrainRequest, train_run};
///
/// let dir = tempfile::tempdir()?;
/// let mut request = TrainRequest::new(DataSource::Moons);
/// request.architecture = Some(Architecture::Mlp);
/// request.train = TrainConfig::new().with_epochs(1);
/// request.out = Some(dir.path().join("moons"));
/// train_run(&request)?;
///
/// let run = RunDir::new(dir.path().join("moons"));
/// run.check_complete()?;
/// let (model, config) = run.load_model(&request.device.open()?)?;
/// let metrics = run.load_metrics()?;
/// assert_eq!(config.model.num_classes, 2);
/// assert!((0.0..=1.0).contains(&metrics.test_accuracy));
/// # drop(model);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Refers to `root` (nothing is read or created yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// Path of the weights file.
    pub fn weights_path(&self) -> PathBuf {
        self.root.join(WEIGHTS_FILE)
    }
    /// Path of `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }
    /// Path of `metrics.json`.
    pub fn metrics_path(&self) -> PathBuf {
        self.root.join(METRICS_FILE)
    }

    /// SHA-256 (hex) of `model.bpk`: the identity of the trained model in reports, queues and
    /// audit logs.
    pub fn weights_sha256(&self) -> Result<String> {
        crate::io::file_sha256(&self.weights_path())
    }

    /// Writes `config.json` atomically.
    pub fn save_config(&self, config: &RunConfig) -> Result<()> {
        write_json(&self.config_path(), config)
    }
    /// Reads `config.json` strictly and validates the model part.
    pub fn load_config(&self) -> Result<RunConfig> {
        let path = self.config_path();
        let config: RunConfig = read_json_strict(&path)?;
        config.model.validate().map_err(|e| ModelError::Config {
            path: path.clone(),
            fault: e.to_string(),
        })?;
        config.train.validate().map_err(|e| ModelError::Config {
            path,
            fault: e.to_string(),
        })?;
        Ok(config)
    }
    /// Writes `metrics.json` atomically.
    pub fn save_metrics(&self, metrics: &Metrics) -> Result<()> {
        write_json(&self.metrics_path(), metrics)
    }
    /// Reads `metrics.json`.
    pub fn load_metrics(&self) -> Result<Metrics> {
        read_json_strict(&self.metrics_path())
    }

    /// Writes the weights atomically (burnpack to a temp file, then rename), with the
    /// parameter ids of [`crate::param_ids::renumbered`], so the same weights give the same
    /// bytes.
    pub fn save_weights(&self, model: &Model) -> Result<()> {
        let model = crate::param_ids::renumbered(model.clone());
        write_atomic_with(&self.weights_path(), move |tmp| {
            model
                .save_file(tmp)
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
    }

    /// Rebuilds the model from `config.json` and loads its weights on `device`.
    pub fn load_model(&self, device: &Device) -> Result<(Model, RunConfig)> {
        // A corrupt config.json is named before the run's completeness.
        self.load_config()?;
        self.check_complete()?;
        self.load_checkpoint(device)
    }

    /// Like [`RunDir::load_model`], but also for an incomplete run: its last completed epoch's
    /// checkpoint. Only for a user who asked for it explicitly.
    pub fn load_checkpoint(&self, device: &Device) -> Result<(Model, RunConfig)> {
        let config = self.load_config()?;
        let model = load_weights(&config.model, &self.weights_path(), device)?;
        Ok((model, config))
    }

    /// An error when training wrote weights but never finished (no `metrics.json`: killed,
    /// crashed, or still running). Training writes `metrics.json` last, atomically.
    pub fn check_complete(&self) -> Result<()> {
        if self.weights_path().is_file() && !self.metrics_path().is_file() {
            return Err(ModelError::IncompleteRun {
                dir: self.root.clone(),
            });
        }
        Ok(())
    }
}

/// A run opened for analysis (what the uncertainty, interpretability and oversight commands
/// work on): its model, `config.json`, the rebuilt train and test splits, and the device.
#[derive(Debug)]
pub struct LoadedRun {
    /// The run directory.
    pub dir: RunDir,
    /// The trained model, on `device`.
    pub model: Model,
    /// Its `config.json`.
    pub config: RunConfig,
    /// The training rows (backgrounds, statistics, ensemble retraining).
    pub train: Dataset,
    /// The held-out test rows (what is evaluated or explained).
    pub test: Dataset,
    /// The open device.
    pub device: Device,
    /// The `--device` flag it was opened from.
    pub spec: DeviceSpec,
}

impl LoadedRun {
    /// Opens `spec` and loads the run in `dir` with its split; a missing directory is an error
    /// naming it.
    pub fn open(dir: &Path, spec: DeviceSpec) -> Result<Self> {
        if !dir.is_dir() {
            return Err(ModelError::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "run directory not found"),
            ));
        }
        let device = spec.open()?;
        let run = RunDir::new(dir);
        let (model, config) = run.load_model(&device)?;
        let split = config.split(None)?;
        Ok(Self {
            dir: run,
            model,
            config,
            train: split.train,
            test: split.test,
            device,
            spec,
        })
    }

    /// True for image data (samples of rank ≥ 2).
    pub fn is_image(&self) -> bool {
        self.test.sample_shape.len() >= 2
    }

    /// One name per flat feature: the data's names, or `pixel_<j>` for images.
    pub fn feature_names(&self) -> Vec<String> {
        if self.test.feature_names.len() == self.test.dim() {
            self.test.feature_names.clone()
        } else {
            (0..self.test.dim()).map(|j| format!("pixel_{j}")).collect()
        }
    }

    /// Checks that an optional class index (e.g. a `--target` flag) exists.
    pub fn check_class(&self, class: Option<usize>) -> Result<()> {
        match class {
            Some(t) if t >= self.model.num_classes() => Err(ModelError::invalid(
                "target",
                format!(
                    "class {t} out of range (the model has {} classes)",
                    self.model.num_classes()
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// Builds a model from `config` and loads weights from `path`, with clear errors for a missing,
/// corrupt or mismatching file.
pub fn load_weights(config: &ModelConfig, path: &Path, device: &Device) -> Result<Model> {
    let bad = |fault: String| ModelError::Checkpoint {
        path: path.to_path_buf(),
        fault,
    };
    if !path.is_file() {
        return Err(bad("file not found".into()));
    }
    check_burnpack_header(path).map_err(bad)?;
    let model = match (config.architecture, &config.onnx) {
        // An imported graph is rebuilt from the ONNX file beside the weights.
        (Architecture::Graph, Some(onnx)) => {
            let dir = path.parent().unwrap_or(Path::new("."));
            Model::Graph(load_onnx(&dir.join(onnx), device)?)
        }
        _ => config.init_for_loading(device)?,
    };
    let path_owned = path.to_path_buf();
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        model.try_load_file(&path_owned)
    }));
    match loaded {
        Ok(Ok(m)) => Ok(m),
        Ok(Err(e)) => Err(bad(first_line(&e.to_string()))),
        Err(p) => Err(bad(first_line(&crate::device::panic_message(&p)))),
    }
}

/// Burn's reader allocates the metadata size a burnpack header claims (up to 100 MiB) before
/// reading it: check the claim against the file's length first (found by `cargo xtask fuzz
/// model-bpk`: a 2.5 KB file made it allocate 64 MiB). The header is a 4-byte magic, a
/// 2-byte version and the metadata size as a little-endian u32.
fn check_burnpack_header(path: &Path) -> std::result::Result<(), String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut header = [0u8; 10];
    if file.read_exact(&mut header).is_err() {
        return Err(format!(
            "truncated: {len} bytes, a burnpack header needs 10"
        ));
    }
    let metadata = u32::from_le_bytes([header[6], header[7], header[8], header[9]]);
    if 10 + u64::from(metadata) > len {
        return Err(format!(
            "truncated: the header claims {metadata} bytes of metadata, the file holds {len}"
        ));
    }
    Ok(())
}

pub(crate) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}
