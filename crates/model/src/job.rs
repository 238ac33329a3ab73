//! The three jobs of the `aegis-model` binary as library calls: train a run, evaluate a run,
//! classify inputs with a run. Binaries only parse arguments and print.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::classifier::{Classifier, accuracy, argmax, predict_proba};
use crate::data::{DEFAULT_TEST_FRACTION, DataSource, Dataset, load_idx_images, read_csv_columns};
use crate::device::DeviceSpec;
use crate::error::{ModelError, Result};
use crate::io::write_json;
use crate::models::{Architecture, Model, ModelConfig};
use crate::run::{DataConfig, Metrics, RunConfig, RunDir};
use crate::train::{LossFn, TrainConfig, TrainOptions, cross_entropy_loss, fit_with, seed_device};

/// Everything `train` needs.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// Network; `None`: SmallCnn for images, MLP for tabular data.
    pub architecture: Option<Architecture>,
    /// Data source.
    pub data: DataSource,
    /// Hyper-parameters.
    pub train: TrainConfig,
    /// MLP hidden widths; `None`: `[128, 64]`.
    pub hidden: Option<Vec<usize>>,
    /// Dropout; `None`: the architecture's default.
    pub dropout: Option<f64>,
    /// Seed of the train/test split of sources without their own split.
    pub split_seed: u64,
    /// Device.
    pub device: DeviceSpec,
    /// Run directory to write (`None`: nothing is written).
    pub out: Option<PathBuf>,
    /// Show a progress bar.
    pub progress: bool,
}

impl TrainRequest {
    /// A request with the reference defaults (SmallCnn on bundled MNIST, flex, no output).
    pub fn new(data: DataSource) -> Self {
        Self {
            architecture: None,
            data,
            train: TrainConfig::new(),
            hidden: None,
            dropout: None,
            split_seed: 0,
            device: DeviceSpec::Flex,
            out: None,
            progress: false,
        }
    }
}

impl TrainRequest {
    /// A request that retrains the recipe of an existing run (architecture, MLP widths,
    /// dropout, data source, split seed, hyper-parameters) with training seed `seed`: how deep
    /// ensembles get their members. Objectives saved under `extensions` (e.g. adversarial
    /// training) are not reproduced: the members are trained with plain cross-entropy.
    pub fn from_run_config(config: &RunConfig, seed: u64, device: DeviceSpec) -> Self {
        Self {
            architecture: Some(config.model.architecture),
            data: config.data.source.clone(),
            train: config.train.clone().with_seed(seed),
            hidden: Some(config.model.hidden.clone()),
            dropout: Some(config.model.dropout),
            split_seed: config.data.split.seed,
            device,
            out: None,
            progress: false,
        }
    }
}

/// The result of [`train_run`].
#[derive(Debug)]
pub struct TrainOutcome {
    /// The trained model (inference mode, on the plain device).
    pub model: Model,
    /// What was saved as `config.json`.
    pub config: RunConfig,
    /// What was saved as `metrics.json`.
    pub metrics: Metrics,
}

/// Model settings that fit `train`: images keep raw `[0, 1]` pixels; tabular features are
/// standardised with statistics of the **training** rows only, stored in the model.
pub fn model_config_for(
    arch: Architecture,
    train: &Dataset,
    hidden: Option<Vec<usize>>,
    dropout: Option<f64>,
) -> ModelConfig {
    let mut cfg = ModelConfig::new(arch, train.sample_shape.clone(), train.num_classes)
        .with_dropout(dropout.unwrap_or(arch.default_dropout()));
    if let Some(h) = hidden {
        cfg = cfg.with_hidden(h);
    }
    if train.sample_shape.len() == 1 {
        let (mean, std) = train.feature_stats();
        cfg = cfg.with_input_mean(mean).with_input_std(std);
    }
    cfg
}

/// Loads the data, builds and trains the model with cross-entropy (plus L1 when configured),
/// and writes the run directory.
pub fn train_run(req: &TrainRequest) -> Result<TrainOutcome> {
    train_run_with(req, cross_entropy_loss(req.train.l1), Default::default())
}

