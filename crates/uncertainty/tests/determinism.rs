//! Determinism of `aegis-uncertainty` (README, "Determinism"): `calibrate`, `conformal`, `ood`
//! and `evaluate`, with the deterministic, MC-dropout and ensemble estimators, each run three
//! times with the same seeds (twice with the default thread count, once with `--threads 1`),
//! write the same bytes, the ensemble members they train and cache included.

use std::path::PathBuf;

#[path = "../../../tests/support/determinism.rs"]
mod determinism;
use determinism::{Step, assert_deterministic, tab_and_cnn_fixtures};

#[test]
fn every_command_writes_the_same_bytes_at_any_thread_count() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("determinism-uncertainty");
    let setup = tab_and_cnn_fixtures(&root);
    assert_deterministic(
        &PathBuf::from(env!("CARGO_BIN_EXE_aegis-uncertainty")),
        &root.join("runs"),
        &setup,
        &[
            Step::Run(&["calibrate", "--run", "cnn", "--out", "calibrate"]),
            Step::Run(&[
                "conformal",
                "--run",
                "cnn",
                "--splits",
                "3",
                "--out",
                "conformal",
            ]),
            Step::Run(&[
                "conformal",
                "--run",
                "tab",
                "--splits",
                "3",
                "--score",
                "raps",
                "--estimator",
                "ensemble",
                "--members",
                "2",
                "--out",
                "conformal-ensemble",
            ]),
            Step::Run(&[
                "ood",
                "--run",
                "cnn",
                "--estimator",
                "mc-dropout",
                "--passes",
                "3",
                "--out",
                "ood",
            ]),
            Step::Run(&[
                "evaluate",
                "--run",
                "tab",
                "--passes",
                "3",
                "--members",
                "2",
                "--out",
                "evaluate",
            ]),
        ],
    );
}
