//! One file per command of the `aegis-model` binary: its flags (`clap::Args`), its request,
//! its report and the library function that runs it. The binary's `main.rs` only dispatches
//! to `<Command>Args::run`; library users call the functions (`train_run`, `evaluate_run`,
//! `predict_file`) directly.

// The flags' doc comments are their `--help` texts, shown as written: placeholders such as
// `runs/<data>-<model>-seed<S>` are not HTML.
#![allow(rustdoc::invalid_html_tags)]

pub mod devices;
pub mod eval;
pub mod export;
pub mod import;
pub mod import_onnx;
mod imported;
pub mod predict;
pub mod train;

pub use eval::{EvalArgs, EvalReport, evaluate_run, evaluate_run_with};
pub use export::{ExportArgs, ExportFormat, export_run};
pub use import::{ImportArgs, ImportReport, ImportRequest, import_run};
pub use import_onnx::{OnnxImportRequest, import_onnx_run};
pub use predict::{PredictArgs, Prediction, predict_file};
pub use train::{
    TrainArgs, TrainOutcome, TrainRequest, model_config_for, request_model_config, train_run,
    train_run_with,
};