/// [`train_run`] with a custom objective (e.g. adversarial training). `extensions` are saved
/// in `config.json` under `extensions` so the run can be reproduced.
pub fn train_run_with(
    req: &TrainRequest,
    loss_fn: impl LossFn,
    extensions: std::collections::BTreeMap<String, serde_json::Value>,
) -> Result<TrainOutcome> {
    req.train.validate()?;
    let device = req.device.open()?;
    let (split, split_info) = req.data.load_split(req.split_seed, DEFAULT_TEST_FRACTION)?;
    let arch = req
        .architecture
        .unwrap_or(if split.train.sample_shape.len() == 3 {
            Architecture::SmallCnn
        } else {
            Architecture::Mlp
        });
    let model_cfg = model_config_for(arch, &split.train, req.hidden.clone(), req.dropout);
    model_cfg.validate()?;
    let config = RunConfig {
        model: model_cfg,
        train: req.train.clone(),
        data: DataConfig {
            source: req.data.clone(),
            split: split_info,
            feature_names: split.train.feature_names.clone(),
            class_names: split.train.class_names.clone(),
        },
        device: req.device.to_string(),
        aegis_version: env!("CARGO_PKG_VERSION").to_string(),
        extensions,
    };
    let run_dir = req.out.as_ref().map(RunDir::new);
    if let Some(run) = &run_dir {
        run.save_config(&config)?;
    }
    seed_device(&device, req.train.seed);
    let model = config.model.init(&device, req.train.seed)?;
    let opts = TrainOptions {
        progress: req.progress,
        run_dir,
        device_name: req.device.to_string(),
    };
    let (model, metrics) = fit_with(model, &req.train, &split, &device, &opts, loss_fn)?;
    Ok(TrainOutcome {
        model,
        config,
        metrics,
    })
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
}

/// Evaluates a run on the test split of `data` (default: the run's own data and split) and
/// writes `DIR/eval.json`.
pub fn evaluate_run(
    dir: &Path,
    data: Option<DataSource>,
    device_spec: DeviceSpec,
) -> Result<EvalReport> {
    let device = device_spec.open()?;
    let run = RunDir::new(dir);
    let (model, config) = run.load_model(&device)?;
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

/// One classified input.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Prediction {
    /// Row / image index in the input (0-based).
    pub index: usize,
    /// Predicted class index.
    pub class: usize,
    /// Predicted class name.
    pub class_name: String,
    /// Softmax probability of the predicted class.
    pub confidence: f32,
    /// Softmax probabilities of all classes.
    pub probabilities: Vec<f32>,
}

/// Classifies every sample of `input` (an IDX image file, a CSV with the training feature
/// columns, or a PNG image) with the run in `dir`.
pub fn predict_file(dir: &Path, input: &Path, device_spec: DeviceSpec) -> Result<Vec<Prediction>> {
    let device = device_spec.open()?;
    let (model, config) = RunDir::new(dir).load_model(&device)?;
    let features = read_inputs(input, &model, &config)?;
    Ok(classify(&model, &config, &features, &device))
}

fn classify(
    model: &Model,
    config: &RunConfig,
    features: &[f32],
    device: &Device,
) -> Vec<Prediction> {
    let c = model.num_classes();
    predict_proba(model, features, config.train.eval_batch_size, device)
        .chunks(c)
        .enumerate()
        .map(|(index, p)| {
            let class = argmax(p);
            Prediction {
                index,
                class,
                class_name: config
                    .data
                    .class_names
                    .get(class)
                    .cloned()
                    .unwrap_or_else(|| class.to_string()),
                confidence: p[class],
                probabilities: p.to_vec(),
            }
        })
        .collect()
}

fn read_inputs(input: &Path, model: &Model, config: &RunConfig) -> Result<Vec<f32>> {
    let ext = input
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let shape = model.input_shape().to_vec();
    match ext.as_str() {
        "png" => read_png(input, &shape),
        "csv" => {
            if config.data.feature_names.is_empty() {
                return Err(ModelError::Incompatible(format!(
                    "{}: this run was trained on images; give it an IDX or PNG file",
                    input.display()
                )));
            }
            Ok(read_csv_columns(input, &config.data.feature_names)?.0)
        }
        _ => {
            let (pixels, sample_shape) = load_idx_images(input)?;
            if sample_shape.iter().product::<usize>() != model.input_dim() {
                return Err(ModelError::Incompatible(format!(
                    "{}: images of shape {sample_shape:?}, the model takes {shape:?}",
                    input.display()
                )));
            }
            Ok(pixels)
        }
    }
}

/// Reads a PNG as greyscale, resized to the model's `[1, H, W]` when its size differs,
/// pixels scaled to `[0, 1]`.
fn read_png(path: &Path, shape: &[usize]) -> Result<Vec<f32>> {
    let (h, w) = match shape {
        [1, h, w] => (*h as u32, *w as u32),
        _ => {
            return Err(ModelError::Incompatible(format!(
                "{}: the model takes samples of shape {shape:?}, not single-channel images",
                path.display()
            )));
        }
    };
    let img = image::open(path)
        .map_err(|e| ModelError::format(path, format!("cannot decode PNG: {e}")))?;
    let mut grey = img.to_luma8();
    if grey.dimensions() != (w, h) {
        grey = image::imageops::resize(&grey, w, h, image::imageops::FilterType::Triangle);
    }
    Ok(grey
        .into_raw()
        .into_iter()
        .map(|p| p as f32 / 255.0)
        .collect())
}
