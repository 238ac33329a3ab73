//! Determinism of `aegis-interpretability` (README, "Determinism"): `explain` (every method),
//! `importance` (every method), `pdp` and `evaluate`, on an image and a tabular run, each run
//! three times with the same seeds (twice with the default thread count, once with
//! `--threads 1`), write the same bytes.

use std::path::PathBuf;

#[path = "../../../tests/support/determinism.rs"]
mod determinism;
use determinism::{Step, assert_deterministic, tab_and_cnn_fixtures};

#[test]
fn every_command_writes_the_same_bytes_at_any_thread_count() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("determinism-interpretability");
    let setup = tab_and_cnn_fixtures(&root);
    let explain = |run: &'static str, method: &'static str| -> Vec<&'static str> {
        vec![
            "explain", "--run", run, "--method", method, "--index", "3", "--steps", "16", "--out",
            method,
        ]
    };
    let mut steps: Vec<Vec<&str>> = ["saliency", "grad-input", "ig", "smoothgrad"]
        .into_iter()
        .map(|m| explain("cnn", m))
        .collect();
    steps.push(explain("tab", "occlusion"));
    for (method, rows) in [("kernel-shap", "5"), ("lime", "5"), ("permutation", "50")] {
        steps.push(vec![
            "importance",
            "--run",
            "tab",
            "--method",
            method,
            "--rows",
            rows,
            "--out",
            method,
        ]);
    }
    steps.extend([
        vec![
            "pdp",
            "--run",
            "tab",
            "--feature",
            "0",
            "--rows",
            "50",
            "--out",
            "pdp",
        ],
        vec![
            "evaluate",
            "--run",
            "cnn",
            "--rows",
            "10",
            "--out",
            "evaluate-cnn",
        ],
        vec![
            "evaluate",
            "--run",
            "tab",
            "--rows",
            "10",
            "--out",
            "evaluate-tab",
        ],
    ]);
    let steps: Vec<Step> = steps.iter().map(|s| Step::Run(s.as_slice())).collect();
    assert_deterministic(
        &PathBuf::from(env!("CARGO_BIN_EXE_aegis-interpretability")),
        &root.join("runs"),
        &setup,
        &steps,
    );
}
