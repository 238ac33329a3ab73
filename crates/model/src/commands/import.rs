//! `aegis-model import`: a PyTorch model (a spec and its `state_dict` as `.safetensors` or
//! `.pt`) becomes an ordinary run directory that every Aegis command accepts.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::classifier::accuracy;
use crate::data::DataSource;
use crate::device::DeviceSpec;
use crate::error::{ModelError, Result};
use crate::import::{WeightsFormat, WeightsSource, load_pytorch, sequential_config};
use crate::models::SequentialSpec;
use crate::models::sequential::budget::Phase;

use super::import_onnx::OnnxImportRequest;
pub use super::imported::ImportReport;
use super::imported::{Target, class_names, in_model_classes, load_data, write_run};

/// Rows per batch of the test-accuracy pass after loading (and of the spec's memory check).
const IMPORT_BATCH_ROWS: usize = 256;

/// Flags of `aegis-model import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The architecture: a JSON spec (layers in PyTorch's vocabulary).
    #[arg(long, value_name = "FILE.json", required_unless_present = "onnx")]
    pub arch: Option<PathBuf>,
    /// The weights: a `state_dict` saved as .safetensors, or by torch.save as .pt / .pth.
    #[arg(long, value_name = "FILE", required_unless_present = "onnx")]
    pub weights: Option<PathBuf>,
    /// Instead of --arch and --weights: an ONNX graph (e.g. from `torch.onnx.export`), copied
    /// into the run as `model.onnx` with its external-data file if it has one.
    #[arg(
        long,
        value_name = "FILE.onnx",
        conflicts_with_all = ["arch", "weights", "key_map", "top_level_key"]
    )]
    pub onnx: Option<PathBuf>,
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
        if let Some(onnx) = self.onnx {
            return super::import_onnx::run_onnx_import(OnnxImportRequest {
                onnx,
                data: self.data,
                classes: self.classes,
                split_seed: self.split_seed,
                device,
                out: self.out,
            });
        }
        let (Some(arch), Some(weights)) = (self.arch, self.weights) else {
            return Err(ModelError::invalid(
                "import",
                "give --onnx FILE, or both --arch and --weights",
            ));
        };
        let req = ImportRequest {
            spec: SequentialSpec::from_file_within_budget(
                &arch,
                &[(Phase::Inference, IMPORT_BATCH_ROWS)],
            )?,
            arch_path: arch,
            weights,
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

impl ImportRequest {
    fn target(&self) -> Target<'_> {
        Target {
            data: &self.data,
            classes: self.classes.as_deref(),
            split_seed: self.split_seed,
            device: &self.device,
            out: &self.out,
        }
    }
}

/// Loads the data and the weights, checks that they fit the spec and each other, measures the
/// test accuracy, and writes the run directory (`model.bpk`, `config.json`, `metrics.json`).
pub fn import_run(req: &ImportRequest) -> Result<ImportReport> {
    let device = req.device.open()?;
    let target = req.target();
    let (split, split_info) = load_data(&target)?;
    let model_cfg = sequential_config(&req.spec, split.train.sample_shape.clone())
        .map_err(|e| in_file(&req.arch_path, e))?;
    let class_names = class_names(&target, &split, &model_cfg)?;
    let split = in_model_classes(&target, split, &model_cfg, &class_names)?;
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
        &target,
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
