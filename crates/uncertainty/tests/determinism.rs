//! Determinism of `aegis-uncertainty` (README, "Determinism"): `calibrate`, `conformal`, `ood`
//! and `evaluate`, with the deterministic, MC-dropout and ensemble estimators, each run three
//! times with the same seeds (twice with the default thread count, once with `--threads 1`),
//! write the same bytes, the ensemble members they train and cache included.

use std::path::{Path, PathBuf};

use aegis_model::DataSource;

#[path = "../../../tests/support/determinism.rs"]
mod determinism;
use determinism::{Step, assert_deterministic, copy_into, train_fixture};

#[test]
fn every_command_writes_the_same_bytes_at_any_thread_count() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("determinism-uncertainty");
    let fixtures = root.join("fixtures");
    let _ = std::fs::remove_dir_all(&fixtures);
    train_fixture(&fixtures.join("tab"), DataSource::BreastCancer, 2);
    train_fixture(&fixtures.join("cnn"), DataSource::Mnist, 1);
    let setup = |dir: &Path| {
        copy_into(&fixtures.join("tab"), dir);
        copy_into(&fixtures.join("cnn"), dir);
    };
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
