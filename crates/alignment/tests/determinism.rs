//! Determinism of `aegis-alignment` (README, "Determinism"): `plan` (each method), `irl`
//! (each method, and a sweep), `preferences` (linear and MLP reward models) and `shaping`,
//! each run three times with the same seeds (twice with the default thread count, once with
//! `--threads 1`), write the same bytes.

use std::path::PathBuf;

#[path = "../../../tests/support/determinism.rs"]
mod determinism;
use determinism::{Step, assert_deterministic};

#[test]
fn every_command_writes_the_same_bytes_at_any_thread_count() {
    let irl = |method: &'static str, out: &'static str| -> Vec<&'static str> {
        vec![
            "irl",
            "--env",
            "objectworld",
            "--size",
            "8",
            "--colours",
            "2",
            "--demos",
            "8",
            "--method",
            method,
            "--iterations",
            "20",
            "--seed",
            "3",
            "--out",
            out,
        ]
    };
    let owned = [
        irl("linear", "irl-linear"),
        irl("mce", "irl-mce"),
        irl("deep", "irl-deep"),
    ];
    let mut steps: Vec<Step> = owned.iter().map(|s| Step::Run(s.as_slice())).collect();
    steps.extend([
        Step::Run(&["plan", "--env", "cliff", "--out", "plan-vi"]),
        Step::Run(&[
            "plan",
            "--env",
            "gridworld",
            "--size",
            "5",
            "--method",
            "soft",
            "--out",
            "plan-soft",
        ]),
        Step::Run(&[
            "plan",
            "--env",
            "gridworld",
            "--size",
            "5",
            "--method",
            "q-learning",
            "--episodes",
            "50",
            "--seed",
            "4",
            "--out",
            "plan-q",
        ]),
        Step::Run(&[
            "irl",
            "--env",
            "gridworld",
            "--size",
            "5",
            "--method",
            "linear,deep",
            "--iterations",
            "10",
            "--sweep",
            "4,8",
            "--seeds",
            "2",
            "--out",
            "irl-sweep",
        ]),
        Step::Run(&[
            "preferences",
            "--env",
            "gridworld",
            "--comparisons",
            "50",
            "--size",
            "5",
            "--seed",
            "2",
            "--out",
            "preferences-linear",
        ]),
        Step::Run(&[
            "preferences",
            "--env",
            "gridworld",
            "--comparisons",
            "50",
            "--size",
            "5",
            "--seed",
            "2",
            "--model",
            "mlp",
            "--out",
            "preferences-mlp",
        ]),
        Step::Run(&[
            "shaping",
            "--env",
            "gridworld",
            "--size",
            "5",
            "--seeds",
            "2",
            "--episodes",
            "20",
            "--out",
            "shaping",
        ]),
    ]);
    assert_deterministic(
        &PathBuf::from(env!("CARGO_BIN_EXE_aegis-alignment")),
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("determinism-alignment"),
        &|_| {},
        &steps,
    );
}
