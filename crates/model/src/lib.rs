//! # aegis-model
//!
//! The foundation of Aegis: device selection, models, data, training and run directories.
//! Every other Aegis crate builds on it.
//!
//! - [`device`]: the `--device` flag (`flex`, `ndarray`, `wgpu[:N]`, `cuda[:N]`).
//! - [`Classifier`]: logits for a flat batch `[N, F]`; [`Model`] wraps the architectures
//!   ([`Mlp`], [`SmallCnn`], [`MadryCnn`]); [`load_onnx`] reads an ONNX file into a
//!   [`Graph`] model run by interpretation.
//! - [`data`]: IDX and CSV readers, bundled MNIST / breast cancer / wine, synthetic sets,
//!   seeded stratified splits.
//! - [`models::sequential`]: architectures as data ([`SequentialSpec`], PyTorch's layer
//!   vocabulary); [`import`]: PyTorch `.safetensors` / `.pt` weights in and out.
//! - [`train`]: the seeded training loop with checkpoints and a progress bar.
//! - [`run`]: the run directory format (`model.bpk`, `config.json`, `metrics.json`);
//!   [`param_ids`]: the deterministic parameter ids `model.bpk` is saved with.
//! - [`commands`]: train / evaluate / predict as single calls, one file per command of the
//!   binary (its flags, request, report and function).
//!
//! ```no_run
//! use aegis_model::{DataSource, TrainRequest, train_run};
//! let mut req = TrainRequest::new(DataSource::Mnist);
//! req.out = Some("runs/mnist".into());
//! let outcome = train_run(&req)?;
//! println!("test accuracy {:.3}", outcome.metrics.test_accuracy);
//! # Ok::<(), aegis_model::ModelError>(())
//! ```
#![warn(missing_docs)]

mod classifier;
pub mod cli;
pub mod commands;
pub mod data;
pub mod device;
mod error;
pub mod import;
pub mod io;
pub mod models;
pub mod param_ids;
pub mod plot;
pub mod run;
pub mod train;

#[cfg(test)]
#[path = "../../../tests/support/figures.rs"]
pub(crate) mod figures;

pub use classifier::{
    Classifier, DEFAULT_BATCH_ROWS, accuracy, argmax, batch_tensor, label_tensor, predict,
    predict_proba, to_host,
};
pub use commands::{
    EvalReport, ImportReport, ImportRequest, OnnxImportRequest, Prediction, TrainOutcome,
    TrainRequest, evaluate_run, evaluate_run_with, export_run, import_onnx_run, import_run,
    model_config_for, predict_file, request_model_config, train_run, train_run_with,
};
pub use data::{DataSource, Dataset, DomainKind, InputDomain, Split};
pub use device::{DeviceArgs, DeviceSpec};
pub use error::{ModelError, Result};
pub use models::{
    Architecture, Graph, MadryCnn, Mlp, Model, ModelConfig, Sequential, SequentialSpec, SmallCnn,
    load_onnx,
};
pub use run::{LoadedRun, Metrics, RunConfig, RunDir};
pub use train::{LrSchedule, OptimizerKind, TrainConfig};

/// Former name of [`commands`], kept so code written against 0.1 compiles.
pub use commands as job;

/// Re-export of burn, so downstream crates use the exact same version.
pub use aegis_malloc::keep_freed_memory;
pub use burn;
