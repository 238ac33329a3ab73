//! Determinism of `aegis-model` (README, "Determinism"): every command, run three times with
//! the same seeds (twice with the default thread count, once with `--threads 1`), writes the
//! same bytes: runs (`model.bpk` included), reports, predictions, exports and imports. And
//! `--threads 0` is refused.

use std::path::PathBuf;
use std::process::Command;

#[path = "../../../tests/support/determinism.rs"]
mod determinism;
use determinism::{Step, assert_deterministic};

#[path = "../../../tests/support/cli_contract.rs"]
mod cli_contract;
use cli_contract::assert_clean_error;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_aegis-model"))
}

#[test]
fn every_command_writes_the_same_bytes_at_any_thread_count() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("determinism-model");
    let csv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/breast_cancer.csv"
    );
    assert_deterministic(
        &bin(),
        &root,
        &|_| {},
        &[
            Step::Run(&[
                "train",
                "--model",
                "mlp",
                "--data",
                "breast-cancer",
                "--epochs",
                "2",
                "--seed",
                "3",
                "--out",
                "tab",
            ]),
            // Large enough products and convolutions that flex runs them on several threads.
            Step::Run(&[
                "train", "--model", "smallcnn", "--data", "mnist", "--epochs", "1", "--out", "cnn",
            ]),
            // Seeded dropout masks, SGD with momentum, a cosine schedule.
            Step::Run(&[
                "train",
                "--data",
                "wine",
                "--hidden",
                "32",
                "--dropout",
                "0.3",
                "--optimizer",
                "sgd",
                "--momentum",
                "0.9",
                "--lr-schedule",
                "cosine",
                "--epochs",
                "3",
                "--out",
                "wine",
            ]),
            Step::Run(&["eval", "--run", "tab"]),
            Step::Run(&["eval", "--run", "cnn"]),
            Step::Stdout(&["predict", "--run", "tab", csv], "predict.jsonl"),
            Step::Run(&[
                "export",
                "--run",
                "tab",
                "--out",
                "tab.safetensors",
                "--arch-out",
                "tab-arch.json",
            ]),
            Step::Run(&[
                "import",
                "--arch",
                "tab-arch.json",
                "--weights",
                "tab.safetensors",
                "--data",
                "breast-cancer",
                "--out",
                "imported",
            ]),
            Step::Stdout(&["devices"], "devices.txt"),
        ],
    );
}

#[test]
fn zero_threads_is_refused() {
    let out = Command::new(bin())
        .args(["--threads", "0", "devices"])
        .output()
        .unwrap();
    assert_clean_error(&out, &["--threads must be at least 1"]);
    let out = Command::new(bin())
        .args(["devices", "--threads", "x"])
        .output()
        .unwrap();
    assert_clean_error(&out, &["--threads"]);
}
