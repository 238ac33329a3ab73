//! `aegis-model predict`: classify every sample of an IDX, CSV, NumPy (`.npy`), PNG or JPEG file
//! with a run.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::classifier::{Classifier, argmax, predict_proba};
use crate::data::{load_idx_images, read_csv_columns};
use crate::device::DeviceSpec;
use crate::error::{ModelError, Result};
use crate::models::Model;
use crate::run::{RunConfig, RunDir};

/// Flags of `aegis-model predict`.
#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    /// Run directory written by `train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Input file: IDX images (raw or .gz), CSV with the training feature columns, or PNG.
    pub input: PathBuf,
}

impl PredictArgs {
    /// Prints one JSON object per sample.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        for p in predict_file(&self.run, &self.input, device)? {
            let line = serde_json::to_string(&p)
                .map_err(|e| ModelError::invalid("prediction", format!("cannot serialise: {e}")))?;
            println!("{line}");
        }
        Ok(())
    }
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
        "png" | "jpg" | "jpeg" => read_image(input, &shape),
        "npy" => {
            let (pixels, sample_shape) = crate::data::npy::load_npy_images(input)?;
            if sample_shape.iter().product::<usize>() != model.input_dim() {
                return Err(ModelError::Incompatible(format!(
                    "{}: samples of shape {sample_shape:?}, the model takes {shape:?}",
                    input.display()
                )));
            }
            Ok(pixels)
        }
        "csv" => {
            if config.data.feature_names.is_empty() {
                return Err(ModelError::Incompatible(format!(
                    "{}: this run was trained on images; give it an IDX, .npy, PNG or JPEG file",
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

/// Reads a PNG or JPEG as the model's `[C, H, W]` (C = 1: grey, 3: RGB, channels first),
/// resized when its size differs, pixels scaled to `[0, 1]`.
fn read_image(path: &Path, shape: &[usize]) -> Result<Vec<f32>> {
    let (c, h, w) = match shape {
        [c @ (1 | 3), h, w] => (*c, *h as u32, *w as u32),
        _ => {
            return Err(ModelError::Incompatible(format!(
                "{}: the model takes samples of shape {shape:?}, not grey or RGB images",
                path.display()
            )));
        }
    };
    let kind = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("png") => "PNG",
        _ => "JPEG",
    };
    let img = image::open(path)
        .map_err(|e| ModelError::format(path, format!("cannot decode {kind}: {e}")))?;
    crate::data::image_folder::pixels(path, img, c as u8, [h, w])
}
