//! What both import paths (`import --arch/--weights` in `import.rs`, `import --onnx` in
//! `import_onnx.rs`) share: the data the run is audited on, its labels in the model's classes,
//! the report, and the run directory they write.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::{
    DEFAULT_TEST_FRACTION, DataSource, InputDomain, ModelClasses, Split, SplitInfo, class_mapping,
    relabel,
};
use crate::device::DeviceSpec;
use crate::error::{ModelError, Result};
use crate::models::{Model, ModelConfig};
use crate::run::{DataConfig, Metrics, RunConfig, RunDir};
use crate::train::TrainConfig;

/// What both import paths share: the data the run is audited on, its class names, and where
/// the run goes.
pub(crate) struct Target<'a> {
    /// The data.
    pub data: &'a DataSource,
    /// `--classes`.
    pub classes: Option<&'a [String]>,
    /// Split seed for data without its own split.
    pub split_seed: u64,
    /// Device.
    pub device: &'a DeviceSpec,
    /// Run directory.
    pub out: &'a Path,
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

/// The data's split; refused when its test part is empty.
pub(crate) fn load_data(req: &Target<'_>) -> Result<(Split, SplitInfo)> {
    let (split, split_info) = req.data.load_split(req.split_seed, DEFAULT_TEST_FRACTION)?;
    if split.test.is_empty() {
        return Err(ModelError::Incompatible(format!(
            "the test split of {} is empty ({} rows in all): an audit needs held-out rows",
            req.data,
            split.train.len()
        )));
    }
    Ok((split, split_info))
}

/// `split` labelled in the model's classes (`names`, as many as its output width). A label the
/// model cannot output is reported by [`DataSource::load_split_for`], which names the row of the
/// file rather than of the shuffled part.
pub(crate) fn in_model_classes(
    req: &Target<'_>,
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
pub(crate) fn class_names(
    req: &Target<'_>,
    split: &Split,
    cfg: &ModelConfig,
) -> Result<Vec<String>> {
    let data_names = &split.train.class_names;
    let numbered = data_names
        .iter()
        .enumerate()
        .all(|(i, n)| *n == i.to_string());
    let names = match req.classes {
        Some(names) => names.to_vec(),
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

/// Writes `config.json`, `model.bpk` and `metrics.json` of an imported model.
pub(crate) fn write_run(
    req: &Target<'_>,
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
    let run = RunDir::new(req.out);
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
