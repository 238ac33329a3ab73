//! `aegis-model import`: a PyTorch model (a spec and its `state_dict` as `.safetensors` or
//! `.pt`) becomes an ordinary run directory that every Aegis command accepts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::classifier::accuracy;
use crate::data::{
    DEFAULT_TEST_FRACTION, DataSource, InputDomain, ModelClasses, Split, SplitInfo, class_mapping,
    relabel,
};
use crate::device::DeviceSpec;
use crate::error::{ModelError, Result};
use crate::import::{WeightsFormat, WeightsSource, load_pytorch, sequential_config};
use crate::models::sequential::budget::Phase;
use crate::models::{Model, ModelConfig, SequentialSpec};
use crate::run::{DataConfig, Metrics, RunConfig, RunDir};
use crate::train::TrainConfig;

/// Rows per batch of the test-accuracy pass after loading (and of the spec's memory check).
const IMPORT_BATCH_ROWS: usize = 256;

/// Flags of `aegis-model import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The architecture: a JSON spec (layers in PyTorch's vocabulary).
    #[arg(long, value_name = "FILE.json")]
    pub arch: PathBuf,
    /// The weights: a `state_dict` saved as .safetensors, or by torch.save as .pt / .pth.
    #[arg(long, value_name = "FILE")]
    pub weights: PathBuf,
    /// The data the model will be audited on (mnist | an IDX folder | CSV | .npy / .npz |
    /// an image folder); its test split is what every command evaluates.
    #[arg(long)]
    pub data: DataSource,
    /// Class names, comma-separated, in output order (default: the data's).
    #[arg(long, value_delimiter = ',')]
    pub classes: Option<Vec<String>>,
    /// Rename keys of the file before matching: REGEX=REPLACEMENT, repeatable, applied in
    /// order (e.g. `^model\.=` drops a `model.` prefix; `$1` is a group).
    #[arg(long = "key-map", value_name = "REGEX=REPL")]
    pub key_map: Vec<String>,
    /// The entry of a .pt checkpoint that holds the state_dict (e.g. `state_dict`).
    #[arg(long)]
    pub top_level_key: Option<String>,
    /// Seed of the train/test split for data without its own split.
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// Run directory to write.
    #[arg(long)]
    pub out: PathBuf,
}

impl ImportArgs {
    /// Imports and prints what was loaded and the test accuracy.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        let req = ImportRequest {
            spec: SequentialSpec::from_file_within_budget(
                &self.arch,
                &[(Phase::Inference, IMPORT_BATCH_ROWS)],
            )?,
            arch_path: self.arch,
            weights: self.weights,
            source: WeightsSource {
                key_map: self.key_map,
                top_level_key: self.top_level_key,
            },
            data: self.data,
            classes: self.classes,
            split_seed: self.split_seed,
            device,
            out: self.out,
        };
        let r = import_run(&req)?;
        println!(
            "imported {} tensors ({} parameters) from {} ({}) in {:.3}s: test accuracy {:.2}% on {} rows of {}; run written to {}",
            r.tensors,
            r.parameters,
            req.weights.display(),
            r.format,
            r.load_seconds,
            100.0 * r.test_accuracy,
            r.n_test,
            req.data,
            req.out.display()
        );
        Ok(())
    }
}

/// Everything `import` needs.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The layers.
    pub spec: SequentialSpec,
    /// Where the spec came from (recorded in `config.json`).
    pub arch_path: PathBuf,
    /// The weights file.
    pub weights: PathBuf,
    /// Key renaming and nested checkpoints.
    pub source: WeightsSource,
    /// The data the run is audited on.
    pub data: DataSource,
    /// Class names (default: the data's).
    pub classes: Option<Vec<String>>,
    /// Split seed for data without its own split.
    pub split_seed: u64,
    /// Device.
    pub device: DeviceSpec,
    /// Run directory.
    pub out: PathBuf,
}

/// What `import` did; saved in `config.json` under `extensions.import`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImportReport {
    /// The weights file.
    pub weights: String,
    /// `safetensors` or `pytorch`.
    pub format: String,
    /// The spec file.
    pub arch: String,
    /// Key renaming rules applied.
    pub key_map: Vec<String>,
    /// Tensors loaded.
    pub tensors: usize,
    /// Scalar parameters loaded.
    pub parameters: usize,
    /// Seconds to read, check and load the weights.
    pub load_seconds: f64,
    /// Accuracy on the test split of the data.
    pub test_accuracy: f64,
    /// Test rows.
    pub n_test: usize,
}

