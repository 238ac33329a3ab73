//! The public API that README.md, ARCHITECTURE.md and the book (`docs/book/src/`) name is
//! importable from the facade:
//! this file fails to compile when a name moves, and `every_rust_name_in_the_docs_is_covered`
//! fails when the docs name a Rust item this file does not import.

#![allow(unused_imports)]

use std::collections::BTreeSet;

#[path = "support/book.rs"]
mod book;

// The shared vocabulary (ARCHITECTURE.md) and the names the README uses.
use aegis::adversarial::EvaluateConfig;
use aegis::adversarial::{
    AdvSchedule, AdvTrainConfig, Apgd, Attack, AttackReport, Bounds, CwL2, Fgsm, Goal, MiFgsm, Pgd,
    RobustnessReport, Square, evaluate_robustness, run_attack, train_adversarial,
};
use aegis::adversarial::{EpsUnits, PartialReport, RowOutcomes, Scaled, Shard, ThreatSpace};
use aegis::alignment::{Gridworld, Mdp, mce_irl};
use aegis::interpretability::{
    Attribution, Attributions, IntegratedGradients, KernelShap, Saliency, SmoothGrad,
};
use aegis::model::InputDomain;
use aegis::model::ModelError::NonFiniteLoss;
use aegis::model::burn::tensor::Device;
use aegis::model::import::{KeyReport, WeightsSource};
use aegis::model::models::sequential::{LayerKind, LayerSpec};
use aegis::model::models::{Normalize, SeededInit};
use aegis::model::train::LossFn;
use aegis::model::{
    Classifier, DeviceArgs, DeviceSpec, LoadedRun, Model, ModelConfig, RunConfig, RunDir,
    TrainConfig, TrainRequest, evaluate_run, predict_file, train_run, train_run_with,
};
use aegis::model::{DataSource, Split};
use aegis::model::{ImportReport, ImportRequest, Sequential, SequentialSpec};
use aegis::oversight::SimulatedExpert;
use aegis::oversight::{AuditLog, ConfidenceKind, Queue, review, sgr};
use aegis::uncertainty::{
    DeepEnsemble, EstimatorArgs, McDropout, OodScore, PredictiveSamples, SplitConformal,
    UncertaintyEstimator,
};
// Every crate's commands, and the former `job` paths that code written against 0.1 uses.
use aegis::model::commands::{EvalArgs, PredictArgs, TrainArgs};
use aegis::oversight::job::{SgrConfig, calibrate_threshold};
use aegis::uncertainty::job::{CalibrateConfig, ConformalRunConfig, calibrate, conformal, ood};

/// Rust item names this file imports (the docs may name any of them).
const COVERED: &[&str] = &[
    "AdvSchedule",
    "AdvTrainConfig",
    "Apgd",
    "Attack",
    "AttackReport",
    "Bounds",
    "CwL2",
    "Fgsm",
    "Goal",
    "MiFgsm",
    "Pgd",
    "RobustnessReport",
    "Square",
    "Gridworld",
    "Mdp",
    "Attribution",
    "Attributions",
    "IntegratedGradients",
    "KernelShap",
    "Saliency",
    "SmoothGrad",
    "Classifier",
    "DeviceArgs",
    "DeviceSpec",
    "LoadedRun",
    "Model",
    "ModelConfig",
    "RunConfig",
    "RunDir",
    "TrainConfig",
    "TrainRequest",
    "NonFiniteLoss",
    "Device",
    "Normalize",
    "SeededInit",
    "EvaluateConfig",
    "LossFn",
    "DataSource",
    "Split",
    "SimulatedExpert",
    "AuditLog",
    "ConfidenceKind",
    "Queue",
    "DeepEnsemble",
    "EstimatorArgs",
    "McDropout",
    "OodScore",
    "PredictiveSamples",
    "SplitConformal",
    "UncertaintyEstimator",
    "SgrConfig",
    "CalibrateConfig",
    "ConformalRunConfig",
    "LayerKind",
    "LayerSpec",
    "KeyReport",
    "WeightsSource",
    "ImportReport",
    "ImportRequest",
    "Sequential",
    "SequentialSpec",
    "EpsUnits",
    "PartialReport",
    "RowOutcomes",
    "Scaled",
    "Shard",
    "ThreatSpace",
    "InputDomain",
];

/// CamelCase words in backticks that are not Aegis library items: other libraries' names
/// (shap's class, rand's generator, Burn's `Config` derive, clap's `Args`, torchvision's
/// `ImageFolder`) and the `Cli` type
/// that each binary's `main.rs` holds.
const NOT_OURS: &[&str] = &[
    "KernelExplainer",
    "ChaCha8Rng",
    "Config",
    "Args",
    "Cli",
    "ImageFolder",
];

/// Every CamelCase word written in backticks in `text`, e.g. `` `Classifier` ``.
fn backticked_types(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| {
            let mut chars = w.chars();
            chars.next().is_some_and(|c| c.is_ascii_uppercase())
                && w.chars().all(|c| c.is_ascii_alphanumeric())
                && w.chars().any(|c| c.is_ascii_lowercase())
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_rust_name_in_the_docs_is_covered() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    let mut docs: Vec<std::path::PathBuf> =
        vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    docs.extend(book::book_pages(root));
    for path in &docs {
        let doc = path.strip_prefix(root).unwrap_or(path).display();
        let text = std::fs::read_to_string(path).expect("doc is readable");
        for name in backticked_types(&text) {
            if !COVERED.contains(&name.as_str()) && !NOT_OURS.contains(&name.as_str()) {
                missing.push(format!("{doc}: `{name}`"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "names the docs use but tests/public_api.rs does not import:\n{}",
        missing.join("\n")
    );
}

#[test]
fn backticked_types_finds_camel_case_words_only() {
    let found = backticked_types("a `Classifier`, `train`, `RunDir` and `[N, F]` and `ECE`");
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        vec!["Classifier", "RunDir"]
    );
}
