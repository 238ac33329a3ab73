//! Determinism of `aegis-adversarial-trainer` (README, "Determinism"): `train`, `evaluate`
//! (one suite, a custom list, shards and their merge), `attack` and `certify` (smoothing,
//! shards and their merge), each run three times with
//! the same seeds (twice with the default thread count, once with `--threads 1`), write the
//! same bytes, trained weights included.

use std::path::PathBuf;

#[path = "../../../tests/support/determinism.rs"]
mod determinism;
use determinism::{Step, assert_deterministic, tab_and_cnn_fixtures};

#[test]
fn every_command_writes_the_same_bytes_at_any_thread_count() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("determinism-adversarial");
    let setup = tab_and_cnn_fixtures(&root);
    let tab_eps = ["--eps-units", "std", "--eps", "0.1"];
    let evaluate_tab = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec!["evaluate", "--run", "tab"];
        v.extend(tab_eps);
        v.extend(extra);
        v
    };
    let steps = [
        evaluate_tab(&["--suite", "cheap", "--limit", "20", "--out", "ev-tab"]),
        evaluate_tab(&[
            "--suite",
            "custom",
            "--attacks",
            "fgsm,pgd,fab-t",
            "--limit",
            "10",
            "--out",
            "ev-custom",
        ]),
        evaluate_tab(&[
            "--suite", "cheap", "--limit", "20", "--shard", "1/2", "--out", "shard-1",
        ]),
        evaluate_tab(&[
            "--suite", "cheap", "--limit", "20", "--shard", "2/2", "--out", "shard-2",
        ]),
    ];
    let mut all: Vec<Step> = steps.iter().map(|s| Step::Run(s.as_slice())).collect();
    all.extend([
        Step::Run(&[
            "evaluate", "--merge", "shard-1", "shard-2", "--out", "merged",
        ]),
        Step::Run(&[
            "evaluate", "--run", "cnn", "--suite", "cheap", "--eps", "0.1", "--limit", "20",
            "--out", "ev-cnn",
        ]),
        Step::Run(&[
            "attack",
            "--run",
            "cnn",
            "--attack",
            "pgd",
            "--eps",
            "0.1",
            "--steps",
            "5",
            "--limit",
            "50",
            "--out",
            "attack-pgd",
        ]),
        Step::Run(&[
            "attack",
            "--run",
            "tab",
            "--attack",
            "square",
            "--eps-units",
            "std",
            "--eps",
            "0.1",
            "--limit",
            "50",
            "--out",
            "attack-square",
        ]),
        Step::Run(&[
            "attack",
            "--run",
            "tab",
            "--attack",
            "cw",
            "--eps-units",
            "std",
            "--eps",
            "0.5",
            "--limit",
            "20",
            "--out",
            "attack-cw",
        ]),
        Step::Run(&[
            "certify",
            "--run",
            "cnn",
            "--method",
            "smoothing",
            "--n0",
            "10",
            "--n",
            "100",
            "--limit",
            "6",
            "--out",
            "cert",
        ]),
        Step::Run(&[
            "certify",
            "--run",
            "cnn",
            "--method",
            "smoothing",
            "--n0",
            "10",
            "--n",
            "100",
            "--limit",
            "6",
            "--shard",
            "1/2",
            "--out",
            "cert-1",
        ]),
        Step::Run(&[
            "certify",
            "--run",
            "cnn",
            "--method",
            "smoothing",
            "--n0",
            "10",
            "--n",
            "100",
            "--limit",
            "6",
            "--shard",
            "2/2",
            "--out",
            "cert-2",
        ]),
        Step::Run(&[
            "certify",
            "--merge",
            "cert-1",
            "cert-2",
            "--out",
            "cert-merged",
        ]),
        Step::Run(&[
            "train",
            "--model",
            "mlp",
            "--data",
            "breast-cancer",
            "--epochs",
            "1",
            "--eps-units",
            "std",
            "--eps",
            "0.1",
            "--steps",
            "2",
            "--out",
            "adv-tab",
        ]),
        Step::Run(&[
            "train",
            "--model",
            "smallcnn",
            "--data",
            "mnist",
            "--method",
            "trades",
            "--epochs",
            "1",
            "--steps",
            "2",
            "--no-eval",
            "--out",
            "adv-cnn",
        ]),
    ]);
    assert_deterministic(
        &PathBuf::from(env!("CARGO_BIN_EXE_aegis-adversarial-trainer")),
        &root.join("runs"),
        &setup,
        &all,
    );
}