/// Loads the data and the weights, checks that they fit the spec and each other, measures the
/// test accuracy, and writes the run directory (`model.bpk`, `config.json`, `metrics.json`).
pub fn import_run(req: &ImportRequest) -> Result<ImportReport> {
    let device = req.device.open()?;
    let (split, split_info) = req.data.load_split(req.split_seed, DEFAULT_TEST_FRACTION)?;
    if split.test.is_empty() {
        return Err(ModelError::Incompatible(format!(
            "the test split of {} is empty ({} rows in all): an audit needs held-out rows",
            req.data,
            split.train.len()
        )));
    }
    let model_cfg = sequential_config(&req.spec, split.train.sample_shape.clone())
        .map_err(|e| in_file(&req.arch_path, e))?;
    let class_names = class_names(req, &split, &model_cfg)?;
    let split = in_model_classes(req, split, &model_cfg, &class_names)?;
    let start = Instant::now();
    let model = load_pytorch(&model_cfg, &req.weights, &req.source, &device)?;
    let load_seconds = start.elapsed().as_secs_f64();
    let test_accuracy = accuracy(
        &model,
        &split.test.features,
        &split.test.labels,
        IMPORT_BATCH_ROWS,
        &device,
    );
    let expected = crate::models::sequential::torch::expected_params(&req.spec);
    let report = ImportReport {
        weights: req.weights.display().to_string(),
        format: WeightsFormat::of(&req.weights)?.name().into(),
        arch: req.arch_path.display().to_string(),
        key_map: req.source.key_map.clone(),
        tensors: expected.len(),
        parameters: expected
            .iter()
            .map(|p| p.shape.iter().product::<usize>())
            .sum(),
        load_seconds,
        test_accuracy,
        n_test: split.test.len(),
    };
    write_run(
        req,
        model_cfg,
        &model,
        &split,
        split_info,
        class_names,
        &report,
    )?;
    Ok(report)
}

fn in_file(path: &Path, e: ModelError) -> ModelError {
    ModelError::Config {
        path: path.to_path_buf(),
        fault: e.to_string(),
    }
}

/// `split` labelled in the model's classes (`names`, as many as its output width). A label the
/// model cannot output is reported by [`DataSource::load_split_for`], which names the row of the
/// file rather than of the shuffled part.
fn in_model_classes(
    req: &ImportRequest,
    mut split: Split,
    cfg: &ModelConfig,
    names: &[String],
) -> Result<Split> {
    let classes = ModelClasses {
        count: cfg.num_classes,
        names,
    };
    let mapped = class_mapping(&split.train, &classes, "", None)
        .and_then(|train| Ok((train, class_mapping(&split.test, &classes, "", None)?)));
    let Ok((train, test)) = mapped else {
        let seed = req.split_seed;
        return Err(
            match req
                .data
                .load_split_for(seed, DEFAULT_TEST_FRACTION, &classes)
            {
                Err(e) => e,
                Ok(_) => ModelError::Incompatible(format!(
                    "the labels of {} are not all among the model's {} classes",
                    req.data, cfg.num_classes
                )),
            },
        );
    };
    relabel(&mut split.train, &train, &classes);
    relabel(&mut split.test, &test, &classes);
    Ok(split)
}

/// `--classes`, or the data's names; their number must be the model's.
fn class_names(req: &ImportRequest, split: &Split, cfg: &ModelConfig) -> Result<Vec<String>> {
    let data_names = &split.train.class_names;
    let numbered = data_names
        .iter()
        .enumerate()
        .all(|(i, n)| *n == i.to_string());
    let names = match &req.classes {
        Some(names) => names.clone(),
        // Numbered classes (IDX, NumPy): the model's own count, even if the data lacks some.
        None if numbered => (0..cfg.num_classes).map(|i| i.to_string()).collect(),
        None => data_names.clone(),
    };
    if names.len() != cfg.num_classes {
        return Err(ModelError::Incompatible(format!(
            "the model outputs {} classes, {} names them {} ({})",
            cfg.num_classes,
            if req.classes.is_some() {
                "--classes"
            } else {
                "the data"
            },
            names.len(),
            names.join(", ")
        )));
    }
    Ok(names)
}

fn write_run(
    req: &ImportRequest,
    model: ModelConfig,
    weights: &Model,
    split: &Split,
    split_info: SplitInfo,
    class_names: Vec<String>,
    report: &ImportReport,
) -> Result<()> {
    let extensions = BTreeMap::from([(
        "import".to_string(),
        serde_json::to_value(report).map_err(|e| ModelError::invalid("import", e.to_string()))?,
    )]);
    let config = RunConfig {
        model,
        train: TrainConfig::new(),
        data: DataConfig {
            source: req.data.clone(),
            split: split_info,
            feature_names: split.train.feature_names.clone(),
            class_names,
            domain: Some(InputDomain::of(&split.train)),
        },
        device: req.device.to_string(),
        aegis_version: env!("CARGO_PKG_VERSION").to_string(),
        extensions,
    };
    let run = RunDir::new(&req.out);
    run.save_config(&config)?;
    run.save_weights(weights)?;
    run.save_metrics(&Metrics {
        test_accuracy: report.test_accuracy,
        epochs: Vec::new(),
        seed: 0,
        device: req.device.to_string(),
        wall_seconds: report.load_seconds,
        n_train: split.train.len(),
        n_test: split.test.len(),
    })
}
