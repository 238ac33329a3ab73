//! Determinism of `aegis audit` (README, "Determinism"): the quick audit of a tabular and an
//! image run, and the comparison of the two, each run three times (twice with the default
//! thread count, once with `--threads 1`), write the same bytes: `audit.json` (its date
//! aside), every stage's cache and every file the stages write. `report.html` shows the date
//! and the stage times, so it is not compared.

use std::path::PathBuf;

#[path = "support/determinism.rs"]
mod determinism;
use determinism::{Step, assert_deterministic, tab_and_cnn_fixtures};

#[test]
fn audits_write_the_same_bytes_at_any_thread_count() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("determinism-audit");
    let setup = tab_and_cnn_fixtures(&root);
    assert_deterministic(
        &PathBuf::from(env!("CARGO_BIN_EXE_aegis")),
        &root.join("runs"),
        &setup,
        &[
            Step::Run(&[
                "audit",
                "--run",
                "tab",
                "--profile",
                "quick",
                "--limit",
                "30",
                "--out",
                "audit-tab",
            ]),
            Step::Run(&[
                "audit",
                "--run",
                "cnn",
                "--profile",
                "quick",
                "--limit",
                "30",
                "--out",
                "audit-cnn",
            ]),
            Step::Run(&["audit", "--compare", "audit-tab", "audit-cnn"]),
        ],
    );
}
