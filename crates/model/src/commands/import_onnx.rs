//! `aegis-model import --onnx FILE`: an ONNX graph becomes an ordinary run directory whose
//! model is the graph: the file copied in as `model.onnx` (with its external-data files),
//! `config.json` naming it, `model.bpk` holding its constants, `metrics.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;

use super::imported::{ImportReport, Target, class_names, in_model_classes, load_data, write_run};
use crate::classifier::{Classifier, accuracy};
use crate::data::DataSource;
use crate::device::DeviceSpec;
use crate::error::{ModelError, Result};
use crate::models::{Architecture, Model, ModelConfig, external_data_files, load_onnx};

/// The file name of the graph inside a run directory.
pub const ONNX_FILE: &str = "model.onnx";

/// Files of a run directory an external-data file may not replace.
const RUN_FILES: &[&str] = &[ONNX_FILE, "model.bpk", "config.json", "metrics.json"];

/// Rows per batch of the test-accuracy pass.
const IMPORT_BATCH_ROWS: usize = 256;

/// Everything `import --onnx` needs.
#[derive(Debug, Clone)]
pub struct OnnxImportRequest {
    /// The ONNX file.
    pub onnx: PathBuf,
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

impl OnnxImportRequest {
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

/// Imports and prints what was loaded and the test accuracy (the binary's `import --onnx`).
pub fn run_onnx_import(req: OnnxImportRequest) -> Result<()> {
    let r = import_onnx_run(&req)?;
    println!(
        "imported {} ({} constants, {} parameters) in {:.3}s: test accuracy {:.2}% on {} rows of {}; run written to {}",
        req.onnx.display(),
        r.tensors,
        r.parameters,
        r.load_seconds,
        100.0 * r.test_accuracy,
        r.n_test,
        req.data,
        req.out.display()
    );
    Ok(())
}

/// Loads the data and the graph, checks that they fit, measures the test accuracy, and
/// writes the run directory. Nothing is written when the graph or the data is refused.
pub fn import_onnx_run(req: &OnnxImportRequest) -> Result<ImportReport> {
    let device = req.device.open()?;
    let target = req.target();
    let (split, split_info) = load_data(&target)?;
    let external = external_data_files(&req.onnx)?;
    if let Some(clash) = external
        .iter()
        .find(|p| RUN_FILES.iter().any(|f| Path::new(f) == p.as_path()))
    {
        return Err(ModelError::format(
            &req.onnx,
            format!(
                "its external data file is named {}, a file of the run directory",
                clash.display()
            ),
        ));
    }
    let start = Instant::now();
    let graph = load_onnx(&req.onnx, &device)?;
    let load_seconds = start.elapsed().as_secs_f64();
    let sample = &split.train.sample_shape;
    if sample.iter().product::<usize>() != graph.input_dim() {
        return Err(ModelError::Incompatible(format!(
            "the graph takes samples of shape {:?}, {} has samples of shape {sample:?}",
            graph.input_shape(),
            req.data
        )));
    }
    let model_cfg = ModelConfig::new(
        Architecture::Graph,
        graph.input_shape().to_vec(),
        graph.num_classes(),
    )
    .with_onnx(Some(ONNX_FILE.to_string()));
    let names = class_names(&target, &split, &model_cfg)?;
    let split = in_model_classes(&target, split, &model_cfg, &names)?;
    let tensors = graph.num_constants();
    let model = Model::Graph(graph);
    let test_accuracy = accuracy(
        &model,
        &split.test.features,
        &split.test.labels,
        IMPORT_BATCH_ROWS,
        &device,
    );
    let report = ImportReport {
        weights: req.onnx.display().to_string(),
        format: "onnx".into(),
        arch: req.onnx.display().to_string(),
        key_map: Vec::new(),
        tensors,
        parameters: model.num_params(),
        load_seconds,
        test_accuracy,
        n_test: split.test.len(),
    };
    copy_graph(&req.onnx, &external, &req.out)?;
    write_run(
        &target, model_cfg, &model, &split, split_info, names, &report,
    )?;
    Ok(report)
}

/// Copies the ONNX file to `out/model.onnx` and each external-data file to the same relative
/// path under `out` (the paths the graph names, checked to stay inside the folder).
fn copy_graph(onnx: &Path, external: &[PathBuf], out: &Path) -> Result<()> {
    let src_dir = onnx.parent().unwrap_or(Path::new("."));
    let copy = |from: &Path, to: &Path| -> Result<()> {
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
        }
        std::fs::copy(from, to).map_err(|e| ModelError::io(from, e))?;
        Ok(())
    };
    for rel in external {
        copy(&src_dir.join(rel), &out.join(rel))?;
    }
    copy(onnx, &out.join(ONNX_FILE))
}
